"""Versioned tier and points rule sets: conversion, reads, saves and the starter tiers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlmodel import Session

from core import loyalty
from core.scope import Scope
from db import repo
from db.dialect import is_postgres
from db.loyalty.common import PointsRuleSet, TierRuleSet, _check_rule_edit, _now
from db.models import PointsRule as PointsRuleRow
from db.models import TierRule as TierRuleRow

# --------------------------------------------------------------------------- rules: conversion


def _tier_set_from_rows(rows: Sequence[TierRuleRow]) -> TierRuleSet:
    rules = tuple(
        sorted(
            (
                loyalty.TierRule(
                    name=r.name,
                    rank=r.rank,
                    min_spend_12m=r.min_spend_12m,
                    min_stored_value=r.min_stored_value,
                    min_plan_months=r.min_plan_months,
                    benefits=loyalty.TierBenefits(
                        discount_pct=float(r.discount_pct),
                        booking_window_days=int(r.booking_window_days),
                        prime_time_access=bool(r.prime_time_access),
                        designated_staff=bool(r.designated_staff),
                        points_multiplier=float(r.points_multiplier),
                    ),
                )
                for r in rows
            ),
            key=lambda rule: rule.rank,
        )
    )
    first = rows[0]
    policy = loyalty.TierPolicy(downgrade=first.downgrade_policy, grace_days=int(first.grace_days))  # type: ignore[arg-type]
    return TierRuleSet(store_id=first.store_id, version=int(first.version), rules=rules, policy=policy)


def tier_set_to_dict(rule_set: TierRuleSet | None) -> dict[str, Any] | None:
    """JSON-able form of a tier rule set (audit before/after, exports)."""
    if rule_set is None:
        return None
    return {
        "store_id": rule_set.store_id,
        "version": rule_set.version,
        "policy": {"downgrade": rule_set.policy.downgrade, "grace_days": rule_set.policy.grace_days},
        "tiers": [
            {**{k: v for k, v in asdict(r).items() if k != "benefits"}, **asdict(r.benefits)} for r in rule_set.rules
        ],
    }


def _points_rule_from_row(row: PointsRuleRow) -> loyalty.PointsRule:
    return loyalty.PointsRule(
        earn_per_currency_unit=float(row.earn_per_currency_unit),
        birthday_multiplier=float(row.birthday_multiplier),
        referral_bonus_referrer=int(row.referral_bonus_referrer),
        referral_bonus_referee=int(row.referral_bonus_referee),
        expiry_months=int(row.expiry_months) if row.expiry_months and row.expiry_months > 0 else None,
        min_redemption=int(row.min_redemption),
        point_cash_value=float(row.point_cash_value),
        version=int(row.version),
    )


def points_rule_to_dict(rule_set: PointsRuleSet | None) -> dict[str, Any] | None:
    """JSON-able form of a points rule (audit before/after)."""
    if rule_set is None:
        return None
    return {"store_id": rule_set.store_id, **asdict(rule_set.rule)}


def _same_store(column: Any, store_id: int | None) -> Any:
    return column.is_(None) if store_id is None else column == store_id


# --------------------------------------------------------------------------- rules: reads


def active_tier_rules(session: Session, *, scope: Scope, store_id: int | None) -> TierRuleSet | None:
    """The active tier rule set stored for exactly ``store_id`` (``None`` = chain-wide).

    Parameters
    ----------
    session : Session
        Open session.
    scope : Scope
        The caller; a store outside the scope reads as "no rules".
    store_id : int or None
        The store, or ``None`` for the chain-wide set.

    Returns
    -------
    TierRuleSet or None
        ``None`` when no active set is stored.
    """
    if store_id is not None and not scope.allows_store(store_id):
        return None
    rows = list(
        session.scalars(
            select(TierRuleRow)
            .where(_same_store(TierRuleRow.store_id, store_id), TierRuleRow.active.is_(True))
            .order_by(TierRuleRow.version.desc(), TierRuleRow.rank)
        )
    )
    if not rows:
        return None
    latest = rows[0].version
    return _tier_set_from_rows([r for r in rows if r.version == latest])


def effective_tier_rules(session: Session, *, scope: Scope, store_id: int | None) -> TierRuleSet | None:
    """The tier rules in force for a store: its own active set, else the chain-wide one."""
    own = active_tier_rules(session, scope=scope, store_id=store_id) if store_id is not None else None
    return own or active_tier_rules(session, scope=Scope.system(scope.actor), store_id=None)


def tier_rule_versions(session: Session, *, scope: Scope, store_id: int | None) -> pd.DataFrame:
    """Version history of a store's (or the chain's) tier rules.

    Returns
    -------
    DataFrame
        ``version``, ``active``, ``tiers`` (comma-separated names by rank), ``downgrade_policy``,
        ``created_by``, ``created_at``; newest first.
    """
    columns = ["version", "active", "tiers", "downgrade_policy", "created_by", "created_at"]
    if store_id is not None and not scope.allows_store(store_id):
        return pd.DataFrame(columns=columns)
    rows = list(
        session.scalars(
            select(TierRuleRow)
            .where(_same_store(TierRuleRow.store_id, store_id))
            .order_by(TierRuleRow.version.desc(), TierRuleRow.rank)
        )
    )
    out = []
    for version in sorted({r.version for r in rows}, reverse=True):
        part = [r for r in rows if r.version == version]
        out.append(
            {
                "version": version,
                "active": any(r.active for r in part),
                "tiers": ", ".join(r.name for r in part),
                "downgrade_policy": part[0].downgrade_policy,
                "created_by": part[0].created_by,
                "created_at": part[0].created_at,
            }
        )
    return pd.DataFrame(out, columns=columns)


def active_points_rule(session: Session, *, scope: Scope, store_id: int | None) -> PointsRuleSet | None:
    """The active points rule stored for exactly ``store_id`` (``None`` = chain-wide)."""
    if store_id is not None and not scope.allows_store(store_id):
        return None
    row = session.scalars(
        select(PointsRuleRow)
        .where(_same_store(PointsRuleRow.store_id, store_id), PointsRuleRow.active.is_(True))
        .order_by(PointsRuleRow.version.desc())
    ).first()
    return None if row is None else PointsRuleSet(store_id=row.store_id, rule=_points_rule_from_row(row))


def effective_points_rule(session: Session, *, scope: Scope, store_id: int | None) -> loyalty.PointsRule:
    """The points rule in force for a store: its own, else the chain-wide one, else the core default."""
    own = active_points_rule(session, scope=scope, store_id=store_id) if store_id is not None else None
    found = own or active_points_rule(session, scope=Scope.system(scope.actor), store_id=None)
    return found.rule if found is not None else loyalty.PointsRule()


def points_rule_versions(session: Session, *, scope: Scope, store_id: int | None) -> pd.DataFrame:
    """Version history of a points rule: one row per version with its settings, newest first."""
    columns = [
        "version",
        "active",
        "earn_per_currency_unit",
        "birthday_multiplier",
        "referral_bonus_referrer",
        "referral_bonus_referee",
        "expiry_months",
        "min_redemption",
        "point_cash_value",
        "created_by",
        "created_at",
    ]
    if store_id is not None and not scope.allows_store(store_id):
        return pd.DataFrame(columns=columns)
    rows = session.scalars(
        select(PointsRuleRow)
        .where(_same_store(PointsRuleRow.store_id, store_id))
        .order_by(PointsRuleRow.version.desc())
    )
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows], columns=columns)


# --------------------------------------------------------------------------- rules: writes


#: Advisory-lock namespaces of the rule families (PostgreSQL), so saves of one family serialise.
_RULE_LOCKS = {"tier_rules": 7301, "points_rule": 7302}


def _serialise_rule_saves(session: Session, *, family: str, store_id: int | None) -> None:
    """Hold a transaction-scoped lock on one store's rule family before reading its latest version.

    Without it two managers saving at once on PostgreSQL (read committed) both read version N and
    both write N + 1. SQLite already refuses the second writer of a stale snapshot.
    """
    if is_postgres(session):
        session.execute(select(func.pg_advisory_xact_lock(_RULE_LOCKS[family], store_id or 0)))


def save_tier_rules(
    session: Session,
    *,
    scope: Scope,
    store_id: int | None,
    rules: Sequence[loyalty.TierRule],
    policy: loyalty.TierPolicy,
) -> int:
    """Save a tier rule set as a new active version and audit the change.

    Parameters
    ----------
    session : Session
        Open session; the caller commits.
    scope : Scope
        Needs ``edit_rules``; chain-wide rules (``store_id=None``) also need ``chain_rules``
        (a store manager gets :class:`PermissionDenied` and nothing is written).
    store_id : int or None
        The store, or ``None`` for chain-wide rules.
    rules : sequence of core.loyalty.TierRule
        The tiers (validated: unique names and ranks, at least one).
    policy : core.loyalty.TierPolicy
        The downgrade policy.

    Returns
    -------
    int
        The new version number.
    """
    _check_rule_edit(scope, store_id)
    loyalty.qualify_tiers(
        pd.DataFrame(columns=["customer_id", "spend_12m", "stored_value_topups_12m", "plan_months"]), rules
    )  # validates names/ranks
    _serialise_rule_saves(session, family="tier_rules", store_id=store_id)
    before = active_tier_rules(session, scope=scope, store_id=store_id)
    latest = session.scalar(select(func.max(TierRuleRow.version)).where(_same_store(TierRuleRow.store_id, store_id)))
    version = int(latest or 0) + 1
    session.execute(
        update(TierRuleRow)
        .where(_same_store(TierRuleRow.store_id, store_id), TierRuleRow.active.is_(True))
        .values(active=False)
    )
    now = _now()
    for rule in sorted(rules, key=lambda r: r.rank):
        session.add(
            TierRuleRow(
                store_id=store_id,
                version=version,
                name=rule.name,
                rank=rule.rank,
                min_spend_12m=rule.min_spend_12m,
                min_stored_value=rule.min_stored_value,
                min_plan_months=rule.min_plan_months,
                discount_pct=rule.benefits.discount_pct,
                booking_window_days=rule.benefits.booking_window_days,
                prime_time_access=rule.benefits.prime_time_access,
                designated_staff=rule.benefits.designated_staff,
                points_multiplier=rule.benefits.points_multiplier,
                downgrade_policy=policy.downgrade,
                grace_days=policy.grace_days,
                active=True,
                created_by=scope.actor,
                created_at=now,
            )
        )
    after = TierRuleSet(
        store_id=store_id, version=version, rules=tuple(sorted(rules, key=lambda r: r.rank)), policy=policy
    )
    repo.record_audit(
        session,
        actor=scope.actor,
        action="tier_rules_saved",
        entity="tier_rules",
        entity_id=version,
        store_id=store_id,
        before=tier_set_to_dict(before),
        after=tier_set_to_dict(after),
    )
    session.flush()
    return version


def save_points_rule(session: Session, *, scope: Scope, store_id: int | None, rule: loyalty.PointsRule) -> int:
    """Save a points rule as a new active version and audit the change.

    ``rule.expiry_months=None`` (never expire) is stored as 0.  Permissions as in
    :func:`save_tier_rules`.

    Returns
    -------
    int
        The new version number.
    """
    _check_rule_edit(scope, store_id)
    _serialise_rule_saves(session, family="points_rule", store_id=store_id)
    before = active_points_rule(session, scope=scope, store_id=store_id)
    latest = session.scalar(
        select(func.max(PointsRuleRow.version)).where(_same_store(PointsRuleRow.store_id, store_id))
    )
    version = int(latest or 0) + 1
    session.execute(
        update(PointsRuleRow)
        .where(_same_store(PointsRuleRow.store_id, store_id), PointsRuleRow.active.is_(True))
        .values(active=False)
    )
    session.add(
        PointsRuleRow(
            store_id=store_id,
            version=version,
            earn_per_currency_unit=rule.earn_per_currency_unit,
            birthday_multiplier=rule.birthday_multiplier,
            referral_bonus_referrer=rule.referral_bonus_referrer,
            referral_bonus_referee=rule.referral_bonus_referee,
            expiry_months=rule.expiry_months or 0,
            min_redemption=rule.min_redemption,
            point_cash_value=rule.point_cash_value,
            active=True,
            created_by=scope.actor,
        )
    )
    saved = PointsRuleSet(store_id=store_id, rule=loyalty.PointsRule(**{**asdict(rule), "version": version}))
    repo.record_audit(
        session,
        actor=scope.actor,
        action="points_rule_saved",
        entity="points_rule",
        entity_id=version,
        store_id=store_id,
        before=points_rule_to_dict(before),
        after=points_rule_to_dict(saved),
    )
    session.flush()
    return version


def store_kinds(session: Session, *, scope: Scope) -> dict[int, str]:
    """store_id → ``Store.kind`` for the caller's stores (default rule sets depend on it)."""
    return {int(s.id): s.kind for s in repo.list_stores(session, scope=scope)}  # type: ignore[arg-type]


def default_tier_rules(kind: str) -> list[loyalty.TierRule]:
    """Starter tiers for a store kind: plan tiers for ``pet_adoption``, salon tiers otherwise."""
    return loyalty.monthly_plan_tier_rules() if kind == "pet_adoption" else loyalty.salon_tier_rules()
