"""Points: earning rules, the append-only ledger, FIFO lots, redemption, expiry, reconciliation.

The ledger is a list of :class:`LedgerEntry`.  Every credit (``earn``, ``referral``, positive
``adjust``) is a *lot* identified by its idempotency key, with its own expiry.  Every debit
(``redeem``, ``expire``, negative ``adjust``) names the lots it consumed in ``allocations``, so
the remaining points of each lot — and therefore what expires when — follow from the ledger
alone.  Lots are consumed oldest-expiry first (FIFO by expiry, then by earn time).

These functions decide *what* to write.  The ``db/`` layer persists entries, enforces the
unique idempotency key, and serialises writers per customer (``SELECT … FOR UPDATE`` on the
customer's row, or SQLite's single writer): read the ledger under the lock, call
:func:`plan_redemption`, append, commit.  Two concurrent 80-point redemptions against 100
points then give exactly one entry; the second planner sees 20 available and raises
:class:`InsufficientPoints`.  :func:`validate_ledger` can be run on ``existing + new`` inside
the transaction as a last guard.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd

from core.columns import VISIT_STATUS, require_columns
from core.loyalty._util import DateLike, to_datetime_series, to_timestamp
from core.spend import visit_spend

EntryKind = Literal["earn", "redeem", "expire", "adjust", "referral"]
ENTRY_KINDS: tuple[str, ...] = ("earn", "redeem", "expire", "adjust", "referral")
LEDGER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "kind",
    "points",
    "occurred_at",
    "expires_at",
    "idempotency_key",
    "allocations",
    "note",
)
_EPS = 1e-9

Entries: TypeAlias = Iterable["LedgerEntry"] | pd.DataFrame


class LedgerError(ValueError):
    """The ledger is inconsistent (unknown lot, lot over-consumed, duplicate key, …)."""


class InsufficientPoints(ValueError):
    """A debit asks for more points than the customer has available.

    Attributes
    ----------
    available : int
        Points available at the time.
    requested : int
        Points asked for.
    """

    def __init__(self, available: int, requested: int, customer_id: object = None) -> None:
        self.available = int(available)
        self.requested = int(requested)
        self.customer_id = customer_id
        super().__init__(f"customer {customer_id}: {requested} points requested, {available} available")


class RedemptionRefused(ValueError):
    """A redemption breaks a rule (e.g. below the minimum redemption)."""


class DuplicateEntry(ValueError):
    """An entry with the same idempotency key is already in the ledger.

    Attributes
    ----------
    existing : LedgerEntry
        The entry already written (the earlier attempt succeeded).
    """

    def __init__(self, existing: LedgerEntry) -> None:
        self.existing = existing
        super().__init__(f"idempotency key {existing.idempotency_key!r} already in the ledger")


@dataclass(frozen=True)
class PointsRule:
    """How points are earned, expire and are worth.

    Attributes
    ----------
    earn_per_currency_unit : float
        Points per 1 unit of currency spent: ``1.0`` = 1 point per NT$1, ``0.1`` = 1 point per
        NT$10.  Points are floored to whole points after all multipliers.
    birthday_multiplier : float
        Multiplier for visits in the customer's birthday month.
    referral_bonus_referrer, referral_bonus_referee : int
        Points credited to each side when a referee completes a first visit.
    expiry_months : int or None
        Lots expire this many calendar months after the day they were earned (at midnight);
        ``None`` = points never expire.
    min_redemption : int
        Smallest number of points a single redemption may use.
    point_cash_value : float
        Currency value of one point (``0.2`` = 100 points are worth NT$20).
    include_addons : bool
        Whether add-on revenue earns points.
    version : int
        Rule version (rules are versioned and audited; recorded in entry notes).
    """

    earn_per_currency_unit: float = 1.0
    birthday_multiplier: float = 1.0
    referral_bonus_referrer: int = 0
    referral_bonus_referee: int = 0
    expiry_months: int | None = 12
    min_redemption: int = 0
    point_cash_value: float = 0.2
    include_addons: bool = True
    version: int = 1

    def __post_init__(self) -> None:
        if self.earn_per_currency_unit < 0 or self.birthday_multiplier < 0:
            raise ValueError("earn rate and multipliers must be >= 0")
        if self.expiry_months is not None and self.expiry_months < 1:
            raise ValueError("expiry_months must be >= 1 or None")
        if self.min_redemption < 0 or self.point_cash_value < 0:
            raise ValueError("min_redemption and point_cash_value must be >= 0")

    def expiry_for(self, occurred_at: DateLike) -> pd.Timestamp | None:
        """Expiry instant of a lot earned at ``occurred_at`` (``None`` when points never expire)."""
        if self.expiry_months is None:
            return None
        return pd.Timestamp(to_timestamp(occurred_at).normalize() + pd.DateOffset(months=self.expiry_months))

    def points_for(self, amount: float, multiplier: float = 1.0) -> int:
        """Whole points earned on ``amount`` with ``multiplier`` (floored; never negative)."""
        if not amount or amount <= 0 or (isinstance(amount, float) and math.isnan(amount)):
            return 0
        return max(0, math.floor(amount * self.earn_per_currency_unit * multiplier + _EPS))

    def cash_value(self, points: float) -> float:
        """Currency value of ``points`` (the liability of outstanding points)."""
        return float(points) * self.point_cash_value


@dataclass(frozen=True)
class LedgerEntry:
    """One append-only points ledger row.

    Attributes
    ----------
    customer_id : int
        The customer.
    kind : {"earn", "redeem", "expire", "adjust", "referral"}
        ``earn``/``referral`` are credits (> 0); ``redeem``/``expire`` are debits (< 0);
        ``adjust`` may be either sign.
    points : int
        Signed, never 0.
    occurred_at : Timestamp
        When the entry takes effect (store-local).
    idempotency_key : str
        Unique in the ledger; for a credit it is also the lot key.
    expires_at : Timestamp or None
        Credits only: when the lot expires (``None`` = never).
    allocations : tuple of (str, int)
        Debits only: ``(lot_key, points)`` consumed from each lot, points positive, summing to
        ``-points``.  Empty only for legacy imported debits (then FIFO is assumed).
    note : str
        Free text (reason of an adjustment, rule version, redemption item …).
    """

    customer_id: int
    kind: EntryKind
    points: int
    occurred_at: pd.Timestamp
    idempotency_key: str
    expires_at: pd.Timestamp | None = None
    allocations: tuple[tuple[str, int], ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ENTRY_KINDS:
            raise ValueError(f"unknown ledger entry kind {self.kind!r}")
        if int(self.points) != self.points or self.points == 0:
            raise ValueError(f"points must be a non-zero integer, got {self.points!r}")
        object.__setattr__(self, "points", int(self.points))
        object.__setattr__(self, "occurred_at", to_timestamp(self.occurred_at))
        if self.expires_at is not None and not pd.isna(self.expires_at):
            object.__setattr__(self, "expires_at", to_timestamp(self.expires_at))
        else:
            object.__setattr__(self, "expires_at", None)
        if not self.idempotency_key:
            raise ValueError("idempotency_key is required")
        if self.kind in ("earn", "referral") and self.points < 0:
            raise ValueError(f"{self.kind} entries must be positive")
        if self.kind in ("redeem", "expire") and self.points > 0:
            raise ValueError(f"{self.kind} entries must be negative")
        allocations = tuple((str(k), int(p)) for k, p in self.allocations)
        object.__setattr__(self, "allocations", allocations)
        if self.points > 0:
            if allocations:
                raise ValueError("credits carry no allocations")
        else:
            if self.expires_at is not None:
                raise ValueError("debits carry no expiry")
            if allocations:
                if any(p <= 0 for _, p in allocations):
                    raise ValueError("allocation points must be positive")
                if sum(p for _, p in allocations) != -self.points:
                    raise ValueError("allocations must sum to the debited points")

    @property
    def is_credit(self) -> bool:
        """True for entries that create a lot."""
        return self.points > 0

    @property
    def lot_key(self) -> str | None:
        """The lot key of a credit (its idempotency key); ``None`` for debits."""
        return self.idempotency_key if self.points > 0 else None


@dataclass(frozen=True)
class RedemptionItem:
    """Something members can redeem points for.

    Attributes
    ----------
    name : str
        Display name.
    kind : {"goods", "service", "privilege"}
        Physical goods, a free/discounted service, or a privilege (e.g. priority booking).
    points_cost : int
        Points required.
    cash_cost : float
        Cash paid on top (points + cash items); 0 for points-only items.
    stock : int or None
        Units left; ``None`` = unlimited (typical for services and privileges).
    allow_cash_for_shortfall : bool
        Whether missing points may be paid in cash at ``point_cash_value``.
    """

    name: str
    kind: Literal["goods", "service", "privilege"]
    points_cost: int
    cash_cost: float = 0.0
    stock: int | None = None
    allow_cash_for_shortfall: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("goods", "service", "privilege"):
            raise ValueError(f"unknown redemption item kind {self.kind!r}")
        if self.points_cost < 0 or self.cash_cost < 0 or (self.stock is not None and self.stock < 0):
            raise ValueError("costs and stock must be >= 0")

    @property
    def in_stock(self) -> bool:
        """True when at least one unit is left (or stock is unlimited)."""
        return self.stock is None or self.stock > 0


@dataclass(frozen=True)
class RedemptionQuote:
    """What a redemption would cost the customer.

    Attributes
    ----------
    feasible : bool
        Whether the redemption can go ahead.
    points_to_use : int
        Points to debit (0 when not feasible).
    cash_to_pay : float
        Cash to collect.
    shortfall_points : int
        Points missing from the item's points cost.
    reason : str
        Empty when feasible, else why not (``insufficient_points``, ``below_min_redemption``,
        ``out_of_stock``).
    """

    feasible: bool
    points_to_use: int
    cash_to_pay: float
    shortfall_points: int
    reason: str = ""


# --------------------------------------------------------------------------- conversion


def entries_to_frame(entries: Entries) -> pd.DataFrame:
    """Ledger entries as a DataFrame with ``LEDGER_COLUMNS`` (``allocations`` holds tuples)."""
    if isinstance(entries, pd.DataFrame):
        return entries.loc[:, list(LEDGER_COLUMNS)].copy()
    rows = [
        {
            "customer_id": e.customer_id,
            "kind": e.kind,
            "points": e.points,
            "occurred_at": e.occurred_at,
            "expires_at": e.expires_at if e.expires_at is not None else pd.NaT,
            "idempotency_key": e.idempotency_key,
            "allocations": e.allocations,
            "note": e.note,
        }
        for e in entries
    ]
    frame = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
    frame["points"] = frame["points"].astype("int64")
    frame["occurred_at"] = to_datetime_series(frame["occurred_at"])
    frame["expires_at"] = to_datetime_series(frame["expires_at"])
    frame["allocations"] = frame["allocations"].astype(object)
    return frame


def entries_from_frame(frame: pd.DataFrame) -> list[LedgerEntry]:
    """Rebuild :class:`LedgerEntry` objects from a frame with ``LEDGER_COLUMNS``.

    ``allocations`` may be missing (legacy debits, FIFO assumed), a tuple/list of pairs, or
    ``None``; ``expires_at`` and ``note`` may be missing.
    """
    require_columns(frame, ("customer_id", "kind", "points", "occurred_at", "idempotency_key"), what="ledger")
    out: list[LedgerEntry] = []
    has_exp = "expires_at" in frame.columns
    has_alloc = "allocations" in frame.columns
    has_note = "note" in frame.columns
    for row in frame.itertuples(index=False):
        alloc = row.allocations if has_alloc else ()
        if alloc is None or (isinstance(alloc, float) and math.isnan(alloc)):
            alloc = ()
        exp = row.expires_at if has_exp else None
        note = row.note if has_note else ""
        out.append(
            LedgerEntry(
                customer_id=row.customer_id,
                kind=row.kind,
                points=int(row.points),
                occurred_at=row.occurred_at,
                idempotency_key=str(row.idempotency_key),
                expires_at=None if exp is None or pd.isna(exp) else exp,
                allocations=tuple(tuple(a) for a in alloc),
                note="" if note is None or (isinstance(note, float) and math.isnan(note)) else str(note),
            )
        )
    return out


def _as_list(entries: Entries) -> list[LedgerEntry]:
    if isinstance(entries, pd.DataFrame):
        return entries_from_frame(entries)
    return list(entries)


def new_entries(candidates: Iterable[LedgerEntry], existing: Entries) -> list[LedgerEntry]:
    """Candidates whose idempotency key is not yet in ``existing`` (nor repeated among themselves)."""
    seen = {e.idempotency_key for e in _as_list(existing)}
    out = []
    for entry in candidates:
        if entry.idempotency_key not in seen:
            seen.add(entry.idempotency_key)
            out.append(entry)
    return out


# --------------------------------------------------------------------------- replay


@dataclass
class _Lot:
    customer_id: int
    lot_key: str
    kind: str
    earned_at: pd.Timestamp
    expires_at: pd.Timestamp | None
    earned: int
    used: int = 0
    expired: int = 0

    @property
    def remaining(self) -> int:
        return self.earned - self.used - self.expired

    def fifo_key(self) -> tuple:
        return (self.expires_at is None, self.expires_at or pd.Timestamp.max, self.earned_at, self.lot_key)

    def usable_at(self, when: pd.Timestamp) -> bool:
        return self.earned_at <= when and (self.expires_at is None or self.expires_at > when)


def _entry_order(e: LedgerEntry) -> tuple:
    # chronological; at one instant credits before debits
    return (e.occurred_at, 0 if e.points > 0 else 1)


def _replay(entries: Sequence[LedgerEntry]) -> dict[str, _Lot]:
    """Lots with their consumption after applying every debit. Raises :class:`LedgerError`."""
    lots: dict[str, _Lot] = {}
    keys: set[str] = set()
    for e in entries:
        if e.idempotency_key in keys:
            raise LedgerError(f"duplicate idempotency key {e.idempotency_key!r}")
        keys.add(e.idempotency_key)
        if e.points > 0:
            lots[e.idempotency_key] = _Lot(
                e.customer_id, e.idempotency_key, e.kind, e.occurred_at, e.expires_at, e.points
            )
    by_customer: dict[int, list[_Lot]] = {}
    for lot in lots.values():
        by_customer.setdefault(lot.customer_id, []).append(lot)
    for customer_lots in by_customer.values():
        customer_lots.sort(key=_Lot.fifo_key)
    for e in sorted((e for e in entries if e.points < 0), key=_entry_order):
        is_expire = e.kind == "expire"
        if e.allocations:
            for lot_key, pts in e.allocations:
                allocated = lots.get(lot_key)
                if allocated is None or allocated.customer_id != e.customer_id:
                    raise LedgerError(f"{e.idempotency_key}: unknown lot {lot_key!r} for customer {e.customer_id}")
                if pts > allocated.remaining:
                    raise LedgerError(
                        f"{e.idempotency_key}: lot {lot_key!r} over-consumed ({pts} > {allocated.remaining} remaining)"
                    )
                if is_expire:
                    allocated.expired += pts
                else:
                    allocated.used += pts
            continue
        # legacy debit without allocations: FIFO by expiry over the lots it could have used
        need = -e.points
        for lot in by_customer.get(e.customer_id, []):
            if need == 0:
                break
            if lot.remaining <= 0 or lot.earned_at > e.occurred_at:
                continue
            if is_expire != (lot.expires_at is not None and lot.expires_at <= e.occurred_at):
                continue
            take = min(need, lot.remaining)
            if is_expire:
                lot.expired += take
            else:
                lot.used += take
            need -= take
        if need:
            raise LedgerError(f"{e.idempotency_key}: debit exceeds the points available by {need}")
    return lots


def validate_ledger(entries: Entries) -> None:
    """Raise :class:`LedgerError` unless every debit is backed by lots and keys are unique.

    A valid ledger never has a negative balance, at any time, for any customer.
    """
    _replay(_as_list(entries))


def _lots_frame(lots: Iterable[_Lot], as_of: pd.Timestamp | None) -> pd.DataFrame:
    ordered = sorted(lots, key=lambda lot: (str(type(lot.customer_id)), lot.customer_id, *lot.fifo_key()))
    frame = pd.DataFrame(
        {
            "customer_id": [lot.customer_id for lot in ordered],
            "lot_key": pd.array([lot.lot_key for lot in ordered], dtype="string"),
            "kind": pd.array([lot.kind for lot in ordered], dtype="string"),
            "earned_at": pd.to_datetime(pd.Series([lot.earned_at for lot in ordered], dtype=object)),
            "expires_at": pd.to_datetime(pd.Series([lot.expires_at for lot in ordered], dtype=object)),
            "points_earned": np.array([lot.earned for lot in ordered], dtype=np.int64),
            "points_used": np.array([lot.used for lot in ordered], dtype=np.int64),
            "points_expired": np.array([lot.expired for lot in ordered], dtype=np.int64),
            "points_remaining": np.array([lot.remaining for lot in ordered], dtype=np.int64),
        }
    )
    if as_of is None:
        frame["past_expiry"] = False
    else:
        frame["past_expiry"] = (frame["expires_at"] <= as_of).fillna(False).astype(bool)
    return frame


def open_lots(entries: Entries, *, as_of: DateLike | None = None, include_closed: bool = False) -> pd.DataFrame:
    """Remaining points per earned lot after FIFO consumption, as the ledger stood at ``as_of``.

    Parameters
    ----------
    entries : iterable of LedgerEntry or DataFrame
        The ledger (any number of customers).
    as_of : date-like, optional
        Only entries with ``occurred_at <= as_of`` are considered; ``None`` = all.
    include_closed : bool, default False
        Also return lots with nothing remaining.

    Returns
    -------
    DataFrame
        Columns ``customer_id, lot_key, kind, earned_at, expires_at, points_earned,
        points_used, points_expired, points_remaining, past_expiry`` (``past_expiry``: the lot's
        expiry is ``<= as_of`` but the expiry job has not yet written it off), ordered by
        customer, then expiry (never-expiring last), then earn time.
    """
    items = _as_list(entries)
    cutoff = None if as_of is None else to_timestamp(as_of)
    if cutoff is not None:
        items = [e for e in items if e.occurred_at <= cutoff]
    lots = list(_replay(items).values())
    if not include_closed:
        lots = [lot for lot in lots if lot.remaining > 0]
    return _lots_frame(lots, cutoff).reset_index(drop=True)


def _customer_entries(items: list[LedgerEntry], customer_id: int) -> list[LedgerEntry]:
    return [e for e in items if e.customer_id == customer_id]


def _usable_lots(items: list[LedgerEntry], customer_id: int, when: pd.Timestamp) -> list[_Lot]:
    """The customer's lots usable at ``when``, FIFO ordered; every recorded debit is applied."""
    lots = _replay(_customer_entries(items, customer_id)).values()
    return sorted((lot for lot in lots if lot.remaining > 0 and lot.usable_at(when)), key=_Lot.fifo_key)


