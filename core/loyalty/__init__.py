"""Loyalty domain logic: tiers, points ledger, referrals, stored value / plans, simulation.

Everything here is pure: functions take DataFrames, dataclasses and plain values and return
DataFrames and dataclasses.  The ``db/`` layer persists the ledger entries these functions
decide to write and enforces locking (one writer per customer at a time) and the uniqueness of
idempotency keys.
"""

from __future__ import annotations

from core.loyalty.plans import (
    PlanChurn,
    plan_churn_rate,
    plan_status,
    renewals_due,
    stored_value_balances,
)
from core.loyalty.points import (
    DuplicateEntry,
    InsufficientPoints,
    LedgerEntry,
    LedgerError,
    PointsRule,
    RedemptionItem,
    RedemptionQuote,
    RedemptionRefused,
    adjustment_entry,
    available_points,
    balance,
    earn_entries,
    entries_from_frame,
    entries_to_frame,
    expiry_entries,
    new_entries,
    open_lots,
    plan_redemption,
    quote_item,
    reconcile,
    redemption_quote,
)
from core.loyalty.referrals import (
    ambassadors,
    leaderboard,
    referral_reward_entries,
    referral_tree,
)
from core.loyalty.simulator import simulate_program
from core.loyalty.tiers import (
    NO_TIER,
    TierBenefits,
    TierPolicy,
    TierRule,
    activity_from_bookings,
    apply_downgrade_policy,
    impact_preview,
    monthly_plan_tier_rules,
    qualify_tiers,
    salon_tier_rules,
    tier_changes,
)

__all__ = [
    "NO_TIER",
    "DuplicateEntry",
    "InsufficientPoints",
    "LedgerEntry",
    "LedgerError",
    "PlanChurn",
    "PointsRule",
    "RedemptionItem",
    "RedemptionQuote",
    "RedemptionRefused",
    "TierBenefits",
    "TierPolicy",
    "TierRule",
    "activity_from_bookings",
    "adjustment_entry",
    "ambassadors",
    "apply_downgrade_policy",
    "available_points",
    "balance",
    "earn_entries",
    "entries_from_frame",
    "entries_to_frame",
    "expiry_entries",
    "impact_preview",
    "leaderboard",
    "monthly_plan_tier_rules",
    "new_entries",
    "open_lots",
    "plan_churn_rate",
    "plan_redemption",
    "plan_status",
    "qualify_tiers",
    "quote_item",
    "reconcile",
    "redemption_quote",
    "referral_reward_entries",
    "referral_tree",
    "renewals_due",
    "salon_tier_rules",
    "simulate_program",
    "stored_value_balances",
    "tier_changes",
]
