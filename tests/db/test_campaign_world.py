"""Hand-built campaign worlds shared by the campaign and worker tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from core.scope import Scope
from dashboard.settings import Settings
from dashboard.worker import CampaignWorker, WorkerOptions
from db import campaigns as campaign_repo
from db.engine import session_scope
from db.models import Booking, Customer, Service, Store

TODAY = date(2026, 5, 4)
# 03:00 UTC = 11:00 in Taipei: outside quiet hours.
NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
SYSTEM = Scope.system("test")


def world(
    engine: Engine,
    *,
    n: int = 6,
    store_code: str = "S01",
    tz: str = "Asia/Taipei",
    cadence: int = 28,
    last_visit_days_ago: int = 21,
    capacity: int = 40,
    phone: bool = True,
) -> dict[str, Any]:
    """One store with ``n`` customers on a ``cadence``-day rhythm (6 visits each), last visit
    ``last_visit_days_ago`` before TODAY, so their next due date is TODAY + (cadence − that)."""
    with session_scope(engine) as session:
        store = Store(code=store_code, name=f"Store {store_code}", timezone=tz, daily_capacity=capacity)
        session.add(store)
        service = session.scalars(select(Service).where(Service.name == "Groom")).first()
        if service is None:
            service = Service(name="Groom", category="grooming", price=1000)
            session.add(service)
        session.flush()
        ids = []
        for i in range(n):
            customer = Customer(
                external_id=f"{store_code}-{i}",
                name=f"客人{i}",
                home_store_id=store.id,
                phone=f"+8869120000{i:02d}" if phone else None,
                line_id=f"U{store_code}{i:030d}",
                email=f"c{i}@example.com",
                consent_line=True,
                consent_sms=True,
                consent_email=True,
                joined_on=date(2025, 1, 1),
            )
            session.add(customer)
            session.flush()
            ids.append(customer.id)
            for k in range(6):
                day = TODAY - timedelta(days=last_visit_days_ago + cadence * k)
                session.add(
                    Booking(
                        dedupe_key=f"{store_code}-{i}-{k}",
                        store_id=store.id,
                        customer_id=customer.id,
                        service_id=service.id,
                        status="completed",
                        amount=1000,
                        scheduled_at=datetime(day.year, day.month, day.day, 3, tzinfo=UTC),
                        created_at=datetime(day.year, day.month, day.day, 1, tzinfo=UTC),
                    )
                )
        return {"store": store.id, "customers": ids}


def campaign(
    engine: Engine,
    *,
    store_id: int | None,
    trigger: dict[str, Any] | None = None,
    channel: str = "line",
    holdout_pct: float = 0.0,
    cap: int = 0,
    name: str = "c",
    variants: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> int:
    """An approved, active campaign (system actor)."""
    templates = {
        "variants": variants
        or [
            {
                "key": "A",
                "weight": 1,
                "templates": {"zh-TW": "{name} 您好,預約:{booking_link}", "en": "Hi {name} {booking_link}"},
            }
        ]
    }
    with session_scope(engine) as session:
        c = campaign_repo.create_campaign(
            session,
            scope=SYSTEM,
            name=name,
            store_id=store_id,
            audience={},
            trigger=trigger or {"kind": "one_off", "at": "2026-05-04T10:00"},
            templates=templates,
            channel=channel,
            holdout_pct=holdout_pct,
            frequency_cap_days=cap,
            **extra,
        )
        campaign_repo.approve_campaign(session, scope=SYSTEM, campaign_id=c.id)
        return int(c.id)


def line_settings(base_url: str) -> Settings:
    return Settings(
        database_url="sqlite://",
        channel_config={
            "LINE_CHANNEL_TOKEN": "test-token",
            "LINE_API_BASE": base_url,
            "LINE_TIMEOUT": "5",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM_NUMBER": "+15550001111",
        },
    )


def make_worker(engine: Engine, base_url: str | None = None, **options: Any) -> CampaignWorker:
    settings = line_settings(base_url) if base_url else Settings(database_url="sqlite://")
    opts = WorkerOptions(
        worker_id=options.pop("worker_id", "w1"), claim_timeout_seconds=300, backoff_base_seconds=60, **options
    )
    return CampaignWorker(engine, settings=settings, options=opts)


def messages(engine: Engine, campaign_id: int | None = None) -> list[Any]:
    from db.models import Message

    with session_scope(engine) as session:
        statement = select(Message).order_by(Message.id)
        if campaign_id is not None:
            statement = statement.where(Message.campaign_id == campaign_id)
        return list(session.scalars(statement))