def available_points(entries: Entries, *, customer_id: int, as_of: DateLike) -> int:
    """Points the customer can spend at ``as_of``: remaining points of lots not past expiry.

    This can be lower than :func:`balance` while the expiry job has not yet written off lots
    past their expiry.
    """
    when = to_timestamp(as_of)
    return int(sum(lot.remaining for lot in _usable_lots(_as_list(entries), customer_id, when)))


def _fifo_debit(
    items: list[LedgerEntry],
    *,
    customer_id: int,
    points: int,
    when: pd.Timestamp,
) -> tuple[tuple[str, int], ...]:
    lots = _usable_lots(items, customer_id, when)
    available = sum(lot.remaining for lot in lots)
    if points > available:
        raise InsufficientPoints(available, points, customer_id)
    allocations = []
    need = points
    for lot in lots:
        if need == 0:
            break
        take = min(need, lot.remaining)
        allocations.append((lot.lot_key, take))
        need -= take
    return tuple(allocations)


def _check_key(items: list[LedgerEntry], key: str) -> None:
    for e in items:
        if e.idempotency_key == key:
            raise DuplicateEntry(e)


def plan_redemption(
    entries: Entries,
    *,
    customer_id: int,
    points: int,
    as_of: DateLike,
    key: str,
    rule: PointsRule | None = None,
    note: str = "",
) -> LedgerEntry:
    """Decide the redeem entry for ``points``, consuming the oldest-expiring lots first.

    Parameters
    ----------
    entries : iterable of LedgerEntry or DataFrame
        The customer's ledger (others' entries are ignored), read under the customer lock.
        Every recorded debit counts, whatever its time.
    customer_id : object
        The customer redeeming.
    points : int
        Points to redeem (> 0).
    as_of : date-like
        When the redemption happens; lots earned later or expired by then are not usable.
    key : str
        Idempotency key of the redemption (e.g. ``"redeem:order:<id>"``).
    rule : PointsRule, optional
        Enforces ``min_redemption`` when given.
    note : str
        Stored on the entry (e.g. the redemption item).

    Returns
    -------
    LedgerEntry
        ``kind="redeem"``, ``points=-points``, with FIFO ``allocations``.

    Raises
    ------
    DuplicateEntry
        ``key`` is already in the ledger (a retry of a redemption that went through).
    RedemptionRefused
        ``points`` is below ``rule.min_redemption``.
    InsufficientPoints
        Fewer points are available; the balance never goes negative.
    """
    if int(points) != points or points <= 0:
        raise ValueError("points to redeem must be a positive integer")
    points = int(points)
    items = _as_list(entries)
    _check_key(items, key)
    if rule is not None and points < rule.min_redemption:
        raise RedemptionRefused(f"{points} points is below the minimum redemption of {rule.min_redemption}")
    when = to_timestamp(as_of)
    allocations = _fifo_debit(items, customer_id=customer_id, points=points, when=when)
    return LedgerEntry(customer_id, "redeem", -points, when, key, None, allocations, note)


