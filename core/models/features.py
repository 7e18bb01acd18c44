"""Behavioural features per customer as of a date, and churn labels, for the churn models.

Everything is computed from bookings scheduled up to the end of the as-of day (the project's
as-of convention, :mod:`core.params`), so features as of a past date are the same whether or not
later bookings are loaded. Labels look *forward* and are only for backtests.

The revisit window and days overdue come from :func:`core.cadence.revisit_windows`, so reason
codes quote the same window the pages show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from core.cadence import revisit_windows
from core.columns import VISIT_STATUS, require_columns
from core.params import AsOf, as_of_cutoff, as_of_day, day_number, day_numbers
from core.spend import visit_spend

__all__ = [
    "CATEGORICAL_FEATURES",
    "CHURN_BOOKING_COLUMNS",
    "MODEL_FEATURES",
    "NUMERIC_FEATURES",
    "PreparedHistory",
    "churn_features",
    "churn_labels",
    "history_labels",
    "prepare_history",
]

#: Booking columns the churn features read (``pet_id``, ``designated``, ``booking_id`` optional).
CHURN_BOOKING_COLUMNS: Final = (
    "customer_id",
    "store_id",
    "service_category",
    "scheduled_at",
    "status",
    "amount",
    "addon_amount",
)

#: Numeric model inputs (NaN allowed: the boosting model handles missing values natively).
NUMERIC_FEATURES: Final = (
    "recency_days",  # days since the last visit
    "tenure_days",  # days since the first visit
    "n_visits",  # distinct visit days ever
    "visits_365",  # distinct visit days in the last 365 days
    "monetary_365",  # spend in the last 365 days
    "avg_ticket",  # monetary_365 / visits_365
    "window_days",  # own revisit window (core.cadence)
    "days_overdue",  # as-of minus next due date (negative: not yet due)
    "overdue_ratio",  # days_overdue / window_days
    "interval_trend",  # last interval / median of the earlier intervals (NaN < 3 visits)
    "n_cancel_365",  # cancelled bookings in the last 365 days
    "n_resched_365",  # rescheduled bookings in the last 365 days
    "n_noshow_365",  # no-shows in the last 365 days
    "failed_share_365",  # (cancelled + rescheduled + no-show) / bookings, last 365 days
    "noshow_after_last_visit",  # 1 when a no-show is the latest event after the last visit
    "complaints_365",  # complaints on visits of the last 365 days (needs feedback)
    "complaint_last_visit",  # 1 when the last visit drew a complaint (needs feedback)
    "last_rating",  # lowest rating given on the last visit day (NaN without one)
    "designated_share",  # share of visits (365 d) with a designated staff member
    "has_pet",  # 1 when any booking is for a pet
    "points",  # loyalty points balance (optional customers column)
)
#: Categorical model inputs, coded with a vocabulary fixed at fit time.
CATEGORICAL_FEATURES: Final = ("store_kind", "last_category", "tier")
MODEL_FEATURES: Final = NUMERIC_FEATURES + CATEGORICAL_FEATURES

_STATUS_CODES: Final = {"completed": 0, "cancelled": 1, "rescheduled": 2, "no_show": 3, "booked": 4}


@dataclass(frozen=True)
class PreparedHistory:
    """Bookings up to a cut-off as numpy arrays, reused for features at many dates.

    Attributes
    ----------
    bookings : DataFrame
        The bookings kept (scheduled up to the end of ``as_of``), sorted by customer and time,
        with the columns :func:`revisit_windows` reads.
    customer_ids : ndarray
        Sorted unique customer ids; ``code`` indexes into it.
    code, day, status, spend, designated, pet, complaint, rating : ndarray
        One entry per kept booking.
    home_store, store_kind, points, tier : Series
        Per customer id (may be empty).
    as_of : Timestamp
    """

    bookings: pd.DataFrame
    customer_ids: np.ndarray
    code: np.ndarray
    day: np.ndarray
    status: np.ndarray
    spend: np.ndarray
    designated: np.ndarray
    pet: np.ndarray
    complaint: np.ndarray
    rating: np.ndarray
    home_store: pd.Series
    store_kind: pd.Series
    points: pd.Series
    tier: pd.Series
    as_of: pd.Timestamp


def prepare_history(
    bookings: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    as_of: AsOf,
    feedback: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
) -> PreparedHistory:
    """Keep the bookings up to ``as_of`` and turn them into arrays once.

    Parameters
    ----------
    bookings : DataFrame
        :data:`CHURN_BOOKING_COLUMNS`; ``booking_id`` (to join feedback), ``designated`` and
        ``pet_id`` are used when present.
    customers : DataFrame, optional
        ``customer_id`` with optional ``home_store_id``, ``points``, ``tier``, ``store_kind``.
        ``points`` / ``tier`` are balances *today*: in a backtest at an earlier date they leak a
        little of the future, so they are used only when given.
    as_of : date-like
    feedback : DataFrame, optional
        ``booking_id``, ``complaint`` (bool) and optionally ``rating``.
    stores : DataFrame, optional
        ``store_id``, ``kind``: gives each customer's store kind (home store, else the store of
        the last visit) so a chain-wide model can tell a salon from a groomer.

    Returns
    -------
    PreparedHistory
    """
    require_columns(bookings, CHURN_BOOKING_COLUMNS, what="bookings")
    cutoff = as_of_cutoff(as_of)
    scheduled = pd.to_datetime(bookings["scheduled_at"])
    mask = scheduled.lt(cutoff).to_numpy()
    day = day_numbers(scheduled[mask])
    ids, code = np.unique(bookings["customer_id"].to_numpy(np.int64)[mask], return_inverse=True)
    code = code.astype(np.int64)
    # One sort by (customer, day) here; every later as-of mask keeps this order. Columns are
    # taken as arrays (no reordered copy of the whole frame).
    sort_idx = np.lexsort((day, code))
    order = np.flatnonzero(mask)[sort_idx]
    code, day = code[sort_idx], day[sort_idx]
    n = order.size

    def col(name: str) -> np.ndarray:
        return bookings[name].to_numpy()[order]

    spend = visit_spend(bookings).to_numpy()[order]
    status_cat = pd.Categorical(bookings["status"].iloc[order], categories=list(_STATUS_CODES))
    status = status_cat.codes.astype(np.int8)
    status[status < 0] = _STATUS_CODES["booked"]
    designated = (
        pd.Series(col("designated")).fillna(False).to_numpy(bool)
        if "designated" in bookings.columns
        else np.zeros(n, dtype=bool)
    )
    pet = bookings["pet_id"].notna().to_numpy()[order] if "pet_id" in bookings.columns else np.zeros(n, dtype=bool)
    booking_ids = col("booking_id") if "booking_id" in bookings.columns else None
    complaint = np.zeros(n, dtype=bool)
    rating = np.full(n, np.nan)
    if feedback is not None and len(feedback) and booking_ids is not None:
        require_columns(feedback, ("booking_id", "complaint"), what="feedback")
        fb = feedback.drop_duplicates("booking_id", keep="last").set_index("booking_id")
        pos = fb.index.get_indexer(booking_ids)
        hit = pos >= 0
        complaint[hit] = fb["complaint"].fillna(False).to_numpy(bool)[pos[hit]]
        if "rating" in fb.columns:
            rating[hit] = fb["rating"].to_numpy(float)[pos[hit]]

    cust = customers if customers is not None else pd.DataFrame({"customer_id": ids})
    require_columns(cust, ("customer_id",), what="customers")
    cust = cust.drop_duplicates("customer_id").set_index("customer_id")
    home = (cust["home_store_id"] if "home_store_id" in cust.columns else pd.Series(dtype="float64")).astype("float64")
    if "store_kind" in cust.columns:
        kind = cust["store_kind"].astype(object)
    elif stores is not None and len(home):
        require_columns(stores, ("store_id", "kind"), what="stores")
        kind = home.map(stores.set_index("store_id")["kind"]).astype(object)
    else:
        kind = pd.Series(dtype=object)
    points = cust["points"].astype("float64") if "points" in cust.columns else pd.Series(dtype="float64")
    tier = cust["tier"].astype(object) if "tier" in cust.columns else pd.Series(dtype=object)
    # The frame handed to core.cadence: only its columns, strings as categoricals (fast factorize).
    slim = pd.DataFrame(
        {
            "customer_id": ids[code],
            "store_id": col("store_id"),
            "service_category": pd.Categorical(bookings["service_category"].iloc[order]),
            "scheduled_at": scheduled.to_numpy()[order],
            "status": status_cat,
        }
    )
    return PreparedHistory(
        bookings=slim,
        customer_ids=ids,
        code=code,
        day=day,
        status=status,
        spend=spend,
        designated=designated,
        pet=pet,
        complaint=complaint,
        rating=rating,
        home_store=home,
        store_kind=kind,
        points=points,
        tier=tier,
        as_of=as_of_day(as_of),
    )


def _at_flag(codes: np.ndarray, values: np.ndarray, flag: np.ndarray, n: int) -> np.ndarray:
    """``values`` at the flagged row of each code (one flagged row per code), NaN elsewhere."""
    out = np.full(n, np.nan)
    out[codes[flag]] = values[flag]
    return out


def churn_features(history: PreparedHistory, *, as_of: AsOf) -> pd.DataFrame:
    """Behavioural features of every customer with a visit, as of a date.

    Parameters
    ----------
    history : PreparedHistory
        From :func:`prepare_history` with a cut-off on or after ``as_of``.
    as_of : date-like
        Only bookings scheduled up to the end of this day are used.

    Returns
    -------
    DataFrame
        Index ``customer_id`` (sorted); columns :data:`MODEL_FEATURES` plus ``store_id`` (home
        store, else the store of the last visit), ``bg_frequency``, ``bg_recency``, ``bg_T`` (the
        BG/NBD calibration summary) and ``last_visit_day``.
    """
    if as_of_day(as_of) > history.as_of:
        raise ValueError("as_of is after the history's cut-off")
    today = day_number(as_of)
    h = history
    n = len(h.customer_ids)
    m = h.day <= today
    code, day, status = h.code[m], h.day[m], h.status[m]
    recent = day > today - 365
    done = status == 0

    # Distinct visit days, in (customer, day) order (the history is sorted that way).
    v_code, v_day = code[done], day[done]
    new_day = np.ones(v_code.size, dtype=bool)
    new_day[1:] = (v_code[1:] != v_code[:-1]) | (v_day[1:] != v_day[:-1])
    d_code, d_day = v_code[new_day], v_day[new_day]
    n_visits = np.bincount(d_code, minlength=n).astype(float)
    has_visit = n_visits > 0
    same_prev = np.zeros(d_code.size, dtype=bool)
    same_prev[1:] = d_code[1:] == d_code[:-1]
    is_last = np.ones(d_code.size, dtype=bool)
    is_last[:-1] = d_code[1:] != d_code[:-1]
    first_day = _at_flag(d_code, d_day, ~same_prev, n)
    last_day = _at_flag(d_code, d_day, is_last, n)
    interval = np.where(same_prev, d_day - np.roll(d_day, 1), np.nan)
    last_interval = _at_flag(d_code, interval, is_last, n)
    # Median of the intervals before the last one (the trend compares the newest to the past).
    earlier = same_prev & ~is_last
    med = pd.Series(interval[earlier]).groupby(d_code[earlier]).median()
    median_before = np.full(n, np.nan)
    median_before[med.index.to_numpy()] = med.to_numpy()
    visits_365 = np.bincount(d_code[d_day > today - 365], minlength=n).astype(float)

    def count(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(code[mask], weights=None if weights is None else weights[mask], minlength=n).astype(float)

    spend = h.spend[m]
    monetary_365 = count(done & recent, spend)
    n_bookings_365 = count(recent & (status != 4))
    n_cancel = count(recent & (status == 1))
    n_resched = count(recent & (status == 2))
    n_noshow = count(recent & (status == 3))
    noshow_days = np.full(n, -np.inf)
    np.maximum.at(noshow_days, code[status == 3], day[status == 3])
    designated_visits = count(done & recent & h.designated[m])
    done_365 = count(done & recent)
    has_pet = count(h.pet[m]) > 0
    complaint = h.complaint[m]
    complaints_365 = count(done & recent & complaint)
    on_last = done & (day == last_day[code])
    complaint_last = count(on_last & complaint) > 0
    rating = h.rating[m]
    rated = on_last & ~np.isnan(rating)
    last_rating = np.full(n, np.inf)
    np.minimum.at(last_rating, code[rated], rating[rated])
    last_rating[np.isinf(last_rating)] = np.nan

    # Revisit window and days overdue exactly as the pages show them.
    win = revisit_windows(h.bookings, as_of=as_of, by="customer")
    win = win.set_index("customer_id").reindex(h.customer_ids)
    window = win["window_days"].to_numpy(float)
    overdue = win["days_overdue"].to_numpy(float)
    store_last = win["store_id"].to_numpy(float)
    category = win["service_category"].astype(object).to_numpy()

    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame(
            {
                "recency_days": today - last_day,
                "tenure_days": today - first_day,
                "n_visits": n_visits,
                "visits_365": visits_365,
                "monetary_365": monetary_365,
                "avg_ticket": np.where(visits_365 > 0, monetary_365 / np.maximum(visits_365, 1), np.nan),
                "window_days": window,
                "days_overdue": overdue,
                "overdue_ratio": overdue / window,
                "interval_trend": last_interval / median_before,
                "n_cancel_365": n_cancel,
                "n_resched_365": n_resched,
                "n_noshow_365": n_noshow,
                "failed_share_365": np.where(
                    n_bookings_365 > 0, (n_cancel + n_resched + n_noshow) / np.maximum(n_bookings_365, 1), 0.0
                ),
                "noshow_after_last_visit": (noshow_days > last_day).astype(float),
                "complaints_365": complaints_365,
                "complaint_last_visit": complaint_last.astype(float),
                "last_rating": last_rating,
                "designated_share": np.where(done_365 > 0, designated_visits / np.maximum(done_365, 1), np.nan),
                "has_pet": has_pet.astype(float),
            },
            index=pd.Index(h.customer_ids, name="customer_id"),
        )
    ids = pd.Index(h.customer_ids)
    frame["points"] = h.points.reindex(ids).to_numpy(float) if len(h.points) else np.nan
    frame["store_kind"] = h.store_kind.reindex(ids).to_numpy(object) if len(h.store_kind) else None
    frame["last_category"] = category
    frame["tier"] = h.tier.reindex(ids).to_numpy(object) if len(h.tier) else None
    home = h.home_store.reindex(ids).to_numpy(float) if len(h.home_store) else np.full(n, np.nan)
    frame["store_id"] = np.where(np.isnan(home), store_last, home)
    frame["bg_frequency"] = n_visits - 1
    frame["bg_recency"] = last_day - first_day
    frame["bg_T"] = today - first_day
    frame["last_visit_day"] = last_day
    frame["interval_trend"] = frame["interval_trend"].replace([np.inf, -np.inf], np.nan)
    return frame.loc[has_visit]


def churn_labels(
    bookings: pd.DataFrame, *, as_of: AsOf, horizon_days: int, customer_ids: np.ndarray | pd.Index | None = None
) -> pd.Series:
    """Churn label: 1 when the customer has no completed visit in ``(as_of, as_of + horizon]``.

    Parameters
    ----------
    bookings : DataFrame
        ``customer_id``, ``scheduled_at``, ``status``; must cover the horizon.
    as_of : date-like
    horizon_days : int
    customer_ids : array-like, optional
        Customers to label (default: every customer in ``bookings``).

    Returns
    -------
    Series
        ``int`` 0/1 indexed by ``customer_id``.
    """
    require_columns(bookings, ("customer_id", "scheduled_at", "status"), what="bookings")
    today = day_number(as_of)
    day = day_numbers(bookings["scheduled_at"])
    inside = (day > today) & (day <= today + horizon_days) & bookings["status"].eq(VISIT_STATUS).to_numpy()
    visited = np.unique(bookings["customer_id"].to_numpy()[inside])
    ids = np.unique(bookings["customer_id"].to_numpy()) if customer_ids is None else np.asarray(customer_ids)
    return pd.Series((~np.isin(ids, visited)).astype(np.int64), index=pd.Index(ids, name="customer_id"), name="churned")


def history_labels(
    history: PreparedHistory, *, as_of: AsOf, horizon_days: int, customer_ids: np.ndarray | pd.Index
) -> np.ndarray:
    """:func:`churn_labels` from a prepared history (the horizon must end by its cut-off).

    Returns
    -------
    ndarray
        0/1 per id of ``customer_ids``.
    """
    today = day_number(as_of)
    if as_of_day(as_of) + pd.Timedelta(days=horizon_days) > history.as_of:
        raise ValueError("the label horizon runs past the history's cut-off")
    inside = (history.day > today) & (history.day <= today + horizon_days) & (history.status == 0)
    visited = np.zeros(len(history.customer_ids), dtype=bool)
    visited[history.code[inside]] = True
    pos = np.searchsorted(history.customer_ids, np.asarray(customer_ids))
    return (~visited[pos]).astype(np.int64)
