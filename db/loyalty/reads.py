"""Scoped loaders: ledger, accounts, stored value, monthly plans, referrals and the data version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core import localtime
from core.loyalty.points import LEDGER_COLUMNS
from core.scope import Scope
from db import repo
from db.loyalty.common import ACCOUNT_COLUMNS, LOYALTY_AUDIT_ACTIONS, _allocations_tuple, _chunks
from db.models import (
    Customer,
    MonthlyPlan,
    PointsAccount,
    PointsLedger,
    Referral,
    StoredValueEntry,
)
from db.scoping import scoped

# --------------------------------------------------------------------------- loaders


def _scoped_customer_filter(statement: Any, scope: Scope, store_ids: Sequence[int] | None) -> Any:
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    return scoped(statement, Customer.home_store_id, stores)


def load_ledger(
    session: Session,
    *,
    scope: Scope,
    store_ids: Sequence[int] | None = None,
    customer_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The points ledger of customers whose home store the caller may see.

    Returns
    -------
    DataFrame
        ``core.loyalty.points.LEDGER_COLUMNS`` plus ``home_store_id``; times store-local
        naive; ``allocations`` as tuples of ``(lot_key, points)``; ordered by entry id.
    """
    statement = select(
        PointsLedger.customer_id,
        PointsLedger.kind,
        PointsLedger.points,
        PointsLedger.occurred_at,
        PointsLedger.expires_at,
        PointsLedger.idempotency_key,
        PointsLedger.allocations,
        PointsLedger.note,
        Customer.home_store_id,
    ).join(Customer, Customer.id == PointsLedger.customer_id)
    statement = _scoped_customer_filter(statement, scope, store_ids)
    rows: list[Any] = []
    if customer_ids is not None:
        ids = sorted({int(c) for c in customer_ids})
        for chunk in _chunks(ids):
            rows += session.execute(
                statement.where(PointsLedger.customer_id.in_(chunk)).order_by(PointsLedger.id)
            ).all()
    else:
        rows = list(session.execute(statement.order_by(PointsLedger.id)).all())
    frame = pd.DataFrame(rows, columns=[*LEDGER_COLUMNS, "home_store_id"])
    timezones = repo.store_timezones(session)
    homes = frame["home_store_id"].astype("Int64")
    frame["occurred_at"] = localtime.to_local(frame["occurred_at"], homes, timezones)
    frame["expires_at"] = localtime.to_local(frame["expires_at"], homes, timezones)
    frame["allocations"] = pd.Series(
        [_allocations_tuple(a) for a in frame["allocations"]], index=frame.index, dtype=object
    )
    frame["customer_id"] = frame["customer_id"].astype("int64")
    frame["points"] = frame["points"].astype("int64")
    frame["note"] = frame["note"].fillna("").astype(str)
    frame["home_store_id"] = homes
    return frame


