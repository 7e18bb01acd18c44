"""Campaign persistence: campaigns and approval, the outbox (insert-if-absent, claims, status
transitions), opt-outs, follow-up tasks and the frames results pages read.

Guarantees the worker relies on:

- **Idempotent outbox**: :func:`insert_messages` is ``INSERT … ON CONFLICT DO NOTHING`` on the
  unique dedupe key (PostgreSQL and SQLite dialect inserts), so two ticks — or a tick re-run
  after a crash — never create a second row for the same (campaign, customer, occurrence).
- **Claims**: :func:`claim_messages` takes due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` on
  PostgreSQL (several workers), and an atomic ``UPDATE … WHERE claimed_by IS NULL`` on SQLite
  (one writer). A claim older than the timeout is taken again (RELIABILITY 21).
- **Fenced transitions**: every ``mark_*`` updates only a row still held by the caller's claim
  token and still ``queued``, so a worker that lost its claim cannot overwrite a newer outcome.

Every function is keyword-only after the session; functions called from pages take a
:class:`core.scope.Scope` and filter by it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import pandas as pd
from sqlalchemy import and_, case, false, func, or_, select, update
from sqlmodel import Session

from core import localtime
from core.scope import PermissionDenied, Scope
from db import repo
from db.dialect import dialect_insert, is_postgres
from db.models import (
    AuditLog,
    Booking,
    Campaign,
    CampaignRun,
    Customer,
    Feedback,
    Message,
    Pet,
    Staff,
    Store,
    Task,
)
from db.scoping import scoped

UTC = UTC
_CHUNK: Final = 5000
STOP_WORDS: Final = frozenset(
    {"STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "T", "退訂", "退订", "取消訂閱", "取消订阅"}
)
CONSENT_COLUMNS: Final = {
    "line": "consent_line",
    "sms": "consent_sms",
    "email": "consent_email",
    "wechat": "consent_wechat",
}
EDITABLE_STATUSES: Final = ("draft", "pending_approval", "paused")
MESSAGE_FRAME_COLUMNS: Final = (
    "message_id",
    "campaign_id",
    "customer_id",
    "store_id",
    "status",
    "reason",
    "sent_at",
    "cost",
    "variant",
    "channel",
    "scheduled_for",
    "attempts",
    "error",
    "tracking_code",
    "locale",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# ============================================================================ campaigns
def _check_store_edit(scope: Scope, store_id: int | None, permission: str) -> None:
    scope.require(permission)
    if store_id is None:
        if scope.store_ids is not None:
            raise PermissionDenied(
                f"{scope.actor} ({scope.role}) may not {permission.replace('_', ' ')} a chain-wide campaign"
            )
    elif not scope.allows_store(store_id):
        raise PermissionDenied(
            f"{scope.actor} ({scope.role}) may not {permission.replace('_', ' ')} for store {store_id}"
        )


def get_campaign(session: Session, *, scope: Scope, campaign_id: int) -> Campaign | None:
    """The campaign if the caller may see it (store campaigns of their stores, chain-wide ones)."""
    statement = select(Campaign).where(Campaign.id == campaign_id)
    statement = scoped(statement, Campaign.store_id, scope.store_ids, chain_wide=True)
    return session.scalars(statement).first()


def list_campaigns(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> list[Campaign]:
    """Campaigns the caller may see, newest first (``store_ids`` narrows store campaigns)."""
    statement = select(Campaign)
    statement = scoped(statement, Campaign.store_id, scope.store_ids, chain_wide=True)
    if store_ids is not None:
        statement = scoped(statement, Campaign.store_id, scope.narrow(list(store_ids)), chain_wide=True)
    return list(session.scalars(statement.order_by(Campaign.id.desc())))


def create_campaign(
    session: Session,
    *,
    scope: Scope,
    name: str,
    store_id: int | None,
    audience: dict[str, Any],
    trigger: dict[str, Any],
    templates: dict[str, Any],
    channel: str = "line",
    description: str = "",
    schedule_cron: str | None = None,
    send_hour: int = 11,
    holdout_pct: float = 10.0,
    frequency_cap_days: int = 1,
    quiet_start: int = 21,
    quiet_end: int = 9,
    cost_per_message: float = 0.0,
    benefit_budget: float | None = None,
    benefit_per_message: float = 0.0,
) -> Campaign:
    """A new campaign in ``draft`` (needs ``campaign_edit`` and the store in scope)."""
    _check_store_edit(scope, store_id, "campaign_edit")
    if not name.strip():
        raise ValueError("a campaign needs a name")
    if not 0 <= holdout_pct <= 50:
        raise ValueError("holdout_pct must be between 0 and 50")
    campaign = Campaign(
        store_id=store_id,
        name=name.strip(),
        description=description,
        audience=audience,
        trigger=trigger,
        templates=templates,
        channel=channel,
        schedule_cron=schedule_cron,
        send_hour=send_hour,
        holdout_pct=holdout_pct,
        frequency_cap_days=frequency_cap_days,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        cost_per_message=cost_per_message,
        benefit_budget=benefit_budget,
        benefit_per_message=benefit_per_message,
        status="draft",
        created_by=scope.actor,
    )
    session.add(campaign)
    session.flush()
    repo.record_audit(
        session,
        actor=scope.actor,
        action="campaign_create",
        entity="campaign",
        entity_id=campaign.id,
        store_id=store_id,
        after={"name": campaign.name},
    )
    return campaign


def update_campaign(session: Session, *, scope: Scope, campaign_id: int, changes: dict[str, Any]) -> Campaign:
    """Edit a draft / pending / paused campaign; any edit sends it back to ``draft`` (re-approval)."""
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign is None:
        raise PermissionDenied(f"campaign {campaign_id} not found")
    _check_store_edit(scope, campaign.store_id, "campaign_edit")
    if campaign.status not in EDITABLE_STATUSES:
        raise ValueError(f"an {campaign.status} campaign cannot be edited; pause it first")
    allowed = {
        "name",
        "description",
        "audience",
        "trigger",
        "templates",
        "channel",
        "schedule_cron",
        "send_hour",
        "holdout_pct",
        "frequency_cap_days",
        "quiet_start",
        "quiet_end",
        "cost_per_message",
        "benefit_budget",
        "benefit_per_message",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    for key, value in changes.items():
        setattr(campaign, key, value)
    campaign.status = "draft"
    campaign.approved_by = None
    campaign.approved_at = None
    repo.record_audit(
        session,
        actor=scope.actor,
        action="campaign_edit",
        entity="campaign",
        entity_id=campaign.id,
        store_id=campaign.store_id,
        after={"fields": sorted(changes)},
    )
    return campaign


def submit_for_approval(session: Session, *, scope: Scope, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign is None:
        raise PermissionDenied(f"campaign {campaign_id} not found")
    _check_store_edit(scope, campaign.store_id, "campaign_edit")
    if campaign.status != "draft":
        raise ValueError(f"only a draft can be submitted (status is {campaign.status})")
    campaign.status = "pending_approval"
    repo.record_audit(
        session,
        actor=scope.actor,
        action="campaign_submit",
        entity="campaign",
        entity_id=campaign.id,
        store_id=campaign.store_id,
    )
    return campaign


def approve_campaign(session: Session, *, scope: Scope, campaign_id: int, at: datetime | None = None) -> Campaign:
    """Make a campaign live: a store manager for their store's campaign, a chain admin for a
    chain-wide one (``campaign_approve`` and the store checked here, not only in the page)."""
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign is None:
        raise PermissionDenied(f"campaign {campaign_id} not found")
    _check_store_edit(scope, campaign.store_id, "campaign_approve")
    if campaign.status not in ("draft", "pending_approval", "paused"):
        raise ValueError(f"a campaign in status {campaign.status} cannot be approved")
    before = campaign.status
    campaign.status = "active"
    campaign.paused_reason = None
    campaign.approved_by = scope.actor
    campaign.approved_at = _aware(at or _now())
    repo.record_audit(
        session,
        actor=scope.actor,
        action="campaign_approve",
        entity="campaign",
        entity_id=campaign.id,
        store_id=campaign.store_id,
        before={"status": before},
        after={"status": "active"},
    )
    return campaign


def set_campaign_status(
    session: Session, *, scope: Scope, campaign_id: int, status: str, reason: str | None = None
) -> Campaign:
    """Pause or end a campaign (``campaign_edit``); resuming goes through :func:`approve_campaign`."""
    if status not in ("paused", "ended"):
        raise ValueError("status must be paused or ended")
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign is None:
        raise PermissionDenied(f"campaign {campaign_id} not found")
    _check_store_edit(scope, campaign.store_id, "campaign_edit")
    before = campaign.status
    campaign.status = status
    campaign.paused_reason = reason if status == "paused" else campaign.paused_reason
    repo.record_audit(
        session,
        actor=scope.actor,
        action=f"campaign_{status}",
        entity="campaign",
        entity_id=campaign.id,
        store_id=campaign.store_id,
        before={"status": before},
        after={"status": status, "reason": reason},
    )
    return campaign


def pause_campaign_for(session: Session, *, campaign_id: int, reason: str) -> bool:
    """Worker-side pause (quota, budget): only an active campaign; True if this call paused it."""
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == "active")
        .values(status="paused", paused_reason=reason)
    )
    if result.rowcount:
        repo.record_audit(
            session,
            actor="worker",
            action="campaign_paused",
            entity="campaign",
            entity_id=campaign_id,
            after={"reason": reason},
        )
    return bool(result.rowcount)


def active_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.status == "active").order_by(Campaign.id)))


def reserve_benefit(session: Session, *, campaign_id: int, amount: float) -> bool:
    """Atomically add ``amount`` to benefit_spent unless that would exceed the budget."""
    if amount <= 0:
        return True
    result = session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            or_(Campaign.benefit_budget.is_(None), Campaign.benefit_spent + amount <= Campaign.benefit_budget),
        )
        .values(benefit_spent=Campaign.benefit_spent + amount)
    )
    return bool(result.rowcount)


def refund_benefit(session: Session, *, campaign_id: int, amount: float) -> None:
    if amount > 0:
        session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(benefit_spent=Campaign.benefit_spent - amount)
        )


def reserve_benefit_for_message(
    session: Session, *, message_id: int, token: str, campaign_id: int, amount: float
) -> bool:
    """Reserve the message's benefit once (a crashed attempt's reservation is reused, not doubled)."""
    held = session.execute(select(Message.reason).where(_held(message_id, token))).first()
    if held is None:
        return False
    if held[0] == "benefit_reserved":
        return True
    if not reserve_benefit(session, campaign_id=campaign_id, amount=amount):
        return False
    session.execute(update(Message).where(Message.id == message_id).values(reason="benefit_reserved"))
    return True


def refund_benefit_for_message(session: Session, *, message_id: int, campaign_id: int, amount: float) -> None:
    """Give back a reservation when the message was not delivered."""
    result = session.execute(
        update(Message).where(Message.id == message_id, Message.reason == "benefit_reserved").values(reason=None)
    )
    if result.rowcount:
        refund_benefit(session, campaign_id=campaign_id, amount=amount)


def run_done(session: Session, *, campaign_id: int, occurrence: str) -> bool:
    """True when this (campaign, occurrence) was already evaluated to the end."""
    return (
        session.scalar(
            select(func.count())
            .select_from(CampaignRun)
            .where(
                CampaignRun.campaign_id == campaign_id,
                CampaignRun.occurrence == occurrence,
                CampaignRun.status == "done",
            )
        )
        > 0
    )


# ============================================================================ outbox: writing
def existing_dedupe_keys(session: Session, *, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(list(keys)):
        found.update(session.scalars(select(Message.dedupe_key).where(Message.dedupe_key.in_(list(chunk)))))
    return found


def insert_messages(session: Session, *, rows: Sequence[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping any whose dedupe key (or tracking code) exists; returns rows written.

    ``INSERT … ON CONFLICT DO NOTHING`` through the PostgreSQL / SQLite dialect inserts, so
    concurrent or repeated ticks are harmless.
    """
    if not rows:
        return 0
    table = Message.__table__  # type: ignore[attr-defined]
    before = session.scalar(select(func.count()).select_from(table)) or 0
    for chunk in _chunks(list(rows)):
        session.execute(dialect_insert(session, table).on_conflict_do_nothing(), list(chunk))
    after = session.scalar(select(func.count()).select_from(table)) or 0
    return int(after - before)