def adjustment_entry(
    entries: Entries,
    *,
    customer_id: int,
    points: int,
    as_of: DateLike,
    key: str,
    rule: PointsRule | None = None,
    expires_at: DateLike | None = None,
    note: str = "",
) -> LedgerEntry:
    """Decide a manual adjustment (goodwill credit, correction, imported opening balance).

    A positive adjustment is a new lot expiring at ``expires_at`` (or per ``rule``; never when
    neither is given).  A negative one consumes lots FIFO like a redemption, with no minimum.

    Raises
    ------
    DuplicateEntry
        ``key`` is already in the ledger.
    InsufficientPoints
        A negative adjustment larger than the points available.
    """
    if int(points) != points or points == 0:
        raise ValueError("adjustment points must be a non-zero integer")
    points = int(points)
    items = _as_list(entries)
    _check_key(items, key)
    when = to_timestamp(as_of)
    if points > 0:
        exp = to_timestamp(expires_at) if expires_at is not None else (rule.expiry_for(when) if rule else None)
        return LedgerEntry(customer_id, "adjust", points, when, key, exp, (), note)
    allocations = _fifo_debit(items, customer_id=customer_id, points=-points, when=when)
    return LedgerEntry(customer_id, "adjust", points, when, key, None, allocations, note)


def expiry_entries(entries: Entries, *, as_of: DateLike) -> list[LedgerEntry]:
    """Expire entries due by ``as_of``: one per lot past expiry with points remaining.

    Each entry has key ``expire:<lot_key>``, ``occurred_at`` = the lot's expiry and one
    allocation to the lot, so running the job again (with the first run's entries in the
    ledger) yields nothing new, and runs on different days yield identical entries.

    Parameters
    ----------
    entries : iterable of LedgerEntry or DataFrame
        The ledger (any number of customers).
    as_of : date-like
        Lots whose ``expires_at <= as_of`` are expired.

    Returns
    -------
    list of LedgerEntry
        Ordered by customer, expiry, earn time.
    """
    items = _as_list(entries)
    when = to_timestamp(as_of)
    keys = {e.idempotency_key for e in items}
    lots = sorted(_replay(items).values(), key=lambda lot: (str(lot.customer_id), *lot.fifo_key()))
    out = []
    for lot in lots:
        key = f"expire:{lot.lot_key}"
        if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= when and key not in keys:
            out.append(
                LedgerEntry(
                    lot.customer_id,
                    "expire",
                    -lot.remaining,
                    lot.expires_at,
                    key,
                    None,
                    ((lot.lot_key, lot.remaining),),
                    "expiry",
                )
            )
    return out


