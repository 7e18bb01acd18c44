"""Saving loyalty rules: tier rules, the points rule and the redemption catalog (versioned, audited)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from core import loyalty
from core.scope import Scope
from db import loyalty as loyalty_repo
from db.engine import session_scope


@dataclass(frozen=True)
class CatalogItem:
    """One row of the redemption catalog as edited (``item_id`` None: a new item)."""

    item_id: int | None
    name: str
    kind: str
    points_cost: int
    cash_cost: float
    stock: int | None
    active: bool


def default_tier_rules(kind: str) -> list[loyalty.TierRule]:
    """Starter tiers for a store kind."""
    return loyalty_repo.default_tier_rules(kind)


def save_tier_rules(
    engine: Engine, scope: Scope, *, store_id: int | None, rules: Sequence[loyalty.TierRule], policy: loyalty.TierPolicy
) -> int:
    """Save tier rules as a new version (``chain_rules`` chain-wide, ``edit_rules`` for a store)."""
    with session_scope(engine) as session:
        return loyalty_repo.save_tier_rules(session, scope=scope, store_id=store_id, rules=rules, policy=policy)


def save_points_rule(engine: Engine, scope: Scope, *, store_id: int | None, rule: loyalty.PointsRule) -> int:
    """Save a points rule as a new version."""
    with session_scope(engine) as session:
        return loyalty_repo.save_points_rule(session, scope=scope, store_id=store_id, rule=rule)


def save_catalog(engine: Engine, scope: Scope, *, store_id: int | None, items: Sequence[CatalogItem]) -> int:
    """Insert or update catalog items in one transaction; returns how many were written."""
    with session_scope(engine) as session:
        for item in items:
            loyalty_repo.upsert_redemption_item(
                session,
                scope=scope,
                item_id=item.item_id,
                store_id=store_id,
                name=item.name,
                kind=item.kind,
                points_cost=item.points_cost,
                cash_cost=item.cash_cost,
                stock=item.stock,
                active=item.active,
            )
    return len(items)