def ensure_run(session: Session, *, campaign_id: int, occurrence: str, at: datetime) -> int:
    """The run row of (campaign, occurrence), created if absent (unique constraint)."""
    table = CampaignRun.__table__  # type: ignore[attr-defined]
    session.execute(
        dialect_insert(session, table)
        .on_conflict_do_nothing()
        .values(
            campaign_id=campaign_id,
            occurrence=occurrence,
            started_at=_aware(at),
            status="running",
            audience_size=0,
            queued=0,
            holdout=0,
            suppressed=0,
        )
    )
    return int(
        session.scalar(
            select(CampaignRun.id).where(CampaignRun.campaign_id == campaign_id, CampaignRun.occurrence == occurrence)
        )
    )


def finish_run(session: Session, *, run_id: int, audience_size: int, at: datetime) -> None:
    counts = dict(
        session.execute(
            select(Message.status, func.count()).where(Message.run_id == run_id).group_by(Message.status)
        ).all()
    )
    session.execute(
        update(CampaignRun)
        .where(CampaignRun.id == run_id)
        .values(
            audience_size=audience_size,
            queued=int(counts.get("queued", 0)) + int(counts.get("sent", 0)) + int(counts.get("failed", 0)),
            holdout=int(counts.get("holdout", 0)),
            suppressed=int(counts.get("suppressed", 0)),
            finished_at=_aware(at),
            status="done",
        )
    )


