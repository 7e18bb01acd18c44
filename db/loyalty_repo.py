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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import localtime, loyalty
from core.columns import VISIT_STATUS
from core.loyalty.points import LEDGER_COLUMNS, validate_ledger
from core.scope import PermissionDenied, Scope
from db import repo
from db.dialect import dialect_insert, is_postgres
from db.engine import session_scope
from db.models import (
    Customer,
    MonthlyPlan,
    PointsAccount,
    PointsLedger,
    RedemptionItem,
    Referral,
    StoredValueEntry,
)
from db.models import PointsRule as PointsRuleRow
from db.models import TierRule as TierRuleRow
from db.scoping import scoped

#: Tag added to ``Customer.tags`` of top referrers by :func:`tag_ambassadors`.
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


# --------------------------------------------------------------------------- redemption catalog


def list_redemption_items(
    session: Session,
    *,
    scope: Scope,
    store_ids: Sequence[int] | None = None,
    include_inactive: bool = False,
) -> pd.DataFrame:
    """Catalog items the caller may see: chain-wide items plus those of the (picked) stores.

    Returns
    -------
    DataFrame
        ``ITEM_COLUMNS`` (``stock`` ``<NA>`` = unlimited), by store then name.
    """
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = select(
        RedemptionItem.id,
        RedemptionItem.store_id,
        RedemptionItem.name,
        RedemptionItem.kind,
        RedemptionItem.points_cost,
        RedemptionItem.cash_cost,
        RedemptionItem.stock,
        RedemptionItem.active,
    )
    statement = scoped(statement, RedemptionItem.store_id, stores, chain_wide=True)
    if not include_inactive:
        statement = statement.where(RedemptionItem.active.is_(True))
    rows = session.execute(statement.order_by(RedemptionItem.store_id, RedemptionItem.name)).all()
    frame = pd.DataFrame(rows, columns=list(ITEM_COLUMNS))
    for column in ("item_id", "points_cost"):
        frame[column] = frame[column].astype("int64")
    for column in ("store_id", "stock"):
        frame[column] = frame[column].astype("Int64")
    frame["cash_cost"] = frame["cash_cost"].astype(float)
    frame["active"] = frame["active"].astype(bool)
    return frame


def upsert_redemption_item(
    session: Session,
    *,
    scope: Scope,
    item_id: int | None,
    store_id: int | None,
    name: str,
    kind: str,
    points_cost: int,
    cash_cost: float = 0.0,
    stock: int | None = None,
    active: bool = True,
) -> int:
    """Create or change a catalog item (stock editing included) and audit it.

    The values are validated with :class:`core.loyalty.RedemptionItem`.  Chain-wide items
    (``store_id=None``) need ``chain_rules``; store items ``edit_rules`` on that store.

    Returns
    -------
    int
        The item id.
    """
    _check_rule_edit(scope, store_id)
    loyalty.RedemptionItem(
        name=name,
        kind=kind,
        points_cost=int(points_cost),
        cash_cost=float(cash_cost),  # type: ignore[arg-type]
        stock=None if stock is None else int(stock),
    )
    values = {
        "store_id": store_id,
        "name": name,
        "kind": kind,
        "points_cost": int(points_cost),
        "cash_cost": float(cash_cost),
        "stock": None if stock is None else int(stock),
        "active": bool(active),
    }
    before = None
    if item_id is not None:
        item = session.get(RedemptionItem, item_id)
        if item is None or (item.store_id is not None and not scope.allows_store(item.store_id)):
            raise LookupError(f"redemption item {item_id} not found")
        _check_rule_edit(scope, item.store_id)
        before = {k: getattr(item, k) for k in values}
        if before == values:
            return int(item_id)
        for key, value in values.items():
            setattr(item, key, value)
    else:
        item = RedemptionItem(**values)
        session.add(item)
    session.flush()
    repo.record_audit(
        session,
        actor=scope.actor,
        action="redemption_item_saved",
        entity="redemption_item",
        entity_id=item.id,
        store_id=store_id,
        before=before,
        after=values,
    )
    return int(item.id)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- loaders


def _scoped_customer_filter(statement: Any, scope: Scope, store_ids: Sequence[int] | None) -> Any:
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    return scoped(statement, Customer.home_store_id, stores)


