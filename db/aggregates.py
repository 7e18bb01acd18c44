"""Per-customer aggregates computed in the database (the pushdown path of chains).

:func:`load_aggregates` returns exactly what :func:`core.aggregates.aggregate_bookings` returns
on the bookings :func:`db.repo.load_bookings` would load, but the scan, the visit-day
deduplication, the intervals (``LAG``) and the medians (``percentile_cont`` on PostgreSQL, a
``row_number`` median elsewhere) run in SQL, so only one row per customer leaves the database.

Store-local days: PostgreSQL converts with ``timezone(store.timezone, scheduled_at)``; SQLite has
no time-zone database, so each store's UTC offset on the as-of day is passed as a bound
parameter (exact for zones without daylight saving time, e.g. Asia/Taipei and Asia/Shanghai).
All values are bound parameters; no SQL text is built from strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Date, Float, Integer, and_, case, cast, func, literal, or_, select, type_coerce
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from core.aggregates import (
    AGGREGATE_COLUMNS,
    DEFAULT_RESCHEDULER_STATUSES,
    Aggregates,
    empty_aggregates,
    normalise_aggregates,
    normalise_priors,
)
from core.columns import VISIT_STATUS
from core.localtime import utc_offset
from core.params import day_number
from core.scope import Scope
from db.dialect import is_postgres
from db.models import Booking, Service, Store
from db.repo import allowed_store_ids
from db.scoping import scoped

_EPOCH_JULIAN = 2440587.5  # julianday('1970-01-01 00:00:00')


def visit_spend_sql() -> ColumnElement[float]:
    """A booking's spend in SQL: ``amount + addon_amount``, a NULL counting as 0.

    The SQL twin of :func:`core.spend.visit_spend`, for aggregations in the database.
    """
    return func.coalesce(Booking.amount, 0.0) + func.coalesce(Booking.addon_amount, 0.0)


def _local_parts(session: Session, as_of: date) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(store-local day number, store-local sortable time) expressions of ``Booking.scheduled_at``."""
    if is_postgres(session):
        local = func.timezone(Store.timezone, Booking.scheduled_at)
        day = type_coerce(cast(local, Date) - cast(literal(date(1970, 1, 1)), Date), Integer)
        return day, local
    offsets = []
    noon = datetime.combine(as_of, time(12))
    for store_id, tz in session.execute(select(Store.id, Store.timezone)):
        offsets.append((store_id, utc_offset(tz, noon).total_seconds() / 86_400.0))
    shift: ColumnElement[Any] = (
        case(*[(Booking.store_id == sid, literal(off)) for sid, off in offsets], else_=literal(0.0))
        if offsets
        else literal(0.0)
    )
    local = func.julianday(Booking.scheduled_at) + shift - _EPOCH_JULIAN
    day = cast(local, Integer)  # CAST truncates: the floor for days after 1970
    return day, local