def recent_contacts(
    session: Session,
    *,
    customer_ids: Sequence[int],
    start: datetime,
    end: datetime,
    exclude_campaign_occurrence: str | None = None,
) -> pd.DataFrame:
    """Messages sent or queued for these customers in [start, end]: ``customer_id``, ``at`` (UTC),
    ``store_id`` — the frequency cap counts them across campaigns (holdout rows are never sent)."""
    when = func.coalesce(Message.sent_at, Message.scheduled_for)
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(list(customer_ids)):
        rows += session.execute(
            select(Message.customer_id, when, Message.store_id).where(
                Message.customer_id.in_(list(chunk)),
                Message.status.in_(("queued", "sent")),
                when >= _aware(start),
                when <= _aware(end),
            )
        ).all()
    return pd.DataFrame(rows, columns=["customer_id", "at", "store_id"])


def booked_counts(session: Session, *, store_ids: Sequence[int], start: datetime, end: datetime) -> pd.DataFrame:
    """Bookings with status ``booked`` scheduled in [start, end): ``store_id``, ``scheduled_at`` (UTC)."""
    rows = session.execute(
        select(Booking.store_id, Booking.scheduled_at).where(
            Booking.status == "booked",
            Booking.store_id.in_(list(store_ids)),
            Booking.scheduled_at >= _aware(start),
            Booking.scheduled_at < _aware(end),
        )
    ).all()
    return pd.DataFrame(rows, columns=["store_id", "scheduled_at"])


