"""Frames the results pages read: messages, counts, version, pets, staff, store facts, tier events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, false, func, select
from sqlmodel import Session

from core import localtime
from core.scope import Scope
from db import repo
from db.campaigns.common import MESSAGE_FRAME_COLUMNS, _aware
from db.models import (
    AuditLog,
    Customer,
    Message,
    Pet,
    Staff,
    Store,
    Task,
)
from db.scoping import scoped


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
