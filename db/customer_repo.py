"""Customer 360 reads and writes: search, profile, visits, pets, points, messages, tags, reviews.

Every function takes the caller's scope; a customer whose home store the caller may not see is
"not found" (``None`` / empty frames), never an error that leaks whether the row exists.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import localtime
from core.scope import PermissionDenied, Scope
from db import repo
from db.engine import session_scope
from db.models import (
    Booking,
    Campaign,
    Customer,
    Message,
    ModelReview,
    Pet,
    PointsAccount,
    PointsLedger,
    Service,
    Staff,
    Store,
    TagDictionary,
)
from db.scoping import scoped

#: The chain-wide default tag dictionary: category → values (zh-TW, as staff type them).
DEFAULT_TAGS: dict[str, tuple[str, ...]] = {
    "coat_type": ("短毛", "長毛", "捲毛", "雙層毛", "易打結"),
    "skin_type": ("乾性", "油性", "混合性", "敏感肌", "易過敏"),
    "preferred_slot": ("平日上午", "平日下午", "晚間時段", "週末"),
    "preference": ("指定設計師", "安靜服務", "怕吹風機", "需提醒"),
}

#: Columns of :func:`search_customers`.
SEARCH_COLUMNS = ("customer_id", "external_id", "name", "phone", "email", "home_store_id")


def _customer_scope(statement: Any, scope: Scope) -> Any:
    stores = scope.store_ids
    statement = statement.where(repo.listed_customer())
    return scoped(statement, Customer.home_store_id, stores)


def search_customers(
    session: Session, *, scope: Scope, query: str, limit: int = 50, store_ids: list[int] | None = None
) -> pd.DataFrame:
    """Customers of the caller's stores whose name, phone or external id contains ``query``.

    Phone matching ignores spaces and dashes and accepts a local ``09…`` number for ``+8869…``.
    """
    text = (query or "").strip()
    statement = select(
        Customer.id, Customer.external_id, Customer.name, Customer.phone, Customer.email, Customer.home_store_id
    )
    statement = _customer_scope(statement, scope)
    statement = scoped(statement, Customer.home_store_id, repo.allowed_store_ids(scope=scope, store_ids=store_ids))
    if text:
        like = f"%{text}%"
        clauses = [Customer.name.ilike(like), Customer.external_id.ilike(like)]
        digits = re.sub(r"\D", "", text)
        if len(digits) >= 3:
            clauses.append(Customer.phone.like(f"%{digits.lstrip('0')}%"))
        statement = statement.where(or_(*clauses))
    rows = session.execute(statement.order_by(Customer.name, Customer.id).limit(limit)).all()
    return pd.DataFrame(rows, columns=list(SEARCH_COLUMNS))


def get_customer(session: Session, *, scope: Scope, customer_id: int) -> dict[str, Any] | None:
    """The profile of one customer the caller may see (``None`` otherwise)."""
    statement = _customer_scope(
        select(Customer, Store.code, Store.name)
        .outerjoin(Store, Store.id == Customer.home_store_id)
        .where(Customer.id == customer_id),
        scope,
    )
    row = session.execute(statement).first()
    if row is None:
        return None
    customer, code, store_name = row
    return {
        "customer_id": customer.id,
        "external_id": customer.external_id,
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "line_id": customer.line_id,
        "birthday": customer.birthday,
        "gender": customer.gender,
        "home_store_id": customer.home_store_id,
        "home_store_code": code,
        "home_store_name": store_name,
        "joined_on": customer.joined_on,
        "opted_out_at": customer.opted_out_at,
        "tags": list(customer.tags or []),
        "consent": {
            "sms": customer.consent_sms,
            "line": customer.consent_line,
            "email": customer.consent_email,
            "wechat": customer.consent_wechat,
        },
    }


def customer_visits(session: Session, *, scope: Scope, customer_id: int) -> pd.DataFrame:
    """Bookings of one customer at stores the caller may see, store-local times, newest last.

    Columns: booking_id, scheduled_at, status, store_code, service, category, staff, pet_id,
    amount, addon_amount.
    """
    if get_customer(session, scope=scope, customer_id=customer_id) is None:
        return pd.DataFrame(
            columns=[
                "booking_id",
                "scheduled_at",
                "status",
                "store_code",
                "service",
                "category",
                "staff",
                "pet_id",
                "amount",
                "addon_amount",
            ]
        )
    statement = (
        select(
            Booking.id,
            Booking.scheduled_at,
            Booking.status,
            Store.code,
            Service.name,
            Service.category,
            Staff.name,
            Booking.pet_id,
            Booking.amount,
            Booking.addon_amount,
            Booking.store_id,
        )
        .join(Store, Store.id == Booking.store_id)
        .outerjoin(Service, Service.id == Booking.service_id)
        .outerjoin(Staff, Staff.id == Booking.staff_id)
        .where(Booking.customer_id == customer_id)
    )
    statement = scoped(statement, Booking.store_id, scope.store_ids)
    rows = session.execute(statement.order_by(Booking.scheduled_at, Booking.id)).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "booking_id",
            "scheduled_at",
            "status",
            "store_code",
            "service",
            "category",
            "staff",
            "pet_id",
            "amount",
            "addon_amount",
            "store_id",
        ],
    )
    frame["scheduled_at"] = localtime.to_local(frame["scheduled_at"], frame["store_id"], repo.store_timezones(session))
    frame["pet_id"] = frame["pet_id"].astype("Int64")
    return frame.drop(columns=["store_id"])


def customer_pets(session: Session, *, scope: Scope, customer_id: int) -> pd.DataFrame:
    """Pets of one customer the caller may see."""
    columns = ["pet_id", "name", "species", "breed", "coat_length", "birthday", "vaccine_due"]
    if get_customer(session, scope=scope, customer_id=customer_id) is None:
        return pd.DataFrame(columns=columns)
    rows = session.execute(
        select(Pet.id, Pet.name, Pet.species, Pet.breed, Pet.coat_length, Pet.birthday, Pet.vaccine_due)
        .where(Pet.customer_id == customer_id)
        .order_by(Pet.id)
    ).all()
    return pd.DataFrame(rows, columns=columns)


def customer_points(
    session: Session, *, scope: Scope, customer_id: int, limit: int = 50
) -> tuple[dict[str, Any], pd.DataFrame]:
    """``({"balance", "tier", "tier_since"}, latest ledger rows)`` of one customer."""
    columns = ["occurred_at", "kind", "points", "expires_at", "source", "note"]
    account: dict[str, Any] = {"balance": 0, "tier": None, "tier_since": None}
    if get_customer(session, scope=scope, customer_id=customer_id) is None:
        return account, pd.DataFrame(columns=columns)
    row = session.get(PointsAccount, customer_id)
    if row is not None:
        account = {"balance": int(row.balance), "tier": row.tier, "tier_since": row.tier_since}
    rows = session.execute(
        select(
            PointsLedger.occurred_at,
            PointsLedger.kind,
            PointsLedger.points,
            PointsLedger.expires_at,
            PointsLedger.source,
            PointsLedger.note,
        )
        .where(PointsLedger.customer_id == customer_id)
        .order_by(PointsLedger.occurred_at.desc(), PointsLedger.id.desc())
        .limit(limit)
    ).all()
    return account, pd.DataFrame(rows, columns=columns)


def customer_messages(session: Session, *, scope: Scope, customer_id: int, limit: int = 50) -> pd.DataFrame:
    """Messages to one customer (newest first): campaign, channel, status, times, body."""
    columns = ["message_id", "campaign", "channel", "status", "reason", "scheduled_for", "sent_at", "body"]
    if get_customer(session, scope=scope, customer_id=customer_id) is None:
        return pd.DataFrame(columns=columns)
    statement = (
        select(
            Message.id,
            Campaign.name,
            Message.channel,
            Message.status,
            Message.reason,
            Message.scheduled_for,
            Message.sent_at,
            Message.body,
        )
        .outerjoin(Campaign, Campaign.id == Message.campaign_id)
        .where(Message.customer_id == customer_id)
    )
    rows = session.execute(statement.order_by(Message.scheduled_for.desc(), Message.id.desc()).limit(limit)).all()
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------------------ tags
def seed_tag_dictionary(engine: Engine) -> int:
    """Insert the chain-wide :data:`DEFAULT_TAGS` (skipping existing entries); return rows added."""
    added = 0
    with session_scope(engine) as session:
        existing = {
            (row.category, row.value)
            for row in session.scalars(select(TagDictionary).where(TagDictionary.store_id.is_(None)))
        }
        for category, values in DEFAULT_TAGS.items():
            for value in values:
                if (category, value) not in existing:
                    session.add(TagDictionary(store_id=None, category=category, value=value))
                    added += 1
    return added


def tag_dictionary(session: Session, *, scope: Scope, store_id: int | None) -> dict[str, list[str]]:
    """Category → values for a store: chain-wide entries plus the store's own."""
    statement = select(TagDictionary.category, TagDictionary.value)
    if store_id is not None and scope.allows_store(store_id):
        statement = statement.where(or_(TagDictionary.store_id.is_(None), TagDictionary.store_id == store_id))
    else:
        statement = statement.where(TagDictionary.store_id.is_(None))
    out: dict[str, list[str]] = {}
    for category, value in session.execute(statement.order_by(TagDictionary.category, TagDictionary.id)):
        out.setdefault(category, [])
        if value not in out[category]:
            out[category].append(value)
    return out


