"""The worker's guarantees on SQLite and PostgreSQL: idempotent ticks, crash-safe sends,
consent, quiet hours, frequency cap, retries, quota pause, claim timeout, budget."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dashboard.channels import line_retry_key
from db import campaigns as campaign_repo
from db.engine import make_engine, session_scope
from db.models import Campaign, Customer, Task
from tests.db.test_campaign_world import NOW, SYSTEM, campaign, make_worker, messages, world
from tests.support.local_servers import FakeLineServer, FakeTwilioServer


@pytest.fixture
def line_server():
    with FakeLineServer() as server:
        yield server


def _sent(server: FakeLineServer) -> list[str]:
    return [r.json()["to"] for r in server.requests]


def test_two_ticks_at_the_same_time_create_and_send_nothing_twice(engine, line_server) -> None:
    w = world(engine, n=5)
    cid = campaign(engine, store_id=w["store"], holdout_pct=20)
    worker = make_worker(engine, line_server.base_url)
    first = worker.tick(NOW)
    second = worker.tick(NOW)
    rows = messages(engine, cid)
    assert len(rows) == 5
    assert len({r.dedupe_key for r in rows}) == 5
    assert first["queued"] + first["holdout"] == 5 and second["queued"] == 0
    sent = [r for r in rows if r.status == "sent"]
    assert len(line_server.requests) == len(sent) == first["sent"]
    assert all(r.tracking_code in r.body for r in sent)  # the deep link carries the tracking code


def test_concurrent_workers_on_separate_engines_never_double(engine, line_server) -> None:
    w = world(engine, n=12)
    cid = campaign(engine, store_id=w["store"], holdout_pct=0)
    url = engine.url.render_as_string(hide_password=False)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        own = make_engine(url)
        try:
            make_worker(own, line_server.base_url, worker_id=name, batch_size=3).tick(NOW)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = messages(engine, cid)
    assert len(rows) == 12 and all(r.status == "sent" for r in rows)
    # Each customer received exactly one push.
    assert sorted(_sent(line_server)) == sorted({r.json()["to"] for r in line_server.requests})
    assert len(line_server.requests) == 12


def test_crash_after_provider_accept_delivers_once_after_restart(engine, line_server) -> None:
    w = world(engine, n=3)
    cid = campaign(engine, store_id=w["store"])
    worker = make_worker(engine, line_server.base_url)

    def crash(message, result):
        raise SystemExit("killed between provider accept and mark-sent")

    worker.after_send = crash
    with pytest.raises(SystemExit):
        worker.tick(NOW)
    assert len(line_server.requests) == 1
    first_key = line_server.requests[0].headers["x-line-retry-key"]
    (crashed,) = [r for r in messages(engine, cid) if line_retry_key(r.dedupe_key) == first_key]
    # The whole batch is still claimed by the dead worker; nothing was marked sent.
    assert crashed.status == "queued"
    assert all(r.claimed_by is not None and r.status == "queued" for r in messages(engine, cid))
    # A restart before the claim timeout leaves the claimed row alone.
    restarted = make_worker(engine, line_server.base_url, worker_id="w2")
    restarted.tick(NOW + timedelta(seconds=30))
    assert next(r for r in messages(engine, cid) if r.id == crashed.id).status == "queued"
    # After the timeout the row is claimed again; LINE sees the same retry key and answers 409.
    restarted.tick(NOW + timedelta(seconds=301))
    rows = messages(engine, cid)
    assert all(r.status == "sent" for r in rows)
    key = line_retry_key(crashed.dedupe_key)
    replays = [r for r in line_server.requests if r.headers["x-line-retry-key"] == key]
    assert len(replays) == 2
    assert len(line_server.accepted_retry_keys) == 3  # three messages, each delivered once


def test_opt_out_and_missing_consent_are_suppressed_and_never_sent(engine, line_server) -> None:
    w = world(engine, n=4)
    a, b, c, _ = w["customers"]
    with session_scope(engine) as session:
        session.get(Customer, a).opted_out_at = NOW - timedelta(days=1)
        session.get(Customer, b).consent_line = False
    cid = campaign(engine, store_id=w["store"])
    worker = make_worker(engine)  # no channel configured: rows stay queued
    worker.tick(NOW)
    # c opts out (globally, by replying STOP) after being queued, before the send.
    with session_scope(engine) as session:
        line_id = session.get(Customer, c).line_id
        assert campaign_repo.handle_inbound_reply(session, channel="line", sender=line_id, text="退訂", at=NOW)
    make_worker(engine, line_server.base_url).tick(NOW)
    by_customer = {r.customer_id: r for r in messages(engine, cid)}
    assert (by_customer[a].status, by_customer[a].reason) == ("suppressed", "opted_out")
    assert (by_customer[b].status, by_customer[b].reason) == ("suppressed", "no_consent")
    assert (by_customer[c].status, by_customer[c].reason) == ("suppressed", "no_consent")
    sent_to = set(_sent(line_server))
    with session_scope(engine) as session:
        assert {session.get(Customer, x).line_id for x in (a, b, c)}.isdisjoint(sent_to)
    assert len(line_server.requests) == 1


def test_unconfigured_channel_leaves_messages_queued_with_reason(engine) -> None:
    w = world(engine, n=2)
    cid = campaign(engine, store_id=w["store"])
    counts = make_worker(engine).tick(NOW)
    rows = messages(engine, cid)
    assert [(r.status, r.reason) for r in rows] == [("queued", "channel_not_configured")] * 2
    assert counts["not_configured"] == 2 and counts["sent"] == 0


def test_quiet_hours_in_store_time_defer_the_send(engine, line_server) -> None:
    w = world(engine, n=1)
    # 23:30 in Taipei is 15:30 UTC.
    late = datetime(2026, 5, 4, 15, 30, tzinfo=UTC)
    cid = campaign(engine, store_id=w["store"], trigger={"kind": "one_off", "at": "2026-05-04T23:00"})
    worker = make_worker(engine, line_server.base_url)
    worker.tick(late)
    (row,) = messages(engine, cid)
    assert row.status == "queued" and line_server.requests == []
    # Deferred to 09:00 the next morning, Taipei time (01:00 UTC).
    assert row.scheduled_for == datetime(2026, 5, 5, 1, 0, tzinfo=UTC)
    worker.tick(datetime(2026, 5, 5, 1, 1, tzinfo=UTC))
    assert messages(engine, cid)[0].status == "sent"


def test_retry_landing_in_quiet_hours_is_deferred_with_reason(engine, line_server) -> None:
    w = world(engine, n=1)
    cid = campaign(engine, store_id=w["store"])
    line_server.enqueue(500, {"message": "boom"})
    worker = make_worker(engine, line_server.base_url)
    worker.tick(NOW)
    worker.tick(datetime(2026, 5, 4, 15, 30, tzinfo=UTC))  # 23:30 local
    (row,) = messages(engine, cid)
    assert (row.status, row.reason) == ("queued", "quiet_hours")
    assert row.next_attempt_at == datetime(2026, 5, 5, 1, 0, tzinfo=UTC)
    assert len(line_server.requests) == 1


def test_second_campaign_same_day_under_a_daily_cap_is_suppressed(engine, line_server) -> None:
    w = world(engine, n=3)
    first = campaign(engine, store_id=w["store"], cap=1, name="first")
    second = campaign(
        engine, store_id=w["store"], cap=1, name="second", trigger={"kind": "one_off", "at": "2026-05-04T10:30"}
    )
    make_worker(engine, line_server.base_url).tick(NOW)
    assert all(r.status == "sent" for r in messages(engine, first))
    assert [(r.status, r.reason) for r in messages(engine, second)] == [("suppressed", "frequency_cap")] * 3
    assert len(line_server.requests) == 3


def test_failing_channel_backs_off_then_fails_with_the_error(engine, line_server) -> None:
    w = world(engine, n=1)
    cid = campaign(engine, store_id=w["store"])
    for _ in range(5):
        line_server.enqueue(503, {"message": "unavailable"})
    worker = make_worker(engine, line_server.base_url, max_attempts=3)
    worker.tick(NOW)
    (row,) = messages(engine, cid)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at == NOW + timedelta(seconds=60)
    worker.tick(NOW + timedelta(seconds=30))  # not due yet: no call
    assert len(line_server.requests) == 1
    worker.tick(NOW + timedelta(seconds=61))
    (row,) = messages(engine, cid)
    assert row.attempts == 2 and row.next_attempt_at == NOW + timedelta(seconds=61 + 120)
    worker.tick(NOW + timedelta(seconds=200))
    (row,) = messages(engine, cid)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error == "LINE HTTP 503"
    assert len(line_server.requests) == 3


def test_line_monthly_quota_pauses_the_campaign_without_a_retry_storm(engine, line_server) -> None:
    w = world(engine, n=5)
    cid = campaign(engine, store_id=w["store"])
    line_server.enqueue(429, {"message": "You have reached your monthly limit."})
    counts = make_worker(engine, line_server.base_url).tick(NOW)
    assert counts["paused"] == 1 and len(line_server.requests) == 1
    with session_scope(engine) as session:
        c = session.get(Campaign, cid)
        assert c.status == "paused" and c.paused_reason.startswith("quota_exhausted")
    rows = messages(engine, cid)
    assert all(r.status == "queued" and r.claimed_by is None and r.attempts == 0 for r in rows)
    make_worker(engine, line_server.base_url).tick(NOW + timedelta(minutes=5))
    assert len(line_server.requests) == 1  # paused: nothing more is tried


def test_a_claim_older_than_the_timeout_is_taken_again(engine) -> None:
    w = world(engine, n=2)
    campaign(engine, store_id=w["store"])
    make_worker(engine).tick(NOW)  # evaluate only (no channel)
    with session_scope(engine) as session:
        token, ids = campaign_repo.claim_messages(
            session, worker_id="dead", now=NOW, limit=10, claim_timeout_seconds=300, channels=["line"]
        )
    assert len(ids) == 2
    with session_scope(engine) as session:
        _, again = campaign_repo.claim_messages(
            session,
            worker_id="alive",
            now=NOW + timedelta(seconds=299),
            limit=10,
            claim_timeout_seconds=300,
            channels=["line"],
        )
    assert again == []
    with session_scope(engine) as session:
        token2, later = campaign_repo.claim_messages(
            session,
            worker_id="alive",
            now=NOW + timedelta(seconds=301),
            limit=10,
            claim_timeout_seconds=300,
            channels=["line"],
        )
    assert sorted(later) == sorted(ids)
    # The dead worker's late mark is fenced out.
    with session_scope(engine) as session:
        assert not campaign_repo.mark_sent(
            session, message_id=ids[0], token=token, at=NOW, provider_message_id="x", cost=0
        )


def test_budget_stops_sends_and_pauses(engine, line_server) -> None:
    w = world(engine, n=5)
    cid = campaign(engine, store_id=w["store"], benefit_budget=2.0, benefit_per_message=1.0)
    make_worker(engine, line_server.base_url).tick(NOW)
    rows = messages(engine, cid)
    assert sum(r.status == "sent" for r in rows) == 2
    assert sum(r.reason == "budget_exhausted" for r in rows) == 1
    with session_scope(engine) as session:
        c = session.get(Campaign, cid)
        assert c.benefit_spent == 2.0 and c.status == "paused" and c.paused_reason == "budget_exhausted"
    assert len(line_server.requests) == 2


def test_task_channel_creates_one_follow_up_per_message(engine) -> None:
    w = world(engine, n=2)
    cid = campaign(engine, store_id=w["store"], channel="task")
    worker = make_worker(engine)
    worker.tick(NOW)
    worker.tick(NOW + timedelta(minutes=1))
    assert all(r.status == "sent" for r in messages(engine, cid))
    with session_scope(engine) as session:
        tasks = list(session.scalars(select(Task)))
    assert len(tasks) == 2 and {t.campaign_id for t in tasks} == {cid}
    assert all("預約" in t.script for t in tasks)


def test_twilio_stop_answer_records_the_opt_out(engine) -> None:
    w = world(engine, n=1)
    cid = campaign(engine, store_id=w["store"], channel="sms")
    with FakeTwilioServer() as twilio:
        twilio.enqueue(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
        worker = make_worker(engine)
        worker.settings = worker.settings.__class__(
            database_url="sqlite://",
            channel_config={
                "TWILIO_ACCOUNT_SID": "AC1",
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_FROM_NUMBER": "+15550001111",
                "TWILIO_API_BASE": twilio.base_url,
            },
        )
        worker.tick(NOW)
    (row,) = messages(engine, cid)
    assert (row.status, row.reason) == ("failed", "opted_out")
    with session_scope(engine) as session:
        assert session.get(Customer, w["customers"][0]).consent_sms is False


def test_complaint_opens_one_recovery_task(engine) -> None:
    from db.models import Booking, Feedback

    w = world(engine, n=1)
    with session_scope(engine) as session:
        booking = session.scalars(select(Booking).order_by(Booking.scheduled_at.desc())).first()
        session.add(Feedback(booking_id=booking.id, rating=1, complaint=True, comment="too short"))
    worker = make_worker(engine)
    assert worker.tick(NOW)["tasks_opened"] == 1
    assert worker.tick(NOW + timedelta(minutes=1))["tasks_opened"] == 0
    with session_scope(engine) as session:
        (task,) = session.scalars(select(Task)).all()
        assert task.kind == "complaint_recovery" and task.store_id == w["store"]


def test_record_opt_out_and_unsubscribe_link(engine) -> None:
    w = world(engine, n=1)
    cid = campaign(engine, store_id=w["store"])
    make_worker(engine).tick(NOW)
    (row,) = messages(engine, cid)
    with session_scope(engine) as session:
        assert campaign_repo.opt_out_by_tracking_code(session, tracking_code=row.tracking_code, at=NOW)
        assert session.get(Customer, row.customer_id).consent_line is False
        campaign_repo.record_opt_out(session, customer_id=row.customer_id, channel=None, at=NOW)
        assert session.get(Customer, row.customer_id).opted_out_at is not None
    _ = SYSTEM


def test_nightly_jobs_write_snapshots_and_points(sqlite_engine) -> None:
    """The worker's nightly run scores everyone (a snapshot) and brings the points ledger up to date."""
    from sqlalchemy import func, select

    from dashboard.worker import CampaignWorker
    from db.engine import session_scope
    from db.models import PointsLedger, ScoreSnapshot
    from demo.loyalty import seed_loyalty
    from tests.support.factories import small_world

    small_world(sqlite_engine)
    seed_loyalty(sqlite_engine, run_jobs=False)
    worker = CampaignWorker(sqlite_engine)
    try:
        worker.nightly()
        worker.nightly()  # idempotent
    finally:
        worker.close()
    with session_scope(sqlite_engine) as session:
        snapshots = session.scalar(select(func.count(ScoreSnapshot.id)))
        earned = session.scalar(select(func.count(PointsLedger.id)).where(PointsLedger.kind == "earn"))
    assert snapshots == 3  # one row per customer for the last visit day
    assert earned == 4  # one entry per completed visit, written once
