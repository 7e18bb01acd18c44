"""Ledger writes: lock accounts, append entries idempotently, refresh balances, redeem, reconcile."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select, update
from sqlmodel import Session

from core import localtime, loyalty
from core.loyalty.points import validate_ledger
from core.scope import PermissionDenied, Scope
from db import repo
from db.dialect import dialect_insert, is_postgres
from db.loyalty.common import RedemptionResult, _chunks, _customer_homes, _now
from db.loyalty.reads import load_accounts, load_ledger
from db.loyalty.rules import effective_points_rule
from db.models import (
    Customer,
    PointsAccount,
    PointsLedger,
    RedemptionItem,
)

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
