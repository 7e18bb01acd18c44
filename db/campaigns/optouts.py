"""Opt-outs: recorded directly, by tracking code, or from an inbound reply."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from db import repo
from db.campaigns.common import CONSENT_COLUMNS, STOP_WORDS, _aware
from db.models import (
    Customer,
    Message,
)


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