def load_ledger(
    session: Session,
    *,
    scope: Scope,
    store_ids: Sequence[int] | None = None,
    customer_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The points ledger of customers whose home store the caller may see.

    Returns
    -------
    DataFrame
        ``core.loyalty.points.LEDGER_COLUMNS`` plus ``home_store_id``; times store-local
        naive; ``allocations`` as tuples of ``(lot_key, points)``; ordered by entry id.
    """
    statement = select(
        PointsLedger.customer_id,
        PointsLedger.kind,
        PointsLedger.points,
        PointsLedger.occurred_at,
        PointsLedger.expires_at,
        PointsLedger.idempotency_key,
        PointsLedger.allocations,
        PointsLedger.note,
        Customer.home_store_id,
    ).join(Customer, Customer.id == PointsLedger.customer_id)
    statement = _scoped_customer_filter(statement, scope, store_ids)
    rows: list[Any] = []
    if customer_ids is not None:
        ids = sorted({int(c) for c in customer_ids})
        for chunk in _chunks(ids):
            rows += session.execute(
                statement.where(PointsLedger.customer_id.in_(chunk)).order_by(PointsLedger.id)
            ).all()
    else:
        rows = list(session.execute(statement.order_by(PointsLedger.id)).all())
    frame = pd.DataFrame(rows, columns=[*LEDGER_COLUMNS, "home_store_id"])
    timezones = repo.store_timezones(session)
    homes = frame["home_store_id"].astype("Int64")
    frame["occurred_at"] = localtime.to_local(frame["occurred_at"], homes, timezones)
    frame["expires_at"] = localtime.to_local(frame["expires_at"], homes, timezones)
    frame["allocations"] = pd.Series(
        [_allocations_tuple(a) for a in frame["allocations"]], index=frame.index, dtype=object
    )
    frame["customer_id"] = frame["customer_id"].astype("int64")
    frame["points"] = frame["points"].astype("int64")
    frame["note"] = frame["note"].fillna("").astype(str)
    frame["home_store_id"] = homes
    return frame


def load_accounts(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Points accounts (balance, tier) of customers the caller may see: ``ACCOUNT_COLUMNS``."""
    statement = select(
        PointsAccount.customer_id,
        Customer.home_store_id,
        PointsAccount.balance,
        PointsAccount.tier,
        PointsAccount.tier_since,
    ).join(Customer, Customer.id == PointsAccount.customer_id)
    statement = _scoped_customer_filter(statement, scope, store_ids)
    frame = pd.DataFrame(
        session.execute(statement.order_by(PointsAccount.customer_id)).all(), columns=list(ACCOUNT_COLUMNS)
    )
    frame["customer_id"] = frame["customer_id"].astype("int64")
    frame["home_store_id"] = frame["home_store_id"].astype("Int64")
    frame["balance"] = frame["balance"].astype("int64")
    frame["tier"] = frame["tier"].astype("string")
    frame["tier_since"] = pd.to_datetime(frame["tier_since"])
    return frame


def load_stored_value(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Stored value entries of the caller's stores, in the ``core.loyalty.plans`` frame shape.

    ``plan_debit`` is read as ``debit`` and ``renewal`` (money paid in) as ``topup``.
    """
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = scoped(
        select(
            StoredValueEntry.id,
            StoredValueEntry.customer_id,
            StoredValueEntry.store_id,
            StoredValueEntry.kind,
            StoredValueEntry.amount,
            StoredValueEntry.occurred_at,
        ),
        StoredValueEntry.store_id,
        stores,
    )
    frame = pd.DataFrame(
        session.execute(statement.order_by(StoredValueEntry.id)).all(),
        columns=["entry_id", "customer_id", "store_id", "kind", "amount", "occurred_at"],
    )
    frame["kind"] = frame["kind"].replace({"plan_debit": "debit", "renewal": "topup"})
    frame["amount"] = frame["amount"].astype(float)
    frame["occurred_at"] = localtime.to_local(frame["occurred_at"], frame["store_id"], repo.store_timezones(session))
    return frame


def load_plans(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Monthly plans of the caller's stores, in the ``core.loyalty.plans`` frame shape (plus ``name``)."""
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = scoped(
        select(
            MonthlyPlan.id,
            MonthlyPlan.customer_id,
            MonthlyPlan.store_id,
            MonthlyPlan.name,
            MonthlyPlan.monthly_fee,
            MonthlyPlan.periods_total,
            MonthlyPlan.periods_paid,
            MonthlyPlan.started_on,
            MonthlyPlan.ends_on,
            MonthlyPlan.status,
        ),
        MonthlyPlan.store_id,
        stores,
    )
    frame = pd.DataFrame(
        session.execute(statement.order_by(MonthlyPlan.id)).all(),
        columns=[
            "plan_id",
            "customer_id",
            "store_id",
            "name",
            "monthly_fee",
            "periods_total",
            "periods_paid",
            "started_on",
            "ends_on",
            "status",
        ],
    )
    for column in ("started_on", "ends_on"):
        frame[column] = pd.to_datetime(frame[column])
    frame["monthly_fee"] = frame["monthly_fee"].astype(float)
    return frame


def _referrals_in_scope(statement: Any, scope: Scope, store_ids: Sequence[int] | None) -> Any:
    """``statement`` over referrals narrowed to those whose referee's home store the caller may see."""
    return _scoped_customer_filter(statement.join(Customer, Customer.id == Referral.referee_id), scope, store_ids)


def load_referrals(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Referrals whose referee's home store the caller may see: ``referrer_id, referee_id, referred_at``."""
    statement = _referrals_in_scope(
        select(Referral.referrer_id, Referral.referee_id, Referral.created_at, Customer.home_store_id), scope, store_ids
    )
    frame = pd.DataFrame(
        session.execute(statement.order_by(Referral.id)).all(),
        columns=["referrer_id", "referee_id", "referred_at", "home_store_id"],
    )
    frame["referred_at"] = localtime.to_local(
        frame["referred_at"], frame["home_store_id"].astype("Int64"), repo.store_timezones(session)
    )
    for column in ("referrer_id", "referee_id"):
        frame[column] = frame[column].astype("int64")
    return frame.drop(columns=["home_store_id"])


def count_referrals(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> int:
    """How many referrals :func:`load_referrals` would return, counted by the database."""
    statement = _referrals_in_scope(select(func.count(Referral.id)).select_from(Referral), scope, store_ids)
    return int(session.scalar(statement) or 0)


def loyalty_version(session: Session) -> tuple[int, int, int]:
    """A cheap fingerprint of loyalty data (ledger, rules, catalog, tiers) for cache keys.

    Every rule, catalog or tier write is audited and every points change is a ledger row, so
    the last ledger id and the last loyalty audit id change with each write. The ledger is append-only,
    so its largest id (an index seek) is enough; counting its rows took 1 s at 2 M rows.
    """
    from db.models import AuditLog

    ledger = session.scalar(select(func.coalesce(func.max(PointsLedger.id), 0))) or 0
    # Only loyalty writes: a sign-in or a campaign edit is audited too and must not throw away
    # every loyalty figure computed so far.
    audit = (
        session.scalar(
            select(func.coalesce(func.max(AuditLog.id), 0)).where(AuditLog.action.in_(LOYALTY_AUDIT_ACTIONS))
        )
        or 0
    )
    return int(ledger), int(ledger), int(audit)


# --------------------------------------------------------------------------- ledger writes


def _lock_accounts(session: Session, customer_ids: Iterable[int]) -> list[int]:
    """Create missing accounts and lock the accounts' rows, in customer order (no deadlocks).

    The first statement is a write, so on SQLite the transaction takes the write lock here
    (waiting for another writer) and every read after it sees the latest committed ledger.
    """
    ids = sorted({int(c) for c in customer_ids})
    now = _now()
    table = PointsAccount.__table__  # type: ignore[attr-defined]
    for chunk in _chunks(ids):
        statement = (
            dialect_insert(session, table)
            .values([{"customer_id": cid, "balance": 0, "updated_at": now} for cid in chunk])
            .on_conflict_do_nothing(index_elements=["customer_id"])
        )
        session.execute(statement)
    if is_postgres(session):
        for chunk in _chunks(ids):
            session.execute(
                select(table.c.customer_id)
                .where(table.c.customer_id.in_(chunk))
                .order_by(table.c.customer_id)
                .with_for_update()
            )
    return ids


def _existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    unique = sorted(set(keys))
    for chunk in _chunks(unique):
        found |= set(
            session.scalars(select(PointsLedger.idempotency_key).where(PointsLedger.idempotency_key.in_(chunk)))
        )
    return found


def _insert_entries(session: Session, entries: Sequence[loyalty.LedgerEntry], *, source: str) -> int:
    """Append entries insert-if-absent (callers hold the accounts' locks); returns rows written."""
    if not entries:
        return 0
    existing = _existing_keys(session, [e.idempotency_key for e in entries])
    todo = loyalty.new_entries([e for e in entries if e.idempotency_key not in existing], [])
    if not todo:
        return 0
    homes = _customer_homes(session, {int(e.customer_id) for e in todo})
    timezones = repo.store_timezones(session)
    tzs = pd.Series([timezones.get(homes.get(int(e.customer_id)) or -1, "UTC") for e in todo])
    occurred = localtime.to_utc_per_row(pd.Series([e.occurred_at for e in todo]), tzs)
    expires = localtime.to_utc_per_row(pd.Series([e.expires_at for e in todo]), tzs)
    rows = [
        {
            "customer_id": int(e.customer_id),
            "kind": e.kind,
            "points": int(e.points),
            "occurred_at": occurred[i],
            "expires_at": expires[i],
            "idempotency_key": e.idempotency_key,
            "allocations": [list(a) for a in e.allocations] or None,
            "source": source,
            "note": e.note,
        }
        for i, e in enumerate(todo)
    ]
    table = PointsLedger.__table__  # type: ignore[attr-defined]
    statement = dialect_insert(session, table).on_conflict_do_nothing(index_elements=["idempotency_key"])
    for chunk in _chunks(rows):
        session.execute(statement, list(chunk))
    return len(rows)


def _refresh_balances(session: Session, customer_ids: Iterable[int]) -> None:
    """Set each account's balance to its ledger sum (in the caller's transaction, under its locks)."""
    table = PointsAccount.__table__  # type: ignore[attr-defined]
    ledger_sum = (
        select(func.coalesce(func.sum(PointsLedger.points), 0))
        .where(PointsLedger.customer_id == table.c.customer_id)
        .scalar_subquery()
    )
    ids = sorted({int(c) for c in customer_ids})
    for chunk in _chunks(ids):
        session.execute(
            update(table).where(table.c.customer_id.in_(chunk)).values(balance=ledger_sum, updated_at=_now())
        )


def append_entries(session: Session, *, entries: Sequence[loyalty.LedgerEntry], source: str) -> int:
    """Lock the customers' accounts, append ``entries`` insert-if-absent and refresh the balances.

    Entries are validated against the customers' ledgers (:func:`core.loyalty.points.validate_ledger`)
    before anything is written.

    Returns
    -------
    int
        Rows written (entries whose key was already in the ledger are skipped).
    """
    if not entries:
        return 0
    ids = _lock_accounts(session, {int(e.customer_id) for e in entries})
    ledger = load_ledger(session, scope=Scope.system(), customer_ids=ids)
    current = loyalty.entries_from_frame(ledger)
    fresh = loyalty.new_entries(entries, current)
    validate_ledger([*current, *fresh])
    written = _insert_entries(session, fresh, source=source)
    _refresh_balances(session, ids)
    return written


def redeem(
    session: Session,
    *,
    scope: Scope,
    customer_id: int,
    points: int,
    key: str,
    item_id: int | None = None,
    at: datetime | None = None,
) -> RedemptionResult:
    """Redeem points (optionally for a catalog item) — never below a zero balance.

    Locks the customer's ``PointsAccount`` row, reads the customer's ledger under the lock,
    plans the debit with :func:`core.loyalty.plan_redemption` (oldest-expiring lots first),
    appends it, sets the balance to the ledger sum and decrements the item's stock (never
    below 0).  The caller commits (``session_scope``); any exception leaves nothing written.

    Parameters
    ----------
    session : Session
        A fresh session: the lock must be its first statement (SQLite's write lock).
    scope : Scope
        The caller: needs the ``tasks`` permission (front desk, managers) and must see the
        customer's home store, else :class:`PermissionDenied` / :class:`LookupError`.
    customer_id : int
        The customer.
    points : int
        Points to redeem (> 0); with ``item_id`` it must equal the item's points cost.
    key : str
        Idempotency key (e.g. ``"redeem:pos:<receipt>"``): a retry returns the first result.
    item_id : int, optional
        A :class:`db.models.RedemptionItem` of the chain or the customer's home store.
    at : datetime, optional
        When the redemption happens (aware, or naive store-local); default now.

    Returns
    -------
    RedemptionResult

    Raises
    ------
    core.loyalty.InsufficientPoints
        Fewer points are available than requested.
    core.loyalty.RedemptionRefused
        Below the minimum redemption, item inactive / out of stock / cost mismatch.
    """
    if not scope.can("tasks"):
        raise PermissionDenied(f"{scope.actor} ({scope.role}) may not redeem points")
    accounts = PointsAccount.__table__  # type: ignore[attr-defined]
    # First statement is a write: SQLite takes its write lock now; on PostgreSQL it locks the row.
    session.execute(update(accounts).where(accounts.c.customer_id == customer_id).values(updated_at=_now()))
    home_row = session.execute(select(Customer.id, Customer.home_store_id).where(Customer.id == customer_id)).first()
    if home_row is None or not scope.allows_store(home_row.home_store_id):
        raise LookupError(f"customer {customer_id} not found")
    home = home_row.home_store_id
    _lock_accounts(session, [customer_id])
    session.execute(select(accounts.c.balance).where(accounts.c.customer_id == customer_id).with_for_update())

    previous = session.execute(
        select(PointsLedger.customer_id, PointsLedger.idempotency_key).where(PointsLedger.idempotency_key == key)
    ).first()
    if previous is not None:
        if int(previous.customer_id) != int(customer_id):
            raise ValueError(f"idempotency key {key!r} belongs to another customer")
        ledger = loyalty.entries_from_frame(load_ledger(session, scope=Scope.system(), customer_ids=[customer_id]))
        entry = next(e for e in ledger if e.idempotency_key == key)
        bal = int(session.scalar(select(accounts.c.balance).where(accounts.c.customer_id == customer_id)) or 0)
        return RedemptionResult(entry=entry, balance=bal, duplicate=True, item_id=item_id)

    note = ""
    item = None
    if item_id is not None:
        item = session.execute(select(RedemptionItem).where(RedemptionItem.id == item_id).with_for_update()).scalar()
        if item is None or not item.active or (item.store_id is not None and item.store_id != home):
            raise loyalty.RedemptionRefused(f"item {item_id} is not available to customer {customer_id}")
        if int(points) != int(item.points_cost):
            raise loyalty.RedemptionRefused(f"item {item_id} costs {item.points_cost} points, not {points}")
        if item.stock is not None and item.stock <= 0:
            raise loyalty.RedemptionRefused("out_of_stock")
        note = f"item:{item.id} {item.name}"

    rule = effective_points_rule(session, scope=Scope.system(scope.actor), store_id=home)
    timezones = repo.store_timezones(session)
    tz = timezones.get(home, "UTC") if home is not None else "UTC"
    when = at or _now()
    local = pd.Timestamp(localtime.local_time(when, tz)) if pd.Timestamp(when).tzinfo else pd.Timestamp(when)
    ledger = loyalty.entries_from_frame(load_ledger(session, scope=Scope.system(), customer_ids=[customer_id]))
    entry = loyalty.plan_redemption(
        ledger, customer_id=int(customer_id), points=int(points), as_of=local, key=key, rule=rule, note=note
    )
    validate_ledger([*ledger, entry])
    _insert_entries(session, [entry], source=f"redeem:{scope.actor}"[:64])
    if item is not None and item.stock is not None:
        changed = session.execute(
            update(RedemptionItem)
            .where(RedemptionItem.id == item.id, RedemptionItem.stock > 0)
            .values(stock=RedemptionItem.stock - 1)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount == 0:
            raise loyalty.RedemptionRefused("out_of_stock")
    _refresh_balances(session, [customer_id])
    bal = int(session.scalar(select(accounts.c.balance).where(accounts.c.customer_id == customer_id)) or 0)
    if bal < 0:  # unreachable while the ledger is valid; a last guard before commit
        raise loyalty.LedgerError(f"customer {customer_id}: balance would be {bal}")
    return RedemptionResult(entry=entry, balance=bal, duplicate=False, item_id=item_id)


# --------------------------------------------------------------------------- jobs


def _day_end(as_of: date) -> pd.Timestamp:
    return pd.Timestamp(as_of) + pd.Timedelta(days=1)


def _completed_until(bookings: pd.DataFrame, as_of: date) -> pd.DataFrame:
    return bookings[(bookings["status"] == VISIT_STATUS) & (bookings["scheduled_at"] < _day_end(as_of))]


def _home_multipliers(session: Session, accounts: pd.DataFrame) -> pd.Series:
    """Points multiplier of each account's current tier (from its home store's rules)."""
    cache: dict[int | None, dict[str, float]] = {}
    values = {}
    for row in accounts.itertuples(index=False):
        if pd.isna(row.tier):
            continue
        home = None if pd.isna(row.home_store_id) else int(row.home_store_id)
        if home not in cache:
            found = effective_tier_rules(session, scope=Scope.system(), store_id=home)
            cache[home] = {r.name: r.points_multiplier for r in found.rules} if found else {}
        if row.tier in cache[home]:
            values[int(row.customer_id)] = cache[home][row.tier]
    return pd.Series(values, dtype=float)


def earn_from_bookings(engine: Engine, *, as_of: date, scope: Scope | None = None) -> dict[str, int]:
    """Write earn entries for completed bookings up to ``as_of`` (idempotent; imported data too).

    One entry per booking (key ``earn:booking:<id>``) with the points rule of the booking's
    store, the customer's current tier multiplier and the birthday multiplier; a booking
    already credited is never credited again, whatever the rules are now.

    Returns
    -------
    dict
        ``{"candidates": …, "written": …}``.
    """
    scope = scope or Scope.system("loyalty-job")
    with session_scope(engine) as session:
        bookings = _completed_until(repo.load_bookings(session, scope=scope), as_of)
        if bookings.empty:
            return {"candidates": 0, "written": 0}
        existing = _existing_keys(session, [f"earn:booking:{b}" for b in bookings["booking_id"]])
        bookings = bookings[~bookings["booking_id"].map(lambda b: f"earn:booking:{b}" in existing)]
        accounts = load_accounts(session, scope=Scope.system())
        multipliers = _home_multipliers(session, accounts)
        birthdays = pd.Series(
            dict(session.execute(select(Customer.id, Customer.birthday).where(Customer.birthday.is_not(None))).all())
        )
        birthdays = pd.to_datetime(birthdays) if len(birthdays) else None
        entries: list[loyalty.LedgerEntry] = []
        for store_id, part in bookings.groupby("store_id"):
            rule = effective_points_rule(session, scope=Scope.system(), store_id=int(store_id))
            entries += loyalty.earn_entries(part, rule=rule, tier_multiplier=multipliers, birthdays=birthdays)
    written = 0
    for chunk in _chunks(entries, 20_000):
        with session_scope(engine) as session:
            ids = _lock_accounts(session, {int(e.customer_id) for e in chunk})
            written += _insert_entries(session, chunk, source="earn_job")
            _refresh_balances(session, ids)
    return {"candidates": len(entries), "written": written}


def run_expiry(engine: Engine, *, as_of: date, scope: Scope | None = None) -> dict[str, int]:
    """Expire lots whose expiry is on or before ``as_of`` (idempotent: one entry per lot).

    Returns
    -------
    dict
        ``{"customers": …, "written": …, "points": …}`` (points expired, positive).
    """
    scope = scope or Scope.system("loyalty-job")
    cutoff = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    with session_scope(engine) as session:
        statement = (
            select(PointsLedger.customer_id)
            .join(Customer, Customer.id == PointsLedger.customer_id)
            .where(PointsLedger.points > 0, PointsLedger.expires_at.is_not(None), PointsLedger.expires_at <= cutoff)
            .distinct()
        )
        candidates = sorted(int(c) for c in session.scalars(_scoped_customer_filter(statement, scope, None)))
    written = points = 0
    for chunk in _chunks(candidates, 5000):
        with session_scope(engine) as session:
            ids = _lock_accounts(session, chunk)
            ledger = load_ledger(session, scope=Scope.system(), customer_ids=ids)
            entries = loyalty.expiry_entries(ledger, as_of=as_of)
            written += _insert_entries(session, entries, source="expiry_job")
            points += -sum(e.points for e in entries)
            _refresh_balances(session, ids)
    return {"customers": len(candidates), "written": written, "points": int(points)}


def award_referrals(engine: Engine, *, as_of: date, scope: Scope | None = None) -> dict[str, int]:
    """Credit referral bonuses for referees whose first completed visit is on or before ``as_of``.

    Keys ``referral:referrer:<referee>`` / ``referral:referee:<referee>``: one reward per
    referee, ever.  The bonus amounts come from the referee's home-store points rule.

    Returns
    -------
    dict
        ``{"candidates": …, "written": …}``.
    """
    scope = scope or Scope.system("loyalty-job")
    with session_scope(engine) as session:
        referrals = load_referrals(session, scope=scope)
        if referrals.empty:
            return {"candidates": 0, "written": 0}
        visits = _completed_until(
            repo.load_bookings(session, scope=Scope.system(), customer_ids=sorted(set(referrals["referee_id"]))), as_of
        )
        firsts = visits.groupby("customer_id")["scheduled_at"].min()
        homes = _customer_homes(session, referrals["referee_id"].tolist())
        referrals = referrals.assign(home=referrals["referee_id"].map(lambda c: homes.get(int(c))))
        entries: list[loyalty.LedgerEntry] = []
        for home, part in referrals.groupby("home", dropna=False):
            store = None if pd.isna(home) else int(home)
            rule = effective_points_rule(session, scope=Scope.system(), store_id=store)
            entries += loyalty.referral_reward_entries(part.drop(columns=["home"]), firsts, rule=rule)
    if not entries:
        return {"candidates": 0, "written": 0}
    with session_scope(engine) as session:
        ids = _lock_accounts(session, {int(e.customer_id) for e in entries})
        written = _insert_entries(session, entries, source="referral_job")
        _refresh_balances(session, ids)
    return {"candidates": len(entries), "written": written}


def tag_ambassadors(
    engine: Engine,
    *,
    as_of: date,
    min_referrals: int = 3,
    scope: Scope | None = None,
) -> list[int]:
    """Add :data:`AMBASSADOR_TAG` to the tags of referrers with ``min_referrals`` visiting referees.

    Existing tags are kept; the tag is never removed automatically (a manager may).  Each
    addition is audited (``tag_added``).

    Returns
    -------
    list of int
        Customers newly tagged.
    """
    scope = scope or Scope.system("loyalty-job")
    with session_scope(engine) as session:
        referrals = load_referrals(session, scope=scope)
        if referrals.empty:
            return []
        visits = repo.load_bookings(session, scope=Scope.system(), customer_ids=sorted(set(referrals["referee_id"])))
        board = loyalty.leaderboard(referrals, visits, as_of=as_of, top=None)
        top = loyalty.ambassadors(board, min_referrals=min_referrals)
        tagged: list[int] = []
        ids = [int(c) for c in top["referrer_id"]]
        for chunk in _chunks(ids):
            for customer in session.scalars(select(Customer).where(Customer.id.in_(chunk))):
                if AMBASSADOR_TAG in (customer.tags or []):
                    continue
                before = list(customer.tags or [])
                customer.tags = [*before, AMBASSADOR_TAG]
                repo.record_audit(
                    session,
                    actor=scope.actor,
                    action="tag_added",
                    entity="customer",
                    entity_id=customer.id,
                    store_id=customer.home_store_id,
                    before={"tags": before},
                    after={"tags": customer.tags},
                )
                tagged.append(int(customer.id))  # type: ignore[arg-type]
        return sorted(tagged)


def _last_qualified(
    bookings: pd.DataFrame,
    stored_value: pd.DataFrame,
    plans: pd.DataFrame,
    *,
    customers: list[int],
    rules: Sequence[loyalty.TierRule],
    previous: pd.Series,
    as_of: date,
    grace_days: int,
) -> pd.Series:
    """Latest day in ``[as_of - grace_days, as_of]`` each customer still qualified for their previous tier."""
    ranks = {r.name: r.rank for r in rules}
    b = bookings[bookings["customer_id"].isin(customers)]
    sv = stored_value[stored_value["customer_id"].isin(customers)] if len(stored_value) else None
    pl = plans[plans["customer_id"].isin(customers)] if len(plans) else None
    found: dict[int, pd.Timestamp] = {}
    for back in range(grace_days + 1):
        day = as_of - timedelta(days=back)
        act = loyalty.activity_from_bookings(b, sv, pl, as_of=day)
        act = act.set_index("customer_id").reindex(customers, fill_value=0).reset_index()
        qual = loyalty.qualify_tiers(act, rules)
        for cid in customers:
            if cid in found:
                continue
            q = qual.get(cid)
            if q is not None and not pd.isna(q) and ranks[q] >= ranks.get(previous.get(cid), 10**9):
                found[cid] = pd.Timestamp(day)
        if len(found) == len(customers):
            break
    return pd.Series(found, dtype="datetime64[ns]")


def recalculate_tiers(
    engine: Engine,
    *,
    as_of: date,
    scope: Scope | None = None,
    include_new: bool = True,
) -> pd.DataFrame:
    """Daily tier recalculation: qualify, apply the downgrade policy, store, audit the changes.

    Each customer is tiered by the rules of their home store (or the chain-wide rules) on
    the activity of the 12 months up to ``as_of`` (spend, stored value topped up, plan months).
    Downgrades follow the rule set's policy: ``period_end`` keeps a tier until
    ``tier_since + MEMBERSHIP_PERIOD_MONTHS``; ``grace`` keeps it while the customer qualified
    within the last ``grace_days``.  Each upgrade/downgrade is written to the audit log as
    action ``"tier_change"`` (for campaign triggers).  Running it twice for the same day
    changes nothing the second time.

    Parameters
    ----------
    engine : Engine
        The database.
    as_of : date
        The evaluation day.
    scope : Scope, optional
        Customers whose home store is in the scope (default: everyone, system actor).
    include_new : bool, default True
        Whether a first assignment above the entry tier counts as an upgrade event (the demo
        seed turns it off so building the demo does not trigger campaigns).

    Returns
    -------
    DataFrame
        ``TIER_EVENT_COLUMNS``: one row per upgrade/downgrade.
    """
    scope = scope or Scope.system("loyalty-job")
    with session_scope(engine) as session:
        stores = repo.allowed_store_ids(scope=scope)
        customers_q = select(Customer.id, Customer.home_store_id).where(Customer.anonymized_at.is_(None))
        customers_q = scoped(customers_q, Customer.home_store_id, stores)
        customers = pd.DataFrame(session.execute(customers_q).all(), columns=["customer_id", "home_store_id"])
        bookings = repo.load_bookings(session, scope=Scope.system())
        stored_value = load_stored_value(session, scope=Scope.system())
        plans = load_plans(session, scope=Scope.system())
        accounts = load_accounts(session, scope=Scope.system()).set_index("customer_id")
        rule_sets: dict[int | None, TierRuleSet | None] = {}
        for home in customers["home_store_id"].dropna().unique().tolist() + [None]:
            key = None if home is None else int(home)
            rule_sets[key] = effective_tier_rules(session, scope=Scope.system(), store_id=key)
    if customers.empty:
        return pd.DataFrame(columns=list(TIER_EVENT_COLUMNS))
    activity = loyalty.activity_from_bookings(bookings, stored_value, plans, as_of=as_of)
    activity = activity.set_index("customer_id").reindex(customers["customer_id"].astype(int), fill_value=0)
    activity = activity.rename_axis("customer_id").reset_index()
    updates: list[dict[str, Any]] = []
    events: list[pd.DataFrame] = []
    homes = customers.set_index("customer_id")["home_store_id"]
    for home, members in customers.groupby(customers["home_store_id"].astype("Int64"), dropna=False):
        key = None if pd.isna(home) else int(home)
        rule_set = rule_sets.get(key)
        if rule_set is None:
            continue
        rules = list(rule_set.rules)
        names = {r.name for r in rules}
        ids = members["customer_id"].astype(int).tolist()
        act = activity[activity["customer_id"].isin(ids)]
        qualified = loyalty.qualify_tiers(act, rules)
        stored = accounts["tier"].reindex(ids).astype("string")
        known_prev = stored.where(stored.isin(names))  # tiers of a replaced rule set: start afresh
        period_end = None
        last_q = None
        if rule_set.policy.downgrade == "period_end":
            since = pd.to_datetime(accounts["tier_since"].reindex(ids))
            period_end = since + pd.DateOffset(months=MEMBERSHIP_PERIOD_MONTHS)
        elif rule_set.policy.downgrade == "grace":
            ranks = {r.name: r.rank for r in rules}
            drop = [
                c
                for c in ids
                if not pd.isna(known_prev.get(c))
                and ranks.get(str(qualified.get(c)), -1) < ranks[str(known_prev.get(c))]
            ]
            last_q = _last_qualified(
                bookings,
                stored_value,
                plans,
                customers=drop,
                rules=rules,
                previous=known_prev,
                as_of=as_of,
                grace_days=rule_set.policy.grace_days,
            )
        held = loyalty.apply_downgrade_policy(
            known_prev,
            qualified,
            rules=rules,
            policy=rule_set.policy,
            as_of=as_of,
            period_end=period_end,
            last_qualified_on=last_q,
        )
        changes = loyalty.tier_changes(known_prev, held, rules=rules, include_new=include_new)
        if len(changes):
            changes = changes.assign(from_tier=stored.reindex(changes["customer_id"]).to_numpy())
            events.append(changes)
        for cid in ids:
            new = held.get(cid)
            new = None if new is None or pd.isna(new) else str(new)
            old = stored.get(cid)
            old = None if old is None or pd.isna(old) else str(old)
            if new != old:
                updates.append({"b_cid": cid, "b_tier": new, "b_since": as_of if new is not None else None})
    table = PointsAccount.__table__  # type: ignore[attr-defined]
    event_frame = (
        pd.concat(events, ignore_index=True)
        if events
        else pd.DataFrame(columns=["customer_id", "from_tier", "to_tier", "direction"])
    )
    event_frame["store_id"] = event_frame["customer_id"].map(homes).astype("Int64")
    event_frame["as_of"] = pd.Timestamp(as_of)
    event_frame = event_frame[list(TIER_EVENT_COLUMNS)].sort_values("customer_id", kind="stable")
    event_frame = event_frame.reset_index(drop=True)
    if updates:
        with session_scope(engine) as session:
            _lock_accounts(session, [u["b_cid"] for u in updates])
            statement = (
                update(table)
                .where(table.c.customer_id == bindparam("b_cid"))
                .values(tier=bindparam("b_tier"), tier_since=bindparam("b_since"), updated_at=_now())
            )
            for chunk in _chunks(updates):
                session.connection().execute(statement, list(chunk))
            for row in event_frame.itertuples(index=False):
                repo.record_audit(
                    session,
                    actor=scope.actor,
                    action=TIER_CHANGE_ACTION,
                    entity="customer",
                    entity_id=int(row.customer_id),
                    store_id=None if pd.isna(row.store_id) else int(row.store_id),
                    before={"tier": None if pd.isna(row.from_tier) else str(row.from_tier)},
                    after={
                        "tier": None if pd.isna(row.to_tier) else str(row.to_tier),
                        "direction": row.direction,
                        "as_of": as_of.isoformat(),
                    },
                )
    return event_frame


def run_daily(engine: Engine, *, as_of: date, scope: Scope | None = None, include_new: bool = True) -> dict[str, int]:
    """The daily loyalty jobs in order: earn, referral bonuses, expiry, tiers, ambassador tags.

    Returns
    -------
    dict
        Counts: ``earned``, ``referral_credits``, ``expired_entries``, ``expired_points``,
        ``tier_upgrades``, ``tier_downgrades``, ``ambassadors_tagged``.
    """
    earned = earn_from_bookings(engine, as_of=as_of, scope=scope)
    referrals = award_referrals(engine, as_of=as_of, scope=scope)
    expired = run_expiry(engine, as_of=as_of, scope=scope)
    events = recalculate_tiers(engine, as_of=as_of, scope=scope, include_new=include_new)
    tagged = tag_ambassadors(engine, as_of=as_of, scope=scope)
    return {
        "earned": earned["written"],
        "referral_credits": referrals["written"],
        "expired_entries": expired["written"],
        "expired_points": expired["points"],
        "tier_upgrades": int((events["direction"] == "up").sum()),
        "tier_downgrades": int((events["direction"] == "down").sum()),
        "ambassadors_tagged": len(tagged),
    }


# --------------------------------------------------------------------------- checks


def reconcile(session: Session, *, scope: Scope | None = None) -> pd.DataFrame:
    """Accounts whose stored balance disagrees with the ledger (or whose ledger is inconsistent).

    Returns
    -------
    DataFrame
        :func:`core.loyalty.reconcile` output: empty when every balance equals its ledger sum
        and every lot adds up.
    """
    scope = scope or Scope.system()
    accounts = load_accounts(session, scope=scope)
    ledger = load_ledger(session, scope=scope)
    return loyalty.reconcile(accounts[["customer_id", "balance"]], ledger)


def store_kinds(session: Session, *, scope: Scope) -> dict[int, str]:
    """store_id → ``Store.kind`` for the caller's stores (default rule sets depend on it)."""
    return {int(s.id): s.kind for s in repo.list_stores(session, scope=scope)}  # type: ignore[arg-type]


def default_tier_rules(kind: str) -> list[loyalty.TierRule]:
    """Starter tiers for a store kind: plan tiers for ``pet_adoption``, salon tiers otherwise."""
    return loyalty.monthly_plan_tier_rules() if kind == "pet_adoption" else loyalty.salon_tier_rules()


__all__ = [
    "ACCOUNT_COLUMNS",
    "AMBASSADOR_TAG",
    "ITEM_COLUMNS",
    "MEMBERSHIP_PERIOD_MONTHS",
    "TIER_CHANGE_ACTION",
    "TIER_EVENT_COLUMNS",
    "PointsRuleSet",
    "RedemptionResult",
    "TierRuleSet",
    "active_points_rule",
    "active_tier_rules",
    "append_entries",
    "award_referrals",
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
