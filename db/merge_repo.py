"""Merging two member cards of one person, and undoing it (one transaction each).

A merge re-points the absorbed member's rows to the kept member — bookings, pets, points-ledger
entries, monthly plans, stored value, messages, tasks, model reviews, referrals in both
directions and the customers it referred — fills the kept member's empty contact fields, unites
the tags, marks the absorbed card ``merged_into_id`` (hidden from lists and KPIs, see
:func:`db.repo.listed_customer`) and keeps a :class:`db.models.MemberMerge` record of exactly
which row ids moved and what the kept member's fields were, so :func:`undo_merge` puts both
members back as they were.

Points: ledger rows are *moved*, not copied with transfer entries. Each row keeps its kind,
points, expiry and idempotency key (the lot key that debits refer to), so every lot keeps its
own expiry and every debit its allocations; only the owner changes, and both accounts' balances
are set to their ledger sums in the same transaction (balance = ledger sum holds). Undo moves the
same rows back — plus the earn entries written since the merge for the bookings that go back —
and refuses (nothing changes) when the kept member has since redeemed points from those lots.

Not moved: score snapshots (one per card and day, history of the card), the demo's ground truth
and the absorbed card's points account row (its balance becomes 0). A referral between the two
merged cards is removed (it would be a self-referral) and restored by undo. An absorbed pet
whose name the kept member already has is folded into that pet: its bookings and plans point to
the kept member's pet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core import loyalty
from core.loyalty.points import validate_ledger
from core.scope import PermissionDenied, Scope
from db import repo
from db.dialect import is_postgres
from db.loyalty import load_ledger
from db.loyalty.ledger import _lock_accounts, _refresh_balances
from db.models import (
    Booking,
    Customer,
    MemberMerge,
    Message,
    ModelReview,
    MonthlyPlan,
    Pet,
    PointsLedger,
    Referral,
    StoredValueEntry,
    Task,
    utcnow,
)
from db.scoping import scoped

#: The permission a merge and its undo need (store managers and chain admins): merging is part
#: of bringing members in from an import or another system.
MERGE_PERMISSION: Final = "import"

#: Tables whose ``customer_id`` moves to the kept member: key in ``MemberMerge.moved`` → model.
MOVED_TABLES: Final = {
    "booking": Booking,
    "pet": Pet,
    "points_ledger": PointsLedger,
    "monthly_plan": MonthlyPlan,
    "stored_value": StoredValueEntry,
    "message": Message,
    "task": Task,
    "model_review": ModelReview,
}

#: Kept-member fields a merge may fill from the absorbed member when they are empty.
FILLED_FIELDS: Final = ("phone", "phone_raw", "line_id", "wechat_openid", "email", "birthday", "gender")

#: Columns of :func:`list_merges`.
MERGE_COLUMNS: Final = (
    "merge_id",
    "keep_id",
    "absorb_id",
    "keep_external_id",
    "absorb_external_id",
    "keep_name",
    "absorb_name",
    "keep_home_store_id",
    "absorb_home_store_id",
    "actor",
    "score",
    "evidence",
    "merged_at",
    "undone_at",
    "undone_by",
)

_CHUNK: Final = 5000


class MergeError(ValueError):
    """A merge or undo that cannot be done as asked (nothing changed).

    ``code`` names the reason for people (the i18n key ``members.error.<code>``); the message
    says it in English for the CLI and logs.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge or undo did: the record's id and how many rows of each kind moved."""

    merge_id: int
    keep_id: int
    absorb_id: int
    counts: dict[str, int]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _from_json(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in ("birthday", "joined_on"):
        return date.fromisoformat(value)
    if field == "opted_out_at":
        return datetime.fromisoformat(value)
    return value


def _lock_customers(session: Session, ids: list[int]) -> dict[int, Customer]:
    """The two customers, locked in id order on PostgreSQL (two merges of one card serialise)."""
    statement = select(Customer).where(Customer.id.in_(sorted(ids))).order_by(Customer.id)
    if is_postgres(session):
        statement = statement.with_for_update()
    return {int(c.id): c for c in session.scalars(statement)}  # type: ignore[arg-type]


def _check_member(customer: Customer | None, scope: Scope, label: str) -> Customer:
    # A card outside the caller's stores reads as "not found", like every scoped read.
    if customer is None or customer.anonymized_at is not None or not scope.allows_store(customer.home_store_id):
        raise MergeError(f"{label} member not found", code="not_found")
    return customer


def _ids(session: Session, statement: Any) -> list[int]:
    return sorted(int(i) for i in session.scalars(statement))


def _repoint(session: Session, column: Any, ids: list[int], *, to: int) -> None:
    table = column.table
    for start in range(0, len(ids), _CHUNK):
        session.execute(update(table).where(table.c.id.in_(ids[start : start + _CHUNK])).values({column.key: to}))


def merge_members(
    session: Session,
    *,
    scope: Scope,
    keep_id: int,
    absorb_id: int,
    score: float | None = None,
    evidence: tuple[str, ...] | list[str] = (),
) -> MergeOutcome:
    """Merge member ``absorb_id`` into member ``keep_id`` in the caller's transaction; audited.

    Parameters
    ----------
    scope
        The caller; needs :data:`MERGE_PERMISSION`, and both members' home stores must be in its
        stores (a card outside them reads as not found).
    keep_id, absorb_id
        The member that stays and the card that is merged into it.
    score, evidence
        The match that proposed the pair (kept on the record for the audit trail).

    Returns
    -------
    MergeOutcome
        The new merge record's id and the rows moved per kind.

    Raises
    ------
    PermissionDenied
        Without :data:`MERGE_PERMISSION`.
    MergeError
        Same member twice, a member not found, or a card already merged.
    """
    require_merge(scope)
    if int(keep_id) == int(absorb_id):
        raise MergeError("a member cannot be merged into itself", code="same_member")
    customers = _lock_customers(session, [int(keep_id), int(absorb_id)])
    keep = _check_member(customers.get(int(keep_id)), scope, "kept")
    absorb = _check_member(customers.get(int(absorb_id)), scope, "absorbed")
    # Lock both points accounts (on SQLite this first write takes the database's write lock), then
    # read both cards again: a merge another session committed meanwhile is seen, not repeated.
    _lock_accounts(session, [keep.id, absorb.id])  # type: ignore[list-item]
    session.refresh(keep)
    session.refresh(absorb)
    for member in (keep, absorb):
        if member.merged_into_id is not None:
            raise MergeError(
                f"member {member.external_id} is already merged into another member", code="already_merged"
            )
    k, a = int(keep.id), int(absorb.id)  # type: ignore[arg-type]
    moved: dict[str, Any] = {}

    # Pets: a pet whose name the kept member already has is folded into that pet.
    keeper_pets = {name: pid for pid, name in session.execute(select(Pet.id, Pet.name).where(Pet.customer_id == k))}
    folded: dict[str, int] = {}
    for pid, name in session.execute(select(Pet.id, Pet.name).where(Pet.customer_id == a)).all():
        if name in keeper_pets:
            folded[str(pid)] = int(keeper_pets[name])
    if folded:
        booking_pets = session.execute(
            select(Booking.id, Booking.pet_id).where(Booking.pet_id.in_([int(p) for p in folded]))
        ).all()
        plan_pets = session.execute(
            select(MonthlyPlan.id, MonthlyPlan.pet_id).where(MonthlyPlan.pet_id.in_([int(p) for p in folded]))
        ).all()
        for model, rows in ((Booking, booking_pets), (MonthlyPlan, plan_pets)):
            for row_id, old in rows:
                session.execute(update(model).where(model.id == row_id).values(pet_id=folded[str(old)]))
        moved["pet_folded"] = folded
        moved["booking_pet"] = [[int(i), int(p)] for i, p in booking_pets]
        moved["plan_pet"] = [[int(i), int(p)] for i, p in plan_pets]

    for key, model in MOVED_TABLES.items():
        statement = select(model.id).where(model.customer_id == a)
        if key == "pet" and folded:
            statement = statement.where(model.id.not_in([int(p) for p in folded]))
        ids = _ids(session, statement)
        _repoint(session, model.__table__.c.customer_id, ids, to=k)
        moved[key] = ids

    # Referrals: one between the two cards would become a self-referral, so it goes (undo restores it).
    between = session.scalars(
        select(Referral).where(
            ((Referral.referrer_id == a) & (Referral.referee_id == k))
            | ((Referral.referrer_id == k) & (Referral.referee_id == a))
        )
    ).all()
    moved["referral_deleted"] = [
        {
            "id": r.id,
            "referrer_id": r.referrer_id,
            "referee_id": r.referee_id,
            "code": r.code,
            "created_at": r.created_at.isoformat(),
        }
        for r in between
    ]
    for r in between:
        session.execute(delete(Referral).where(Referral.id == r.id))
    moved["referral_referrer"] = _ids(session, select(Referral.id).where(Referral.referrer_id == a))
    _repoint(session, Referral.__table__.c.referrer_id, moved["referral_referrer"], to=k)
    keeper_referred = session.scalar(select(func.count(Referral.id)).where(Referral.referee_id == k)) or 0
    moved["referral_referee"] = (
        [] if keeper_referred else _ids(session, select(Referral.id).where(Referral.referee_id == a))
    )
    _repoint(session, Referral.__table__.c.referee_id, moved["referral_referee"], to=k)
    moved["customer_referred_by"] = _ids(
        session, select(Customer.id).where(Customer.referred_by == a, Customer.id != k)
    )
    _repoint(session, Customer.__table__.c.referred_by, moved["customer_referred_by"], to=k)

    # The kept member's own fields: empty contacts filled, tags united, the earlier join date, an
    # opt-out respected, a referral by the absorbed card dropped (it is now the same person).
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(field: str, value: Any) -> None:
        current = getattr(keep, field)
        if value != current:
            before[field] = _json_value(current)
            after[field] = _json_value(value)
            setattr(keep, field, value)

    for field in FILLED_FIELDS:
        if getattr(keep, field) in (None, "") and getattr(absorb, field) not in (None, ""):
            change(field, getattr(absorb, field))
    tags = list(dict.fromkeys([*(keep.tags or []), *(absorb.tags or [])]))
    change("tags", tags)
    if absorb.joined_on is not None and (keep.joined_on is None or absorb.joined_on < keep.joined_on):
        change("joined_on", absorb.joined_on)
    if keep.opted_out_at is None and absorb.opted_out_at is not None:
        change("opted_out_at", absorb.opted_out_at)
    if keep.referred_by == a:
        change("referred_by", None)
    elif keep.referred_by is None and absorb.referred_by not in (None, k):
        change("referred_by", absorb.referred_by)
    moved["keep_after"] = after
    absorb.merged_into_id = k
    session.add_all([keep, absorb])
    session.flush()
    _refresh_balances(session, [k, a])

    record = MemberMerge(
        keep_id=k,
        absorb_id=a,
        actor=scope.actor[:64],
        score=score,
        evidence=list(evidence),
        moved=moved,
        keep_before=before,
    )
    session.add(record)
    session.flush()
    counts = _counts(moved)
    # The audit entry names the members by internal id only (member numbers may be phone numbers).
    repo.record_audit(
        session,
        actor=scope.actor,
        action="member.merge",
        entity="member_merge",
        entity_id=record.id,
        store_id=keep.home_store_id,
        before={"keep_id": k, "absorb_id": a, "absorb_home_store_id": absorb.home_store_id},
        after={"counts": counts, "score": score, "evidence": list(evidence)},
    )
    return MergeOutcome(int(record.id), k, a, counts)  # type: ignore[arg-type]


def _counts(moved: dict[str, Any]) -> dict[str, int]:
    counts = {key: len(moved.get(key, [])) for key in MOVED_TABLES}
    counts["referrals"] = (
        len(moved.get("referral_referrer", []))
        + len(moved.get("referral_referee", []))
        + len(moved.get("referral_deleted", []))
    )
    counts["referred_customers"] = len(moved.get("customer_referred_by", []))
    counts["pets_folded"] = len(moved.get("pet_folded", {}))
    return counts


def _move_back(session: Session, column: Any, ids: list[int], *, frm: int, to: int) -> None:
    table = column.table
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            update(table).where(table.c.id.in_(ids[start : start + _CHUNK]), column == frm).values({column.key: to})
        )


