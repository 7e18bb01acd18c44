"""Per-customer aggregates of the booking log: the one scan that scoring needs.

Every per-customer figure of the score path (RFM, the revisit window, the lifecycle rules) is a
function of a handful of per-customer aggregates plus the interval priors per service category
and per store. This module computes them from a booking frame with numpy (one sort of the visit
rows, sort-based medians); ``db/aggregates.py`` computes *exactly the same frames* in SQL so a
chain's database does the scan and only one row per customer travels.

Definitions (as in :mod:`core.rfm`, :mod:`core.cadence`, :mod:`core.lifecycle`): a visit is a
``completed`` booking scheduled up to the end of the as-of day; a *visit day* is a distinct
store-local date of a customer's visits, carrying the store and service category of that day's
last visit (by time, then by row order); an *interval* is the whole days between consecutive
visit days of a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from core.columns import VISIT_STATUS, require_columns
from core.params import AsOf, as_of_cutoff, day_number
from core.spend import visit_spend

#: Booking columns :func:`customer_aggregates` reads.
AGGREGATE_BOOKING_COLUMNS: Final = (
    "customer_id",
    "store_id",
    "service_category",
    "scheduled_at",
    "status",
    "amount",
    "addon_amount",
)

#: Columns of :func:`customer_aggregates`, in order (one row per customer with any booking up
#: to as-of, sorted by ``customer_id``).
AGGREGATE_COLUMNS: Final = (
    "customer_id",  # int64
    "n_visits",  # int64, distinct visit days up to as-of (0 without a visit)
    "n_intervals",  # int64, max(n_visits − 1, 0)
    "first_visit_day",  # float, day number (days since 1970-01-01) of the first visit day; NaN
    "last_visit_day",  # float, day number of the last visit day; NaN without a visit
    "median_interval",  # float, median of the customer's intervals; NaN before 2 visit days
    "interval_mad",  # float, median absolute deviation of the intervals; NaN likewise
    "frequency",  # int64, visits (completed bookings) in the lookback
    "monetary",  # float, amount + addon_amount of those visits
    "last_store_id",  # Int64, store of the last visit day (<NA> without a visit)
    "last_category",  # object, service category of the last visit day (None without one)
    "n_bookings_recent",  # int64, bookings of any status in the rescheduler lookback
    "n_moved_recent",  # int64, of those, with a status in ``rescheduler_statuses``
)

#: Columns of :func:`interval_priors` (one row per service category and per store with at least
#: one interval; ``key`` is the category, or the store id as text).
PRIOR_COLUMNS: Final = ("kind", "key", "n_intervals", "median_interval", "interval_mad")

DEFAULT_RESCHEDULER_STATUSES: Final = ("cancelled", "rescheduled")


@dataclass(frozen=True)
class Aggregates:
    """What the score path needs from the booking log: per customer, and the priors."""

    customers: pd.DataFrame  # AGGREGATE_COLUMNS
    priors: pd.DataFrame  # PRIOR_COLUMNS


def empty_aggregates() -> Aggregates:
    customers = pd.DataFrame({c: pd.Series(dtype=t) for c, t in _AGG_DTYPES.items()})
    priors = pd.DataFrame(
        {
            "kind": pd.Series(dtype=object),
            "key": pd.Series(dtype=object),
            "n_intervals": pd.Series(dtype=np.int64),
            "median_interval": pd.Series(dtype=float),
            "interval_mad": pd.Series(dtype=float),
        }
    )
    return Aggregates(customers, priors)


_AGG_DTYPES: Final = {
    "customer_id": np.int64,
    "n_visits": np.int64,
    "n_intervals": np.int64,
    "first_visit_day": float,
    "last_visit_day": float,
    "median_interval": float,
    "interval_mad": float,
    "frequency": np.int64,
    "monetary": float,
    "last_store_id": "Int64",
    "last_category": object,
    "n_bookings_recent": np.int64,
    "n_moved_recent": np.int64,
}


def normalise_aggregates(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in :data:`AGGREGATE_COLUMNS` order with their canonical dtypes, by customer_id."""
    require_columns(frame, AGGREGATE_COLUMNS, what="aggregates")
    out = frame.loc[:, list(AGGREGATE_COLUMNS)].copy()
    for column, dtype in _AGG_DTYPES.items():
        if column == "last_category":
            raw = out[column]
            values = np.where(raw.isna().to_numpy(), None, raw.to_numpy(dtype=object))
            out[column] = pd.Series(values, index=out.index, dtype=object)
        elif dtype is np.int64:
            out[column] = out[column].fillna(0).astype(np.int64)
        else:
            out[column] = out[column].astype(dtype)
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def normalise_priors(frame: pd.DataFrame) -> pd.DataFrame:
    """Priors in :data:`PRIOR_COLUMNS` order with canonical dtypes, sorted by kind and key."""
    require_columns(frame, PRIOR_COLUMNS, what="priors")
    out = frame.loc[:, list(PRIOR_COLUMNS)].copy()
    for column in ("kind", "key"):
        out[column] = pd.Series(out[column].astype(str).to_numpy(dtype=object), index=out.index, dtype=object)
    out["n_intervals"] = out["n_intervals"].astype(np.int64)
    out["median_interval"] = out["median_interval"].astype(float)
    out["interval_mad"] = out["interval_mad"].astype(float)
    return out.sort_values(["kind", "key"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------ numpy helpers
def codes_for(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes 0..k−1 of ``values`` in ascending value order, and the sorted distinct values.

    Non-negative integer ids (the usual case) skip hashing: a presence table indexed by the id.
    """
    values = np.asarray(values)
    if values.dtype.kind in "iu" and len(values) and values.min() >= 0 and values.max() < max(4 * len(values), 1 << 20):
        present = np.zeros(int(values.max()) + 1, dtype=bool)
        present[values] = True
        uniques = np.flatnonzero(present)
        lookup = np.zeros(len(present), dtype=np.int64)
        lookup[uniques] = np.arange(len(uniques))
        return lookup[values], uniques.astype(values.dtype)
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def group_median(groups: np.ndarray, values: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Count and median of integer ``values`` per group code (0..n_groups−1; −1 skipped).

    One sort of ``group × range + value`` (integers), then the middle element(s) of each group.
    """
    keep = groups >= 0
    groups, values = groups[keep].astype(np.int64), values[keep].astype(np.int64)
    counts = np.bincount(groups, minlength=n_groups)
    median = np.full(n_groups, np.nan)
    if len(values) == 0:
        return counts, median
    low = int(values.min())
    width = int(values.max()) - low + 1
    composite = np.sort(groups * width + (values - low))
    sorted_values = composite % width + low
    starts = np.zeros(n_groups, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    has = counts > 0
    lo = sorted_values[(starts + (counts - 1) // 2)[has]]
    hi = sorted_values[(starts + counts // 2)[has]]
    median[has] = (lo + hi) / 2.0
    return counts, median


def group_median_mad(
    groups: np.ndarray, values: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, median and median absolute deviation of integer ``values`` per group code."""
    counts, median = group_median(groups, values, n_groups)
    keep = groups >= 0
    g, v = groups[keep].astype(np.int64), values[keep].astype(np.int64)
    # |v − median| × 2 is an integer (medians are halves): exact medians of it, then ÷ 2.
    twice_median = np.round(np.nan_to_num(median) * 2).astype(np.int64)
    dev2 = np.abs(2 * v - twice_median[g]) if len(g) else v
    _, mad2 = group_median(g, dev2, n_groups)
    return counts, median, mad2 / 2.0


def sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted distinct values of two integer arrays (a merge when both are sorted and unique)."""
    return pd.Index(np.asarray(a)).union(pd.Index(np.asarray(b))).to_numpy()


def _as_ns(values: pd.Series) -> np.ndarray:
    if values.dtype != "datetime64[ns]":
        values = pd.to_datetime(values).astype("datetime64[ns]")
    return values.to_numpy().view(np.int64)


_NS_PER_DAY: Final = 86_400 * 10**9
_NAT: Final = np.iinfo(np.int64).min


def aggregate_bookings(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    lookback_days: int = 365,
    rescheduler_lookback_days: int = 365,
    rescheduler_statuses: tuple[str, ...] = DEFAULT_RESCHEDULER_STATUSES,
) -> Aggregates:
    """:func:`customer_aggregates` and :func:`interval_priors` from one pass over ``bookings``."""
    require_columns(bookings, AGGREGATE_BOOKING_COLUMNS, what="bookings")
    today = day_number(as_of)
    ts = _as_ns(bookings["scheduled_at"])
    cutoff = as_of_cutoff(as_of).value
    past = (ts < cutoff) & (ts != _NAT)
    if not past.any():
        return empty_aggregates()
    ts = ts[past]
    day = ts // _NS_PER_DAY
    status = bookings["status"]
    # Masks at Series level: fast for categorical and Arrow-backed text columns alike.
    is_visit_all = status.eq(VISIT_STATUS).to_numpy(dtype=bool, na_value=False)
    moved_all = status.isin(list(rescheduler_statuses)).to_numpy(dtype=bool, na_value=False)
    code, ids = codes_for(bookings["customer_id"].to_numpy()[past])
    n = len(ids)

    recent = day > today - rescheduler_lookback_days
    n_recent = np.bincount(code[recent], minlength=n)
    moved = recent & moved_all[past]
    n_moved = np.bincount(code[moved], minlength=n)

    visit = is_visit_all[past]
    v_code, v_day, v_ts = code[visit], day[visit], ts[visit]
    spend = visit_spend(bookings).to_numpy()[past][visit]
    in_lookback = v_day > today - lookback_days
    frequency = np.bincount(v_code[in_lookback], minlength=n)
    monetary = np.bincount(v_code[in_lookback], weights=spend[in_lookback], minlength=n)

    # One sort of the visits by (customer, time); row order breaks ties (a stable sort).
    if len(v_ts):
        t0 = int(v_ts.min()) // 10**9
        seconds = v_ts // 10**9 - t0
        span = int(seconds.max()) + 1
        if n * span < 2**62:
            order = np.argsort(v_code * span + seconds, kind="stable")
        else:
            order = np.lexsort((seconds, v_code))
    else:
        order = np.empty(0, dtype=np.int64)
    s_code, s_day = v_code[order], v_day[order]
    last_of_day = np.ones(len(order), dtype=bool)
    last_of_day[:-1] = (s_code[1:] != s_code[:-1]) | (s_day[1:] != s_day[:-1])
    rows = order[last_of_day]  # one row per visit day, by customer then day
    subject, vday = s_code[last_of_day], s_day[last_of_day]

    n_visits = np.bincount(subject, minlength=n)
    first = np.ones(len(rows), dtype=bool)
    first[1:] = subject[1:] != subject[:-1]
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = subject[1:] != subject[:-1]
    first_day = np.full(n, np.nan)
    last_day = np.full(n, np.nan)
    first_day[subject[first]] = vday[first]
    last_day[subject[last]] = vday[last]

    interval = np.diff(vday)
    iv_ok = ~first[1:]
    iv, iv_subject = interval[iv_ok], subject[1:][iv_ok]
    iv_rows = rows[1:][iv_ok]  # the later visit day of each interval
    _, med, mad = group_median_mad(iv_subject, iv, n)

    store_all = bookings["store_id"].to_numpy()[past][visit]
    category = bookings["service_category"]
    if isinstance(category.dtype, pd.CategoricalDtype):
        cat_codes_all = category.cat.codes.to_numpy().astype(np.int64)[past][visit]
        cat_values = category.cat.categories
    else:
        codes_all, cat_values = pd.factorize(category)
        cat_codes_all = codes_all.astype(np.int64)[past][visit]
    store_codes_all, store_values = codes_for(store_all.astype(np.int64))

    last_rows = rows[last]
    store_vals = np.zeros(n, dtype=np.int64)
    store_vals[subject[last]] = store_all[last_rows].astype(np.int64)
    last_store = pd.arrays.IntegerArray(store_vals, n_visits == 0)
    lc = cat_codes_all[last_rows]
    day_cat = np.full(len(lc), None, dtype=object)
    named = lc >= 0
    day_cat[named] = np.asarray(cat_values, dtype=object)[lc[named]]
    last_cat = np.full(n, None, dtype=object)
    last_cat[subject[last]] = day_cat

    customers = pd.DataFrame(
        {
            "customer_id": ids.astype(np.int64),
            "n_visits": n_visits.astype(np.int64),
            "n_intervals": np.maximum(n_visits - 1, 0).astype(np.int64),
            "first_visit_day": first_day,
            "last_visit_day": last_day,
            "median_interval": med,
            "interval_mad": mad,
            "frequency": frequency.astype(np.int64),
            "monetary": monetary.astype(float),
            "last_store_id": last_store,
            "last_category": last_cat,
            "n_bookings_recent": n_recent.astype(np.int64),
            "n_moved_recent": n_moved.astype(np.int64),
        }
    )

    parts = []
    for kind, codes_all, values in (
        ("category", cat_codes_all, np.asarray(cat_values, dtype=object)),
        ("store", store_codes_all, store_values),
    ):
        g = codes_all[iv_rows]
        count, p_med, p_mad = group_median_mad(g, iv, len(values))
        ok = count > 0
        parts.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "key": [str(k) for k in np.asarray(values)[ok]],
                    "n_intervals": count[ok].astype(np.int64),
                    "median_interval": p_med[ok],
                    "interval_mad": p_mad[ok],
                }
            )
        )
    priors = normalise_priors(pd.concat(parts, ignore_index=True))
    return Aggregates(normalise_aggregates(customers), priors)


def customer_aggregates(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    lookback_days: int = 365,
    rescheduler_lookback_days: int = 365,
    rescheduler_statuses: tuple[str, ...] = DEFAULT_RESCHEDULER_STATUSES,
) -> pd.DataFrame:
    """One row of aggregates per customer with any booking up to the end of the as-of day.

    Parameters
    ----------
    bookings : DataFrame
        :data:`AGGREGATE_BOOKING_COLUMNS` (store-local ``scheduled_at``). Later bookings are
        ignored, so the result as of a past date does not depend on them.
    as_of : date-like
    lookback_days : int
        Window of ``frequency`` and ``monetary`` (days ``> as_of − lookback_days``).
    rescheduler_lookback_days, rescheduler_statuses
        Window and statuses of ``n_bookings_recent`` / ``n_moved_recent``.

    Returns
    -------
    DataFrame
        :data:`AGGREGATE_COLUMNS`, sorted by ``customer_id``.
    """
    return aggregate_bookings(
        bookings,
        as_of=as_of,
        lookback_days=lookback_days,
        rescheduler_lookback_days=rescheduler_lookback_days,
        rescheduler_statuses=rescheduler_statuses,
    ).customers


def interval_priors(bookings: pd.DataFrame, *, as_of: AsOf) -> pd.DataFrame:
    """Count, median and MAD of all visit-day intervals per service category and per store.

    An interval belongs to the category and store of its *later* visit day. Returns
    :data:`PRIOR_COLUMNS`, sorted by ``kind`` then ``key``.
    """
    return aggregate_bookings(bookings, as_of=as_of).priors
