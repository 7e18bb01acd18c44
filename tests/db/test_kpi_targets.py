"""KPI targets: the shops' defaults, editable per store by who may edit rules, carried by the
Overview and ``kpi --json`` (SQLite and PostgreSQL for the service, AppTest for the page)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.scope import PermissionDenied
from db.engine import session_scope
from db.models import AppSetting
from db.users import scope_for
from services import kpis
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world

SHOP_PRACTICE = {
    "high_value_repurchase_rate": 0.40,
    "wake_up_rate": 0.20,
    "task_completion_rate": 0.85,
    "high_value_complaint_rate": 0.02,
    "model_accuracy": 0.80,
}


def _scope(engine, username: str):
    with session_scope(engine) as session:
        return scope_for(session, username=username)


def _settings(engine) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(AppSetting)) or 0)


def test_defaults_are_the_shops_practice_and_a_store_overrides_its_own(engine) -> None:
    ids = small_world(engine)
    manager = _scope(engine, "mgr_a")
    assert kpis.targets(engine, manager, [ids["store_a"]]) == SHOP_PRACTICE
    kpis.save_targets(
        engine,
        manager,
        ids["store_a"],
        {"wake_up_rate": 0.25, "revisit_rate_30": 0.5, "model_accuracy": None, "not_a_kpi": 1.0},
    )
    admin = _scope(engine, "admin")
    assert kpis.targets(engine, admin, [ids["store_a"]]) == {
        **SHOP_PRACTICE,
        "wake_up_rate": 0.25,
        "revisit_rate_30": 0.5,
    }
    assert kpis.targets(engine, admin, [ids["store_b"]]) == SHOP_PRACTICE  # store B keeps the defaults


@pytest.mark.parametrize(("username", "store"), [("mkt_a", "store_a"), ("mgr_a", "store_b"), ("desk_b", "store_b")])
def test_who_may_not_edit_a_stores_targets_changes_nothing(engine, username, store) -> None:
    ids = small_world(engine)
    before = _settings(engine)
    with pytest.raises(PermissionDenied):
        kpis.save_targets(engine, _scope(engine, username), ids[store], {"wake_up_rate": 0.9})
    assert _settings(engine) == before
    assert kpis.targets(engine, _scope(engine, "admin"), [ids[store]]) == SHOP_PRACTICE


def test_manager_edits_targets_on_the_overview(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page="../pages/overview.py")
    assert not app.exception
    assert app.number_input(key="overview.target.wake_up_rate").value == 20.0
    assert app.number_input(key="overview.target.revisit_rate_30").value is None
    app.number_input(key="overview.target.revisit_rate_30").set_value(45.0)
    app.button[[b.label for b in app.button].index("Save targets")].click().run()
    assert not app.exception
    assert "Saved; they apply from the next load." in texts(app)
    assert kpis.targets(sqlite_engine, _scope(sqlite_engine, "admin"), [ids["store_a"]])["revisit_rate_30"] == 0.45


def test_marketer_sees_targets_but_no_editor(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mkt_a", page="../pages/overview.py")
    assert not app.exception
    assert "Edit this store's targets" not in [e.label for e in app.expander]
    assert not [n for n in app.number_input if str(n.key).startswith("overview.target.")]
