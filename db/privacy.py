"""Privacy actions: delete / anonymise a customer while keeping aggregate KPIs intact.

Anonymising removes everything that identifies the person and keeps what the numbers need:
bookings (store, dates, amounts, status), points, plans and messages' statuses stay, so revisit
rates, revenue and campaign results do not move. The customer disappears from customer lists
(``db.repo.load_customers`` skips anonymised rows) and can never be contacted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from core.scope import Scope
from db.models import Booking, Customer, Feedback, Message, Task, utcnow
from db.repo import record_audit

ANON_PREFIX = "anon-"


class CustomerNotFound(LookupError):
    """No such customer in the caller's stores (the same answer whether it exists elsewhere or not)."""


@dataclass(frozen=True)
class AnonymiseResult:
    customer_id: int
    external_id: str
    anonymized_at: datetime
    already: bool  # True when the customer had been anonymised before (nothing changed)


def _customer_in_scope(session: Session, scope: Scope, customer: Customer | None) -> Customer:
    if customer is None or not scope.allows_store(customer.home_store_id):
        raise CustomerNotFound("no such customer in your stores")
    return customer


def find_customer_id(session: Session, *, scope: Scope, external_id: str) -> int:
    """The id of the customer with ``external_id`` in the caller's stores.

    Raises
    ------
    CustomerNotFound
        Unknown, or the customer's home store is outside the caller's scope.
    """
    customer = session.scalar(select(Customer).where(Customer.external_id == external_id))
    return int(_customer_in_scope(session, scope, customer).id or 0)


def anonymise_customer(session: Session, *, scope: Scope, customer_id: int) -> AnonymiseResult:
    """Erase a customer's personal data in the caller's transaction; idempotent; audited.

    Cleared: name, phone, raw phone, email, LINE id, WeChat openid, birthday, gender, tags,
    attributes (imported raw columns), channel consents (and ``opted_out_at`` set, so no campaign
    can reach the row), the free text that may quote the person (raw columns kept on their
    bookings except the quantity, feedback comments, message bodies, task scripts). ``external_id`` becomes
    ``anon-<id>``; ``anonymized_at`` is set. Bookings, points, plans and scores stay.

    Parameters
    ----------
    scope
        The caller; needs ``anonymise`` (:class:`core.scope.PermissionDenied`, nothing written)
        and the customer's home store in scope (:class:`CustomerNotFound` otherwise).
    """
    scope.require("anonymise")
    customer = _customer_in_scope(session, scope, session.get(Customer, customer_id))
    if customer.anonymized_at is not None:
        return AnonymiseResult(int(customer.id or 0), customer.external_id, customer.anonymized_at, True)
    now = utcnow()
    customer.name = ""
    customer.phone = None
    customer.phone_raw = None
    customer.email = None
    customer.line_id = None
    customer.wechat_openid = None
    customer.birthday = None
    customer.gender = None
    customer.tags = []
    customer.attributes = {}
    customer.consent_sms = customer.consent_line = customer.consent_email = customer.consent_wechat = False
    customer.opted_out_at = customer.opted_out_at or now
    customer.anonymized_at = now
    customer.external_id = f"{ANON_PREFIX}{customer.id}"
    booking_ids = select(Booking.id).where(Booking.customer_id == customer.id)
    for booking in session.scalars(
        select(Booking).where(Booking.customer_id == customer.id, Booking.attributes.is_not(None))
    ):
        # Raw imported columns may hold notes or names; only the quantity feeds the numbers.
        quantity = (booking.attributes or {}).get("quantity")
        booking.attributes = {"quantity": quantity} if quantity is not None else None
    session.execute(update(Feedback).where(Feedback.booking_id.in_(booking_ids)).values(comment=""))
    session.execute(update(Message).where(Message.customer_id == customer.id).values(body=""))
    session.execute(update(Task).where(Task.customer_id == customer.id).values(script=""))
    # Cards merged into this member (db.merge_repo) are the same person: erased with it, and the
    # merge records forget the contact values they kept for an undo.
    from db.merge_repo import forget_merge_values

    for card in session.scalars(select(Customer.id).where(Customer.merged_into_id == customer.id)).all():
        anonymise_customer(session, scope=Scope.system(scope.actor), customer_id=int(card))
    forget_merge_values(session, customer_id=int(customer.id))  # type: ignore[arg-type]
    # The audit entry names the row by its internal id only: no personal data, not even the old
    # external id (shops often use the phone number as their member number).
    record_audit(
        session,
        actor=scope.actor,
        action="customer_anonymise",
        entity="customer",
        entity_id=customer.id,
        store_id=customer.home_store_id,
        after={"anonymized_at": now.isoformat()},
    )
    session.flush()
    return AnonymiseResult(int(customer.id or 0), customer.external_id, now, False)