def mark_not_configured(session: Session, *, channels: Sequence[str]) -> int:
    """Flag queued rows of channels without credentials (they stay queued, nothing is faked)."""
    if not channels:
        return 0
    result = session.execute(
        update(Message)
        .where(
            Message.status == "queued",
            Message.channel.in_(list(channels)),
            or_(Message.reason.is_(None), Message.reason != "channel_not_configured"),
        )
        .values(reason="channel_not_configured")
    )
    return int(result.rowcount or 0)


# ============================================================================ outbox: claims
@dataclass(frozen=True)
class ClaimedMessage:
    """A claimed outbox row with what the sender needs (campaign, recipient, store)."""

    id: int
    campaign_id: int
    customer_id: int
    store_id: int | None
    channel: str
    dedupe_key: str
    tracking_code: str
    body: str
    locale: str
    attempts: int
    scheduled_for: datetime
    campaign_status: str
    quiet_start: int
    quiet_end: int
    cost_per_message: float
    benefit_per_message: float
    frequency_cap_days: int
    opted_out_at: datetime | None
    consent: dict[str, bool]
    address: dict[str, str | None]
    timezone: str
    store_code: str


def claim_messages(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    limit: int,
    claim_timeout_seconds: int,
    channels: Sequence[str],
) -> tuple[str, list[int]]:
    """Claim up to ``limit`` due, queued rows of active campaigns on ``channels`` and commit.

    Due means ``scheduled_for <= now`` and ``next_attempt_at`` empty or past. A row claimed
    more than ``claim_timeout_seconds`` ago (its worker died) is claimable again.

    Returns
    -------
    (token, ids)
        The claim token to pass to the ``mark_*`` functions, and the claimed ids.
    """
    now = _aware(now)
    token = f"{worker_id[:40]}:{uuid.uuid4().hex[:12]}"
    if not channels or limit <= 0:
        return token, []
    cutoff = now - timedelta(seconds=claim_timeout_seconds)
    claimable = or_(Message.claimed_by.is_(None), Message.claimed_at < cutoff)
    eligible = (
        select(Message.id)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(
            Message.status == "queued",
            Campaign.status == "active",
            Message.channel.in_(list(channels)),
            Message.scheduled_for <= now,
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            claimable,
        )
        .order_by(Message.scheduled_for, Message.id)
        .limit(limit)
    )
    if is_postgres(session):
        ids = list(session.scalars(eligible.with_for_update(skip_locked=True, of=Message)))
        if ids:
            session.execute(update(Message).where(Message.id.in_(ids)).values(claimed_by=token, claimed_at=now))
    else:
        # One UPDATE statement: SQLite runs it under its single write lock, so the check and the
        # claim are atomic; the claimable condition is repeated on the outer row.
        session.execute(
            update(Message)
            .where(Message.id.in_(eligible.scalar_subquery()), claimable, Message.status == "queued")
            .values(claimed_by=token, claimed_at=now),
            execution_options={"synchronize_session": False},
        )
        ids = list(session.scalars(select(Message.id).where(Message.claimed_by == token).order_by(Message.id)))
    session.commit()
    return token, ids


