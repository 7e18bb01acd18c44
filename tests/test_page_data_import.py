"""AppTest of the Data import page: visible to managers only; mapping → import → summary flow."""
from __future__ import annotations

from tests import make_import_fixtures as fx
from tests.apptest_helpers import run_as, texts, use_database
from tests.factories import small_world


def test_page_renders_for_manager(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page="../pages/data_import.py")
    assert not app.exception
    assert "Data import" in texts(app)
    assert len(app.tabs) == 4


def test_page_absent_for_marketer(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    from dashboard.navigation import pages_for

    assert "data_import" not in [p.key for p in pages_for("marketer")]
    assert "data_import" in [p.key for p in pages_for("store_manager")]
    app = run_as("mkt_a")
    assert not app.exception
    assert "Data import" not in [str(getattr(n, "label", "")) for n in app.sidebar]


def test_injected_file_maps_imports_and_summarises(sqlite_engine, monkeypatch, tmp_path) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path))
    from core import config

    config.load_settings.cache_clear()
    app = run_as("mgr_a", page="../pages/data_import.py")
    app.session_state["data_import.file"] = {"name": "big5.csv", "data": fx.big5_csv()}
    app.run()
    assert not app.exception
    # The suggested mapping is shown as one selectbox per field.
    assert app.selectbox(key="data_import.bookings.(new source).map.customer_id").value == "會員編號"
    assert app.selectbox(key="data_import.bookings.(new source).map.date").value == "預約日期"
    app.text_input(key="data_import.bookings.source").input("POS")
    app.button(key="data_import.run").click().run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Read"] == "9" and metrics["Imported"] == "5"
    assert metrics["Duplicates skipped"] == "1" and metrics["Rejected"] == "3"
    # The mapping was saved under the source name; a second import adds nothing.
    app.button(key="data_import.run").click().run()
    assert {m.label: m.value for m in app.metric}["Imported"] == "0"
    from db.engine import session_scope
    from db.importer import list_sources

    with session_scope(sqlite_engine) as session:
        assert list_sources(session, kind="bookings") == ["POS"]


def test_unusable_injected_file_shows_message(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page="../pages/data_import.py")
    app.session_state["data_import.file"] = {"name": "x.csv", "data": fx.binary_file()}
    app.run()
    assert not app.exception
    assert any("cannot be used" in str(e.value) for e in app.error)
