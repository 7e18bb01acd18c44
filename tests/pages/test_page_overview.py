"""AppTest of the shell and the Overview page on a small, hand-checked world."""

from __future__ import annotations

from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world


def test_login_page_shown_when_signed_out(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as(None)
    assert not app.exception
    assert "Sign in to Revisit" in texts(app)
    assert len(app.text_input) == 2


def test_wrong_password_shows_generic_message(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as(None)
    app.text_input(key="login.username").input("mgr_a")
    app.text_input(key="login.password").input("wrong-password")
    app.button[0].click().run()
    assert "Wrong username or password" in texts(app)


def test_store_manager_overview_shows_own_store_figures(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    # Store A only: two customers; as of its last visit day (Nov 10, the no-show is not a visit:
    # last completed visit Nov 1) the last 30 days hold Oct 20 and Nov 1 visits.
    assert metrics["Customers"] == "2"
    assert metrics["Visits, last 30 days"] == "2"
    assert metrics["Revenue, last 30 days"] == "NT$2,000"
    store_options = app.multiselect(key="ui.store_picker").options
    assert store_options == ["A01 · Store A"]


def test_overview_switches_language(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", locale="zh-TW")
    labels = [m.label for m in app.metric]
    assert "顧客數" in labels and "近 30 天營收" in labels


def test_user_text_is_not_rendered_as_html(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin")
    for element in app.markdown:
        assert "<img" not in str(element.value) or not getattr(element, "allow_html", False)


def test_first_run_guides_an_admin_to_the_import(sqlite_engine, monkeypatch) -> None:
    from core.scope import Scope
    from db.engine import session_scope
    from db.users import create_user

    with session_scope(sqlite_engine) as session:
        create_user(
            session, scope=Scope.system("test"), username="boss", password="a-long-password", role="chain_admin"
        )
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("boss")
    assert not app.exception
    assert "Welcome to Revisit! Step one: import your bookings" in texts(app)
    assert app.get("file_uploader"), "the Data page is open"
