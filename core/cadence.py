"""Revisit window (回訪窗口): each subject's typical interval between visits and next due date.

A subject is a customer, a pet (customer + pet) or a customer's service category. Intervals are
whole days between consecutive visit *dates* (several visits on one day count once). The window
is the median of the subject's own intervals shrunk toward a prior:

``window = w × own_median + (1 − w) × prior``, ``w = n / (n + prior_strength)`` for ``n`` own
intervals (``w = 0`` before the second visit), clipped to ``[min_window_days, max_window_days]``.

The prior is the median interval of the subject's service category (the category of its last
visit) over all subjects, falling back to the median of its store (the store of its last visit)
and then to ``default_window_days`` when fewer than ``min_prior_intervals`` intervals exist.

The band is ``window ± max(min_band_days, band_z × spread / sqrt(n + 1))`` where ``spread`` is the
robust standard deviation (1.4826 × MAD) of the own intervals (from two intervals on) shrunk the
same way toward the prior's spread; it narrows as visits accumulate.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import pandas as pd

from core.columns import require_columns
from core.params import AsOf, CadenceParams, day_number, day_numbers, visits_as_of

SubjectKind = Literal["customer", "pet", "customer_category"]

#: Id columns of a subject, per ``by``.
SUBJECT_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "customer": ("customer_id",),
    "pet": ("customer_id", "pet_id"),
    "customer_category": ("customer_id", "service_category"),
}

#: Booking columns :func:`revisit_windows` reads (plus ``pet_id`` for ``by="pet"``).
CADENCE_BOOKING_COLUMNS: Final = (
    "customer_id",
    "store_id",
    "service_category",
    "scheduled_at",
    "status",
)

#: Columns after the subject id columns, in order.
WINDOW_COLUMNS: Final = (
    "n_visits",  # int, distinct visit dates up to as-of
    "n_intervals",  # int, n_visits - 1
    "last_visit",  # datetime64, date of the last visit
    "store_id",  # store of the last visit
    "service_category",  # category of the last visit (the prior's category)
    "own_median_interval",  # float days, NaN before the second visit
    "own_spread_days",  # float, 1.4826 × MAD of own intervals, NaN before 2 intervals
    "prior_days",  # float, the prior window
    "prior_source",  # "category", "store" or "default"
    "shrink_weight",  # float, n / (n + prior_strength)
    "window_days",  # float, the revisit window
    "band_low",  # float days, lower end of the window band
    "band_high",  # float days, upper end of the window band
    "next_due_date",  # datetime64, last_visit + round(window_days) days
    "days_overdue",  # int, as_of - next_due_date in days (negative: not yet due)
)

MAD_TO_SD: Final = 1.4826


def _group_median_mad(keys: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Per integer key (>= 0): count, median and 1.4826 × MAD of ``values`` (two groupbys)."""
    frame = pd.DataFrame({"key": np.asarray(keys), "value": values})
    frame = frame.loc[frame["key"].to_numpy() >= 0]  # -1: a missing store/category code
    grouped = frame.groupby("key", sort=False)["value"]
    median = grouped.transform("median")
    frame["dev"] = (frame["value"] - median).abs()
    out = frame.groupby("key", sort=False).agg(
        count=("value", "size"), median=("value", "median"), mad=("dev", "median")
    )
    out["spread"] = out["mad"] * MAD_TO_SD
    return out


