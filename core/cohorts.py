"""Cohort retention by first-visit month (the Stores page heatmap).

A customer's cohort is the calendar month of their first visit (a ``completed`` booking) up to
as-of, at any store of the input. For month offset ``k`` (0 = the cohort month itself), the
retention is the share of the cohort with at least one visit in calendar month ``cohort + k``.
Offsets whose month lies after the as-of month are left out; the as-of month itself is partial.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

import numpy as np
import pandas as pd

from core.columns import require_columns
from core.params import AsOf, as_of_day, filter_stores, visits_as_of

COHORT_BOOKING_COLUMNS: Final = ("customer_id", "store_id", "scheduled_at", "status")

#: Columns of :func:`cohort_retention`, in order.
COHORT_COLUMNS: Final = ("cohort", "cohort_size", "month_offset", "retained", "retention")


def cohort_retention(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    months: int = 12,
    store_ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """Retention per first-visit month and month offset (long format).

    Parameters
    ----------
    bookings : DataFrame
        :data:`COHORT_BOOKING_COLUMNS`; only visits up to the end of the as-of day are read.
    as_of : date-like
    months : int
        Cohorts of the last ``months`` calendar months up to the as-of month.
    store_ids : optional
        Only visits at these stores count (first visit and returns alike).

    Returns
    -------
    DataFrame
        :data:`COHORT_COLUMNS`: ``cohort`` (month start, datetime64), ``cohort_size`` (customers
        whose first visit is in that month), ``month_offset`` (0, 1, …), ``retained`` (of them,
        customers with a visit in month ``cohort + month_offset``), ``retention`` (share).
        Sorted by cohort then offset; one row per cohort and offset up to the as-of month.
    """
    require_columns(bookings, COHORT_BOOKING_COLUMNS, what="bookings")
    if months < 1:
        raise ValueError("months must be at least 1")
    visits = visits_as_of(filter_stores(bookings, store_ids), as_of, columns=("customer_id", "scheduled_at"))
    end = as_of_day(as_of).to_period("M")
    month = pd.to_datetime(visits["scheduled_at"]).dt.to_period("M")
    frame = pd.DataFrame({"customer_id": visits["customer_id"].to_numpy(), "month": month.to_numpy()}).drop_duplicates()
    if frame.empty:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(COHORT_COLUMNS, ("datetime64[ns]", np.int64, np.int64, np.int64, float), strict=True)
            }
        )
    ordinal = np.asarray([p.ordinal for p in frame["month"]], dtype=np.int64)
    frame["m"] = ordinal
    first = frame.groupby("customer_id")["m"].transform("min").to_numpy()
    frame["cohort"] = first
    frame["offset"] = ordinal - first
    first_month = end.ordinal - months + 1
    frame = frame.loc[frame["cohort"].to_numpy() >= first_month]
    sizes = frame.loc[frame["offset"].eq(0)].groupby("cohort").size()
    retained = frame.groupby(["cohort", "offset"]).size()
    rows = []
    for cohort, size in sizes.items():  # one row per (cohort, offset): at most months² rows
        for offset in range(0, end.ordinal - int(cohort) + 1):
            kept = int(retained.get((cohort, offset), 0))
            rows.append((pd.Period(ordinal=int(cohort), freq="M").to_timestamp(), int(size), offset, kept, kept / size))
    out = pd.DataFrame(rows, columns=list(COHORT_COLUMNS))
    out["cohort"] = out["cohort"].astype("datetime64[ns]")
    return out
