"""Conversions between UTC instants and a store's local calendar (pure; pandas and zoneinfo only).

Revisit stores every instant in UTC and shows, counts and schedules by the store's own clock: a
visit at 2024-05-01 17:00 UTC in Asia/Shanghai happened on 2024-05-02 (01:00 local). Every such
conversion goes through this module so the rules are the same everywhere:

* a naive input instant is taken as UTC;
* an unknown or missing store time zone reads as UTC (the row is kept, not lost);
* in the vectorised Series functions, a local wall time repeated by a daylight-saving change is
  read as standard time, and one the change skips is moved forward, so no row turns into NaT
  (the scalar functions follow ``zoneinfo``: ``fold=0``, the earlier reading).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd


def zone(tz: str | tzinfo) -> tzinfo:
    """``tz`` as a ``tzinfo`` (a name is looked up in the IANA database)."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _aware_utc(ts_utc: datetime) -> datetime:
    return ts_utc.replace(tzinfo=UTC) if ts_utc.tzinfo is None else ts_utc


def local_time(ts_utc: datetime, tz: str | tzinfo) -> datetime:
    """The store-local wall time (naive) of the instant ``ts_utc`` (naive = UTC).

    Parameters
    ----------
    ts_utc
        An instant; an aware value in any zone, or naive UTC.
    tz
        The store's time zone.

    Returns
    -------
    datetime
        Naive local wall time.
    """
    return _aware_utc(ts_utc).astimezone(zone(tz)).replace(tzinfo=None)


def local_day(ts_utc: datetime, tz: str | tzinfo) -> date:
    """The store-local calendar day of the instant ``ts_utc`` (naive = UTC)."""
    return local_time(ts_utc, tz).date()


def local_to_utc(local: datetime, tz: str | tzinfo) -> datetime:
    """The aware UTC instant of the naive store-local wall time ``local``."""
    return local.replace(tzinfo=zone(tz)).astimezone(UTC)


def local_midnight_utc(day: date, tz: str | tzinfo) -> datetime:
    """The aware UTC instant at which the store-local ``day`` begins."""
    return local_to_utc(datetime.combine(day, time.min), tz)


def local_day_end_utc(day: date, tz: str | tzinfo) -> datetime:
    """The aware UTC instant just after the store-local ``day`` (its exclusive end)."""
    return local_midnight_utc(day + timedelta(days=1), tz)


def utc_offset(tz: str, at_local: datetime) -> timedelta:
    """The zone's UTC offset at the local wall time ``at_local``; an unknown zone reads as UTC."""
    try:
        offset = ZoneInfo(tz).utcoffset(at_local)
    except Exception:  # noqa: BLE001 - an unknown zone name reads as UTC, like to_local
        offset = None
    return offset or timedelta(0)


def to_local(utc_values: pd.Series, store_ids: pd.Series, timezones: Mapping[int, str]) -> pd.Series:
    """Each row's UTC instant as its store's naive local time (vectorised per time zone).

    Parameters
    ----------
    utc_values
        Instants (aware, naive UTC or ISO text).
    store_ids
        Each row's store id, aligned with ``utc_values``.
    timezones
        Store id → IANA zone name; rows of a store not listed keep their UTC wall time.

    Returns
    -------
    pandas.Series
        Naive ``datetime64[ns]`` local times (NaT where the input is missing).
    """
    utc = pd.to_datetime(utc_values, utc=True, format="mixed")
    result = pd.Series(pd.NaT, index=utc.index, dtype="datetime64[ns]")
    for store_id, tz in timezones.items():
        mask = store_ids == store_id
        if mask.any():
            result.loc[mask] = utc[mask].dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[ns]")
    missing = result.isna() & utc.notna()
    if missing.any():
        result.loc[missing] = utc[missing].dt.tz_localize(None).astype("datetime64[ns]")
    return result


def to_utc(local_values: pd.Series, store_ids: pd.Series, timezones: Mapping[int, str]) -> pd.Series:
    """Each row's naive store-local time as an aware UTC instant (the inverse of :func:`to_local`).

    Rows of a store not in ``timezones`` are NaT. A repeated wall time reads as standard time, a
    skipped one is moved forward.
    """
    values = pd.to_datetime(local_values)
    result = pd.Series(pd.NaT, index=local_values.index, dtype="datetime64[ns, UTC]")
    for store_id, tz in timezones.items():
        mask = (store_ids == store_id).to_numpy()
        if mask.any():
            result.loc[mask] = _localize(values[mask], tz)
    return result


def to_utc_per_row(local_values: pd.Series, tzs: pd.Series) -> list[datetime | None]:
    """Naive local times with a time zone per row → aware UTC datetimes (``None`` for missing)."""
    values = pd.to_datetime(pd.Series(local_values, dtype=object), format="mixed")
    out: list[datetime | None] = [None] * len(values)
    positions = np.arange(len(values))
    for tz in pd.unique(tzs):
        mask = (tzs == tz).to_numpy()
        for pos, value in zip(positions[mask], _localize(values[mask], str(tz)), strict=True):
            out[pos] = None if pd.isna(value) else value.to_pydatetime()
    return out


def _localize(values: pd.Series, tz: str) -> pd.Series:
    return values.dt.tz_localize(
        tz, ambiguous=np.zeros(len(values), dtype=bool), nonexistent="shift_forward"
    ).dt.tz_convert("UTC")