def revisit_windows(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    params: CadenceParams | None = None,
    by: SubjectKind = "customer",
) -> pd.DataFrame:
    """Revisit window, band and next due date per subject.

    Parameters
    ----------
    bookings : DataFrame
        Columns :data:`CADENCE_BOOKING_COLUMNS` (and ``pet_id`` for ``by="pet"``). Only
        ``completed`` bookings scheduled up to the end of the ``as_of`` day are used.
    as_of : date-like
        The end of this day is the cut-off.
    params : CadenceParams, optional
    by : {"customer", "pet", "customer_category"}
        The subject. For ``"pet"`` bookings without a pet form the customer's own subject
        (``pet_id`` = <NA>).

    Returns
    -------
    DataFrame
        The subject id columns (:data:`SUBJECT_KEYS`) then :data:`WINDOW_COLUMNS`, one row per
        subject with at least one visit, sorted by the id columns.
    """
    params = params or CadenceParams()
    if by not in SUBJECT_KEYS:
        raise ValueError(f"by must be one of {sorted(SUBJECT_KEYS)}, not {by!r}")
    keys = list(SUBJECT_KEYS[by])
    required = tuple(dict.fromkeys((*CADENCE_BOOKING_COLUMNS, *keys)))
    require_columns(bookings, required, what="bookings")

    visits = visits_as_of(bookings, as_of, columns=(*keys, "store_id", "service_category", "scheduled_at"))
    if len(keys) == 1:
        subject_all, _ = pd.factorize(visits[keys[0]].to_numpy(), sort=True)
    else:
        subject_all = visits.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()
    subject_all = subject_all.astype(np.int64)
    n_subjects = int(subject_all.max()) + 1 if len(subject_all) else 0
    cat_all, cat_values = pd.factorize(visits["service_category"])
    store_all, store_values = pd.factorize(visits["store_id"])
    ts_all = pd.to_datetime(visits["scheduled_at"]).to_numpy().astype("datetime64[ns]")

    # Sort by subject then time; on a day with several visits keep the last one's store and
    # category (one visit day). One int64 sort key when it fits, else a two-key lexsort.
    ts_int = ts_all.astype(np.int64)
    seconds = (ts_int - (ts_int.min() if len(ts_int) else 0)) // 1_000_000_000
    span = int(seconds.max()) + 1 if len(seconds) else 1
    if n_subjects * span < 2**62:
        order = np.argsort(subject_all * span + seconds, kind="stable")
    else:
        order = np.lexsort((ts_int, subject_all))
    day_sorted = day_numbers(ts_all)[order]
    subject_sorted = subject_all[order]
    keep = np.ones(len(order), dtype=bool)
    keep[:-1] = ~((subject_sorted[1:] == subject_sorted[:-1]) & (day_sorted[1:] == day_sorted[:-1]))
    rows = order[keep]  # one row per visit day, sorted
    subject = subject_sorted[keep]
    day = day_sorted[keep]
    cat = cat_all[rows]
    store = store_all[rows]

    same = np.zeros(len(rows), dtype=bool)
    same[1:] = subject[1:] == subject[:-1]
    interval = np.full(len(rows), np.nan)
    interval[1:] = day[1:] - day[:-1]
    interval[~same] = np.nan
    has_iv = ~np.isnan(interval)
    iv = interval[has_iv]
    own = _group_median_mad(subject[has_iv], iv).reindex(np.arange(n_subjects))
    cat_prior = _group_median_mad(cat[has_iv], iv)
    store_prior = _group_median_mad(store[has_iv], iv)

    is_last = np.ones(len(rows), dtype=bool)
    is_last[:-1] = subject[1:] != subject[:-1]
    last_rows = rows[is_last]
    last_cat = cat[is_last]
    last_store = store[is_last]
    out = visits.iloc[last_rows].loc[:, keys].reset_index(drop=True)
    out["n_visits"] = np.bincount(subject, minlength=n_subjects).astype(np.int64)
    out["n_intervals"] = out["n_visits"] - 1
    out["last_visit"] = pd.to_datetime(ts_all[last_rows]).normalize()
    out["store_id"] = store_values.take(last_store, allow_fill=True)
    out["service_category"] = cat_values.take(last_cat, allow_fill=True)
    out["own_median_interval"] = own["median"].to_numpy(dtype=float)
    out["own_spread_days"] = np.where(
        own["count"].to_numpy(dtype=float) >= 2, own["spread"].to_numpy(dtype=float), np.nan
    )

    # Prior: category → store → default, each only with enough intervals.
    min_n = params.min_prior_intervals

    def lookup(prior_table: pd.DataFrame, codes: np.ndarray, column: str) -> np.ndarray:
        ok = prior_table.loc[prior_table["count"] >= min_n, column]
        return pd.Series(ok).reindex(codes).to_numpy(dtype=float)

    return _finish_windows(
        out,
        keys,
        as_of=as_of,
        params=params,
        cat_median=lookup(cat_prior, last_cat, "median"),
        cat_spread=lookup(cat_prior, last_cat, "spread"),
        store_median=lookup(store_prior, last_store, "median"),
        store_spread=lookup(store_prior, last_store, "spread"),
    )


