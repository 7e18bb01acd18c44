"""Lifecycle segments: one label per customer.

Labels and rules (thresholds are :class:`core.params.LifecycleParams`):

- ``lost``: ``recency_days >= lost_days``;
- ``sleeping``: ``recency_days >= sleeping_days``;
- ``rescheduler``: in the last ``rescheduler_lookback_days``, at least ``rescheduler_min_count``
  bookings with a status in ``rescheduler_statuses`` and at least ``rescheduler_min_share`` of all
  the customer's bookings;
- ``churn_risk``: ``days_overdue > max(churn_tolerance_days, churn_tolerance_ratio × window)``;
- ``high_value``: among customers with ``monetary > 0``, in the top ``high_value_top_share`` by
  monetary (rank with ties included: ``rank(method="min", descending) <= ceil(share × n)``);
- ``new``: at most ``new_max_visits`` distinct visit days up to as-of;
- ``stable``: everyone else (visits on cadence).

Precedence when several rules hold, first wins: :data:`LIFECYCLE_PRECEDENCE`
(lost > sleeping > rescheduler > churn_risk > high_value > new > stable).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from core.columns import require_columns
from core.params import AsOf, LifecycleParams, bookings_as_of, day_number, day_numbers

LOST: Final = "lost"
SLEEPING: Final = "sleeping"
RESCHEDULER: Final = "rescheduler"
CHURN_RISK: Final = "churn_risk"
HIGH_VALUE: Final = "high_value"
NEW: Final = "new"
STABLE: Final = "stable"

#: Labels in precedence order: the first rule that holds gives the label.
LIFECYCLE_PRECEDENCE: Final = (LOST, SLEEPING, RESCHEDULER, CHURN_RISK, HIGH_VALUE, NEW, STABLE)
LIFECYCLE_SEGMENTS: Final = LIFECYCLE_PRECEDENCE

LIFECYCLE_RFM_COLUMNS: Final = ("customer_id", "recency_days", "monetary")
LIFECYCLE_WINDOW_COLUMNS: Final = ("customer_id", "window_days", "days_overdue")
LIFECYCLE_BOOKING_COLUMNS: Final = ("customer_id", "scheduled_at", "status")

#: Columns of the frame :func:`lifecycle_segments` returns, in order.
LIFECYCLE_COLUMNS: Final = (
    "customer_id",
    "lifecycle_segment",
    "is_lost",
    "is_sleeping",
    "is_rescheduler",
    "is_churn_risk",
    "is_high_value",
    "is_new",
    "n_visit_days",
)


def high_value_flags(monetary: pd.Series, *, top_share: float) -> pd.Series:
    """True for the top ``top_share`` of customers with ``monetary > 0`` (ties included)."""
    spending = monetary.fillna(0.0) > 0
    n = int(spending.sum())
    if n == 0 or top_share <= 0:
        return pd.Series(False, index=monetary.index)
    cut = math.ceil(top_share * n)
    ranks = monetary.where(spending).rank(method="min", ascending=False)
    return (ranks <= cut).fillna(False).astype(bool)


def churn_risk_flags(window_days: pd.Series, days_overdue: pd.Series, *, params: LifecycleParams) -> pd.Series:
    """``days_overdue > max(churn_tolerance_days, churn_tolerance_ratio × window_days)``."""
    tolerance = np.maximum(
        float(params.churn_tolerance_days), params.churn_tolerance_ratio * window_days.astype(float).to_numpy()
    )
    flags = days_overdue.astype(float).to_numpy() > tolerance
    return pd.Series(flags, index=window_days.index)


def lifecycle_segments(
    rfm: pd.DataFrame,
    windows: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    params: LifecycleParams | None = None,
) -> pd.DataFrame:
    """One lifecycle label per customer.

    Parameters
    ----------
    rfm : DataFrame
        From :func:`core.rfm.rfm_table`: ``customer_id``, ``recency_days``, ``monetary``.
    windows : DataFrame
        From :func:`core.cadence.revisit_windows`: ``customer_id``, ``window_days``,
        ``days_overdue``. Several rows per customer (per pet or category) are allowed: the customer
        is at churn risk when any of them is.
    bookings : DataFrame
        ``customer_id``, ``scheduled_at``, ``status``; bookings after the as-of day are ignored.
    as_of : date-like
    params : LifecycleParams, optional

    Returns
    -------
    DataFrame
        :data:`LIFECYCLE_COLUMNS`, one row per customer in ``rfm`` or with a booking up to
        as-of, sorted by ``customer_id``. ``lifecycle_segment`` is the label by
        :data:`LIFECYCLE_PRECEDENCE`; the ``is_*`` columns are the individual rules (a churn-risk
        customer can also be ``is_high_value``). Customers with no visit are ``new`` unless
        they are reschedulers.
    """
    params = params or LifecycleParams()
    require_columns(rfm, LIFECYCLE_RFM_COLUMNS, what="rfm")
    require_columns(windows, LIFECYCLE_WINDOW_COLUMNS, what="windows")
    require_columns(bookings, LIFECYCLE_BOOKING_COLUMNS, what="bookings")

    past = bookings_as_of(bookings, as_of)
    today = day_number(as_of)
    day = day_numbers(past["scheduled_at"])
    cust = past["customer_id"].to_numpy()

    # Visit days ever, and the rescheduler counts in the lookback.
    is_visit = past["status"].eq("completed").to_numpy()
    visit_days = pd.DataFrame({"customer_id": cust[is_visit], "day": day[is_visit]})
    n_visit_days = visit_days.drop_duplicates().groupby("customer_id").size()
    recent = day > today - params.rescheduler_lookback_days
    moved = past["status"].isin(list(params.rescheduler_statuses)).to_numpy()
    counts = pd.DataFrame({"customer_id": cust[recent], "moved": moved[recent].astype(np.int64)})
    moves = counts.groupby("customer_id")["moved"].agg(["sum", "size"])

    ids = pd.Index(np.union1d(rfm["customer_id"].to_numpy(), np.unique(cust)), name="customer_id")
    m = moves.reindex(ids).fillna(0)
    return _finish_lifecycle(
        ids, rfm, windows, n_visit_days.reindex(ids).fillna(0), m["sum"].to_numpy(), m["size"].to_numpy(), params=params
    )


def lifecycle_from_aggregates(
    rfm: pd.DataFrame,
    windows: pd.DataFrame,
    aggregates: pd.DataFrame,
    *,
    params: LifecycleParams | None = None,
) -> pd.DataFrame:
    """:func:`lifecycle_segments` from per-customer aggregates instead of the bookings.

    ``aggregates`` (:data:`core.aggregates.AGGREGATE_COLUMNS`) must have been computed with the
    same as-of and with ``params.rescheduler_lookback_days`` / ``rescheduler_statuses``; the
    result then equals ``lifecycle_segments(rfm, windows, bookings, ...)``.
    """
    params = params or LifecycleParams()
    require_columns(rfm, LIFECYCLE_RFM_COLUMNS, what="rfm")
    require_columns(windows, LIFECYCLE_WINDOW_COLUMNS, what="windows")
    require_columns(aggregates, ("customer_id", "n_visits", "n_bookings_recent", "n_moved_recent"), what="aggregates")
    ids = pd.Index(np.union1d(rfm["customer_id"].to_numpy(), aggregates["customer_id"].to_numpy()), name="customer_id")
    a = aggregates.set_index("customer_id").reindex(ids)
    return _finish_lifecycle(
        ids,
        rfm,
        windows,
        a["n_visits"].fillna(0),
        a["n_moved_recent"].fillna(0).to_numpy(),
        a["n_bookings_recent"].fillna(0).to_numpy(),
        params=params,
    )


def _finish_lifecycle(
    ids: pd.Index,
    rfm: pd.DataFrame,
    windows: pd.DataFrame,
    n_visit_days: pd.Series,
    moved: np.ndarray,
    booked: np.ndarray,
    *,
    params: LifecycleParams,
) -> pd.DataFrame:
    """The rule flags and the label, per customer of ``ids``."""
    out = pd.DataFrame(index=ids)
    r = rfm.set_index("customer_id").reindex(ids)
    recency = r["recency_days"].astype(float)
    out["is_lost"] = (recency >= params.lost_days).to_numpy()
    out["is_sleeping"] = (recency >= params.sleeping_days).to_numpy()

    moved = np.asarray(moved, dtype=float)
    booked = np.asarray(booked, dtype=float)
    share = np.divide(moved, booked, out=np.zeros(len(ids)), where=booked > 0)
    out["is_rescheduler"] = (moved >= params.rescheduler_min_count) & (share >= params.rescheduler_min_share)

    w = windows.loc[:, list(LIFECYCLE_WINDOW_COLUMNS)].copy()
    w["flag"] = churn_risk_flags(w["window_days"], w["days_overdue"], params=params)
    per_customer = w.groupby("customer_id")["flag"].any()
    out["is_churn_risk"] = per_customer.reindex(ids).fillna(False).astype(bool).to_numpy()

    out["is_high_value"] = high_value_flags(
        r["monetary"].astype(float), top_share=params.high_value_top_share
    ).to_numpy()
    visits_n = n_visit_days.astype(np.int64)
    out["is_new"] = (visits_n <= params.new_max_visits).to_numpy()
    out["n_visit_days"] = visits_n.to_numpy()

    conditions = [out[f"is_{label}"].to_numpy(dtype=bool) for label in LIFECYCLE_PRECEDENCE[:-1]]
    out["lifecycle_segment"] = np.select(conditions, list(LIFECYCLE_PRECEDENCE[:-1]), default=STABLE).astype(object)
    out = out.reset_index()
    return out.loc[:, list(LIFECYCLE_COLUMNS)]
