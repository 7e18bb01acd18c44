"""The daily loyalty jobs: earn from bookings, expiry, referral awards, ambassadors, tier recalculation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import loyalty
from core.columns import VISIT_STATUS
from core.scope import Scope
from db import repo
from db.engine import session_scope
from db.loyalty.common import (
    AMBASSADOR_TAG,
    MEMBERSHIP_PERIOD_MONTHS,
    TIER_CHANGE_ACTION,
    TIER_EVENT_COLUMNS,
    TierRuleSet,
    _chunks,
    _customer_homes,
    _now,
)
from db.loyalty.ledger import _existing_keys, _insert_entries, _lock_accounts, _refresh_balances
from db.loyalty.reads import (
    _scoped_customer_filter,
    load_accounts,
    load_ledger,
    load_plans,
    load_referrals,
    load_stored_value,
)
from db.loyalty.rules import effective_points_rule, effective_tier_rules
from db.models import (
    Customer,
    PointsAccount,
    PointsLedger,
)
from db.scoping import scoped

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