def windows_from_aggregates(
    aggregates: pd.DataFrame,
    priors: pd.DataFrame,
    *,
    as_of: AsOf,
    params: CadenceParams | None = None,
) -> pd.DataFrame:
    """:func:`revisit_windows` (``by="customer"``) from per-customer aggregates and priors.

    Parameters
    ----------
    aggregates : DataFrame
        :data:`core.aggregates.AGGREGATE_COLUMNS` (customers without a visit are skipped).
    priors : DataFrame
        :data:`core.aggregates.PRIOR_COLUMNS` (intervals per category and per store).

    Returns
    -------
    DataFrame
        Exactly what ``revisit_windows(bookings, as_of=as_of, by="customer")`` returns for the
        bookings the aggregates and priors were computed from.
    """
    params = params or CadenceParams()
    require_columns(
        aggregates,
        (
            "customer_id",
            "n_visits",
            "last_visit_day",
            "median_interval",
            "interval_mad",
            "last_store_id",
            "last_category",
        ),
        what="aggregates",
    )
    require_columns(priors, ("kind", "key", "n_intervals", "median_interval", "interval_mad"), what="priors")
    visited = aggregates.loc[aggregates["n_visits"].to_numpy() > 0]
    visited = visited.sort_values("customer_id", kind="stable").reset_index(drop=True)
    n_visits = visited["n_visits"].to_numpy(dtype=np.int64)
    n_iv = n_visits - 1
    last_day = visited["last_visit_day"].to_numpy(dtype=float).astype(np.int64)
    out = pd.DataFrame({"customer_id": visited["customer_id"].to_numpy()})
    out["n_visits"] = n_visits
    out["n_intervals"] = n_iv
    out["last_visit"] = pd.to_datetime(last_day.astype("datetime64[D]")).astype("datetime64[ns]")
    out["store_id"] = visited["last_store_id"].astype(np.int64).to_numpy()
    out["service_category"] = visited["last_category"].to_numpy(dtype=object)
    out["own_median_interval"] = visited["median_interval"].to_numpy(dtype=float)
    out["own_spread_days"] = np.where(n_iv >= 2, visited["interval_mad"].to_numpy(dtype=float) * MAD_TO_SD, np.nan)

    min_n = params.min_prior_intervals
    usable = priors.loc[priors["n_intervals"].to_numpy() >= min_n]

    def lookup(kind: str, keys: pd.Series, column: str) -> np.ndarray:
        table = usable.loc[usable["kind"].eq(kind).to_numpy()].set_index("key")[column]
        values = table.reindex(keys.to_numpy()).to_numpy(dtype=float)
        return values * MAD_TO_SD if column == "interval_mad" else values

    cat_keys = visited["last_category"].astype(object)
    store_keys = (
        visited["last_store_id"]
        .astype("Int64")
        .astype(str)
        .where(visited["last_store_id"].notna(), "<NA>")
        .astype(object)
    )
    return _finish_windows(
        out,
        ["customer_id"],
        as_of=as_of,
        params=params,
        cat_median=lookup("category", cat_keys, "median_interval"),
        cat_spread=lookup("category", cat_keys, "interval_mad"),
        store_median=lookup("store", store_keys, "median_interval"),
        store_spread=lookup("store", store_keys, "interval_mad"),
    )


def _finish_windows(
    out: pd.DataFrame,
    keys: list[str],
    *,
    as_of: AsOf,
    params: CadenceParams,
    cat_median: np.ndarray,
    cat_spread: np.ndarray,
    store_median: np.ndarray,
    store_spread: np.ndarray,
) -> pd.DataFrame:
    """Prior choice, shrinkage, band and due date from the own figures and the prior lookups."""
    use_cat = ~np.isnan(cat_median)
    use_store = ~use_cat & ~np.isnan(store_median)
    prior = np.where(use_cat, cat_median, np.where(use_store, store_median, float(params.default_window_days)))
    prior = np.clip(prior, params.min_window_days, params.max_window_days)
    # Without a measured prior, its spread is assumed to be a fixed share of the window.
    prior_spread = np.where(use_cat, cat_spread, np.where(use_store, store_spread, params.default_spread_ratio * prior))
    out["prior_days"] = prior
    out["prior_source"] = np.where(use_cat, "category", np.where(use_store, "store", "default"))

    n_iv = out["n_intervals"].to_numpy(dtype=float)
    weight = n_iv / (n_iv + params.prior_strength)
    own_med = out["own_median_interval"].to_numpy(dtype=float)
    window = np.where(n_iv > 0, weight * np.nan_to_num(own_med) + (1 - weight) * prior, prior)
    window = np.clip(window, params.min_window_days, params.max_window_days)
    own_spread = out["own_spread_days"].to_numpy(dtype=float)
    spread = np.where(np.isnan(own_spread), prior_spread, weight * own_spread + (1 - weight) * prior_spread)
    half = np.maximum(params.min_band_days, params.band_z * spread / np.sqrt(n_iv + 1))
    out["shrink_weight"] = weight
    out["window_days"] = window
    out["band_low"] = np.maximum(window - half, 1.0)
    out["band_high"] = window + half
    due = out["last_visit"] + pd.to_timedelta(np.round(window).astype(np.int64), unit="D")
    out["next_due_date"] = due
    due_day = day_numbers(due)
    out["days_overdue"] = (day_number(as_of) - due_day).astype(np.int64)
    out = out.reset_index(drop=True)
    return out.loc[:, keys + [c for c in WINDOW_COLUMNS if c not in keys]]