def load_accounts(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Points accounts (balance, tier) of customers the caller may see: ``ACCOUNT_COLUMNS``."""
    statement = select(
        PointsAccount.customer_id,
        Customer.home_store_id,
        PointsAccount.balance,
        PointsAccount.tier,
        PointsAccount.tier_since,
    ).join(Customer, Customer.id == PointsAccount.customer_id)
    statement = _scoped_customer_filter(statement, scope, store_ids)
    frame = pd.DataFrame(
        session.execute(statement.order_by(PointsAccount.customer_id)).all(), columns=list(ACCOUNT_COLUMNS)
    )
    frame["customer_id"] = frame["customer_id"].astype("int64")
    frame["home_store_id"] = frame["home_store_id"].astype("Int64")
    frame["balance"] = frame["balance"].astype("int64")
    frame["tier"] = frame["tier"].astype("string")
    frame["tier_since"] = pd.to_datetime(frame["tier_since"])
    return frame


def load_stored_value(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Stored value entries of the caller's stores, in the ``core.loyalty.plans`` frame shape.

    ``plan_debit`` is read as ``debit`` and ``renewal`` (money paid in) as ``topup``.
    """
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = scoped(
        select(
            StoredValueEntry.id,
            StoredValueEntry.customer_id,
            StoredValueEntry.store_id,
            StoredValueEntry.kind,
            StoredValueEntry.amount,
            StoredValueEntry.occurred_at,
        ),
        StoredValueEntry.store_id,
        stores,
    )
    frame = pd.DataFrame(
        session.execute(statement.order_by(StoredValueEntry.id)).all(),
        columns=["entry_id", "customer_id", "store_id", "kind", "amount", "occurred_at"],
    )
    frame["kind"] = frame["kind"].replace({"plan_debit": "debit", "renewal": "topup"})
    frame["amount"] = frame["amount"].astype(float)
    frame["occurred_at"] = localtime.to_local(frame["occurred_at"], frame["store_id"], repo.store_timezones(session))
    return frame


def load_plans(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Monthly plans of the caller's stores, in the ``core.loyalty.plans`` frame shape (plus ``name``)."""
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = scoped(
        select(
            MonthlyPlan.id,
            MonthlyPlan.customer_id,
            MonthlyPlan.store_id,
            MonthlyPlan.name,
            MonthlyPlan.monthly_fee,
            MonthlyPlan.periods_total,
            MonthlyPlan.periods_paid,
            MonthlyPlan.started_on,
            MonthlyPlan.ends_on,
            MonthlyPlan.status,
        ),
        MonthlyPlan.store_id,
        stores,
    )
    frame = pd.DataFrame(
        session.execute(statement.order_by(MonthlyPlan.id)).all(),
        columns=[
            "plan_id",
            "customer_id",
            "store_id",
            "name",
            "monthly_fee",
            "periods_total",
            "periods_paid",
            "started_on",
            "ends_on",
            "status",
        ],
    )
    for column in ("started_on", "ends_on"):
        frame[column] = pd.to_datetime(frame[column])
    frame["monthly_fee"] = frame["monthly_fee"].astype(float)
    return frame


def _referrals_in_scope(statement: Any, scope: Scope, store_ids: Sequence[int] | None) -> Any:
    """``statement`` over referrals narrowed to those whose referee's home store the caller may see."""
    return _scoped_customer_filter(statement.join(Customer, Customer.id == Referral.referee_id), scope, store_ids)


def load_referrals(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Referrals whose referee's home store the caller may see: ``referrer_id, referee_id, referred_at``."""
    statement = _referrals_in_scope(
        select(Referral.referrer_id, Referral.referee_id, Referral.created_at, Customer.home_store_id), scope, store_ids
    )
    frame = pd.DataFrame(
        session.execute(statement.order_by(Referral.id)).all(),
        columns=["referrer_id", "referee_id", "referred_at", "home_store_id"],
    )
    frame["referred_at"] = localtime.to_local(
        frame["referred_at"], frame["home_store_id"].astype("Int64"), repo.store_timezones(session)
    )
    for column in ("referrer_id", "referee_id"):
        frame[column] = frame[column].astype("int64")
    return frame.drop(columns=["home_store_id"])


def count_referrals(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> int:
    """How many referrals :func:`load_referrals` would return, counted by the database."""
    statement = _referrals_in_scope(select(func.count(Referral.id)).select_from(Referral), scope, store_ids)
    return int(session.scalar(statement) or 0)


def loyalty_version(session: Session) -> tuple[int, int, int]:
    """A cheap fingerprint of loyalty data (ledger, rules, catalog, tiers) for cache keys.

    Every rule, catalog or tier write is audited and every points change is a ledger row, so
    the last ledger id and the last loyalty audit id change with each write. The ledger is append-only,
    so its largest id (an index seek) is enough; counting its rows took 1 s at 2 M rows.
    """
    from db.models import AuditLog

    ledger = session.scalar(select(func.coalesce(func.max(PointsLedger.id), 0))) or 0
    # Only loyalty writes: a sign-in or a campaign edit is audited too and must not throw away
    # every loyalty figure computed so far.
    audit = (
        session.scalar(
            select(func.coalesce(func.max(AuditLog.id), 0)).where(AuditLog.action.in_(LOYALTY_AUDIT_ACTIONS))
        )
        or 0
    )
    return int(ledger), int(ledger), int(audit)
