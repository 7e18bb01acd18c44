"""AppTest of the Stores page: chain admins and store managers only; numbers from core."""

from __future__ import annotations

from datetime import date

import pytest

from core.cohorts import cohort_retention
from core.kpi import kpi_by
from core.scope import Scope
from dashboard.navigation import pages_for
from db.engine import session_scope
from db.score_repo import load_kpi_inputs
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world

PAGE = "../pages/stores.py"


def test_chain_admin_compares_stores(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    assert not app.exception
    assert "Stores" in texts(app)
    as_of = date(2026, 11, 5)
    with session_scope(sqlite_engine) as session:
        frames = load_kpi_inputs(session, scope=Scope.system(), until=as_of)
    expected = kpi_by(
        frames["bookings"],
        frames["customers"],
        frames["messages"],
        frames["tasks"],
        frames["feedback"],
        as_of=as_of,
        by="store",
        include_previous=False,
    )
    table = app.dataframe[0].value
    assert list(table.index) == ["A01", "B01"]
    row = expected[(expected["kpi"] == "no_show_rate") & (expected["group"] == ids["store_a"])].iloc[0]
    # The rate and its 95% (Wilson) interval: a store's month is a small base.
    assert table.loc["A01", "No-show rate"].startswith(f"{row['value'] * 100:.1f}% (")
    assert row["denominator"] > 0 and row["low"] <= row["value"] <= row["high"]
    assert len(app.get("plotly_chart")) == 2  # ranking and cohort heatmap
    cohorts = cohort_retention(frames["bookings"], as_of=as_of)
    assert cohorts["cohort_size"].drop_duplicates().sum() == 3


def test_store_manager_sees_one_store_with_hint(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page=PAGE)
    assert not app.exception
    assert "Pick two or more stores" in texts(app)
    assert list(app.dataframe[0].value.index) == ["A01"]


@pytest.mark.parametrize("username", ["mkt_a", "desk_b"])
def test_stores_absent_for_other_roles(sqlite_engine, monkeypatch, username) -> None:
    assert "stores" not in [p.key for p in pages_for("marketer")] + [p.key for p in pages_for("front_desk")]
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as(username)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)


def test_overview_kpi_cards_targets_and_priority_list(sqlite_engine, monkeypatch) -> None:
    """The Overview's KPI cards show the board's values, with their targets, beside the priority list."""
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page="../pages/overview.py")
    assert not app.exception
    as_of = date(2026, 11, 1)
    with session_scope(sqlite_engine) as session:
        frames = load_kpi_inputs(session, scope=Scope.system(), store_ids=[1], until=as_of)
    from core.kpi import kpi_board

    board = kpi_board(
        frames["bookings"],
        frames["customers"],
        frames["messages"],
        frames["tasks"],
        frames["feedback"],
        as_of=as_of,
        store_ids=[1],
    ).set_index("kpi")
    metrics = {m.label: m.value for m in app.metric}
    no_show = board.at["no_show_rate", "value"]
    assert metrics["No-show rate"] == ("—" if no_show != no_show else f"{no_show * 100:.1f}%")
    # Targets are the shops' own practice (high-value repurchase ≥ 40%); no made-up bar elsewhere.
    assert "Target 40.0%" in texts(app) or "On target (40.0%)" in texts(app) or "Below target (40.0%)" in texts(app)
    assert "No target set" in texts(app)
    # A KPI without data says why instead of a bare dash.
    assert metrics["Model accuracy"] == "—"
    assert "No manager reviewed a model call in the period" in texts(app)
    assert "book the next visit at checkout" in texts(app)  # what to do, under the card
    assert len(app.get("plotly_chart")) == 2  # visits/revenue and KPI trend
