"""The campaign demo tool: customers answer the messages they got by booking.

``python -m dashboard.cli campaigns simulate-bookings`` (a demo tool, never part of the product)
turns the sent and held-out messages of the last days into bookings with a known propensity, so
the results pages of a demo show real conversion and uplift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from db.aggregates import visit_spend_sql
from db.models import Booking, Customer, Message

_CHUNK = 5000


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _insert(session: Session, table: Any) -> Any:
    return pg_insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(table)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def simulate_bookings(
    session: Session,
    *,
    now: datetime,
    sent_propensity: float = 0.35,
    holdout_propensity: float = 0.15,
    lookback_days: int = 14,
    seed: int = 7,
) -> dict[str, int]:
    """DEMO ONLY: customers who got a message (or sat in the holdout) in the last ``lookback_days``
    book with a propensity — higher when sent — so results pages show real conversion and uplift.

    Deterministic (hash of seed and message id) and idempotent (booking dedupe key
    ``sim:<message id>``). Bookings from sent messages carry the message's tracking code.
    """
    now = _aware(now)
    start = now - timedelta(days=lookback_days)
    when = func.coalesce(Message.sent_at, Message.scheduled_for)
    rows = session.execute(
        select(Message.id, Message.customer_id, Message.store_id, Message.status, when, Message.tracking_code).where(
            Message.status.in_(("sent", "holdout")), when >= start, when <= now
        )
    ).all()
    if not rows:
        return {"considered": 0, "booked": 0}
    customer_ids = sorted({r[1] for r in rows})
    last: dict[int, tuple[Any, float]] = {}
    for chunk in _chunks(customer_ids):
        for customer_id, service_id, spend in session.execute(
            select(Booking.customer_id, Booking.service_id, visit_spend_sql())
            .where(Booking.customer_id.in_(list(chunk)), Booking.status == "completed")
            .order_by(Booking.scheduled_at)
        ):
            last[customer_id] = (service_id, float(spend or 0))
    values = []
    for message_id, customer_id, store_id, status, at, code in rows:
        digest = hashlib.blake2b(f"sim:{seed}:{message_id}".encode(), digest_size=8).digest()
        u = int.from_bytes(digest, "big") / 2.0**64
        p = sent_propensity if status == "sent" else holdout_propensity
        if u >= p:
            continue
        rng = np.random.default_rng(int.from_bytes(digest, "big") % (2**32))
        made = _aware(at) + timedelta(hours=float(rng.uniform(2, 120)))
        if made > now:
            made = now - timedelta(minutes=1)
        visit = made + timedelta(days=int(rng.integers(1, 8)), hours=0)
        service_id, amount = last.get(customer_id, (None, 800.0))
        if store_id is None:
            store_id = session.scalar(select(Customer.home_store_id).where(Customer.id == customer_id))
        values.append(
            {
                "dedupe_key": f"sim:{message_id}",
                "external_id": f"SIM-{message_id}",
                "store_id": store_id,
                "customer_id": customer_id,
                "service_id": service_id,
                "created_at": made,
                "scheduled_at": visit,
                "status": "completed" if visit <= now else "booked",
                "amount": amount,
                "addon_amount": 0.0,
                "channel": "line" if status == "sent" else "phone",
                "deposit": 0.0,
                "designated": False,
                "tracking_code": code if status == "sent" else None,
            }
        )
    table = Booking.__table__  # type: ignore[attr-defined]
    before = session.scalar(select(func.count()).select_from(table)) or 0
    for chunk in _chunks(values):
        session.execute(_insert(session, table).on_conflict_do_nothing(index_elements=["dedupe_key"]), list(chunk))
    after = session.scalar(select(func.count()).select_from(table)) or 0
    return {"considered": len(rows), "booked": int(after - before)}
