"""AppTest of the Segments page: roles, numbers from core, masking, migration and drill-down."""

from __future__ import annotations

from datetime import date

import pytest

from core.rfm import segment_summary
from core.scope import Scope
from dashboard.navigation import pages_for
from db.score_repo import write_snapshot
from services.scoring import score_customers_for
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world

PAGE = "../pages/segments.py"


def test_segments_table_matches_core(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    assert not app.exception
    assert "Segments" in texts(app)
    # Stores A (NT$) and B (¥): money is not added across currencies, so the page reports the
    # NT$ group first (the sidebar offers ¥ as the other choice).
    assert app.radio(key="ui.currency").value == "TWD"
    scores = score_customers_for(sqlite_engine, Scope.system(), as_of=date(2026, 11, 5), store_ids=[ids["store_a"]])
    expected = segment_summary(scores)
    table = app.dataframe[0].value
    assert table["customers"].tolist() == expected["customers"].tolist()
    assert table["customers"].sum() == 2
    assert all(action for action in table["action"])  # every segment has a recommended action
    assert len(app.get("plotly_chart")) >= 2  # heatmap and treemap
    assert "Not enough daily snapshots" in texts(app)


def test_segments_in_chinese_with_migration(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    for day in (date(2026, 10, 5), date(2026, 10, 31), date(2026, 11, 5)):
        write_snapshot(sqlite_engine, scores=score_customers_for(sqlite_engine, Scope.system(), as_of=day), as_of=day)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE, locale="zh-TW")
    assert not app.exception
    assert "客群分析" in texts(app)
    assert len(app.get("plotly_chart")) == 3  # heatmap, treemap, Sankey
    # Month over month first: the latest snapshot at least four weeks before the newest one.
    assert app.selectbox(key="segments.from").value == date(2026, 10, 5)
    assert app.selectbox(key="segments.to").value == date(2026, 11, 5)


def test_marketer_sees_masked_names_and_only_own_store(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mkt_a", page=PAGE)
    assert not app.exception
    assert app.dataframe[0].value["customers"].sum() == 2  # store A only
    for index in range(len(app.selectbox(key="segments.drill").options)):
        app.selectbox(key="segments.drill").select_index(index).run()
        names = app.dataframe[1].value["name"].tolist()
        assert "王小美" not in names and "李四" not in names


def test_drill_down_opens_customer_360(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page=PAGE)
    label = "A-1 · 王小美"
    for index in range(len(app.selectbox(key="segments.drill").options)):
        app.selectbox(key="segments.drill").select_index(index).run()
        if label in app.selectbox(key="segments.customer").options:
            break
    app.selectbox(key="segments.customer").select(ids["a1"]).run()
    app.button(key="segments.open").click().run()
    assert not app.exception
    assert app.session_state["c360.customer_id"] == ids["a1"]
    assert "Customer 360" in texts(app)
    assert "王小美 · A-1" in [t.value for t in app.text]


@pytest.mark.parametrize("role", ["front_desk"])
def test_segments_absent_for_front_desk(role) -> None:
    assert "segments" not in [p.key for p in pages_for(role)]
    assert {"segments"} <= {p.key for p in pages_for("marketer")}


def test_front_desk_cannot_reach_segments(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("desk_b")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)
