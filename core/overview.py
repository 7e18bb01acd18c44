"""Headline figures and the monthly trend of the Overview page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from core.columns import VISIT_STATUS, require_columns
from core.spend import visit_spend


@dataclass(frozen=True)
class Headline:
    """One headline figure with the same figure for the period before (None when unknown)."""

    value: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def _visits_between(bookings: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Completed visits on local days in (start, end]."""
    day = bookings["scheduled_at"].dt.normalize()
    mask = (bookings["status"] == VISIT_STATUS) & (day > pd.Timestamp(start)) & (day <= pd.Timestamp(end))
    return bookings.loc[mask]


def visits_and_revenue(bookings: pd.DataFrame, *, as_of: date, period_days: int = 30) -> tuple[Headline, Headline]:
    """Visits and revenue (amount + add-ons) in the last ``period_days`` up to ``as_of``, with the period before."""
    require_columns(bookings, ["scheduled_at", "status", "amount", "addon_amount"], what="bookings")
    current = _visits_between(bookings, as_of - timedelta(days=period_days), as_of)
    before = _visits_between(bookings, as_of - timedelta(days=2 * period_days), as_of - timedelta(days=period_days))

    def revenue(frame: pd.DataFrame) -> float:
        return float(visit_spend(frame).sum())

    return (
        Headline(float(len(current)), float(len(before))),
        Headline(revenue(current), revenue(before)),
    )


def monthly_trend(bookings: pd.DataFrame, *, as_of: date, months: int = 24) -> pd.DataFrame:
    """Visits and revenue per calendar month up to ``as_of``: columns month, visits, revenue,
    ``days`` (days of the month up to as-of) and ``complete`` (False for the month still running,
    which must not be read as a drop)."""
    require_columns(bookings, ["scheduled_at", "status", "amount", "addon_amount"], what="bookings")
    start = (pd.Timestamp(as_of) - pd.DateOffset(months=months - 1)).to_period("M").to_timestamp()
    visits = _visits_between(bookings, start.date() - timedelta(days=1), as_of)
    grouped = (
        visits.assign(month=visits["scheduled_at"].dt.to_period("M").dt.to_timestamp(), revenue=visit_spend(visits))
        .groupby("month")
        .agg(visits=("status", "size"), revenue=("revenue", "sum"))
    )
    all_months = pd.date_range(start, pd.Timestamp(as_of).to_period("M").to_timestamp(), freq="MS")
    out = grouped.reindex(all_months, fill_value=0).rename_axis("month").reset_index()
    month_end = out["month"] + pd.offsets.MonthEnd(0)
    last_day = pd.Timestamp(as_of)
    out["days"] = (month_end.where(month_end <= last_day, last_day) - out["month"]).dt.days + 1
    out["complete"] = month_end <= last_day
    return out