def undo_merge(session: Session, *, scope: Scope, merge_id: int) -> MergeOutcome:
    """Put both members of merge ``merge_id`` back as they were, in the caller's transaction; audited.

    Rows written since the merge stay with the kept member, except the earn entries of bookings
    that go back. Refused (:class:`MergeError`, nothing changed) when the merge is unknown or
    already undone, when the kept member has since been merged into another one, or when points
    from the moved lots were redeemed since (the ledgers would no longer add up).
    """
    require_merge(scope)
    record = session.get(MemberMerge, int(merge_id))
    if record is None:
        raise MergeError(f"merge {merge_id} not found", code="not_found")
    customers = _lock_customers(session, [record.keep_id, record.absorb_id])
    keep = _check_member(customers.get(record.keep_id), scope, "kept")
    absorb = _check_member(customers.get(record.absorb_id), scope, "absorbed")
    _lock_accounts(session, [record.keep_id, record.absorb_id])  # the write lock first, as in a merge
    for row in (record, keep, absorb):
        session.refresh(row)
    if record.undone_at is not None:
        raise MergeError(f"merge {merge_id} was already undone", code="already_undone")
    if keep.merged_into_id is not None:
        raise MergeError(
            f"member {keep.external_id} was merged again since; undo that merge first", code="merged_again"
        )
    if absorb.merged_into_id != keep.id:
        raise MergeError(
            f"member {absorb.external_id} is no longer merged into {keep.external_id}", code="merged_again"
        )
    k, a = record.keep_id, record.absorb_id
    moved = record.moved or {}

    for key, model in MOVED_TABLES.items():
        _move_back(session, model.__table__.c.customer_id, [int(i) for i in moved.get(key, [])], frm=k, to=a)
    # Points earned since the merge for the bookings that go back follow them.
    earn_keys = [f"earn:booking:{b}" for b in moved.get("booking", [])]
    for start in range(0, len(earn_keys), _CHUNK):
        session.execute(
            update(PointsLedger)
            .where(PointsLedger.idempotency_key.in_(earn_keys[start : start + _CHUNK]), PointsLedger.customer_id == k)
            .values(customer_id=a)
        )
    for row_id, pet_id in moved.get("booking_pet", []):
        session.execute(update(Booking).where(Booking.id == int(row_id)).values(pet_id=int(pet_id)))
    for row_id, pet_id in moved.get("plan_pet", []):
        session.execute(update(MonthlyPlan).where(MonthlyPlan.id == int(row_id)).values(pet_id=int(pet_id)))
    _move_back(session, Referral.__table__.c.referrer_id, moved.get("referral_referrer", []), frm=k, to=a)
    _move_back(session, Referral.__table__.c.referee_id, moved.get("referral_referee", []), frm=k, to=a)
    for row in moved.get("referral_deleted", []):
        taken = session.scalar(select(func.count(Referral.id)).where(Referral.referee_id == row["referee_id"]))
        if not taken:
            session.execute(
                insert(Referral).values(
                    id=row["id"],
                    referrer_id=row["referrer_id"],
                    referee_id=row["referee_id"],
                    code=row["code"],
                    created_at=datetime.fromisoformat(row["created_at"]),
                )
            )
    _move_back(session, Customer.__table__.c.referred_by, moved.get("customer_referred_by", []), frm=k, to=a)

    after = moved.get("keep_after", {})
    for field, old in (record.keep_before or {}).items():
        # A field someone changed since the merge keeps that newer value.
        if _json_value(getattr(keep, field)) == after.get(field):
            setattr(keep, field, _from_json(field, old))
    absorb.merged_into_id = None
    session.add_all([keep, absorb])
    session.flush()

    ledger = load_ledger(session, scope=Scope.system(), customer_ids=[k, a])
    try:
        validate_ledger(loyalty.entries_from_frame(ledger))
    except loyalty.LedgerError as exc:
        raise MergeError(
            "points from the merged card were redeemed since the merge; the merge cannot be undone",
            code="points_redeemed",
        ) from exc
    _refresh_balances(session, [k, a])
    record.undone_at = utcnow()
    record.undone_by = scope.actor[:64]
    session.add(record)
    counts = _counts(moved)
    repo.record_audit(
        session,
        actor=scope.actor,
        action="member.merge_undo",
        entity="member_merge",
        entity_id=record.id,
        store_id=keep.home_store_id,
        before={"keep_id": k, "absorb_id": a},
        after={"counts": counts},
    )
    return MergeOutcome(int(record.id), k, a, counts)  # type: ignore[arg-type]


