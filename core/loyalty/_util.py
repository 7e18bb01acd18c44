"""Small date helpers shared by the loyalty modules (private)."""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

import pandas as pd

DateLike: TypeAlias = pd.Timestamp | dt.date | dt.datetime | str


def to_timestamp(value: DateLike) -> pd.Timestamp:
    """Return ``value`` as a naive :class:`pandas.Timestamp` (store-local time).

    Parameters
    ----------
    value : Timestamp, date, datetime or str
        The moment to convert.  Time-zone aware values are converted to naive by dropping
        the zone (they are assumed to be already store-local).

    Returns
    -------
    pandas.Timestamp
    """
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        raise ValueError("a date is required, got NaT/None")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts


def end_of_day(value: DateLike) -> pd.Timestamp:
    """Return the first instant *after* the day of ``value`` (exclusive day end)."""
    return to_timestamp(value).normalize() + pd.Timedelta(days=1)


def window_bounds(as_of: DateLike, months: int = 12) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Half-open ``[start, end)`` bounds of the ``months`` calendar months ending with as_of's day.

    ``end`` is the midnight after ``as_of``'s day (the whole as-of day counts) and ``start`` is
    the midnight after the same day ``months`` months earlier, so a 12-month window as of
    2024-06-30 covers 2023-07-01 … 2024-06-30 inclusive.
    """
    end = end_of_day(as_of)
    start = end - pd.DateOffset(months=months)
    return pd.Timestamp(start), end


def to_datetime_series(values: pd.Series) -> pd.Series:
    """Coerce a column to naive ``datetime64`` (invalid values become NaT)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values
    else:
        out = pd.to_datetime(values, errors="coerce", format="mixed")
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_localize(None)
    return out


def months_between(start: pd.Series, end: pd.Timestamp) -> pd.Series:
    """Whole calendar months from each ``start`` to ``end`` (negative when ``start`` is later).

    A month counts once the same day-of-month is reached, so 2024-01-31 → 2024-02-29 is 0.
    """
    start = to_datetime_series(start)
    raw = (end.year - start.dt.year) * 12 + (end.month - start.dt.month)
    not_reached = end.day < start.dt.day
    return (raw - not_reached.astype("Int64")).astype("Int64")