def balance(entries: Entries, *, as_of: DateLike | None = None) -> pd.Series:
    """Points balance per customer: the sum of the ledger (entries up to ``as_of`` when given).

    Returns
    -------
    Series
        ``int64`` named ``balance``, indexed by ``customer_id`` (sorted).
    """
    frame = entries_to_frame(_as_list(entries))
    if as_of is not None:
        frame = frame[frame["occurred_at"] <= to_timestamp(as_of)]
    out = frame.groupby("customer_id")["points"].sum().astype("int64")
    out.name = "balance"
    return out.sort_index()


def reconcile(balances: pd.Series | pd.DataFrame, entries: Entries) -> pd.DataFrame:
    """Customers whose stored balance, ledger sum and lots disagree.

    Parameters
    ----------
    balances : Series or DataFrame
        Stored (cached) balances: a Series indexed by ``customer_id`` or a frame with
        ``customer_id`` and ``balance``.
    entries : iterable of LedgerEntry or DataFrame
        The ledger.

    Returns
    -------
    DataFrame
        One row per problem: ``customer_id``, ``stored_balance`` (``<NA>`` when missing),
        ``ledger_balance``, ``lots_remaining`` (``<NA>`` when the ledger cannot be replayed),
        ``difference`` (stored − ledger) and ``issue`` ∈ {``balance_mismatch``,
        ``missing_stored_balance``, ``missing_ledger``, ``negative_balance``, ``lot_mismatch``,
        ``invalid_ledger``}.  Empty when everything agrees.
    """
    if isinstance(balances, pd.DataFrame):
        require_columns(balances, ("customer_id", "balance"), what="balances")
        stored = balances.set_index("customer_id")["balance"]
    else:
        stored = balances
    items = _as_list(entries)
    ledger = balance(items)
    by_customer: dict[object, list[LedgerEntry]] = {}
    for e in items:
        by_customer.setdefault(e.customer_id, []).append(e)
    rows = []
    for cid in sorted(set(stored.index) | set(ledger.index), key=lambda c: (str(type(c)), c)):
        s = stored.get(cid)
        s = None if s is None or pd.isna(s) else int(s)
        led = int(ledger.get(cid, 0))
        lots_rem: int | None
        issues = []
        try:
            lots_rem = int(sum(lot.remaining for lot in _replay(by_customer.get(cid, [])).values()))
        except LedgerError:
            lots_rem = None
            issues.append("invalid_ledger")
        if s is None:
            if led != 0:
                issues.append("missing_stored_balance")
        elif cid not in ledger.index and s != 0:
            issues.append("missing_ledger")
        elif s != led:
            issues.append("balance_mismatch")
        if led < 0:
            issues.append("negative_balance")
        if lots_rem is not None and lots_rem != led:
            issues.append("lot_mismatch")
        for issue in issues:
            rows.append(
                {
                    "customer_id": cid,
                    "stored_balance": s,
                    "ledger_balance": led,
                    "lots_remaining": lots_rem,
                    "difference": None if s is None else s - led,
                    "issue": issue,
                }
            )
    out = pd.DataFrame(
        rows, columns=["customer_id", "stored_balance", "ledger_balance", "lots_remaining", "difference", "issue"]
    )
    for column in ("stored_balance", "ledger_balance", "lots_remaining", "difference"):
        out[column] = out[column].astype("Int64")
    return out


