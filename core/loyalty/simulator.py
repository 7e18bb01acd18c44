"""Monte-Carlo projection of a points programme, driven by the store's own visit history.

Model (one month per step, customers independent):

- each customer active in the 12 months before ``as_of`` keeps visiting at their own rate
  (visits in the window ÷ 12, drawn Poisson each month) and their own average ticket;
- points are earned with the rule's rate and the tier multiplier of the tier held at the
  start of the month (tiers re-qualified monthly on the rolling 12-month spend; stored value
  top-ups and plan months are held at their ``activity`` values);
- lots earned in month ``s`` expire at the start of month ``s + expiry_months``; opening lots
  from the ledger expire at the start of the month containing their expiry;
- each month a customer with at least ``min_redemption`` available points redeems with
  probability ``redemption_propensity``, using as many whole ``min_redemption`` steps as
  they can (oldest lots first).

Not modelled (known gaps): new customer acquisition, churn beyond the historical rate,
birthday multipliers, referral bonuses, seasonality.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.columns import VISIT_STATUS, require_columns
from core.loyalty._util import DateLike, end_of_day, to_datetime_series, to_timestamp
from core.loyalty.points import Entries, PointsRule, _as_list, open_lots
from core.loyalty.tiers import TierRule, _validated, qualify_tiers
from core.spend import visit_spend

DEFAULT_REDEMPTION_PROPENSITY = 0.1
_EPS = 1e-9


def estimate_redemption_propensity(ledger: Entries, *, as_of: DateLike, months: int = 12) -> float | None:
    """Monthly probability that a points holder redeems, from the ledger's last ``months`` months.

    Estimated as redemptions in the window ÷ (customers with any entry in the window × months),
    clipped to ``[0, 1]``; ``None`` when the window holds no entries.
    """
    end = end_of_day(as_of)
    start = end - pd.DateOffset(months=months)
    items = [e for e in _as_list(ledger) if start <= e.occurred_at < end]
    holders = {e.customer_id for e in items}
    if not holders:
        return None
    redemptions = sum(1 for e in items if e.kind == "redeem")
    return float(min(1.0, redemptions / (len(holders) * months)))


def simulate_program(
    visits_history: pd.DataFrame,
    *,
    rule: PointsRule,
    tier_rules: Sequence[TierRule],
    as_of: DateLike,
    months: int = 12,
    seed: int = 0,
    redemption_propensity: float | None = None,
    ledger: Entries | None = None,
    activity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Project points issued, redeemed, expired and outstanding month by month.

    Parameters
    ----------
    visits_history : DataFrame
        Bookings (``customer_id``, ``scheduled_at``, ``amount``; optional ``status`` and
        ``addon_amount``).  Completed visits of the 12 months up to ``as_of`` drive the model.
    rule : PointsRule
        Earn rate, expiry, minimum redemption and point value.
    tier_rules : sequence of TierRule
        Tiers (multipliers and the tier distribution).
    as_of : date-like
        Last day of history; month 1 starts the next day.
    months : int, default 12
        Months to project.
    seed : int, default 0
        Random seed: the same inputs and seed give the same frame.
    redemption_propensity : float, optional
        Monthly probability that an eligible customer redeems.  When omitted it is estimated
        from ``ledger`` (:func:`estimate_redemption_propensity`), else
        ``DEFAULT_REDEMPTION_PROPENSITY``.
    ledger : iterable of LedgerEntry or DataFrame, optional
        The points ledger: open lots at ``as_of`` become the opening outstanding points.
        Without it the programme starts from zero (a launch preview).
    activity : DataFrame, optional
        ``customer_id``, ``stored_value_topups_12m``, ``plan_months`` held constant for tier
        qualification (spend is always simulated).

    Returns
    -------
    DataFrame
        One row per month: ``month`` (first day), ``visits``, ``revenue``, ``points_issued``,
        ``points_redeemed``, ``points_expired`` (breakage), ``outstanding_start``,
        ``outstanding_end``, ``liability`` (outstanding_end × ``point_cash_value``),
        ``cumulative_breakage_rate`` (expired ÷ (redeemed + expired) so far), and one
        ``tier:<name>`` column per tier with the number of customers holding it at month end.
        ``points_issued − points_redeemed − points_expired = outstanding_end −
        outstanding_start`` holds exactly for every month.
    """
    if months < 1:
        raise ValueError("months must be >= 1")
    rules = _validated(tier_rules)
    require_columns(visits_history, ("customer_id", "scheduled_at", "amount"), what="visits_history")
    as_of_ts = to_timestamp(as_of)
    end = end_of_day(as_of_ts)
    hist_start = end - pd.DateOffset(months=12)

    v = visits_history
    if "status" in v.columns:
        v = v[v["status"] == VISIT_STATUS]
    when = to_datetime_series(v["scheduled_at"])
    amount = visit_spend(v)
    hist = pd.DataFrame(
        {"customer_id": v["customer_id"].to_numpy(), "when": when.to_numpy(), "amount": amount.to_numpy(dtype=float)}
    )
    hist = hist[(hist["when"] >= hist_start) & (hist["when"] < end)]

    lots = None
    if ledger is not None:
        lots = open_lots(ledger, as_of=as_of_ts)
        if redemption_propensity is None:
            redemption_propensity = estimate_redemption_propensity(ledger, as_of=as_of_ts)
    if redemption_propensity is None:
        redemption_propensity = DEFAULT_REDEMPTION_PROPENSITY
    if not 0.0 <= redemption_propensity <= 1.0:
        raise ValueError("redemption_propensity must be within [0, 1]")

    ids = set(hist["customer_id"].tolist())
    if lots is not None:
        ids |= set(lots["customer_id"].tolist())
    customers = sorted(ids, key=lambda c: (type(c).__name__, c))
    n = len(customers)
    pos = {c: i for i, c in enumerate(customers)}

    # history: monthly spend buckets (12 columns, oldest first), rate and ticket per customer
    month_edges = [end - pd.DateOffset(months=12 - k) for k in range(13)]
    bucket = (
        np.searchsorted(
            np.array(month_edges, dtype="datetime64[ns]"), hist["when"].to_numpy(dtype="datetime64[ns]"), side="right"
        )
        - 1
    )
    rows = hist["customer_id"].map(pos).to_numpy(dtype=int)
    spend_hist = np.zeros((n, 12 + months))
    np.add.at(spend_hist, (rows, bucket), hist["amount"].to_numpy(dtype=float))
    visit_count = np.bincount(rows, minlength=n).astype(float)
    spend_total = np.bincount(rows, weights=hist["amount"].to_numpy(dtype=float), minlength=n)
    rate = visit_count / 12.0
    ticket = np.divide(spend_total, visit_count, out=np.zeros(n), where=visit_count > 0)

    # lots bucketed by the month at whose start they expire; last column = never expires
    exp_months = rule.expiry_months
    n_cols = months + (exp_months or 0) + 2
    never = n_cols - 1
    cap = n_cols - 2
    lot_pts = np.zeros((n, n_cols), dtype=np.int64)
    if lots is not None and len(lots):
        edges = np.array([end + pd.DateOffset(months=k) for k in range(1, cap + 1)], dtype="datetime64[ns]")
        for row in lots.itertuples(index=False):
            if pd.isna(row.expires_at):
                col = never
            else:
                exp = pd.Timestamp(row.expires_at)
                col = 0 if exp < end else int(np.searchsorted(edges, np.datetime64(exp, "ns"), side="right"))
                col = min(col, cap)
            lot_pts[pos[row.customer_id], col] += int(row.points_remaining)

    stored = np.zeros(n)
    plan_m = np.zeros(n)
    if activity is not None and len(activity):
        act = activity.set_index("customer_id")
        ids_index = pd.Index(customers)
        if "stored_value_topups_12m" in act.columns:
            stored = act["stored_value_topups_12m"].reindex(ids_index).fillna(0).to_numpy(dtype=float)
        if "plan_months" in act.columns:
            plan_m = act["plan_months"].reindex(ids_index).fillna(0).to_numpy(dtype=float)

    mult_of = {r.name: r.points_multiplier for r in rules}

    def tiers_for(spend_12m: np.ndarray) -> pd.Series:
        frame = pd.DataFrame(
            {"customer_id": customers, "spend_12m": spend_12m, "stored_value_topups_12m": stored, "plan_months": plan_m}
        )
        return qualify_tiers(frame, rules)

    rng = np.random.default_rng(seed)
    step = max(int(rule.min_redemption), 1)
    records = []
    tier_names = [r.name for r in rules]
    cum_redeemed = cum_expired = 0
    for t in range(months):
        outstanding_start = int(lot_pts.sum())
        # 1. expiry at the start of the month
        expired = int(lot_pts[:, t].sum())
        lot_pts[:, t] = 0
        # 2. tier held at the start of the month
        held = tiers_for(spend_hist[:, t : t + 12].sum(axis=1))
        mult = held.map(mult_of).astype(float).fillna(1.0).to_numpy()
        # 3. visits and earning
        n_visits = rng.poisson(rate)
        spend = n_visits * ticket
        spend_hist[:, 12 + t] = spend
        earned = np.floor(spend * rule.earn_per_currency_unit * mult + _EPS).astype(np.int64)
        earned = np.maximum(earned, 0)
        col = never if exp_months is None else min(t + exp_months, cap)
        lot_pts[:, col] += earned
        # 4. redemption, oldest lots first (usable lots: columns > t)
        draws = rng.random(n)
        usable = lot_pts[:, t + 1 :]
        available = usable.sum(axis=1)
        redeem = np.where(
            (draws < redemption_propensity) & (available >= max(rule.min_redemption, 1)), (available // step) * step, 0
        )
        before = np.cumsum(usable, axis=1) - usable
        take = np.clip(redeem[:, None] - before, 0, usable)
        lot_pts[:, t + 1 :] = usable - take
        redeemed = int(take.sum())
        outstanding_end = int(lot_pts.sum())
        cum_redeemed += redeemed
        cum_expired += expired
        # 5. tier distribution at month end
        at_end = tiers_for(spend_hist[:, t + 1 : t + 13].sum(axis=1))
        counts = at_end.value_counts()
        record = {
            "month": end + pd.DateOffset(months=t),
            "visits": int(n_visits.sum()),
            "revenue": float(spend.sum()),
            "points_issued": int(earned.sum()),
            "points_redeemed": redeemed,
            "points_expired": expired,
            "outstanding_start": outstanding_start,
            "outstanding_end": outstanding_end,
            "liability": rule.cash_value(outstanding_end),
            "cumulative_breakage_rate": (
                cum_expired / (cum_redeemed + cum_expired) if cum_redeemed + cum_expired else 0.0
            ),
        }
        for name in tier_names:
            record[f"tier:{name}"] = int(counts.get(name, 0))
        records.append(record)
    out = pd.DataFrame(records)
    out["month"] = pd.to_datetime(out["month"])
    return out
