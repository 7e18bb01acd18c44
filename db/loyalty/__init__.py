"""Loyalty persistence: versioned tier / points rules, the append-only points ledger and its jobs.

The maths lives in :mod:`core.loyalty`; this module decides nothing about points, it persists
what the core functions decide and guarantees three things:

- **Idempotency**: every ledger row carries a unique ``idempotency_key`` and rows are written
  insert-if-absent (``ON CONFLICT DO NOTHING``), so re-running a job adds nothing.
- **One writer per customer**: every write first locks the customers' ``PointsAccount`` rows
  (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the first statement of the transaction is a
  write, which takes the database's single write lock and waits for it), then reads the
  ledger, decides with :mod:`core.loyalty`, appends and commits.  Two concurrent redemptions
  therefore see each other: the second one plans against the first one's result.
- **Balance = ledger sum**: after each append the touched accounts' ``balance`` is set to
  the sum of their ledger in the same transaction; :func:`reconcile` checks it.

Ledger times are stored in UTC and handed to ``core`` as the customer's home-store local time
(customers without a home store: UTC).  Rule sets are versioned per ``store_id`` (``None`` =
chain-wide): a save writes a new version, deactivates the previous one and writes an audit entry
with the before/after rule sets.  A store without its own active set uses the chain-wide one.

Modules: :mod:`~db.loyalty.common` (constants, value objects), :mod:`~db.loyalty.rules`
(tier and points rule sets), :mod:`~db.loyalty.items` (redemption catalog),
:mod:`~db.loyalty.reads` (scoped loaders), :mod:`~db.loyalty.ledger` (ledger writes, redeem,
reconcile), :mod:`~db.loyalty.jobs` (the daily jobs).
"""

from __future__ import annotations

from db.loyalty.common import (
    ACCOUNT_COLUMNS,
    AMBASSADOR_TAG,
    ITEM_COLUMNS,
    MEMBERSHIP_PERIOD_MONTHS,
    TIER_CHANGE_ACTION,
    TIER_EVENT_COLUMNS,
    PointsRuleSet,
    RedemptionResult,
    TierRuleSet,
)
from db.loyalty.items import list_redemption_items, upsert_redemption_item
from db.loyalty.jobs import (
    award_referrals,
    earn_from_bookings,
    recalculate_tiers,
    run_daily,
    run_expiry,
    tag_ambassadors,
)
from db.loyalty.ledger import append_entries, reconcile, redeem
from db.loyalty.reads import (
    count_referrals,
    load_accounts,
    load_ledger,
    load_plans,
    load_referrals,
    load_stored_value,
    loyalty_version,
)
from db.loyalty.rules import (
    active_points_rule,
    active_tier_rules,
    default_tier_rules,
    effective_points_rule,
    effective_tier_rules,
    points_rule_to_dict,
    points_rule_versions,
    save_points_rule,
    save_tier_rules,
    store_kinds,
    tier_rule_versions,
    tier_set_to_dict,
)

__all__ = [
    "ACCOUNT_COLUMNS",
    "AMBASSADOR_TAG",
    "ITEM_COLUMNS",
    "MEMBERSHIP_PERIOD_MONTHS",
    "PointsRuleSet",
    "RedemptionResult",
    "TIER_CHANGE_ACTION",
    "TIER_EVENT_COLUMNS",
    "TierRuleSet",
    "active_points_rule",
    "active_tier_rules",
    "append_entries",
    "award_referrals",
    "count_referrals",
    "default_tier_rules",
    "earn_from_bookings",
    "effective_points_rule",
    "effective_tier_rules",
    "list_redemption_items",
    "load_accounts",
    "load_ledger",
    "load_plans",
    "load_referrals",
    "load_stored_value",
    "loyalty_version",
    "points_rule_to_dict",
    "points_rule_versions",
    "recalculate_tiers",
    "reconcile",
    "redeem",
    "run_daily",
    "run_expiry",
    "save_points_rule",
    "save_tier_rules",
    "store_kinds",
    "tag_ambassadors",
    "tier_rule_versions",
    "tier_set_to_dict",
    "upsert_redemption_item",
]
