"""Audit log: the repository read (permission, filters, store scope) and the chain-admin page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.scope import PermissionDenied, Scope
from dashboard.navigation import pages_for
from db.audit_repo import AUDIT_COLUMNS, audit_filters, list_audit
from db.engine import session_scope
from db.repo import record_audit
from db.users import attempt_login, scope_for
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import PASSWORD, small_world

PAGE = "../pages/audit.py"


def _events(engine, ids) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        attempt_login(session, username="mgr_a", password="wrong", max_attempts=5, lockout_minutes=15)
        attempt_login(session, username="mgr_a", password=PASSWORD, max_attempts=5, lockout_minutes=15)
        record_audit(
            session,
            actor="mgr_a",
            action="import.bookings",
            entity="import_batch",
            entity_id=1,
            store_id=ids["store_a"],
            after={"imported": 3},
        )
        record_audit(
            session, actor="desk_b", action="export", entity="customers", store_id=ids["store_b"], after={"rows": 1}
        )


def test_list_audit_filters_by_action_actor_and_date(engine) -> None:
    ids = small_world(engine)
    _events(engine, ids)
    admin = Scope(actor="admin", role="chain_admin", store_ids=None)
    with session_scope(engine) as session:
        everything = list_audit(session, scope=admin)
        logins = list_audit(session, scope=admin, actions=["login", "login_failed"])
        imports = list_audit(session, scope=admin, actions=["import*"])
        by_desk = list_audit(session, scope=admin, actor="desk_b")
        future = list_audit(session, scope=admin, since=date.today() + timedelta(days=2))
        today = list_audit(
            session, scope=admin, since=date.today() - timedelta(days=1), until=date.today() + timedelta(days=1)
        )
        past = list_audit(session, scope=admin, until=datetime.now(UTC) - timedelta(days=1))
        limited = list_audit(session, scope=admin, limit=2)
        actions, actors = audit_filters(session, scope=admin)
    assert list(everything.columns) == list(AUDIT_COLUMNS)
    assert len(everything) == 4 + 4  # four user_create entries from the factory, four events
    assert everything["at"].is_monotonic_decreasing
    assert sorted(logins["action"]) == ["login", "login_failed"]
    assert list(imports["action"]) == ["import.bookings"] and imports.iloc[0]["after"] == {"imported": 3}
    assert list(by_desk["action"]) == ["export"]
    assert future.empty and past.empty and len(today) == 8
    assert len(limited) == 2
    assert {"login", "login_failed", "export", "user_create"} <= set(actions) and "desk_b" in actors


@pytest.mark.parametrize("username", ["mgr_a", "mkt_a", "desk_b"])
def test_list_audit_refused_without_read_audit(engine, username) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        scope = scope_for(session, username=username)
        with pytest.raises(PermissionDenied):
            list_audit(session, scope=scope)
        with pytest.raises(PermissionDenied):
            audit_filters(session, scope=scope)


def test_store_scoped_reader_sees_only_its_stores_entries(engine) -> None:
    ids = small_world(engine)
    _events(engine, ids)
    scoped = Scope(actor="ops", role="system", store_ids=frozenset({ids["store_a"]}))
    with session_scope(engine) as session:
        frame = list_audit(session, scope=scoped)
    assert set(frame["store_id"]) == {ids["store_a"]}


def test_audit_page_renders_for_admin_and_filters(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    _events(sqlite_engine, ids)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    assert not app.exception
    assert "Audit log" in texts(app)
    table = app.dataframe[0].value
    assert {"When", "Who", "Action", "Before", "After"} <= set(table.columns)
    assert "login_failed" in set(table["Action"])
    app.multiselect(key="audit.actions").select("export").run()
    assert list(app.dataframe[0].value["Action"]) == ["export"]
    app.selectbox(key="audit.actor").select("mgr_a").run()
    assert "No entries match" in texts(app)


@pytest.mark.parametrize("role", ["store_manager", "marketer", "front_desk"])
def test_audit_page_absent_for_other_roles(role) -> None:
    assert "audit" not in [p.key for p in pages_for(role)]
    assert "audit" in [p.key for p in pages_for("chain_admin")]


@pytest.mark.parametrize("username", ["mgr_a", "mkt_a", "desk_b"])
def test_other_roles_cannot_reach_the_audit_page(sqlite_engine, monkeypatch, username) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as(username)
    assert not app.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)