def load_claimed(session: Session, *, token: str) -> list[ClaimedMessage]:
    """The rows held by ``token`` with campaign, customer and store facts."""
    rows = session.execute(
        select(
            Message,
            Campaign.status,
            Campaign.quiet_start,
            Campaign.quiet_end,
            Campaign.cost_per_message,
            Campaign.benefit_per_message,
            Campaign.frequency_cap_days,
            Customer,
            Store.timezone,
            Store.code,
        )
        .join(Campaign, Campaign.id == Message.campaign_id)
        .join(Customer, Customer.id == Message.customer_id)
        .outerjoin(Store, Store.id == Message.store_id)
        .where(Message.claimed_by == token, Message.status == "queued")
        .order_by(Message.id)
    ).all()
    out = []
    for m, c_status, q_start, q_end, cost, benefit, cap, customer, tz, code in rows:
        out.append(
            ClaimedMessage(
                id=m.id,
                campaign_id=m.campaign_id,
                customer_id=m.customer_id,
                store_id=m.store_id,
                channel=m.channel,
                dedupe_key=m.dedupe_key,
                tracking_code=m.tracking_code,
                body=m.body,
                locale=m.locale,
                attempts=m.attempts,
                scheduled_for=m.scheduled_for,
                campaign_status=c_status,
                quiet_start=q_start,
                quiet_end=q_end,
                cost_per_message=float(cost or 0),
                benefit_per_message=float(benefit or 0),
                frequency_cap_days=int(cap or 0),
                opted_out_at=customer.opted_out_at,
                consent={
                    "line": customer.consent_line,
                    "sms": customer.consent_sms,
                    "email": customer.consent_email,
                    "wechat": customer.consent_wechat,
                    "task": True,
                },
                address={
                    "line": customer.line_id,
                    "sms": customer.phone,
                    "email": customer.email,
                    "wechat": customer.wechat_openid,
                    "task": customer.phone,
                },
                timezone=tz or "Asia/Taipei",
                store_code=code or "",
            )
        )
    return out


def _held(message_id: int, token: str) -> Any:
    return and_(Message.id == message_id, Message.claimed_by == token, Message.status == "queued")


def mark_sent(
    session: Session, *, message_id: int, token: str, at: datetime, provider_message_id: str | None, cost: float
) -> bool:
    result = session.execute(
        update(Message)
        .where(_held(message_id, token))
        .values(
            status="sent",
            sent_at=_aware(at),
            provider_message_id=provider_message_id,
            cost=cost,
            attempts=Message.attempts + 1,
            claimed_by=None,
            claimed_at=None,
            reason=None,
            error=None,
        )
    )
    return bool(result.rowcount)


def mark_retry(session: Session, *, message_id: int, token: str, next_attempt_at: datetime, error: str | None) -> bool:
    result = session.execute(
        update(Message)
        .where(_held(message_id, token))
        .values(
            attempts=Message.attempts + 1,
            next_attempt_at=_aware(next_attempt_at),
            error=(error or "")[:2000],
            reason="retry",
            claimed_by=None,
            claimed_at=None,
        )
    )
    return bool(result.rowcount)


def mark_failed(
    session: Session,
    *,
    message_id: int,
    token: str,
    error: str | None,
    reason: str | None = None,
    count_attempt: bool = True,
) -> bool:
    values: dict[str, Any] = {
        "status": "failed",
        "error": (error or "")[:2000],
        "reason": reason,
        "claimed_by": None,
        "claimed_at": None,
    }
    if count_attempt:
        values["attempts"] = Message.attempts + 1
    result = session.execute(update(Message).where(_held(message_id, token)).values(**values))
    return bool(result.rowcount)


def mark_suppressed(session: Session, *, message_id: int, token: str, reason: str) -> bool:
    result = session.execute(
        update(Message)
        .where(_held(message_id, token))
        .values(status="suppressed", reason=reason, claimed_by=None, claimed_at=None)
    )
    return bool(result.rowcount)


