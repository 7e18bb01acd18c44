"""Stored value (儲值) balances and monthly plans (月費方案): status, renewals, churn.

Frames:

- stored value entries: ``entry_id, customer_id, store_id, kind ∈ {topup, debit}, amount,
  occurred_at`` (amounts are magnitudes; the kind gives the sign);
- plans: ``plan_id, customer_id, store_id, monthly_fee, periods_total, periods_paid,
  started_on, ends_on, status`` (status ``active``, ``completed``, ``cancelled``, ``paused``…).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.columns import require_columns
from core.loyalty._util import (
    DateLike,
    end_of_day,
    months_between,
    to_datetime_series,
    to_timestamp,
)

STORED_VALUE_KINDS = ("topup", "debit")


def stored_value_balances(
    stored_value: pd.DataFrame,
    *,
    as_of: DateLike | None = None,
    by_store: bool = False,
) -> pd.DataFrame:
    """Stored value balance per customer (or per customer and store) from its entries.

    Parameters
    ----------
    stored_value : DataFrame
        Stored value entries (see module docstring).  Amounts are taken as magnitudes.
    as_of : date-like, optional
        Only entries up to the end of this day count.
    by_store : bool, default False
        One row per (customer, store) instead of per customer (stored value is often
        redeemable only at the store where it was bought).

    Returns
    -------
    DataFrame
        ``customer_id`` (``store_id``), ``topups``, ``debits``, ``balance`` (topups − debits),
        ``overdrawn`` (balance < 0: a data problem to investigate).

    Raises
    ------
    ValueError
        On an unknown ``kind``.
    """
    keys = ["customer_id", "store_id"] if by_store else ["customer_id"]
    require_columns(stored_value, (*keys, "kind", "amount", "occurred_at"), what="stored_value")
    frame = stored_value
    unknown = set(frame["kind"].dropna().unique()) - set(STORED_VALUE_KINDS)
    if unknown:
        raise ValueError(f"unknown stored value kind(s): {sorted(unknown)}")
    if as_of is not None:
        frame = frame[to_datetime_series(frame["occurred_at"]) < end_of_day(as_of)]
    amount = pd.to_numeric(frame["amount"], errors="coerce").fillna(0.0).abs()
    work = frame[keys].copy()
    work["topups"] = np.where(frame["kind"] == "topup", amount, 0.0)
    work["debits"] = np.where(frame["kind"] == "debit", amount, 0.0)
    out = work.groupby(keys, as_index=False)[["topups", "debits"]].sum()
    out["balance"] = out["topups"] - out["debits"]
    out["overdrawn"] = out["balance"] < -1e-9
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def _ends_on(plans: pd.DataFrame) -> pd.Series:
    started = to_datetime_series(plans["started_on"])
    total = pd.to_numeric(plans["periods_total"], errors="coerce").fillna(0).astype(int)
    fallback = pd.Series(
        [
            s + pd.DateOffset(months=int(t)) - pd.Timedelta(days=1) if pd.notna(s) else pd.NaT
            for s, t in zip(started, total, strict=True)
        ],
        index=plans.index,
        dtype="datetime64[ns]",
    )
    if "ends_on" in plans.columns:
        ends = to_datetime_series(plans["ends_on"])
        return ends.where(ends.notna(), fallback)
    return fallback


def plan_status(plans: pd.DataFrame, *, as_of: DateLike) -> pd.DataFrame:
    """Where each monthly plan stands at ``as_of``.

    Parameters
    ----------
    plans : DataFrame
        Plans (see module docstring).
    as_of : date-like
        Evaluation date.

    Returns
    -------
    DataFrame
        The plan columns plus ``periods_elapsed`` (periods started by ``as_of``, capped at
        ``periods_total``), ``periods_remaining`` (total − paid, ≥ 0), ``periods_in_arrears``
        (elapsed − paid, ≥ 0, active plans only), ``next_payment_on`` (start + paid months;
        NaT when fully paid or not active), ``ends_on`` (filled from the start and
        ``periods_total`` when missing) and ``is_active`` (status ``active``, started, not
        ended).
    """
    require_columns(
        plans, ("plan_id", "customer_id", "periods_total", "periods_paid", "started_on", "status"), what="plans"
    )
    day = to_timestamp(as_of).normalize()
    out = plans.copy()
    started = to_datetime_series(out["started_on"])
    total = pd.to_numeric(out["periods_total"], errors="coerce").fillna(0).astype(int)
    paid = pd.to_numeric(out["periods_paid"], errors="coerce").fillna(0).astype(int)
    ends = _ends_on(out)
    elapsed = (months_between(started, day) + 1).clip(lower=0).fillna(0).astype(int)
    elapsed = np.minimum(elapsed.to_numpy(), total.to_numpy())
    active = (out["status"] == "active") & (started <= day) & ~(ends < day)
    out["ends_on"] = ends
    out["periods_elapsed"] = elapsed
    out["periods_remaining"] = np.maximum(total - paid, 0)
    out["periods_in_arrears"] = np.where(active, np.maximum(elapsed - paid.to_numpy(), 0), 0)
    next_pay = pd.Series(
        [s + pd.DateOffset(months=int(p)) if pd.notna(s) else pd.NaT for s, p in zip(started, paid, strict=True)],
        index=out.index,
        dtype="datetime64[ns]",
    )
    out["next_payment_on"] = next_pay.where(active & (paid < total))
    out["is_active"] = active.astype(bool)
    return out


def renewals_due(plans: pd.DataFrame, *, as_of: DateLike, within_days: int = 30) -> pd.DataFrame:
    """Active plans whose term ends within ``within_days`` of ``as_of`` (renewal reminders).

    Parameters
    ----------
    plans : DataFrame
        Plans (see module docstring).
    as_of : date-like
        Evaluation date.
    within_days : int, default 30
        Look-ahead.

    Returns
    -------
    DataFrame
        ``plan_id``, ``customer_id``, ``store_id`` (when present), ``ends_on``, ``days_left``,
        ``periods_remaining``, sorted by ``ends_on`` then ``plan_id``.
    """
    status = plan_status(plans, as_of=as_of)
    day = to_timestamp(as_of).normalize()
    horizon = day + pd.Timedelta(days=within_days)
    ends = status["ends_on"].dt.normalize()
    due = status[status["is_active"] & (ends >= day) & (ends <= horizon)].copy()
    due["days_left"] = (due["ends_on"].dt.normalize() - day).dt.days.astype(int)
    cols = ["plan_id", "customer_id"] + (["store_id"] if "store_id" in due.columns else [])
    cols += ["ends_on", "days_left", "periods_remaining"]
    return due.sort_values(["ends_on", "plan_id"], kind="stable")[cols].reset_index(drop=True)


@dataclass(frozen=True)
class PlanChurn:
    """Plan churn over a period.

    Attributes
    ----------
    started : int
        Plans started in the period.
    churned : int
        Of those, plans cancelled before all ``periods_total`` were paid.
    rate : float
        ``churned / started`` (NaN when nothing started).
    """

    started: int
    churned: int
    rate: float


def plan_churn_rate(plans: pd.DataFrame, *, start: DateLike, end: DateLike) -> PlanChurn:
    """Share of plans started in ``[start, end]`` (whole days) cancelled before their last period.

    Parameters
    ----------
    plans : DataFrame
        Plans (``started_on``, ``status``, ``periods_paid``, ``periods_total``).
    start, end : date-like
        The period of plan starts (inclusive).

    Returns
    -------
    PlanChurn
    """
    require_columns(plans, ("started_on", "status", "periods_paid", "periods_total"), what="plans")
    started = to_datetime_series(plans["started_on"])
    cohort = plans[(started >= to_timestamp(start).normalize()) & (started < end_of_day(end))]
    paid = pd.to_numeric(cohort["periods_paid"], errors="coerce").fillna(0)
    total = pd.to_numeric(cohort["periods_total"], errors="coerce").fillna(0)
    churned = int(((cohort["status"] == "cancelled") & (paid < total)).sum())
    n = len(cohort)
    return PlanChurn(started=n, churned=churned, rate=churned / n if n else float("nan"))
