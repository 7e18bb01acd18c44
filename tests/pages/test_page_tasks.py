"""AppTest of the Tasks page: front desk sees its store's follow-ups and records outcomes."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from core.scope import PermissionDenied, Scope
from db import campaigns as campaign_repo
from db.engine import session_scope
from db.models import Task
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world

PAGE = "../pages/tasks.py"


def _tasks(engine, ids) -> None:
    with session_scope(engine) as session:
        session.add_all(
            [
                Task(
                    store_id=ids["store_b"],
                    customer_id=ids["b1"],
                    kind="complaint_recovery",
                    reason="complaint",
                    script="先致歉,再提供免費補修",
                    due_on=date(2026, 11, 1),
                    idempotency_key="x1",
                ),
                Task(
                    store_id=ids["store_a"],
                    customer_id=ids["a1"],
                    kind="follow_up",
                    reason="campaign",
                    script="提醒回訪",
                    due_on=date(2026, 11, 1),
                    idempotency_key="x2",
                ),
            ]
        )


def test_front_desk_sees_own_store_tasks_and_marks_booked(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    _tasks(sqlite_engine, ids)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("desk_b", page=PAGE)
    assert not app.exception
    assert {m.label: m.value for m in app.metric}["Open today"] == "1"
    table = app.dataframe[0].value
    assert list(table["name"]) == ["李四"]
    # The complaint's own words are quoted in a recovery script in the reader's language.
    assert table["script"].iloc[0].startswith("Hello 李四") and '"先致歉,再提供免費補修"' in table["script"].iloc[0]
    assert table["call"].iloc[0] == "tel:" + table["phone"].iloc[0]  # one tap to call from a phone
    assert table["phone"].iloc[0].startswith("+86")
    app.selectbox(key="tasks.outcome").set_value("booked").run()
    app.button(key="tasks.save").click().run()
    assert not app.exception
    with session_scope(sqlite_engine) as session:
        statuses = {t.customer_id: t.status for t in session.scalars(select(Task))}
    assert statuses == {ids["b1"]: "booked", ids["a1"]: "open"}
    assert "Complaint recovery" in texts(app)


def test_marketer_cannot_reach_tasks_or_update_them(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    _tasks(sqlite_engine, ids)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mkt_a")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)
    with session_scope(sqlite_engine) as session:
        task_id = session.scalars(select(Task.id)).first()
        with pytest.raises(PermissionDenied):
            campaign_repo.update_task_status(
                session, scope=Scope("mkt_a", "marketer", frozenset({ids["store_a"]})), task_id=task_id, status="done"
            )
        # A front desk of store B cannot touch a store-A task.
        a_task = session.scalars(select(Task.id).where(Task.store_id == ids["store_a"])).one()
        with pytest.raises(PermissionDenied):
            campaign_repo.update_task_status(
                session, scope=Scope("desk_b", "front_desk", frozenset({ids["store_b"]})), task_id=a_task, status="done"
            )


def test_manager_renders_tasks(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    _tasks(sqlite_engine, ids)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    assert not app.exception
    assert {m.label: m.value for m in app.metric}["Open today"] == "2"


def test_tasks_due_today_show_although_the_last_visit_was_earlier(sqlite_engine, monkeypatch) -> None:
    """The as-of day defaults to the last day with a visit; the front desk still sees what is due
    today in the store's time zone, and nothing due tomorrow."""
    ids = small_world(sqlite_engine)
    today = pd.Timestamp.now(tz="Asia/Taipei").date()
    with session_scope(sqlite_engine) as session:
        session.add_all(
            [
                Task(
                    store_id=ids["store_b"],
                    customer_id=ids["b1"],
                    kind="follow_up",
                    reason="campaign",
                    script="今天打",
                    due_on=today,
                    idempotency_key="today",
                ),
                Task(
                    store_id=ids["store_b"],
                    customer_id=ids["b1"],
                    kind="follow_up",
                    reason="campaign",
                    script="明天打",
                    due_on=today + timedelta(days=1),
                    idempotency_key="tomorrow",
                ),
            ]
        )
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("desk_b", page=PAGE)
    assert not app.exception
    assert app.session_state["ui.as_of"] < today  # the analysis day lies in the past
    assert {m.label: m.value for m in app.metric}["Open today"] == "1"
    assert list(app.dataframe[0].value["script"]) == ["今天打"]