def defer_message(session: Session, *, message_id: int, token: str, until: datetime, reason: str) -> bool:
    """Release the claim and wait until ``until`` (quiet hours); attempts unchanged."""
    result = session.execute(
        update(Message)
        .where(_held(message_id, token))
        .values(next_attempt_at=_aware(until), reason=reason, claimed_by=None, claimed_at=None)
    )
    return bool(result.rowcount)


def release_claims(
    session: Session, *, token: str, message_ids: Sequence[int] | None = None, reason: str | None = None
) -> int:
    statement = update(Message).where(Message.claimed_by == token, Message.status == "queued")
    if message_ids is not None:
        statement = statement.where(Message.id.in_(list(message_ids)))
    values: dict[str, Any] = {"claimed_by": None, "claimed_at": None}
    if reason is not None:
        values["reason"] = reason
    return int(session.execute(statement.values(**values)).rowcount or 0)


def last_sent_for(session: Session, *, customer_id: int, exclude_message_id: int) -> datetime | None:
    """The latest send time of another message to this customer (send-time frequency check)."""
    return session.scalar(
        select(func.max(Message.sent_at)).where(
            Message.customer_id == customer_id, Message.status == "sent", Message.id != exclude_message_id
        )
    )


# ============================================================================ opt-outs
def record_opt_out(session: Session, *, customer_id: int, channel: str | None, at: datetime) -> bool:
    """Record an opt-out: ``channel`` None / ``"all"`` sets ``opted_out_at`` (global), a channel
    name withdraws that channel's consent. Queued messages are suppressed at send time."""
    at = _aware(at)
    if channel in (None, "all"):
        result = session.execute(
            update(Customer).where(Customer.id == customer_id, Customer.opted_out_at.is_(None)).values(opted_out_at=at)
        )
    else:
        column = CONSENT_COLUMNS.get(channel)
        if column is None:
            raise ValueError(f"channel {channel!r} has no consent to withdraw")
        result = session.execute(update(Customer).where(Customer.id == customer_id).values({column: False}))
    if result.rowcount:
        repo.record_audit(
            session,
            actor="customer",
            action="opt_out",
            entity="customer",
            entity_id=customer_id,
            after={"channel": channel or "all", "at": at.isoformat()},
        )
    return bool(result.rowcount)


def opt_out_by_tracking_code(session: Session, *, tracking_code: str, at: datetime, all_channels: bool = False) -> bool:
    """The unsubscribe link: the message's customer opts out of its channel (or of everything)."""
    row = session.execute(
        select(Message.customer_id, Message.channel).where(Message.tracking_code == tracking_code)
    ).first()
    if row is None:
        return False
    channel = None if all_channels or row.channel == "task" else row.channel
    record_opt_out(session, customer_id=row.customer_id, channel=channel, at=at)
    return True


def handle_inbound_reply(session: Session, *, channel: str, sender: str, text: str, at: datetime) -> bool:
    """A STOP-style reply (STOP, 退訂, TD…) from a phone / LINE id / openid opts that customer out
    of the channel. Returns True when an opt-out was recorded."""
    if text.strip().upper() not in STOP_WORDS:
        return False
    column = {
        "sms": Customer.phone,
        "line": Customer.line_id,
        "wechat": Customer.wechat_openid,
        "email": Customer.email,
    }.get(channel)
    if column is None:
        return False
    ids = list(session.scalars(select(Customer.id).where(column == sender.strip())))
    for customer_id in ids:
        record_opt_out(session, customer_id=customer_id, channel=channel, at=at)
    return bool(ids)


# ============================================================================ tasks
def create_message_task(session: Session, *, message_id: int, due_on: date) -> int:
    """The follow-up task of a task-channel message (idempotent on the message's dedupe key)."""
    message = session.get(Message, message_id)
    if message is None:
        raise ValueError(f"message {message_id} does not exist")
    key = "msg:" + message.dedupe_key
    if len(key) > 120:
        key = "msg:" + hashlib.sha256(message.dedupe_key.encode()).hexdigest()
    store_id = message.store_id
    if store_id is None:
        store_id = session.scalar(select(Customer.home_store_id).where(Customer.id == message.customer_id))
    table = Task.__table__  # type: ignore[attr-defined]
    session.execute(
        dialect_insert(session, table)
        .on_conflict_do_nothing()
        .values(
            store_id=store_id,
            customer_id=message.customer_id,
            campaign_id=message.campaign_id,
            message_id=message.id,
            kind="follow_up",
            reason="campaign",
            script=message.body,
            due_on=due_on,
            status="open",
            idempotency_key=key,
            created_at=_now(),
        )
    )
    return int(session.scalar(select(Task.id).where(Task.idempotency_key == key)))


