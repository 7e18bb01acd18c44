"""Store-scoped reads shared by pages, the CLI and the worker.

Every function is keyword-only after the session, takes the caller's :class:`core.scope.Scope`
and filters by it: a store-A manager asking for store B gets zero rows, never an error that
leaks whether the row exists.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import String, and_, func, select, type_coerce
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from core.columns import BOOKING_COLUMNS, CUSTOMER_COLUMNS

# Re-exported for callers not yet moved to core.localtime (dashboard/worker.py).
from core.localtime import local_day, to_local, to_utc  # noqa: F401
from core.scope import Scope
from db.dialect import is_sqlite
from db.models import AuditLog, Booking, Customer, ImportBatch, MemberMerge, Service, Store
from db.scoping import scoped


def listed_customer() -> ColumnElement[bool]:
    """The condition of a customer shown in lists, scores and KPIs: not anonymised and not a
    member card merged into another member (``db.merge_repo``), whose history now belongs to it."""
    return and_(Customer.anonymized_at.is_(None), Customer.merged_into_id.is_(None))


def allowed_store_ids(*, scope: Scope, store_ids: list[int] | tuple[int, ...] | None = None) -> frozenset[int] | None:
    """Stores the query may touch (None = all)."""
    return scope.narrow(store_ids)


def list_stores(session: Session, *, scope: Scope) -> list[Store]:
    """Stores the caller may see, by code."""
    statement = scoped(select(Store), Store.id, scope.store_ids).order_by(Store.code)
    return list(session.scalars(statement))


def store_timezones(session: Session) -> dict[int, str]:
    return {row.id: row.timezone for row in session.execute(select(Store.id, Store.timezone))}


def load_bookings(
    session: Session,
    *,
    scope: Scope,
    store_ids: list[int] | tuple[int, ...] | None = None,
    until: date | None = None,
    customer_ids: list[int] | None = None,
) -> pd.DataFrame:
    """Bookings the caller may see as a frame with ``BOOKING_COLUMNS`` (store-local times).

    ``until`` keeps bookings scheduled up to the end of that day (with a day of slack for time
    zones; core functions apply the exact local cut-off).
    """
    stores = allowed_store_ids(scope=scope, store_ids=store_ids)
    created_at, scheduled_at = Booking.created_at, Booking.scheduled_at
    if is_sqlite(session):
        # SQLite keeps UTC times as ISO text: read the text and let pandas parse the whole column
        # (to_local below) instead of building and re-zoning a datetime object per row in Python,
        # which was most of the load time at 1 M bookings. Same instants either way.
        created_at = type_coerce(Booking.created_at, String).label("created_at")  # type: ignore[assignment]
        scheduled_at = type_coerce(Booking.scheduled_at, String).label("scheduled_at")  # type: ignore[assignment]
    statement = select(
        Booking.id.label("booking_id"),
        Booking.customer_id,
        Booking.store_id,
        Booking.pet_id,
        Booking.service_id,
        func.coalesce(Service.category, "other").label("service_category"),
        Booking.staff_id,
        Booking.designated,
        created_at,
        scheduled_at,
        Booking.status,
        Booking.amount,
        Booking.addon_amount,
        Booking.channel,
        Booking.deposit,
    ).outerjoin(Service, Service.id == Booking.service_id)
    statement = scoped(statement, Booking.store_id, stores)
    if until is not None:
        cutoff = datetime.combine(until + timedelta(days=2), time.min, tzinfo=ZoneInfo("UTC"))
        statement = statement.where(Booking.scheduled_at < cutoff)
    if customer_ids is not None:
        statement = statement.where(Booking.customer_id.in_(customer_ids))
    rows = session.execute(statement.order_by(Booking.id)).tuples().all()
    # Plain tuples: pandas inspects every Row object otherwise (seconds at 1 M rows).
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(BOOKING_COLUMNS))
    timezones = store_timezones(session)
    for column in ("created_at", "scheduled_at"):
        frame[column] = to_local(frame[column], frame["store_id"], timezones)
    for column in ("pet_id", "service_id", "staff_id"):
        frame[column] = frame[column].astype("Int64")
    frame["designated"] = frame["designated"].astype(bool)
    for column in ("amount", "addon_amount", "deposit"):
        frame[column] = frame[column].astype(float)
    frame["booking_id"] = frame["booking_id"].astype("int64")
    frame["customer_id"] = frame["customer_id"].astype("int64")
    frame["store_id"] = frame["store_id"].astype("int64")
    return frame


def customer_contacts(session: Session, *, scope: Scope, customer_ids: list[int] | tuple[int, ...]) -> pd.DataFrame:
    """``customer_id, name, external_id, phone, home_store_id`` of the given customers whose home
    store the caller may see (anonymised customers left out), in the order asked."""
    columns = ["customer_id", "name", "external_id", "phone", "home_store_id"]
    wanted = [int(c) for c in customer_ids]
    if not wanted:
        return pd.DataFrame(columns=columns)
    statement = select(Customer.id, Customer.name, Customer.external_id, Customer.phone, Customer.home_store_id)
    statement = scoped(statement, Customer.home_store_id, allowed_store_ids(scope=scope, store_ids=None))
    statement = statement.where(listed_customer())
    rows = []
    for start in range(0, len(wanted), 5000):  # SQLite caps bound parameters per statement
        rows.extend(session.execute(statement.where(Customer.id.in_(wanted[start : start + 5000]))).all())
    frame = pd.DataFrame(rows, columns=columns).set_index("customer_id")
    return frame.reindex([c for c in wanted if c in frame.index]).reset_index()


def customer_names(
    session: Session, *, scope: Scope, store_ids: list[int] | tuple[int, ...] | None = None
) -> pd.Series:
    """Names of the customers whose home store the caller may see (anonymised ones left out),
    indexed by customer id: joined to kept page results, which never hold names."""
    statement = select(Customer.id, Customer.name)
    statement = scoped(statement, Customer.home_store_id, allowed_store_ids(scope=scope, store_ids=store_ids))
    rows = session.execute(statement.where(listed_customer())).all()
    return pd.Series(
        [r[1] for r in rows], index=pd.Index([int(r[0]) for r in rows], name="customer_id"), name="name", dtype=object
    )


def load_customers(
    session: Session, *, scope: Scope, store_ids: list[int] | tuple[int, ...] | None = None
) -> pd.DataFrame:
    """Customers whose home store the caller may see, with ``CUSTOMER_COLUMNS`` plus phone/email/tags."""
    stores = allowed_store_ids(scope=scope, store_ids=store_ids)
    statement = select(
        Customer.id.label("customer_id"),
        Customer.external_id,
        Customer.name,
        Customer.home_store_id,
        Customer.joined_on,
        Customer.birthday,
        Customer.referred_by,
        Customer.consent_sms,
        Customer.consent_line,
        Customer.consent_email,
        Customer.consent_wechat,
        Customer.opted_out_at,
        Customer.phone,
        Customer.email,
        Customer.line_id,
        Customer.wechat_openid,
        Customer.tags,
    )
    statement = scoped(statement, Customer.home_store_id, stores).where(listed_customer())
    rows = session.execute(statement.order_by(Customer.id)).all()
    columns = [*CUSTOMER_COLUMNS, "phone", "email", "line_id", "wechat_openid", "tags"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("joined_on", "birthday"):
        frame[column] = pd.to_datetime(frame[column])
    frame["opted_out_at"] = pd.to_datetime(frame["opted_out_at"], utc=True).dt.tz_localize(None)
    frame["referred_by"] = frame["referred_by"].astype("Int64")
    frame["home_store_id"] = frame["home_store_id"].astype("Int64")
    return frame


def count_customers(session: Session, *, scope: Scope, store_ids: list[int] | None = None) -> int:
    stores = allowed_store_ids(scope=scope, store_ids=store_ids)
    statement = scoped(select(func.count(Customer.id)), Customer.home_store_id, stores)
    return int(session.scalar(statement.where(listed_customer())) or 0)


def data_version(session: Session) -> tuple[int, int, int]:
    """A cheap fingerprint that changes whenever bookings, customers or imports change (cache keys).

    Bookings are never deleted by the app and every change to existing ones comes with an import
    batch, so the largest booking id (an index seek) stands in for the row count, which took a
    scan of the whole table on every page run (0.3 s at 1.8 M bookings on SQLite).
    """
    bookings = session.scalar(select(func.coalesce(func.max(Booking.id), 0))) or 0
    batches = session.scalar(select(func.coalesce(func.max(ImportBatch.id), 0))) or 0
    customers = session.scalar(select(func.count(Customer.id))) or 0
    # A member merge or its undo moves bookings without adding any: each one counts as a change.
    customers += session.scalar(select(func.count(MemberMerge.id) + func.count(MemberMerge.undone_at))) or 0
    return int(bookings), int(customers), int(batches)


def latest_booking_day(session: Session, *, scope: Scope) -> date | None:
    """The last local day with a completed visit the caller may see (the demo's "today")."""
    statement = scoped(select(Booking.store_id, func.max(Booking.scheduled_at)), Booking.store_id, scope.store_ids)
    rows = session.execute(statement.where(Booking.status == "completed").group_by(Booking.store_id)).all()
    if not rows:
        return None
    timezones = store_timezones(session)
    days = [
        local_day(pd.Timestamp(latest).to_pydatetime(), timezones.get(store_id, "UTC"))
        if pd.Timestamp(latest).tzinfo
        else pd.Timestamp(latest).date()
        for store_id, latest in rows
    ]
    return max(days)


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str = "",
    entity_id: str | int | None = None,
    store_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry in the caller's transaction (who, what, before/after)."""
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            store_id=store_id,
            before=before,
            after=after,
        )
    )
