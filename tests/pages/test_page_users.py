"""AppTest of the Users page: chain admins only; add, disable/enable, reset password, assign stores."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard.navigation import pages_for
from db.engine import session_scope
from db.models import AuditLog
from db.users import check_password, get_user, user_store_ids
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import PASSWORD, small_world

PAGE = "../pages/users.py"


def _submit(app, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in app.button if b.label == label).click().run()


def test_users_page_renders_for_chain_admin(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    assert not app.exception
    assert "Users" in texts(app)
    table = app.dataframe[0].value
    assert list(table["Username"]) == ["admin", "desk_b", "mgr_a", "mkt_a"]
    assert "password_hash" not in " ".join(map(str, table.columns))
    assert not any(str(v).startswith("$2") for v in table.to_numpy().ravel())


@pytest.mark.parametrize("role", ["store_manager", "marketer", "front_desk"])
def test_users_page_absent_for_other_roles(role) -> None:
    assert "users" not in [p.key for p in pages_for(role)]
    assert "users" in [p.key for p in pages_for("chain_admin")]


@pytest.mark.parametrize("username", ["mgr_a", "mkt_a", "desk_b"])
def test_other_roles_cannot_reach_the_users_page(sqlite_engine, monkeypatch, username) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as(username)
    assert not app.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)


def test_adding_a_user_through_the_form_hashes_the_password_and_audits(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    app.text_input(key="users.new_username").input("mgr_b")
    app.text_input(key="users.new_display_name").input("<b>Store B</b> manager")
    app.selectbox(key="users.new_role").select("store_manager")
    app.multiselect(key="users.new_stores").select(ids["store_b"])
    app.text_input(key="users.new_password").input("a-new-pass-123")
    _submit(app, "Create account")
    assert not app.exception
    assert "Account mgr_b created." in texts(app)
    assert "mgr_b" in list(app.dataframe[0].value["Username"])
    with session_scope(sqlite_engine) as session:
        user = get_user(session, username="mgr_b")
        assert user is not None and user.role == "store_manager"
        assert user.password_hash.startswith("$2") and "a-new-pass-123" not in user.password_hash
        assert check_password("a-new-pass-123", user.password_hash)
        assert user_store_ids(session, user_id=user.id) == frozenset({ids["store_b"]})
        entry = session.scalar(select(AuditLog).where(AuditLog.action == "user_create", AuditLog.entity_id == "mgr_b"))
    assert (
        entry is not None
        and entry.actor == "admin"
        and entry.after == {"role": "store_manager", "stores": [ids["store_b"]]}
    )
    assert "a-new-pass-123" not in str(entry.after)


def test_invalid_input_is_refused_with_a_message(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    app.text_input(key="users.new_username").input("<img src=x>")
    app.text_input(key="users.new_password").input("short")
    _submit(app, "Create account")
    assert not app.exception
    assert "Not saved" in texts(app)
    with session_scope(sqlite_engine) as session:
        assert get_user(session, username="<img src=x>") is None


def test_disable_enable_reset_password_and_assign_stores(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    app.selectbox(key="users.pick").select("mgr_a").run()
    app.button(key="users.disable").click().run()
    assert "mgr_a is disabled" in texts(app)
    with session_scope(sqlite_engine) as session:
        assert get_user(session, username="mgr_a").disabled
    app.button(key="users.enable").click().run()
    assert "mgr_a is enabled" in texts(app)
    app.text_input(key="users.reset_password").input("brand-new-pass-1")
    _submit(app, "Reset password")
    assert "Password of mgr_a reset" in texts(app)
    app.multiselect(key="users.stores.mgr_a").select(ids["store_b"])
    _submit(app, "Save store assignment")
    assert not app.exception
    with session_scope(sqlite_engine) as session:
        user = get_user(session, username="mgr_a")
        assert not user.disabled
        assert check_password("brand-new-pass-1", user.password_hash) and not check_password(
            PASSWORD, user.password_hash
        )
        assert user_store_ids(session, user_id=user.id) == frozenset({ids["store_a"], ids["store_b"]})
        actions = list(
            session.scalars(select(AuditLog.action).where(AuditLog.entity_id == "mgr_a", AuditLog.actor == "admin"))
        )
    assert set(actions) >= {"user_disable", "user_enable", "password_reset", "user_stores"}


def test_admin_cannot_disable_themselves(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    assert app.selectbox(key="users.pick").value == "admin"
    assert not [b for b in app.button if b.key == "users.disable"]