def open_complaint_tasks(session: Session, *, since: datetime, until: datetime, today_by_store: dict[int, date]) -> int:
    """A recovery task per complaint about a visit in [since, until] (idempotent key
    ``complaint:<feedback id>``, so every tick may call it)."""
    rows = session.execute(
        select(Feedback.id, Booking.store_id, Booking.customer_id, Feedback.comment)
        .join(Booking, Booking.id == Feedback.booking_id)
        .where(
            Feedback.complaint.is_(True), Booking.scheduled_at >= _aware(since), Booking.scheduled_at <= _aware(until)
        )
    ).all()
    if not rows:
        return 0
    keys = [f"complaint:{r[0]}" for r in rows]
    existing = set(session.scalars(select(Task.idempotency_key).where(Task.idempotency_key.in_(keys))))
    values = [
        {
            "store_id": store_id,
            "customer_id": customer_id,
            "kind": "complaint_recovery",
            "reason": "complaint",
            "script": comment or "",
            "due_on": today_by_store.get(store_id, date.today()),
            "status": "open",
            "idempotency_key": f"complaint:{fid}",
            "created_at": _now(),
        }
        for fid, store_id, customer_id, comment in rows
        if f"complaint:{fid}" not in existing
    ]
    if not values:
        return 0
    table = Task.__table__  # type: ignore[attr-defined]
    before = session.scalar(select(func.count()).select_from(table)) or 0
    session.execute(dialect_insert(session, table).on_conflict_do_nothing(), values)
    after = session.scalar(select(func.count()).select_from(table)) or 0
    return int(after - before)


def list_tasks(
    session: Session,
    *,
    scope: Scope,
    store_ids: Sequence[int] | None = None,
    due_until: date | None = None,
    statuses: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Follow-up tasks of the caller's stores: task, customer, phone, kind, script, due, status."""
    scope.require("tasks")
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = select(
        Task.id,
        Task.store_id,
        Task.customer_id,
        Customer.name,
        Customer.phone,
        Task.kind,
        Task.reason,
        Task.script,
        Task.due_on,
        Task.status,
        Task.created_at,
        Task.completed_at,
        Task.campaign_id,
    ).join(Customer, Customer.id == Task.customer_id)
    statement = scoped(statement, Task.store_id, stores)
    if due_until is not None:
        statement = statement.where(Task.due_on <= due_until)
    if statuses:
        statement = statement.where(Task.status.in_(list(statuses)))
    rows = session.execute(statement.order_by(Task.due_on, Task.id)).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "task_id",
            "store_id",
            "customer_id",
            "name",
            "phone",
            "kind",
            "reason",
            "script",
            "due_on",
            "status",
            "created_at",
            "completed_at",
            "campaign_id",
        ],
    )
    timezones = repo.store_timezones(session)
    frame["created_at"] = localtime.to_local(frame["created_at"], frame["store_id"], timezones)
    return frame


def update_task_status(
    session: Session, *, scope: Scope, task_id: int, status: str, at: datetime | None = None
) -> Task:
    """Front desk: mark a task done / no answer / booked (``tasks`` permission, own stores only)."""
    scope.require("tasks")
    if status not in ("open", "done", "no_answer", "booked"):
        raise ValueError(f"unknown task status {status!r}")
    task = session.get(Task, task_id)
    if task is None or not scope.allows_store(task.store_id):
        raise PermissionDenied(f"task {task_id} not found")
    before = task.status
    task.status = status
    task.completed_at = None if status == "open" else _aware(at or _now())
    task.completed_by = None if status == "open" else scope.actor
    repo.record_audit(
        session,
        actor=scope.actor,
        action="task_status",
        entity="task",
        entity_id=task_id,
        store_id=task.store_id,
        before={"status": before},
        after={"status": status},
    )
    return task


