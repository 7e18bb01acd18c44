"""Store-scoped reads for the predictive models (churn, no-show, forecast) and the model page.

- :func:`load_feedback`: ratings and complaints, scoped through the booking's store;
- :func:`load_model_reviews`: managers' manual verdicts (``ModelReview``), scoped through the
  customer's home store;
- :func:`load_model_inputs`: the raw frames the model glue (``dashboard.model_service``) needs.

Like :mod:`db.repo`, a caller asking for another store's rows gets zero rows, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core.scope import Scope
from db import repo
from db.models import Booking, Customer, Feedback, ModelReview
from db.scoping import scoped

#: Columns of :func:`load_feedback`.
FEEDBACK_COLUMNS = ("booking_id", "complaint", "rating")
#: Columns of :func:`load_model_reviews`.
REVIEW_COLUMNS = ("customer_id", "reviewer", "as_of", "model_label", "manual_label", "created_at")
#: Columns of :func:`load_model_inputs`' ``stores`` frame.
STORE_COLUMNS = ("store_id", "code", "name", "kind", "country", "daily_capacity")


def _stores(scope: Scope, store_ids: Sequence[int] | None) -> frozenset[int] | None:
    return repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)


def load_feedback(
    session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None, until: date | None = None
) -> pd.DataFrame:
    """Feedback on bookings at the caller's (picked) stores: ``booking_id``, ``complaint``, ``rating``.

    ``until`` keeps feedback on bookings scheduled up to that day (with the same day of slack as
    :func:`db.repo.load_bookings`; core applies the exact cut-off through the bookings).
    """
    stores = _stores(scope, store_ids)
    statement = select(Feedback.booking_id, Feedback.complaint, Feedback.rating).join(
        Booking, Booking.id == Feedback.booking_id
    )
    statement = scoped(statement, Booking.store_id, stores)
    if until is not None:
        cutoff = datetime.combine(until + timedelta(days=2), time.min, tzinfo=ZoneInfo("UTC"))
        statement = statement.where(Booking.scheduled_at < cutoff)
    rows = session.execute(statement.order_by(Feedback.booking_id)).all()
    frame = pd.DataFrame(rows, columns=list(FEEDBACK_COLUMNS))
    frame["booking_id"] = frame["booking_id"].astype("int64")
    frame["complaint"] = frame["complaint"].astype(bool)
    frame["rating"] = pd.to_numeric(frame["rating"], errors="coerce").astype(float)
    return frame


def load_model_reviews(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Managers' manual reviews of customers whose home store the caller may see."""
    stores = _stores(scope, store_ids)
    statement = select(
        ModelReview.customer_id,
        ModelReview.reviewer,
        ModelReview.as_of,
        ModelReview.model_label,
        ModelReview.manual_label,
        ModelReview.created_at,
    ).join(Customer, Customer.id == ModelReview.customer_id)
    statement = scoped(statement, Customer.home_store_id, stores)
    rows = session.execute(statement.order_by(ModelReview.id)).all()
    return pd.DataFrame(rows, columns=list(REVIEW_COLUMNS))


def load_store_frame(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """The caller's (picked) stores with kind, country and daily capacity."""
    stores = _stores(scope, store_ids)
    rows = [
        (s.id, s.code, s.name, s.kind, s.country, s.daily_capacity)
        for s in repo.list_stores(session, scope=scope)
        if stores is None or s.id in stores
    ]
    return pd.DataFrame(rows, columns=list(STORE_COLUMNS))


def load_model_inputs(
    session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None, until: date | None = None
) -> dict[str, Any]:
    """Raw frames for the models: ``bookings``, ``customers``, ``feedback``, ``stores``.

    ``until=None`` loads every booking (the no-show list needs upcoming bookings); core functions
    apply the as-of cut-off themselves.
    """
    picked = list(store_ids) if store_ids is not None else None
    return {
        "bookings": repo.load_bookings(session, scope=scope, store_ids=picked, until=until),
        "customers": repo.load_customers(session, scope=scope, store_ids=picked),
        "feedback": load_feedback(session, scope=scope, store_ids=picked, until=until),
        "stores": load_store_frame(session, scope=scope, store_ids=picked),
    }