def forget_merge_values(session: Session, *, customer_id: int) -> None:
    """Drop the field values the merge records of ``customer_id`` kept for an undo (contacts,
    tags): called when the customer is anonymised. An undo then leaves those fields as they are."""
    for record in session.scalars(
        select(MemberMerge).where((MemberMerge.keep_id == customer_id) | (MemberMerge.absorb_id == customer_id))
    ):
        record.keep_before = {}
        record.moved = {**(record.moved or {}), "keep_after": {}}
        session.add(record)


def redirect_merged(connection: Connection | Session, ids: dict[str, int]) -> dict[str, int]:
    """``ids`` (member number → internal id) with every merged card replaced by the member it was
    merged into, following merges of merges: what an import attaches new bookings to.

    Reads only the merged cards (few: merges are made by hand), not the whole member table.
    """
    merged = {
        int(c): int(m)
        for c, m in connection.execute(
            select(Customer.id, Customer.merged_into_id).where(Customer.merged_into_id.is_not(None))
        ).all()
    }
    if not merged:
        return ids

    def survivor(customer_id: int) -> int:
        for _ in range(len(merged) + 1):  # a chain never loops; the bound only guards bad data
            if customer_id not in merged:
                break
            customer_id = merged[customer_id]
        return customer_id

    return {key: survivor(int(value)) for key, value in ids.items()}