# ============================================================================ reads for results
def load_messages(
    session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None, campaign_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Outbox rows of the caller's stores: :data:`MESSAGE_FRAME_COLUMNS`, times store-local.

    ``sent_at`` of a holdout row is its scheduled time (when it would have gone out), which is
    what :func:`core.kpi.attribute_bookings` expects of the holdout arm.
    """
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = select(
        Message.id,
        Message.campaign_id,
        Message.customer_id,
        Message.store_id,
        Message.status,
        Message.reason,
        Message.sent_at,
        Message.cost,
        Message.variant,
        Message.channel,
        Message.scheduled_for,
        Message.attempts,
        Message.error,
        Message.tracking_code,
        Message.locale,
    )
    statement = scoped(statement, Message.store_id, stores)
    if campaign_ids is not None:
        statement = statement.where(Message.campaign_id.in_(list(campaign_ids)) if campaign_ids else false())
    frame = pd.DataFrame(session.execute(statement.order_by(Message.id)).all(), columns=list(MESSAGE_FRAME_COLUMNS))
    timezones = repo.store_timezones(session)
    for column in ("sent_at", "scheduled_for"):
        frame[column] = localtime.to_local(frame[column], frame["store_id"], timezones)
    hold = frame["status"].eq("holdout")
    frame.loc[hold, "sent_at"] = frame.loc[hold, "scheduled_for"]
    frame["cost"] = frame["cost"].astype(float)
    return frame


def message_counts(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Per campaign: messages by status (``campaign_id`` + queued/sent/failed/suppressed/holdout)."""
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statuses = ("queued", "sent", "failed", "suppressed", "holdout")
    columns = [func.sum(case((Message.status == s, 1), else_=0)).label(s) for s in statuses]
    not_configured = func.sum(
        case((and_(Message.status == "queued", Message.reason == "channel_not_configured"), 1), else_=0)
    ).label("not_configured")
    statement = scoped(select(Message.campaign_id, *columns, not_configured), Message.store_id, stores)
    rows = session.execute(statement.group_by(Message.campaign_id)).all()
    frame = pd.DataFrame(rows, columns=["campaign_id", *statuses, "not_configured"])
    for column in (*statuses, "not_configured"):
        frame[column] = frame[column].fillna(0).astype(int)
    return frame


def outbox_version(session: Session) -> tuple[int, int, int, int]:
    """Cheap fingerprint of the outbox, tasks and campaigns (cache keys of results pages)."""
    m = session.execute(
        select(
            func.count(Message.id),
            func.coalesce(func.sum(Message.attempts), 0),
            func.coalesce(func.sum(case((Message.status == "sent", 1), else_=0)), 0),
        )
    ).one()
    t = session.execute(
        select(func.count(Task.id), func.coalesce(func.sum(case((Task.status != "open", 1), else_=0)), 0))
    ).one()
    c = session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action.like("campaign%"))) or 0
    return int(m[0]) + int(m[1]) * 7 + int(m[2]) * 13, int(t[0]), int(t[1]), int(c)


def load_pets(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Pets of the caller's customers: ``customer_id, name, species, breed, birthday, vaccine_due``."""
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = select(Pet.customer_id, Pet.name, Pet.species, Pet.breed, Pet.birthday, Pet.vaccine_due).join(
        Customer, Customer.id == Pet.customer_id
    )
    statement = scoped(statement, Customer.home_store_id, stores)
    return pd.DataFrame(
        session.execute(statement.order_by(Pet.id)).all(),
        columns=["customer_id", "name", "species", "breed", "birthday", "vaccine_due"],
    )


def staff_names(session: Session) -> dict[int, str]:
    return {int(i): str(n) for i, n in session.execute(select(Staff.id, Staff.name))}


def store_facts(session: Session) -> dict[int, dict[str, Any]]:
    """Store id → code, name, country, timezone, daily capacity."""
    return {
        s.id: {
            "code": s.code,
            "name": s.name,
            "country": s.country,
            "timezone": s.timezone,
            "daily_capacity": s.daily_capacity,
        }
        for s in session.scalars(select(Store))
    }


def tier_events(session: Session, *, since: datetime) -> pd.DataFrame:
    """Tier changes written by the loyalty job (AuditLog ``tier_change``): ``customer_id``,
    ``direction``, ``on`` (the as-of day of the change)."""
    rows = session.execute(
        select(AuditLog.entity_id, AuditLog.after, AuditLog.at).where(
            AuditLog.action == "tier_change", AuditLog.at >= _aware(since)
        )
    ).all()
    out = []
    for entity_id, after, at in rows:
        after = after or {}
        on = after.get("as_of") or pd.Timestamp(at).date().isoformat()
        try:
            out.append(
                {"customer_id": int(entity_id), "direction": str(after.get("direction", "")), "on": pd.Timestamp(on)}
            )
        except (TypeError, ValueError):
            continue
    return pd.DataFrame(out, columns=["customer_id", "direction", "on"])
