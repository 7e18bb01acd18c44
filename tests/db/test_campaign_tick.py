"""The campaign tick as a use case (services.campaign_tick) with a recording channel: exactly who
is sent what, nothing twice at the same ``now``, and no tick for an actor who may not run it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.campaigns.delivery import Channel, OutboundMessage, SendOutcome, SendResult
from core.scope import PermissionDenied, Scope
from db.engine import session_scope
from db.models import Customer
from services.campaign_tick import TickOptions, run_tick
from tests.db.test_campaign_world import NOW, campaign, messages, world


class RecordingChannel:
    """Accepts every message and remembers it (what a provider would have received)."""

    name = "line"

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(SendOutcome.DELIVERED, provider_message_id=f"p{len(self.sent)}")

    def close(self) -> None:
        pass


class Directory:
    """LINE is configured; every other channel has no credentials."""

    def __init__(self) -> None:
        self.line = RecordingChannel()
        self.asked: list[str] = []

    def channel(self, name: str) -> Channel | None:
        self.asked.append(name)
        return self.line if name == "line" else None


def _options() -> TickOptions:
    return TickOptions(worker_id="t1", claim_timeout_seconds=300)


def test_one_tick_sends_exactly_the_consenting_reachable_customers_once(engine) -> None:
    w = world(engine, n=5)
    other = world(engine, n=1, store_code="S02")  # another store: outside the campaign
    c0, c1, c2, c3, c4 = w["customers"]
    with session_scope(engine) as session:
        session.get(Customer, c1).consent_line = False
        session.get(Customer, c2).opted_out_at = datetime(2026, 4, 1, tzinfo=UTC)
        session.get(Customer, c3).line_id = None
    # One-off at 10:00 Taipei; NOW is 11:00 Taipei, outside quiet hours.
    cid = campaign(engine, store_id=w["store"])
    sms = campaign(engine, store_id=w["store"], channel="sms", name="sms")
    directory = Directory()
    task_due: dict[int, date] = {}

    first = run_tick(engine, Scope.system("worker"), now=NOW, channels=directory, options=_options(), task_due=task_due)

    # Only customers 0 and 4 consent to LINE, are not opted out and have a LINE id.
    sent_to = sorted(m.to for m in directory.line.sent)
    assert sent_to == sorted([f"US01{0:030d}", f"US01{4:030d}"])
    by_to = {m.to: m for m in directory.line.sent}
    assert by_to[f"US01{0:030d}"].body.startswith("客人0 您好")
    assert by_to[f"US01{4:030d}"].body.startswith("客人4 您好")
    assert {m.dedupe_key for m in directory.line.sent} == {
        f"c{cid}:u{c0}:once@2026-05-04T10:00",
        f"c{cid}:u{c4}:once@2026-05-04T10:00",
    }
    assert all(m.channel == "line" for m in directory.line.sent)
    assert first["sent"] == 2
    rows = {r.customer_id: (r.status, r.reason) for r in messages(engine, cid)}
    assert rows[c0][0] == rows[c4][0] == "sent"
    assert rows[c1] == ("suppressed", "no_consent")
    assert rows[c2] == ("suppressed", "opted_out")
    assert rows[c3] == ("suppressed", "no_address")
    assert other["customers"][0] not in rows
    # The SMS campaign has no channel: its rows wait, flagged, and nothing was sent for them.
    assert {r.status for r in messages(engine, sms)} <= {"queued", "suppressed"}
    assert any(r.reason == "channel_not_configured" for r in messages(engine, sms))
    assert set(task_due) == {r.id for r in messages(engine, cid) if r.status == "sent"}

    second = run_tick(engine, Scope.system("worker"), now=NOW, channels=directory, options=_options())
    assert len(directory.line.sent) == 2  # nothing new
    assert (second["sent"], second["queued"], second["holdout"]) == (0, 0, 0)
    assert len(messages(engine, cid)) == 5


@pytest.mark.parametrize(
    "scope",
    [
        Scope(actor="mkt", role="marketer", store_ids=None),
        Scope(actor="mgr", role="store_manager", store_ids=frozenset({1})),
    ],
)
def test_a_tick_is_refused_to_an_actor_who_may_not_run_it(engine, scope) -> None:
    w = world(engine, n=2)
    cid = campaign(engine, store_id=w["store"])
    directory = Directory()
    with pytest.raises(PermissionDenied):
        run_tick(engine, scope, now=NOW, channels=directory, options=_options())
    assert directory.line.sent == [] and messages(engine, cid) == []
