"""Membership tiers: rules, qualification, downgrade policy, changes and rule-change previews.

Qualification always counts what a customer *spent* or *topped up* inside the qualification
window (default the last 12 months) and the plan months they have paid — never a current stored
value balance: a customer who topped up NT$3,000 and spent it all still qualified by topping up,
and one whose NT$3,000 balance dates from two years ago does not qualify on that basis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from core.columns import VISIT_STATUS, require_columns
from core.loyalty._util import (
    DateLike,
    months_between,
    to_datetime_series,
    to_timestamp,
    window_bounds,
)
from core.spend import visit_spend

#: Label used in previews / change tables for "no tier" (a customer no rule qualifies).
NO_TIER = "(none)"

ACTIVITY_COLUMNS = ("customer_id", "spend_12m", "stored_value_topups_12m", "plan_months")

DowngradeMode = Literal["never", "period_end", "grace"]


@dataclass(frozen=True)
class TierBenefits:
    """What a tier gives its members.

    Attributes
    ----------
    discount_pct : float
        Discount on services, in percent (``5.0`` = 5 % off).
    booking_window_days : int
        How many days ahead the member may book.
    prime_time_access : bool
        May book prime-time slots (evenings, weekends) reserved for members.
    designated_staff : bool
        May request a designated staff member (指定設計師 / 指定美容師).
    points_multiplier : float
        Multiplier applied to points earned (``1.5`` = 50 % extra).
    """

    discount_pct: float = 0.0
    booking_window_days: int = 14
    prime_time_access: bool = False
    designated_staff: bool = False
    points_multiplier: float = 1.0


@dataclass(frozen=True)
class TierRule:
    """One tier and how to qualify for it.

    A customer qualifies when *any* of the configured thresholds is met (``None`` means the
    criterion is not used).  A rule with no threshold at all is an entry tier everyone
    qualifies for.  The highest ``rank`` a customer qualifies for is their tier.

    Attributes
    ----------
    name : str
        Display name, e.g. ``"金卡"``.
    rank : int
        Order of the tier; higher is better.  Unique within a rule set.
    min_spend_12m : float or None
        Spend (service + add-on revenue of completed visits) in the window.
    min_stored_value : float or None
        Stored value *topped up* in the window (not the current balance).
    min_plan_months : int or None
        Monthly-plan periods paid.
    benefits : TierBenefits
        What members of the tier get.
    """

    name: str
    rank: int
    min_spend_12m: float | None = None
    min_stored_value: float | None = None
    min_plan_months: int | None = None
    benefits: TierBenefits = field(default_factory=TierBenefits)

    @property
    def points_multiplier(self) -> float:
        """Shortcut for ``benefits.points_multiplier``."""
        return self.benefits.points_multiplier

    @property
    def is_entry(self) -> bool:
        """True when the rule has no threshold (everyone qualifies)."""
        return self.min_spend_12m is None and self.min_stored_value is None and self.min_plan_months is None


@dataclass(frozen=True)
class TierPolicy:
    """How customers leave a tier they no longer qualify for.

    Attributes
    ----------
    downgrade : {"never", "period_end", "grace"}
        ``never``: a tier once reached is kept.  ``period_end``: the tier is kept until the
        membership period ends, then the customer drops to what they qualify for.
        ``grace``: the tier is kept for ``grace_days`` after the customer last qualified.
    grace_days : int
        Length of the grace period (``grace`` only).
    """

    downgrade: DowngradeMode = "period_end"
    grace_days: int = 0

    def __post_init__(self) -> None:
        if self.downgrade not in ("never", "period_end", "grace"):
            raise ValueError(f"unknown downgrade policy {self.downgrade!r}")
        if self.grace_days < 0:
            raise ValueError("grace_days must be >= 0")


def _validated(rules: Sequence[TierRule]) -> list[TierRule]:
    """Rules sorted by rank, after checking names and ranks are unique."""
    rules = list(rules)
    if not rules:
        raise ValueError("at least one tier rule is required")
    names = [r.name for r in rules]
    ranks = [r.rank for r in rules]
    if len(set(names)) != len(names):
        raise ValueError(f"tier names must be unique: {names}")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"tier ranks must be unique: {ranks}")
    return sorted(rules, key=lambda r: r.rank)


def tier_ranks(rules: Sequence[TierRule]) -> dict[str, int]:
    """Map tier name → rank for a rule set."""
    return {r.name: r.rank for r in _validated(rules)}


def salon_tier_rules(scale: float = 1.0) -> list[TierRule]:
    """Default tiers for a salon: 一般會員, 銀卡 (≥ 500), 金卡 (≥ 2,000), 鑽石 (≥ 5,000 or 3,000 topped up).

    Parameters
    ----------
    scale : float
        Multiplier of every money threshold: the defaults are in CNY as mainland salons quote
        them; Taiwanese salons (TWD, higher ticket prices in units) use about 10.

    Returns
    -------
    list of TierRule
        Sorted by rank, entry tier first.
    """
    return [
        TierRule("一般會員", 0, benefits=TierBenefits(booking_window_days=14)),
        TierRule(
            "銀卡",
            1,
            min_spend_12m=500 * scale,
            benefits=TierBenefits(discount_pct=3, booking_window_days=21, points_multiplier=1.0),
        ),
        TierRule(
            "金卡",
            2,
            min_spend_12m=2_000 * scale,
            benefits=TierBenefits(
                discount_pct=5, booking_window_days=30, prime_time_access=True, points_multiplier=1.2
            ),
        ),
        TierRule(
            "鑽石",
            3,
            min_spend_12m=5_000 * scale,
            min_stored_value=3_000 * scale,
            benefits=TierBenefits(
                discount_pct=10,
                booking_window_days=60,
                prime_time_access=True,
                designated_staff=True,
                points_multiplier=1.5,
            ),
        ),
    ]


def monthly_plan_tier_rules() -> list[TierRule]:
    """Default tiers for a monthly-plan shop: 一般會員, 黃金 (3 plan months), 鉑金 (6), 鑽石 (12).

    Returns
    -------
    list of TierRule
        Sorted by rank, entry tier first.
    """
    return [
        TierRule("一般會員", 0),
        TierRule(
            "黃金",
            1,
            min_plan_months=3,
            benefits=TierBenefits(discount_pct=3, booking_window_days=21, points_multiplier=1.1),
        ),
        TierRule(
            "鉑金",
            2,
            min_plan_months=6,
            benefits=TierBenefits(
                discount_pct=5, booking_window_days=30, prime_time_access=True, points_multiplier=1.25
            ),
        ),
        TierRule(
            "鑽石",
            3,
            min_plan_months=12,
            benefits=TierBenefits(
                discount_pct=8,
                booking_window_days=60,
                prime_time_access=True,
                designated_staff=True,
                points_multiplier=1.5,
            ),
        ),
    ]


def _meets(rule: TierRule, activity: pd.DataFrame) -> np.ndarray:
    """Boolean array: rows of ``activity`` meeting any threshold of ``rule``."""
    if rule.is_entry:
        return np.ones(len(activity), dtype=bool)
    ok = np.zeros(len(activity), dtype=bool)
    checks = (
        (rule.min_spend_12m, "spend_12m"),
        (rule.min_stored_value, "stored_value_topups_12m"),
        (rule.min_plan_months, "plan_months"),
    )
    for threshold, column in checks:
        if threshold is not None:
            values = pd.to_numeric(activity[column], errors="coerce").fillna(0).to_numpy(dtype=float)
            ok |= values >= float(threshold)
    return ok


def qualify_tiers(activity: pd.DataFrame, rules: Sequence[TierRule]) -> pd.Series:
    """Tier each customer qualifies for from their window activity.

    Parameters
    ----------
    activity : DataFrame
        Columns ``customer_id``, ``spend_12m``, ``stored_value_topups_12m``, ``plan_months``
        (see :func:`activity_from_bookings`).  Missing values count as 0.
    rules : sequence of TierRule
        The rule set.

    Returns
    -------
    Series
        Named ``tier``, indexed by ``customer_id``: the name of the highest-ranked tier whose
        thresholds are met, or ``<NA>`` when none is (only possible without an entry tier).
    """
    require_columns(activity, ACTIVITY_COLUMNS, what="activity")
    ordered = _validated(rules)
    result = np.full(len(activity), None, dtype=object)
    for rule in ordered:  # ascending rank: later (higher) rules overwrite
        result[_meets(rule, activity)] = rule.name
    index = pd.Index(activity["customer_id"].to_numpy(), name="customer_id")
    return pd.Series(result, index=index, name="tier", dtype="string")


def _rank_of(tiers: pd.Series, ranks: dict[str, int]) -> pd.Series:
    """Rank per customer; missing tier → -1; unknown tier name → ValueError."""
    unknown = set(tiers.dropna().unique()) - set(ranks)
    if unknown:
        raise ValueError(f"tier name(s) not in the rule set: {sorted(unknown)}")
    return tiers.map(ranks).fillna(-1).astype(int)


def apply_downgrade_policy(
    previous_tier: pd.Series,
    qualified_tier: pd.Series,
    *,
    rules: Sequence[TierRule],
    policy: TierPolicy,
    as_of: DateLike,
    period_end: DateLike | pd.Series | None = None,
    last_qualified_on: pd.Series | None = None,
) -> pd.Series:
    """Tier each customer holds after applying the downgrade policy.

    Upgrades (and first assignments) take effect immediately under every policy; only a drop
    to a lower tier is delayed or suppressed.

    Parameters
    ----------
    previous_tier : Series
        Tier held before, indexed by ``customer_id`` (``<NA>`` for customers without one).
    qualified_tier : Series
        Tier qualified for now (:func:`qualify_tiers`), indexed by ``customer_id``.
    rules : sequence of TierRule
        The rule set both series refer to (gives the ranks).
    policy : TierPolicy
        The downgrade policy.
    as_of : date-like
        The evaluation date.
    period_end : date-like or Series, optional
        End of the membership period (scalar, or per customer indexed by ``customer_id``).
        Required for ``period_end``; a downgrade applies once ``as_of >= period_end``.
    last_qualified_on : Series, optional
        Per customer, the last date they still qualified for their previous tier.  Used by
        ``grace``: the previous tier is kept while ``as_of <= last_qualified_on + grace_days``.
        A missing value means the grace period cannot be established and the downgrade applies.

    Returns
    -------
    Series
        Named ``tier``, indexed by the union of both inputs' ``customer_id``.
    """
    ranks = tier_ranks(rules)
    as_of_ts = to_timestamp(as_of).normalize()
    index = previous_tier.index.union(qualified_tier.index)
    prev = previous_tier.astype("string").reindex(index)
    qual = qualified_tier.astype("string").reindex(index)
    prev_rank = _rank_of(prev, ranks)
    qual_rank = _rank_of(qual, ranks)
    downgrade = qual_rank < prev_rank

    if policy.downgrade == "never":
        keep = downgrade
    elif policy.downgrade == "period_end":
        if period_end is None:
            raise ValueError("policy 'period_end' needs period_end")
        if isinstance(period_end, pd.Series):
            ends = to_datetime_series(period_end).reindex(index).dt.normalize()
            ended = ((ends <= as_of_ts) | ends.isna()).astype(bool)  # no known period end: applies
        else:
            ended = pd.Series(to_timestamp(period_end).normalize() <= as_of_ts, index=index)
        keep = downgrade & ~ended
    else:  # grace
        if last_qualified_on is None:
            last = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
        else:
            last = to_datetime_series(last_qualified_on).reindex(index).dt.normalize()
        in_grace = (as_of_ts <= last + pd.Timedelta(days=policy.grace_days)).fillna(False).astype(bool)
        keep = downgrade & in_grace

    out = qual.where(~keep, prev)
    out.name = "tier"
    out.index.name = "customer_id"
    return out


def tier_changes(
    previous: pd.Series,
    current: pd.Series,
    *,
    rules: Sequence[TierRule],
    include_new: bool = True,
) -> pd.DataFrame:
    """Customers whose tier changed, with the direction (campaign triggers).

    Parameters
    ----------
    previous, current : Series
        Tier per customer, indexed by ``customer_id`` (``<NA>`` = no tier).
    rules : sequence of TierRule
        The rule set (gives the ranks).
    include_new : bool, default True
        Whether customers absent from ``previous`` (or with ``<NA>`` there) count as moving
        up into their current tier.  Entering the entry tier (rank of the lowest rule) from
        nothing is never reported: it is joining, not an upgrade.

    Returns
    -------
    DataFrame
        Columns ``customer_id``, ``from_tier``, ``to_tier``, ``direction`` (``"up"``/``"down"``),
        sorted by ``customer_id``.
    """
    ranks = tier_ranks(rules)
    lowest = min(ranks.values())
    index = previous.index.union(current.index)
    prev = previous.astype("string").reindex(index)
    cur = current.astype("string").reindex(index)
    prev_rank = _rank_of(prev, ranks)
    cur_rank = _rank_of(cur, ranks)
    changed = prev_rank != cur_rank
    if not include_new:
        changed &= prev.notna()
    changed &= ~(prev.isna() & (cur_rank == lowest))
    out = pd.DataFrame(
        {
            "customer_id": index[changed.to_numpy()],
            "from_tier": prev[changed].to_numpy(),
            "to_tier": cur[changed].to_numpy(),
            "direction": np.where(cur_rank[changed] > prev_rank[changed], "up", "down"),
        }
    )
    out["from_tier"] = out["from_tier"].astype("string")
    out["to_tier"] = out["to_tier"].astype("string")
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def impact_preview(
    activity: pd.DataFrame,
    revenue_12m: pd.Series | None,
    current_rules: Sequence[TierRule],
    proposed_rules: Sequence[TierRule],
) -> pd.DataFrame:
    """What a proposed rule set would do, tier by tier, before it is saved.

    Parameters
    ----------
    activity : DataFrame
        Window activity per customer (see :func:`qualify_tiers`).
    revenue_12m : Series or None
        Revenue per customer indexed by ``customer_id``; ``None`` uses ``activity.spend_12m``.
    current_rules, proposed_rules : sequence of TierRule
        The rules in force and the proposal.  Movement compares ranks across the two sets, so
        keep rank numbers comparable (same scale) between them.

    Returns
    -------
    DataFrame
        One row per tier name of either set (plus ``NO_TIER`` when some customer has no tier),
        ordered by proposed rank then current rank, with columns ``tier``, ``rank_now``,
        ``rank_proposed``, ``customers_now``, ``customers_proposed``, ``moving_up`` (customers
        landing in this tier under the proposal from a lower rank), ``moving_down`` (landing
        here from a higher rank), ``revenue_proposed`` and ``revenue_share_proposed`` (share
        of total revenue of the customers in the tier under the proposal; 0 when total is 0).
    """
    now = qualify_tiers(activity, current_rules).fillna(NO_TIER)
    new = qualify_tiers(activity, proposed_rules).fillna(NO_TIER)
    rank_now_map = {**tier_ranks(current_rules), NO_TIER: -1}
    rank_new_map = {**tier_ranks(proposed_rules), NO_TIER: -1}
    r_now = now.map(rank_now_map).astype(int)
    r_new = new.map(rank_new_map).astype(int)
    if revenue_12m is None:
        revenue = pd.to_numeric(activity["spend_12m"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    else:
        revenue = pd.to_numeric(revenue_12m.reindex(now.index), errors="coerce").fillna(0.0).to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "now": now.to_numpy(dtype=object),
            "new": new.to_numpy(dtype=object),
            "up": (r_new > r_now).to_numpy(),
            "down": (r_new < r_now).to_numpy(),
            "revenue": revenue,
        }
    )
    names = [r.name for r in _validated(proposed_rules)]
    names += [r.name for r in _validated(current_rules) if r.name not in names]
    if (frame["now"] == NO_TIER).any() or (frame["new"] == NO_TIER).any():
        names = [NO_TIER, *names]
    total = float(frame["revenue"].sum())
    rows = []
    for name in names:
        in_new = frame["new"] == name
        rev = float(frame.loc[in_new, "revenue"].sum())
        rows.append(
            {
                "tier": name,
                "rank_now": rank_now_map.get(name, pd.NA),
                "rank_proposed": rank_new_map.get(name, pd.NA),
                "customers_now": int((frame["now"] == name).sum()),
                "customers_proposed": int(in_new.sum()),
                "moving_up": int((in_new & frame["up"]).sum()),
                "moving_down": int((in_new & frame["down"]).sum()),
                "revenue_proposed": rev,
                "revenue_share_proposed": rev / total if total > 0 else 0.0,
            }
        )
    out = pd.DataFrame(rows)
    out["rank_now"] = out["rank_now"].astype("Int64")
    out["rank_proposed"] = out["rank_proposed"].astype("Int64")
    return out


def activity_from_bookings(
    bookings: pd.DataFrame,
    stored_value: pd.DataFrame | None,
    plans: pd.DataFrame | None,
    *,
    as_of: DateLike,
    window_months: int = 12,
) -> pd.DataFrame:
    """Build the qualification activity frame from raw history.

    Only history up to the end of the ``as_of`` day is used, so the result for a past date is
    the same whether or not later rows are loaded.

    Parameters
    ----------
    bookings : DataFrame
        ``core.columns.BOOKING_COLUMNS`` (at least ``customer_id``, ``scheduled_at``,
        ``status``, ``amount``; ``addon_amount`` optional).  Completed visits in the window
        count toward ``spend_12m`` (amount + add-on).
    stored_value : DataFrame or None
        ``entry_id, customer_id, store_id, kind ∈ {topup, debit}, amount, occurred_at``.
        Top-ups in the window count toward ``stored_value_topups_12m``; debits and the balance
        never do.
    plans : DataFrame or None
        ``plan_id, customer_id, store_id, monthly_fee, periods_total, periods_paid,
        started_on, ends_on, status``.  ``plan_months`` is the sum over the customer's plans of
        the periods paid *by* ``as_of`` (``min(periods_paid, months since started_on + 1)``;
        plans starting after ``as_of`` count 0).  Plan months are cumulative, not windowed.
    as_of : date-like
        Evaluation date (its whole day counts).
    window_months : int, default 12
        Length of the spend / top-up window.

    Returns
    -------
    DataFrame
        Columns ``customer_id``, ``spend_12m``, ``stored_value_topups_12m``, ``plan_months``;
        one row per customer seen in any input, sorted by ``customer_id``.
    """
    start, end = window_bounds(as_of, window_months)
    as_of_ts = to_timestamp(as_of)
    require_columns(bookings, ("customer_id", "scheduled_at", "status", "amount"), what="bookings")
    when = to_datetime_series(bookings["scheduled_at"])
    visit = (bookings["status"] == VISIT_STATUS).to_numpy() & (when >= start).to_numpy() & (when < end).to_numpy()
    amount = visit_spend(bookings)
    spend = amount[visit].groupby(bookings["customer_id"][visit]).sum()
    ids: set = set(bookings["customer_id"].dropna().tolist())

    topups = pd.Series(dtype=float)
    if stored_value is not None and len(stored_value):
        require_columns(stored_value, ("customer_id", "kind", "amount", "occurred_at"), what="stored_value")
        sv_when = to_datetime_series(stored_value["occurred_at"])
        is_topup = ((stored_value["kind"] == "topup") & (sv_when >= start) & (sv_when < end)).to_numpy()
        sv_amount = pd.to_numeric(stored_value["amount"], errors="coerce").fillna(0.0).abs()
        topups = sv_amount[is_topup].groupby(stored_value["customer_id"][is_topup]).sum()
        ids |= set(stored_value["customer_id"].dropna().tolist())

    plan_months = pd.Series(dtype=float)
    if plans is not None and len(plans):
        require_columns(plans, ("customer_id", "periods_paid", "started_on"), what="plans")
        started = to_datetime_series(plans["started_on"])
        elapsed = months_between(started, as_of_ts)
        paid = pd.to_numeric(plans["periods_paid"], errors="coerce").fillna(0)
        paid_by = np.minimum(paid.to_numpy(dtype=float), (elapsed + 1).clip(lower=0).fillna(0).to_numpy(dtype=float))
        paid_by = pd.Series(paid_by, index=plans.index)
        plan_months = paid_by.groupby(plans["customer_id"]).sum()
        ids |= set(plans["customer_id"].dropna().tolist())

    index = pd.Index(sorted(ids), name="customer_id")
    out = pd.DataFrame(
        {
            "customer_id": index.to_numpy(),
            "spend_12m": spend.reindex(index).fillna(0.0).to_numpy(dtype=float),
            "stored_value_topups_12m": topups.reindex(index).fillna(0.0).to_numpy(dtype=float),
            "plan_months": plan_months.reindex(index).fillna(0).to_numpy(dtype=float).astype(int),
        }
    )
    return out
