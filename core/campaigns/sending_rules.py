"""Sending rules: quiet hours, the cross-campaign frequency cap, capacity-aware spreading.

All times here are store-local naive datetimes / dates; the worker converts to and from UTC
with the store's time zone, so "23:30" means 23:30 on the shop's clock (RELIABILITY 16).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd


def in_quiet_hours(local: datetime, *, quiet_start: int, quiet_end: int) -> bool:
    """True when the local hour is inside [quiet_start, quiet_end) (wrapping midnight if start > end)."""
    if quiet_start == quiet_end:
        return False
    hour = local.hour
    if quiet_start > quiet_end:
        return hour >= quiet_start or hour < quiet_end
    return quiet_start <= hour < quiet_end


def defer_quiet_hours(local: datetime, *, quiet_start: int, quiet_end: int) -> datetime:
    """``local`` itself, or the end of the quiet period it falls in (e.g. 23:30 → 09:00 next day)."""
    if not in_quiet_hours(local, quiet_start=quiet_start, quiet_end=quiet_end):
        return local
    end_today = datetime.combine(local.date(), time(quiet_end))
    if quiet_start > quiet_end and local.hour >= quiet_start:
        return end_today + timedelta(days=1)
    return end_today


def send_time(day: date, *, send_hour: int, quiet_start: int, quiet_end: int, at: datetime | None = None) -> datetime:
    """The local send time for a day: ``at`` (one-off / cron) or ``send_hour``, out of quiet hours."""
    local = at if at is not None else datetime.combine(day, time(min(max(send_hour, 0), 23)))
    return defer_quiet_hours(local, quiet_start=quiet_start, quiet_end=quiet_end)


def frequency_capped(
    customer_ids: Sequence[int] | np.ndarray,
    planned_days: Sequence[date] | pd.Series,
    contacts: pd.DataFrame,
    *,
    cap_days: int,
) -> np.ndarray:
    """True where another contact of the customer is less than ``cap_days`` days from the planned day.

    "At most one message per ``cap_days`` days, across campaigns": with ``cap_days=1`` a second
    message on the same local day is capped. ``contacts``: ``customer_id``, ``day`` (local date)
    of messages already sent or queued (never holdout rows, which are not sent).
    """
    ids = np.asarray(customer_ids, dtype=np.int64)
    if cap_days <= 0 or len(ids) == 0 or contacts.empty:
        return np.zeros(len(ids), dtype=bool)
    planned = pd.to_datetime(pd.Series(list(planned_days))).dt.normalize().to_numpy()
    c = pd.DataFrame(
        {
            "customer_id": contacts["customer_id"].to_numpy().astype(np.int64),
            "day": pd.to_datetime(contacts["day"]).dt.normalize().to_numpy(),
        }
    )
    left = pd.DataFrame({"row": np.arange(len(ids)), "customer_id": ids, "planned": planned})
    joined = left.merge(c, on="customer_id", how="inner")
    gap = (joined["day"] - joined["planned"]).abs() / pd.Timedelta(days=1)
    hit = joined.loc[gap.lt(cap_days).to_numpy(), "row"].unique()
    out = np.zeros(len(ids), dtype=bool)
    out[hit] = True
    return out


def spread_over_capacity(
    n: int,
    *,
    days: Sequence[date],
    free_slots: Mapping[date, float],
    booking_rate: float = 0.3,
) -> np.ndarray:
    """Day index (into ``days``) for each of ``n`` invitations, filling days with free capacity first.

    Each day can take about ``free_slots[day] / booking_rate`` invitations (invited customers
    book at roughly ``booking_rate``). Invitations go to the earliest day with room; when every
    day in the tolerance window is full the remainder goes to the day with the most room, so
    nobody is dropped. Deterministic: the caller orders customers (e.g. by a hash).
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if not days:
        raise ValueError("need at least one day")
    rate = max(float(booking_rate), 1e-6)
    room = np.array([max(float(free_slots.get(d, 0.0)), 0.0) / rate for d in days])
    room = np.floor(room).astype(np.int64)
    out = np.empty(n, dtype=np.int64)
    position = 0
    for index, slots in enumerate(room):
        take = int(min(slots, n - position))
        out[position : position + take] = index
        position += take
        if position == n:
            return out
    out[position:] = int(np.argmax(room)) if room.max() > 0 else 0
    return out


def backoff_seconds(
    attempts: int, *, base: float = 60.0, cap: float = 6 * 3600.0, retry_after: float | None = None
) -> float:
    """Exponential backoff after the ``attempts``-th failed try: base·2^(attempts−1), capped; a
    provider's Retry-After wins when it asks for longer."""
    delay = min(cap, base * (2 ** max(attempts - 1, 0)))
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return float(delay)