# --------------------------------------------------------------------------- earning


def earn_entries(
    visits: pd.DataFrame,
    *,
    rule: PointsRule,
    tier_multiplier: pd.Series | None = None,
    birthdays: pd.Series | None = None,
) -> list[LedgerEntry]:
    """Earn entries for completed bookings: one per booking, key ``earn:booking:<booking_id>``.

    The result depends only on the bookings and the arguments, so re-running it over imported
    history gives the same keys and points; filter with :func:`new_entries` before writing.

    Parameters
    ----------
    visits : DataFrame
        Bookings (``booking_id``, ``customer_id``, ``scheduled_at``, ``amount``; optional
        ``addon_amount``, ``status`` — rows other than ``completed`` are skipped — and
        ``points_multiplier``, the tier multiplier in force at the visit, which takes
        precedence over ``tier_multiplier``).
    rule : PointsRule
        Earn rate, birthday multiplier, expiry.
    tier_multiplier : Series, optional
        Multiplier per ``customer_id`` (e.g. from the customer's current
        ``TierRule.points_multiplier``); missing customers get 1.
    birthdays : Series, optional
        Birthday per ``customer_id``; visits in the birthday month get
        ``rule.birthday_multiplier``.

    Returns
    -------
    list of LedgerEntry
        ``kind="earn"``, ordered by visit time then booking id.  Visits earning 0 points
        (no amount, refunds) produce no entry.
    """
    require_columns(visits, ("booking_id", "customer_id", "scheduled_at", "amount"), what="visits")
    frame = visits
    if "status" in frame.columns:
        frame = frame[frame["status"] == VISIT_STATUS]
    if frame.empty:
        return []
    when = to_datetime_series(frame["scheduled_at"])
    amount = visit_spend(frame, include_addons=rule.include_addons)
    mult = pd.Series(1.0, index=frame.index)
    if tier_multiplier is not None:
        mult = frame["customer_id"].map(tier_multiplier).astype(float).fillna(1.0)
    if "points_multiplier" in frame.columns:
        own = pd.to_numeric(frame["points_multiplier"], errors="coerce")
        mult = own.where(own.notna(), mult)
    if birthdays is not None and rule.birthday_multiplier != 1.0:
        bday = to_datetime_series(frame["customer_id"].map(birthdays))
        is_bday = (bday.dt.month == when.dt.month).fillna(False).astype(bool)
        mult = mult * np.where(is_bday, rule.birthday_multiplier, 1.0)
    work = pd.DataFrame(
        {
            "booking_id": frame["booking_id"].to_numpy(),
            "customer_id": frame["customer_id"].to_numpy(),
            "when": when.to_numpy(),
            "amount": amount.to_numpy(dtype=float),
            "mult": mult.to_numpy(dtype=float),
        }
    ).dropna(subset=["when"])
    work = work.sort_values(["when", "booking_id"], kind="stable")
    out = []
    for row in work.itertuples(index=False):
        pts = rule.points_for(row.amount, row.mult)
        if pts <= 0:
            continue
        ts = pd.Timestamp(row.when)
        out.append(
            LedgerEntry(
                row.customer_id,
                "earn",
                pts,
                ts,
                f"earn:booking:{row.booking_id}",
                rule.expiry_for(ts),
                (),
                f"rule v{rule.version} x{row.mult:g}",
            )
        )
    return out


