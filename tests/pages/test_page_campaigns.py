"""AppTest of the Campaigns and Campaign results pages: roles, builder, approval, results."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import streamlit as st
from sqlalchemy import select

from core.scope import Scope
from dashboard.navigation import pages_for
from db import campaigns as campaign_repo
from db.engine import session_scope
from db.models import Campaign, Message
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world

PAGE = "../pages/campaigns.py"
RESULTS = "../pages/campaign_results.py"


def _store_campaign(engine, store_id: int, status: str = "pending_approval") -> int:
    with session_scope(engine) as session:
        c = campaign_repo.create_campaign(
            session,
            scope=Scope.system("t"),
            name="A 店回訪",
            store_id=store_id,
            audience={},
            trigger={"kind": "due", "offset_days": -7},
            templates={"zh-TW": "{name}"},
        )
        c.status = status
        return c.id


def test_pages_are_registered_for_the_right_roles() -> None:
    for role in ("chain_admin", "store_manager", "marketer"):
        keys = {p.key for p in pages_for(role)}
        assert {"campaigns", "campaign_results"} <= keys
    assert not {"campaigns", "campaign_results"} & {p.key for p in pages_for("front_desk")}


def test_marketer_builds_an_audience_with_masked_phones_and_cannot_approve(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    _store_campaign(sqlite_engine, ids["store_a"])
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mkt_a", page=PAGE)
    assert not app.exception
    assert not app.metric  # the builder (and its audience) runs only once its tab is open
    app.session_state["campaigns.tab"] = "Builder"
    app.run()
    assert not app.exception
    shown = texts(app)
    assert "A store manager approves store campaigns" in shown
    frames = [df.value for df in app.dataframe]
    sample = next(f for f in frames if "phone" in f.columns)
    assert all("***" in str(p) for p in sample["phone"].dropna())
    assert not any(b.label == "Approve and go live" for b in app.button)
    # Saving a draft works for the marketer; it waits for approval.
    app.selectbox(key="campaigns.channel").set_value("sms").run()
    app.button(key="campaigns.save").click().run()
    assert not app.exception
    with session_scope(sqlite_engine) as session:
        statuses = set(session.scalars(select(Campaign.status)))
    assert statuses == {"pending_approval"}


def test_store_manager_approves_own_store_campaign(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    cid = _store_campaign(sqlite_engine, ids["store_a"])
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page=PAGE)
    assert not app.exception
    app.button(key="campaigns.approve").click().run()
    assert "Campaign is live." in texts(app)
    with session_scope(sqlite_engine) as session:
        c = session.get(Campaign, cid)
        assert c.status == "active" and c.approved_by == "mgr_a"


def test_front_desk_cannot_reach_campaign_pages(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("desk_b")
    assert not app.exception
    for page in (PAGE, RESULTS):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(page)


def test_results_page_shows_conversion_and_waiting_channel(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    cid = _store_campaign(sqlite_engine, ids["store_a"], status="active")
    now = datetime(2026, 11, 2, 3, tzinfo=UTC)
    with session_scope(sqlite_engine) as session:
        session.add_all(
            [
                Message(
                    campaign_id=cid,
                    customer_id=ids["a2"],
                    store_id=ids["store_a"],
                    channel="line",
                    dedupe_key="k1",
                    tracking_code="t1",
                    status="sent",
                    scheduled_for=now,
                    sent_at=now,
                    cost=0.5,
                ),
                Message(
                    campaign_id=cid,
                    customer_id=ids["a1"],
                    store_id=ids["store_a"],
                    channel="line",
                    dedupe_key="k2",
                    tracking_code="t2",
                    status="queued",
                    reason="channel_not_configured",
                    scheduled_for=now,
                ),
            ]
        )
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=RESULTS)
    assert not app.exception
    # As of Nov 5 (the last visit) the Nov 2 push is three days into its 7-day window: it is
    # pending, not a 0 % conversion.
    assert app.session_state["ui.as_of"] == date(2026, 11, 5)
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["Sent"], metrics["Push-to-booking conversion"]) == ("0", "—")
    assert "still queued" in texts(app)
    assert "1 more sent and 0 more holdout messages are still inside their 7-day attribution window" in texts(app)
    table = app.dataframe[0].value.set_index("Name")
    assert table.loc["A 店回訪", ["Sent", "Window still open"]].tolist() == [0, 1]
    # By Nov 20 its window has closed. a2 booked again on Nov 10 at 10:00, 7 days 23 hours after
    # the push: outside a 7-day window, inside an 8-day one.
    app.date_input(key="ui.as_of").set_value(date(2026, 11, 20)).run()
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["Sent"], metrics["Push-to-booking conversion"]) == ("1", "0.0%")
    assert "attribution window" not in texts(app)
    app.number_input(key="campaign_results.window").set_value(8).run()
    assert {m.label: m.value for m in app.metric}["Push-to-booking conversion"] == "100.0%"
    app = run_as("admin", page=PAGE)
    assert "waiting: their channel has no credentials" in texts(app)


def test_ab_verdict_is_shown_from_the_kept_results_after_a_restart(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    cid = _store_campaign(sqlite_engine, ids["store_a"], status="active")
    now = datetime(2026, 11, 2, 3, tzinfo=UTC)
    with session_scope(sqlite_engine) as session:
        session.add_all(
            [
                Message(
                    campaign_id=cid,
                    customer_id=customer,
                    store_id=ids["store_a"],
                    channel="line",
                    dedupe_key=key,
                    tracking_code=key,
                    status="sent",
                    scheduled_for=now,
                    sent_at=now,
                    variant=variant,
                )
                for customer, key, variant in ((ids["a1"], "v1", "A"), (ids["a2"], "v2", "B"))
            ]
        )
    use_database(monkeypatch, str(sqlite_engine.url))
    shown = []
    for _ in range(2):  # computed and kept, then read back by a "restarted" server
        st.cache_data.clear()
        app = run_as("admin", page=RESULTS)
        app.date_input(key="ui.as_of").set_value(date(2026, 11, 20)).run()
        assert not app.exception
        shown.append([i.value for i in app.info if "p = " in i.value])
    # One customer per variant, neither came back within a week: no winner, Fisher's p = 1.
    assert shown[0] == shown[1] == ["No significant difference yet (p = 1.000): no winner declared."]
    assert "No A/B tests yet." not in texts(app)
