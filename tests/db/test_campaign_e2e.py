"""End to end on a demo world: a scheduled due −7 campaign → LINE fake server →
simulate-bookings → results whose numbers agree with the database and with the CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import func, select

from core.campaigns.results import campaign_results
from core.scope import Scope
from dashboard import cli
from dashboard.cli.campaigns import campaign_list
from db import campaigns as campaign_repo
from db import repo
from db.engine import session_scope
from db.models import Booking, Campaign, Message
from demo.campaigns import seed_playbook_campaigns
from tests.support.apptest_helpers import use_database
from tests.support.local_servers import FakeLineServer

END = date(2026, 5, 1)


def test_due_minus_7_campaign_end_to_end(sqlite_engine, monkeypatch, capsys) -> None:
    use_database(monkeypatch, str(sqlite_engine.url))
    assert cli.main(["demo", "--stores", "1", "--customers", "600", "--end-date", END.isoformat()]) == 0
    # The demo command seeds the nine playbook campaigns; seeding again adds nothing.
    assert seed_playbook_campaigns(sqlite_engine) == {"campaigns": 0}
    system = Scope.system("test")
    with session_scope(sqlite_engine) as session:
        campaigns = campaign_repo.list_campaigns(session, scope=system)
        seeded = [c for c in campaigns if c.description.startswith("playbook:")]
        assert len(seeded) == 9 and {c.status for c in seeded} == {"active"}
        # Besides them, the demo's history of monthly wake-up messages, as an ended campaign.
        assert [(c.description, c.status) for c in campaigns if c not in seeded] == [("demo:wake_up", "ended")]
        # The playbook is verified as seeded; pause it so this test's pushes are its own (speed).
        for c in seeded:
            campaign_repo.set_campaign_status(session, scope=system, campaign_id=c.id, status="paused")
    with session_scope(sqlite_engine) as session:
        c = campaign_repo.create_campaign(
            session,
            scope=system,
            name="due-7 everyone",
            store_id=None,
            audience={"consent_channel": "line"},
            trigger={"kind": "due", "offset_days": -7, "tolerance_days": 1},
            channel="line",
            holdout_pct=30,
            frequency_cap_days=0,
            cost_per_message=0.5,
            templates={
                "variants": [
                    {"key": "A", "weight": 1, "templates": {"zh-TW": "{name}:{booking_link}"}},
                    {"key": "B", "weight": 1, "templates": {"zh-TW": "{name}!{booking_link}"}},
                ]
            },
        )
        campaign_repo.approve_campaign(session, scope=system, campaign_id=c.id)
        cid = c.id
    capsys.readouterr()
    with FakeLineServer() as line:
        monkeypatch.setenv("LINE_CHANNEL_TOKEN", "token")
        monkeypatch.setenv("LINE_API_BASE", line.base_url)
        use_database(monkeypatch, str(sqlite_engine.url))
        for day in range(5):
            now = f"{END + timedelta(days=day + 1)}T03:00:00+00:00"  # 11:00 in Taipei
            assert cli.main(["campaigns", "run-due", "--now", now]) == 0
            assert cli.main(["campaigns", "run-due", "--now", now]) == 0  # a second tick adds nothing
        ticks = [json.loads(line_) for line_ in capsys.readouterr().out.splitlines()]
        assert all(t["queued"] == 0 for t in ticks[1::2])
        requests = len(line.requests)
        assert len(line.accepted_retry_keys) == requests  # every push once
    assert cli.main(["campaigns", "simulate-bookings", "--now", f"{END + timedelta(days=12)}T03:00:00+00:00"]) == 0
    assert json.loads(capsys.readouterr().out)["booked"] > 0

    with session_scope(sqlite_engine) as session:
        db_counts = dict(
            session.execute(
                select(Message.status, func.count()).where(Message.campaign_id == cid).group_by(Message.status)
            ).all()
        )
        # The demo's own reminder history is in the outbox too; this campaign's sends all went to LINE.
        total_sent = session.scalar(
            select(func.count()).select_from(Message).where(Message.status == "sent", Message.campaign_id == cid)
        )
        messages = campaign_repo.load_messages(session, scope=system)
        bookings = repo.load_bookings(session, scope=system)
        coded = set(session.scalars(select(Booking.tracking_code).where(Booking.tracking_code.is_not(None))))
        assert session.get(Campaign, cid).status == "active"
    assert total_sent == requests
    as_of = END + timedelta(days=12)
    res = campaign_results(messages, bookings, as_of=as_of).set_index("campaign_id")
    row = res.loc[cid]
    assert row["sent"] == db_counts["sent"] and row["holdout"] == db_counts["holdout"]
    assert row["sent"] >= 20 and row["holdout"] >= 5
    assert row["conversion"] == row["converted"] / row["sent"]
    assert abs(row["uplift"] - (row["conversion"] - row["holdout_conversion"])) < 1e-12
    # simulate-bookings books 35% of sent and 15% of held-out customers: a true uplift of 0.20,
    # which the interval must hold (on ~45 messages the point estimate's sign is not assured).
    assert row["uplift_low"] <= row["uplift"] <= row["uplift_high"]
    assert row["uplift_low"] <= 0.20 <= row["uplift_high"]
    assert row["cost"] == 0.5 * row["sent"]
    # A sent message whose tracking code was booked, with no other message to that customer
    # in the window, is counted as converted.
    mine = messages.loc[messages["campaign_id"].eq(cid) & messages["status"].eq("sent")]
    sent_all = messages.loc[messages["status"].eq("sent")]
    lonely = [
        m
        for m in mine.itertuples()
        if m.tracking_code in coded
        and (
            sent_all["customer_id"].eq(m.customer_id)
            & (pd.to_datetime(sent_all["sent_at"]) - m.sent_at).abs().le(pd.Timedelta(days=7))
        ).sum()
        == 1
    ]
    assert len(lonely) > 0
    by_variant = campaign_results(messages.loc[messages["campaign_id"].eq(cid)], bookings, as_of=as_of, by=("variant",))
    assert set(by_variant["variant"]) == {"A", "B"} and by_variant["sent"].sum() == row["sent"]
    credited = campaign_results(messages, bookings, as_of=as_of, by=("customer_id", "message_id"))
    assert credited["converted"].sum() + credited["holdout_converted"].sum() <= len(bookings)
    assert int(row["converted"]) >= len(lonely)

    listed = {r["id"]: r for r in campaign_list(sqlite_engine, scope=system, as_of=as_of)}
    assert listed[cid]["sent"] == row["sent"] and listed[cid]["conversions"] == row["converted"]
    assert cli.main(["campaigns", "list", "--json", "--as-of", as_of.isoformat()]) == 0
    printed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert printed[cid]["conversion_rate"] == listed[cid]["conversion_rate"]
    assert len(printed) == 11  # the nine playbook campaigns, the demo's wake-up history and this one