# --------------------------------------------------------------------------- redemption quotes


def redemption_quote(
    item_points: int,
    item_cash: float,
    *,
    points_available: int,
    rule: PointsRule,
    allow_cash_for_shortfall: bool = False,
) -> RedemptionQuote:
    """Quote a points (+ cash) redemption.

    Parameters
    ----------
    item_points : int
        Points the item costs.
    item_cash : float
        Cash the item costs on top.
    points_available : int
        The customer's available points (:func:`available_points`).
    rule : PointsRule
        Gives ``min_redemption`` and ``point_cash_value``.
    allow_cash_for_shortfall : bool, default False
        When points fall short, pay the missing points in cash at ``point_cash_value``
        (rounded up to a whole currency unit).  The points used must still reach
        ``min_redemption``.

    Returns
    -------
    RedemptionQuote
    """
    item_points = int(item_points)
    available = max(0, int(points_available))
    shortfall = max(0, item_points - available)
    if item_points > 0 and item_points < rule.min_redemption:
        return RedemptionQuote(False, 0, 0.0, shortfall, "below_min_redemption")
    if shortfall == 0:
        return RedemptionQuote(True, item_points, float(item_cash), 0, "")
    if not allow_cash_for_shortfall:
        return RedemptionQuote(False, 0, 0.0, shortfall, "insufficient_points")
    if available < rule.min_redemption:
        return RedemptionQuote(False, 0, 0.0, shortfall, "insufficient_points")
    extra = math.ceil(shortfall * rule.point_cash_value - _EPS)
    return RedemptionQuote(True, available, float(item_cash) + extra, shortfall, "")


def quote_item(item: RedemptionItem, *, points_available: int, rule: PointsRule) -> RedemptionQuote:
    """:func:`redemption_quote` for a :class:`RedemptionItem`, refusing items out of stock."""
    if not item.in_stock:
        return RedemptionQuote(False, 0, 0.0, 0, "out_of_stock")
    return redemption_quote(
        item.points_cost,
        item.cash_cost,
        points_available=points_available,
        rule=rule,
        allow_cash_for_shortfall=item.allow_cash_for_shortfall,
    )
