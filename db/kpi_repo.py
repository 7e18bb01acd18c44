"""Store-scoped reads the KPI board needs beyond ``db.score_repo.load_kpi_inputs``.

- :func:`visitor_home_stores`: the home store of every customer who booked at the caller's
  (picked) stores, so the cross-store share of a store is the same for its manager (who sees
  only customers homed there) and for the chain (who sees everyone);
- :func:`load_reviews`: managers' reviews of model calls, with the customer's home store;
- :func:`review_version`: a fingerprint of the reviews (the model-accuracy KPI reads them).

Like :mod:`db.repo`, a caller asking for another store's rows gets zero rows, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core.scope import Scope
from db import repo
from db.models import Booking, Customer, ModelReview
from db.scoping import scoped

#: Columns of :func:`visitor_home_stores`.
HOME_COLUMNS = ("customer_id", "home_store_id")
#: Columns of :func:`load_reviews`.
REVIEW_COLUMNS = ("customer_id", "store_id", "as_of", "model_label", "manual_label")


def _stores(scope: Scope, store_ids: Sequence[int] | None) -> frozenset[int] | None:
    return repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)


def visitor_home_stores(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """``customer_id``, ``home_store_id`` of the customers with a booking at the caller's stores.

    Only ids: no name or contact of a customer homed elsewhere reaches the caller. Anonymised
    customers are left out (as in ``db.repo.load_customers``).
    """
    stores = _stores(scope, store_ids)
    visitors = scoped(select(Booking.customer_id), Booking.store_id, stores).distinct()
    statement = (
        select(Customer.id, Customer.home_store_id)
        .where(Customer.id.in_(visitors.scalar_subquery()), Customer.anonymized_at.is_(None))
        .order_by(Customer.id)
    )
    frame = pd.DataFrame(session.execute(statement).all(), columns=list(HOME_COLUMNS))
    frame["home_store_id"] = frame["home_store_id"].astype("Int64")
    return frame


def load_reviews(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Reviews of model calls on customers homed at the caller's stores (:data:`REVIEW_COLUMNS`;
    ``store_id`` is the customer's home store, ``as_of`` the day of the call reviewed)."""
    stores = _stores(scope, store_ids)
    statement = (
        select(
            ModelReview.customer_id,
            Customer.home_store_id,
            ModelReview.as_of,
            ModelReview.model_label,
            ModelReview.manual_label,
        )
        .join(Customer, Customer.id == ModelReview.customer_id)
        .where(Customer.anonymized_at.is_(None))
    )
    statement = scoped(statement, Customer.home_store_id, stores)
    frame = pd.DataFrame(session.execute(statement.order_by(ModelReview.id)).all(), columns=list(REVIEW_COLUMNS))
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame


def review_version(session: Session) -> tuple[int, int]:
    """(count, highest id) of the reviews: changes whenever a review is recorded."""
    count, top = session.execute(select(func.count(ModelReview.id), func.max(ModelReview.id))).one()
    return int(count or 0), int(top or 0)