def identity_rows(session: Session, *, scope: Scope, customer_ids: list[int]) -> pd.DataFrame:
    """``core.identity.IDENTITY_COLUMNS`` of the given listed members the caller may see."""
    statement = select(
        Customer.id,
        Customer.external_id,
        Customer.name,
        Customer.phone,
        Customer.line_id,
        Customer.email,
        Customer.home_store_id,
    ).where(Customer.id.in_(sorted({int(c) for c in customer_ids})), repo.listed_customer())
    rows = [r for r in session.execute(statement).all() if scope.allows_store(r[6])]
    return pd.DataFrame(
        rows, columns=["customer_id", "external_id", "name", "phone", "line_id", "email", "home_store_id"]
    )


def member_id(session: Session, *, scope: Scope, external_id: str) -> int | None:
    """The internal id of the member with ``external_id`` whose home store the caller may see
    (merged cards included: they are what an undo names); ``None`` otherwise."""
    row = session.execute(
        select(Customer.id, Customer.home_store_id, Customer.anonymized_at).where(
            Customer.external_id == str(external_id)
        )
    ).first()
    if row is None or row[2] is not None or not scope.allows_store(row[1]):
        return None
    return int(row[0])


def visit_counts(session: Session, *, scope: Scope, customer_ids: list[int]) -> dict[int, int]:
    """Completed visits per member (at the caller's stores), for the duplicate list."""
    ids = sorted({int(c) for c in customer_ids})
    out: dict[int, int] = {}
    stores = scope.store_ids
    for start in range(0, len(ids), _CHUNK):
        statement = (
            select(Booking.customer_id, func.count(Booking.id))
            .where(Booking.customer_id.in_(ids[start : start + _CHUNK]), Booking.status == "completed")
            .group_by(Booking.customer_id)
        )
        statement = scoped(statement, Booking.store_id, stores)
        out.update({int(c): int(n) for c, n in session.execute(statement)})
    return {c: out.get(c, 0) for c in ids}


