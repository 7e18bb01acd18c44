"""The outbox: idempotent inserts, runs, contact reads, claims (SKIP LOCKED) and fenced status transitions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session

from db.campaigns.common import _aware, _chunks
from db.dialect import dialect_insert, is_postgres
from db.models import (
    Booking,
    Campaign,
    CampaignRun,
    Customer,
    Message,
    Store,
)


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
