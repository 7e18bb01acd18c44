"""Follow-up tasks: created for messages and complaints, listed and updated."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core import localtime
from core.scope import PermissionDenied, Scope
from db import repo
from db.campaigns.common import _aware, _now
from db.dialect import dialect_insert
from db.models import (
    Booking,
    Customer,
    Feedback,
    Message,
    Task,
)
from db.scoping import scoped


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
