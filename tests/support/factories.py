"""Tiny, hand-checkable worlds written through the ORM (for repository and page tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine

from core.scope import Scope
from db.engine import session_scope
from db.models import Booking, Customer, Service, Store
from db.users import create_user

PASSWORD = "correct-horse-9"
SYSTEM = Scope.system("test")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def small_world(engine: Engine) -> dict[str, int]:
    """Two stores (A in Taipei, B in Shanghai), three customers, a handful of bookings, four users.

    Store A: customer a1 visits 2026-10-01 and 2026-10-20 (NT$1,000 + NT$200 add-on each),
    customer a2 visits 2026-11-01 and has a no-show on 2026-11-10.
    Store B: customer b1 visits 2026-11-05 (¥300).
    """
    with session_scope(engine) as session:
        store_a = Store(code="A01", name="Store A", city="Taipei", timezone="Asia/Taipei", currency="TWD")
        store_b = Store(
            code="B01", name="Store B", city="Shanghai", timezone="Asia/Shanghai", currency="CNY", country="CN"
        )
        session.add_all([store_a, store_b])
        service = Service(name="Cut", category="haircut", price=1000)
        session.add(service)
        session.flush()
        a1 = Customer(
            external_id="A-1",
            name="王小美",
            home_store_id=store_a.id,
            phone="+886912345678",
            joined_on=date(2026, 1, 1),
        )
        a2 = Customer(
            external_id="A-2",
            name="<img src=x onerror=alert(1)>",
            home_store_id=store_a.id,
            phone="+886922333444",
            joined_on=date(2026, 2, 1),
        )
        b1 = Customer(
            external_id="B-1", name="李四", home_store_id=store_b.id, phone="+8613812345678", joined_on=date(2026, 3, 1)
        )
        session.add_all([a1, a2, b1])
        session.flush()

        def booking(
            key: str, store: Store, customer: Customer, when: datetime, status: str, amount: float, addon: float = 0.0
        ) -> Booking:
            return Booking(
                dedupe_key=key,
                external_id=key,
                store_id=store.id,
                customer_id=customer.id,
                service_id=service.id,
                scheduled_at=when,
                status=status,
                amount=amount,
                addon_amount=addon,
            )

        session.add_all(
            [
                # 02:00 UTC is 10:00 in Taipei.
                booking("k1", store_a, a1, utc(2026, 10, 1, 2), "completed", 1000, 200),
                booking("k2", store_a, a1, utc(2026, 10, 20, 2), "completed", 1000, 200),
                booking("k3", store_a, a2, utc(2026, 11, 1, 2), "completed", 800),
                booking("k4", store_a, a2, utc(2026, 11, 10, 2), "no_show", 0),
                # 17:00 UTC on Nov 4 is 01:00 on Nov 5 in Shanghai: a local-day boundary case.
                booking("k5", store_b, b1, utc(2026, 11, 4, 17), "completed", 300),
            ]
        )
        session.flush()
        create_user(session, scope=SYSTEM, username="admin", password=PASSWORD, role="chain_admin")
        create_user(
            session, scope=SYSTEM, username="mgr_a", password=PASSWORD, role="store_manager", store_ids=[store_a.id]
        )
        create_user(session, scope=SYSTEM, username="mkt_a", password=PASSWORD, role="marketer", store_ids=[store_a.id])
        create_user(
            session, scope=SYSTEM, username="desk_b", password=PASSWORD, role="front_desk", store_ids=[store_b.id]
        )
        return {"store_a": store_a.id, "store_b": store_b.id, "a1": a1.id, "a2": a2.id, "b1": b1.id}