def save_customer_tags(session: Session, *, scope: Scope, customer_id: int, tags: list[str]) -> list[str]:
    """Replace a customer's tags (order kept, duplicates dropped) and write an audit entry."""
    customer = session.get(Customer, customer_id)
    if customer is None or customer.anonymized_at is not None or not scope.allows_store(customer.home_store_id):
        raise PermissionDenied(f"{scope.actor} may not edit this customer")
    if not (scope.can("view") or scope.can("view_customer")):
        raise PermissionDenied(f"{scope.actor} ({scope.role}) may not edit customers")
    clean = list(dict.fromkeys(str(t).strip()[:40] for t in tags if str(t).strip()))
    before = list(customer.tags or [])
    if clean == before:
        return clean
    customer.tags = clean
    session.add(customer)
    repo.record_audit(
        session,
        actor=scope.actor,
        action="customer.tags",
        entity="customer",
        entity_id=customer_id,
        store_id=customer.home_store_id,
        before={"tags": before},
        after={"tags": clean},
    )
    return clean


# ------------------------------------------------------------------------------ model review
def record_model_review(
    session: Session, *, scope: Scope, customer_id: int, as_of: date, model_label: str, manual_label: str
) -> ModelReview:
    """Record a manager's verdict next to the model's label (for the AI-accuracy KPI); audited."""
    if get_customer(session, scope=scope, customer_id=customer_id) is None:
        raise PermissionDenied(f"{scope.actor} may not review this customer")
    review = ModelReview(
        customer_id=customer_id,
        reviewer=scope.actor,
        as_of=as_of,
        model_label=model_label[:32],
        manual_label=manual_label[:32],
    )
    session.add(review)
    repo.record_audit(
        session,
        actor=scope.actor,
        action="model.review",
        entity="customer",
        entity_id=customer_id,
        after={"as_of": as_of.isoformat(), "model": model_label, "manual": manual_label},
    )
    return review


def model_reviews(session: Session, *, scope: Scope, customer_id: int | None = None) -> pd.DataFrame:
    """Reviews of customers the caller may see (newest first)."""
    statement = _customer_scope(
        select(
            ModelReview.customer_id,
            ModelReview.reviewer,
            ModelReview.as_of,
            ModelReview.model_label,
            ModelReview.manual_label,
            ModelReview.created_at,
        ).join(Customer, Customer.id == ModelReview.customer_id),
        scope,
    )
    if customer_id is not None:
        statement = statement.where(ModelReview.customer_id == customer_id)
    rows = session.execute(statement.order_by(ModelReview.created_at.desc(), ModelReview.id.desc())).all()
    return pd.DataFrame(rows, columns=["customer_id", "reviewer", "as_of", "model_label", "manual_label", "created_at"])