def _median_and_mad(session: Session, source: Any, group: str, value: str) -> Select[Any]:
    """``group, n, median_interval, interval_mad`` of ``value`` per ``group``.

    Joins between aggregates are avoided (planners misjudge them on fresh tables): the median is
    spread to every row with a window (the middle ``row_number``), the absolute deviations are
    taken row by row, and one ``GROUP BY`` finishes — with ``percentile_cont`` on PostgreSQL.
    """
    g, v = source.c[group], source.c[value]
    ranked = select(
        g.label("g"),
        v.label("v"),
        func.row_number().over(partition_by=g, order_by=v).label("rn"),
        func.count().over(partition_by=g).label("cnt"),
    ).subquery()
    middle = or_(ranked.c.rn == (ranked.c.cnt + 1) // 2, ranked.c.rn == (ranked.c.cnt + 2) // 2)
    spread = select(
        ranked.c.g,
        ranked.c.v,
        ranked.c.rn,
        ranked.c.cnt,
        func.avg(cast(ranked.c.v, Float)).filter(middle).over(partition_by=ranked.c.g).label("med"),
    ).subquery()
    deviation = func.abs(cast(spread.c.v, Float) - spread.c.med)
    if is_postgres(session):
        return select(
            spread.c.g.label(group),
            func.count().label("n"),
            func.percentile_cont(0.5).within_group(spread.c.v).label("median_interval"),
            func.percentile_cont(0.5).within_group(deviation).label("interval_mad"),
        ).group_by(spread.c.g)
    devs = select(
        spread.c.g,
        spread.c.v,
        spread.c.rn,
        spread.c.cnt,
        deviation.label("dev"),
        func.row_number().over(partition_by=spread.c.g, order_by=deviation).label("rn_dev"),
    ).subquery()
    mid_v = or_(devs.c.rn == (devs.c.cnt + 1) // 2, devs.c.rn == (devs.c.cnt + 2) // 2)
    mid_d = or_(devs.c.rn_dev == (devs.c.cnt + 1) // 2, devs.c.rn_dev == (devs.c.cnt + 2) // 2)
    return select(
        devs.c.g.label(group),
        func.count().label("n"),
        func.avg(cast(devs.c.v, Float)).filter(mid_v).label("median_interval"),
        func.avg(devs.c.dev).filter(mid_d).label("interval_mad"),
    ).group_by(devs.c.g)


def load_aggregates(
    session: Session,
    *,
    scope: Scope,
    as_of: date,
    store_ids: Sequence[int] | None = None,
    lookback_days: int = 365,
    rescheduler_lookback_days: int = 365,
    rescheduler_statuses: Sequence[str] = DEFAULT_RESCHEDULER_STATUSES,
) -> Aggregates:
    """Per-customer aggregates and interval priors of the bookings the caller may see.

    Parameters
    ----------
    session
        An open session (PostgreSQL or SQLite).
    scope, store_ids
        The caller and the picked stores; only bookings of allowed stores are read.
    as_of
        The end of this store-local day is the cut-off (later bookings are never read).
    lookback_days, rescheduler_lookback_days, rescheduler_statuses
        As in :func:`core.aggregates.customer_aggregates`.

    Returns
    -------
    Aggregates
        ``customers`` (:data:`core.aggregates.AGGREGATE_COLUMNS`) and ``priors``
        (:data:`core.aggregates.PRIOR_COLUMNS`), equal to the pandas computation.
    """
    stores = allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    if stores is not None and not stores:
        return empty_aggregates()
    today = day_number(as_of)
    day, local = _local_parts(session, as_of)
    category = func.coalesce(Service.category, "other")
    base = (
        select(
            Booking.id.label("bid"),
            Booking.customer_id.label("customer_id"),
            Booking.store_id.label("store_id"),
            category.label("category"),
            day.label("day"),
            local.label("lts"),
            Booking.status.label("status"),
            visit_spend_sql().label("spend"),
        )
        .join_from(Booking, Store, Store.id == Booking.store_id)
        .outerjoin(Service, Service.id == Booking.service_id)
        # coarse UTC bound (index-friendly); the exact local cut-off is the day filter below
        .where(Booking.scheduled_at < datetime.combine(as_of + timedelta(days=2), time.min, tzinfo=UTC))
    )
    base = scoped(base, Booking.store_id, stores)
    past = base.subquery("past_raw")
    past = select(past).where(past.c.day <= today).cte("past")
    visits = select(past).where(past.c.status == VISIT_STATUS).cte("visits")

    ranked_days = select(
        visits.c.customer_id,
        visits.c.day,
        visits.c.store_id,
        visits.c.category,
        func.row_number()
        .over(partition_by=(visits.c.customer_id, visits.c.day), order_by=(visits.c.lts.desc(), visits.c.bid.desc()))
        .label("rn"),
    ).subquery("ranked_days")
    vdays = (
        select(ranked_days.c.customer_id, ranked_days.c.day, ranked_days.c.store_id, ranked_days.c.category)
        .where(ranked_days.c.rn == 1)
        .cte("vdays")
    )
    lagged = select(
        vdays.c.customer_id,
        vdays.c.store_id,
        vdays.c.category,
        (vdays.c.day - func.lag(vdays.c.day).over(partition_by=vdays.c.customer_id, order_by=vdays.c.day)).label("iv"),
    ).subquery("lagged")
    intervals = select(lagged).where(lagged.c.iv.is_not(None)).cte("intervals")

    everyone = (
        select(
            past.c.customer_id,
            func.count().filter(past.c.day > today - rescheduler_lookback_days).label("n_bookings_recent"),
            func.count()
            .filter(and_(past.c.day > today - rescheduler_lookback_days, past.c.status.in_(list(rescheduler_statuses))))
            .label("n_moved_recent"),
        )
        .group_by(past.c.customer_id)
        .subquery("everyone")
    )
    spend = (
        select(visits.c.customer_id, func.count().label("frequency"), func.sum(visits.c.spend).label("monetary"))
        .where(visits.c.day > today - lookback_days)
        .group_by(visits.c.customer_id)
        .subquery("spend")
    )
    day_stats = (
        select(
            vdays.c.customer_id,
            func.count().label("n_visits"),
            func.min(vdays.c.day).label("first_visit_day"),
            func.max(vdays.c.day).label("last_visit_day"),
        )
        .group_by(vdays.c.customer_id)
        .subquery("day_stats")
    )
    last_ranked = select(
        vdays.c.customer_id,
        vdays.c.store_id,
        vdays.c.category,
        func.row_number().over(partition_by=vdays.c.customer_id, order_by=vdays.c.day.desc()).label("rn"),
    ).subquery("last_ranked")
    last = (
        select(
            last_ranked.c.customer_id,
            last_ranked.c.store_id.label("last_store_id"),
            last_ranked.c.category.label("last_category"),
        )
        .where(last_ranked.c.rn == 1)
        .subquery("last_day")
    )
    own = _median_and_mad(session, intervals, "customer_id", "iv").subquery("own")

    statement = (
        select(
            everyone.c.customer_id,
            day_stats.c.n_visits,
            day_stats.c.first_visit_day,
            day_stats.c.last_visit_day,
            own.c.median_interval,
            own.c.interval_mad,
            spend.c.frequency,
            spend.c.monetary,
            last.c.last_store_id,
            last.c.last_category,
            everyone.c.n_bookings_recent,
            everyone.c.n_moved_recent,
        )
        .select_from(everyone)
        .outerjoin(day_stats, day_stats.c.customer_id == everyone.c.customer_id)
        .outerjoin(own, own.c.customer_id == everyone.c.customer_id)
        .outerjoin(spend, spend.c.customer_id == everyone.c.customer_id)
        .outerjoin(last, last.c.customer_id == everyone.c.customer_id)
        .order_by(everyone.c.customer_id)
    )
    rows = session.execute(statement).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "n_visits",
            "first_visit_day",
            "last_visit_day",
            "median_interval",
            "interval_mad",
            "frequency",
            "monetary",
            "last_store_id",
            "last_category",
            "n_bookings_recent",
            "n_moved_recent",
        ],
    )
    if frame.empty:
        return empty_aggregates()
    frame["n_visits"] = frame["n_visits"].fillna(0).astype("int64")
    frame["n_intervals"] = (frame["n_visits"] - 1).clip(lower=0)
    frame["monetary"] = frame["monetary"].astype(float).fillna(0.0)
    frame["frequency"] = frame["frequency"].fillna(0)
    for column in ("first_visit_day", "last_visit_day", "median_interval", "interval_mad"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["last_store_id"] = pd.array(frame["last_store_id"], dtype="Int64")
    customers = normalise_aggregates(frame.loc[:, list(AGGREGATE_COLUMNS)])

    prior_parts = []
    for kind, column in (("category", "category"), ("store", "store_id")):
        stats = _median_and_mad(session, intervals, column, "iv")
        for key, n, median, mad in session.execute(stats).all():
            prior_parts.append(
                {
                    "kind": kind,
                    "key": str(key),
                    "n_intervals": int(n),
                    "median_interval": float(median),
                    "interval_mad": float(mad),
                }
            )
    priors = pd.DataFrame(prior_parts, columns=["kind", "key", "n_intervals", "median_interval", "interval_mad"])
    return Aggregates(customers, normalise_priors(priors))