def list_merges(session: Session, *, scope: Scope, limit: int = 200) -> pd.DataFrame:
    """Merges of members whose home stores the caller may see, newest first: :data:`MERGE_COLUMNS`."""
    require_merge(scope)
    keep = Customer.__table__.alias("keep")
    absorb = Customer.__table__.alias("absorb")
    statement = (
        select(
            MemberMerge.id,
            MemberMerge.keep_id,
            MemberMerge.absorb_id,
            keep.c.external_id,
            absorb.c.external_id,
            keep.c.name,
            absorb.c.name,
            keep.c.home_store_id,
            absorb.c.home_store_id,
            MemberMerge.actor,
            MemberMerge.score,
            MemberMerge.evidence,
            MemberMerge.merged_at,
            MemberMerge.undone_at,
            MemberMerge.undone_by,
        )
        .join(keep, keep.c.id == MemberMerge.keep_id)
        .join(absorb, absorb.c.id == MemberMerge.absorb_id)
        .where(keep.c.anonymized_at.is_(None), absorb.c.anonymized_at.is_(None))
    )
    if scope.store_ids is not None:
        stores = sorted(scope.store_ids) or [-1]
        statement = statement.where(keep.c.home_store_id.in_(stores), absorb.c.home_store_id.in_(stores))
    rows = session.execute(statement.order_by(MemberMerge.id.desc()).limit(max(1, int(limit)))).all()
    frame = pd.DataFrame(rows, columns=list(MERGE_COLUMNS))
    for column in ("merged_at", "undone_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="mixed")
    return frame


def require_merge(scope: Scope) -> None:
    """Raise :class:`PermissionDenied` unless the caller may merge members."""
    if not scope.can(MERGE_PERMISSION):
        raise PermissionDenied(
            f"{scope.actor} ({scope.role}) may not merge members (needs the {MERGE_PERMISSION!r} permission)"
        )
