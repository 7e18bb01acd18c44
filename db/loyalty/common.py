"""Shared pieces of the loyalty repository: constants, value objects, small helpers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from core import loyalty
from core.scope import PermissionDenied, Scope
from db.models import (
    Customer,
)

AMBASSADOR_TAG = "品牌大使"
#: Length of a membership period for the ``period_end`` downgrade policy (from ``tier_since``).
MEMBERSHIP_PERIOD_MONTHS = 12
TIER_CHANGE_ACTION = "tier_change"
#: Audited writes that change what the loyalty pages show (part of :func:`loyalty_version`).
LOYALTY_AUDIT_ACTIONS = ("tier_rules_saved", "points_rule_saved", "redemption_item_saved", TIER_CHANGE_ACTION)
TIER_EVENT_COLUMNS = ("customer_id", "store_id", "from_tier", "to_tier", "direction", "as_of")
ITEM_COLUMNS = ("item_id", "store_id", "name", "kind", "points_cost", "cash_cost", "stock", "active")
ACCOUNT_COLUMNS = ("customer_id", "home_store_id", "balance", "tier", "tier_since")
_CHUNK = 2000


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class TierRuleSet:
    """An active (or historical) tier rule set as stored.

    Attributes
    ----------
    store_id : int or None
        The store the set belongs to (``None`` = chain-wide).
    version : int
        Version number within that store (1, 2, …).
    rules : tuple of core.loyalty.TierRule
        The tiers, sorted by rank.
    policy : core.loyalty.TierPolicy
        The downgrade policy.
    """

    store_id: int | None
    version: int
    rules: tuple[loyalty.TierRule, ...]
    policy: loyalty.TierPolicy


@dataclass(frozen=True)
class PointsRuleSet:
    """A stored points rule: where it applies, and the core rule (whose ``version`` is the stored one)."""

    store_id: int | None
    rule: loyalty.PointsRule


@dataclass(frozen=True)
class RedemptionResult:
    """The outcome of :func:`redeem`.

    Attributes
    ----------
    entry : core.loyalty.LedgerEntry
        The redeem entry (the one already written when ``duplicate``).
    balance : int
        The customer's balance after the redemption.
    duplicate : bool
        True when ``key`` had been redeemed before: nothing new was written.
    item_id : int or None
        The catalog item redeemed, if any.
    """

    entry: loyalty.LedgerEntry
    balance: int
    duplicate: bool = False
    item_id: int | None = None


# --------------------------------------------------------------------------- helpers


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC)


def _check_rule_edit(scope: Scope, store_id: int | None) -> None:
    """Who may change rules: ``edit_rules``; chain-wide rules need ``chain_rules``; own stores only."""
    scope.require("edit_rules")
    if store_id is None:
        scope.require("chain_rules")
    elif not scope.allows_store(store_id):
        raise PermissionDenied(f"{scope.actor} ({scope.role}) may not edit rules of store {store_id}")


def _customer_homes(session: Session, customer_ids: Iterable[int] | None = None) -> dict[int, int | None]:
    """customer_id → home_store_id (all customers when ``customer_ids`` is None)."""
    out: dict[int, int | None] = {}
    if customer_ids is None:
        for cid, home in session.execute(select(Customer.id, Customer.home_store_id)):
            out[int(cid)] = None if home is None else int(home)
        return out
    ids = sorted({int(c) for c in customer_ids})
    for chunk in _chunks(ids):
        for cid, home in session.execute(select(Customer.id, Customer.home_store_id).where(Customer.id.in_(chunk))):
            out[int(cid)] = None if home is None else int(home)
    return out


def _allocations_tuple(value: Any) -> tuple[tuple[str, int], ...]:
    if not value:
        return ()
    return tuple((str(k), int(p)) for k, p in value)
