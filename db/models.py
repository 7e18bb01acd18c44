"""SQLModel tables of Revisit (DESIGN.md "Data model").

Timestamps are timezone-aware UTC (SQLModel's UTCDateTime: TIMESTAMPTZ on PostgreSQL, UTC text on
SQLite); the `db/` loaders convert to store-local naive time for `core/`.
Every table that holds shop data carries ``store_id`` (directly or through its customer) so
repository queries can scope by the caller's stores.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (the storage convention)."""
    return datetime.now(UTC)


# --- stores, staff, users -------------------------------------------------------------------


class StoreBase(SQLModel):
    code: str = Field(index=True, unique=True, max_length=32)
    name: str = Field(max_length=120)
    city: str = Field(default="", max_length=80)
    timezone: str = Field(default="Asia/Taipei", max_length=64)
    kind: str = Field(default="beauty_salon", max_length=32)
    currency: str = Field(default="TWD", max_length=3)
    country: str = Field(default="TW", max_length=2)
    daily_capacity: int = Field(default=40)


class Store(StoreBase, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)


class Staff(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    name: str = Field(max_length=120)
    role: str = Field(default="stylist", max_length=32)
    active: bool = Field(default=True)


class User(SQLModel, table=True):
    """A person who signs in. Roles: chain_admin, store_manager, marketer, front_desk."""

    __tablename__ = "app_user"
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    display_name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=32)
    disabled: bool = Field(default=False)
    locale: str = Field(default="zh-TW", max_length=8)
    # A cookie issued before this instant is rejected (logout, password change, disable).
    sessions_valid_after: datetime = Field(default_factory=utcnow)
    failed_logins: int = Field(default=0)
    locked_until: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class UserStore(SQLModel, table=True):
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    store_id: int = Field(foreign_key="store.id", primary_key=True)


# --- customers, pets, services, bookings ----------------------------------------------------


class Customer(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    external_id: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(default="", max_length=120)
    phone: Optional[str] = Field(default=None, max_length=20, index=True)
    phone_raw: Optional[str] = Field(default=None, max_length=40)
    line_id: Optional[str] = Field(default=None, max_length=64)
    wechat_openid: Optional[str] = Field(default=None, max_length=64)
    email: Optional[str] = Field(default=None, max_length=200)
    birthday: Optional[date] = None
    gender: Optional[str] = Field(default=None, max_length=8)
    home_store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)
    joined_on: Optional[date] = None
    referred_by: Optional[int] = Field(default=None, foreign_key="customer.id", index=True)
    referral_code: Optional[str] = Field(default=None, max_length=32, unique=True)
    consent_sms: bool = Field(default=False)
    consent_line: bool = Field(default=False)
    consent_email: bool = Field(default=False)
    consent_wechat: bool = Field(default=False)
    opted_out_at: Optional[datetime] = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    anonymized_at: Optional[datetime] = None
    # Set when a manager merged this member card into another one (``db.merge_repo``): the
    # card is then hidden from lists and KPIs, and its history belongs to that member.
    merged_into_id: Optional[int] = Field(default=None, foreign_key="customer.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Pet(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=80)
    species: str = Field(default="dog", max_length=16)
    breed: str = Field(default="", max_length=80)
    coat_length: Optional[str] = Field(default=None, max_length=16)
    birthday: Optional[date] = None
    vaccine_due: Optional[date] = None

    __table_args__ = (UniqueConstraint("customer_id", "name", name="uq_pet_owner_name"),)


class Service(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=120)
    kind: str = Field(default="", max_length=32)
    category: str = Field(default="other", max_length=32, index=True)
    price: float = Field(default=0)
    duration_min: int = Field(default=60)
    typical_cycle_days: Optional[int] = None


class ImportBatch(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # bookings | customers | pets | sql
    source: str = Field(default="", max_length=200)
    filename: str = Field(default="", max_length=300)
    actor: str = Field(default="system", max_length=64)
    status: str = Field(default="running", max_length=16)  # running | done | failed
    read: int = Field(default=0)
    imported: int = Field(default=0)
    duplicates: int = Field(default=0)
    rejected: int = Field(default=0)
    reject_report: Optional[str] = Field(default=None, max_length=400)
    error: Optional[str] = None
    watermark: Optional[str] = Field(default=None, max_length=64)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None


class Booking(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    external_id: Optional[str] = Field(default=None, max_length=64)
    # booking id when the source has one, else a hash of the canonical row: re-imports add nothing.
    dedupe_key: str = Field(unique=True, max_length=80)
    store_id: int = Field(foreign_key="store.id")
    customer_id: int = Field(foreign_key="customer.id")
    pet_id: Optional[int] = Field(default=None, foreign_key="pet.id", index=True)
    service_id: Optional[int] = Field(default=None, foreign_key="service.id")
    staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    designated: bool = Field(default=False)
    created_at: Optional[datetime] = None
    scheduled_at: datetime
    status: str = Field(default="completed", max_length=16)
    amount: float = Field(default=0)
    addon_amount: float = Field(default=0)
    channel: Optional[str] = Field(default=None, max_length=16)
    deposit: float = Field(default=0)
    tracking_code: Optional[str] = Field(default=None, max_length=32, index=True)
    import_batch_id: Optional[int] = Field(default=None, foreign_key="importbatch.id", index=True)
    attributes: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON, nullable=True))

    __table_args__ = (
        Index("ix_booking_customer_time", "customer_id", "scheduled_at"),
        Index("ix_booking_store_time", "store_id", "scheduled_at"),
        Index("ix_booking_status_time", "status", "scheduled_at"),
    )


class Feedback(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", index=True, unique=True)
    rating: Optional[int] = None
    complaint: bool = Field(default=False, index=True)
    comment: str = Field(default="")
    created_at: datetime = Field(default_factory=utcnow)


class MonthlyPlan(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    pet_id: Optional[int] = Field(default=None, foreign_key="pet.id")
    name: str = Field(max_length=120)
    monthly_fee: float
    periods_total: int
    periods_paid: int = Field(default=0)
    started_on: date
    ends_on: date = Field(index=True)
    status: str = Field(default="active", max_length=16)


class StoredValueEntry(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    kind: str = Field(max_length=16)  # topup | debit | plan_debit | renewal
    amount: float
    plan_id: Optional[int] = Field(default=None, foreign_key="monthlyplan.id")
    occurred_at: datetime
    idempotency_key: Optional[str] = Field(default=None, max_length=120, unique=True)


# --- loyalty ---------------------------------------------------------------------------------


class TierRule(SQLModel, table=True):
    """One tier of a versioned rule set; a save writes a new version and an audit entry."""

    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)  # None = chain-wide
    version: int = Field(index=True)
    name: str = Field(max_length=40)
    rank: int
    min_spend_12m: Optional[float] = None
    min_stored_value: Optional[float] = None
    min_plan_months: Optional[int] = None
    discount_pct: float = Field(default=0)
    booking_window_days: int = Field(default=14)
    prime_time_access: bool = Field(default=False)
    designated_staff: bool = Field(default=False)
    points_multiplier: float = Field(default=1.0)
    downgrade_policy: str = Field(default="period_end", max_length=16)
    grace_days: int = Field(default=30)
    active: bool = Field(default=True)
    created_by: str = Field(default="system", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class PointsRule(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)
    version: int = Field(index=True)
    earn_per_currency_unit: float = Field(default=1.0)
    birthday_multiplier: float = Field(default=2.0)
    referral_bonus_referrer: int = Field(default=200)
    referral_bonus_referee: int = Field(default=100)
    expiry_months: int = Field(default=12)
    min_redemption: int = Field(default=100)
    point_cash_value: float = Field(default=0.2)
    active: bool = Field(default=True)
    created_by: str = Field(default="system", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class PointsAccount(SQLModel, table=True):
    """Per-customer balance row: locked (FOR UPDATE) while a redemption is decided."""

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    balance: int = Field(default=0)
    tier: Optional[str] = Field(default=None, max_length=40)
    tier_since: Optional[date] = None
    updated_at: datetime = Field(default_factory=utcnow)


class PointsLedger(SQLModel, table=True):
    """Append-only ledger: earn, redeem, expire, adjust, referral."""

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=16)
    points: int
    occurred_at: datetime = Field(index=True)
    expires_at: Optional[datetime] = Field(default=None, index=True)
    idempotency_key: str = Field(unique=True, max_length=120)
    # For debits: which earned lots were consumed, [[lot_key, points], ...].
    allocations: Optional[list[Any]] = Field(default=None, sa_column=Column(JSON, nullable=True))
    source: str = Field(default="", max_length=64)
    note: str = Field(default="")


class RedemptionItem(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)
    name: str = Field(max_length=120)
    kind: str = Field(default="goods", max_length=16)  # goods | service | privilege
    points_cost: int
    cash_cost: float = Field(default=0)
    stock: Optional[int] = None  # None = unlimited
    active: bool = Field(default=True)


class Referral(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    referrer_id: int = Field(foreign_key="customer.id", index=True)
    referee_id: int = Field(foreign_key="customer.id", unique=True)
    code: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


# --- scores ----------------------------------------------------------------------------------


class ScoreSnapshot(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    as_of: date = Field(index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)
    recency_days: Optional[float] = None
    frequency: int = Field(default=0)
    monetary: float = Field(default=0)
    r_score: Optional[int] = None
    f_score: Optional[int] = None
    m_score: Optional[int] = None
    rfm_segment: Optional[str] = Field(default=None, max_length=32)
    rfm8_segment: Optional[str] = Field(default=None, max_length=16)
    lifecycle_segment: Optional[str] = Field(default=None, max_length=16)
    revisit_window_days: Optional[float] = None
    next_due_date: Optional[date] = None
    churn_risk: Optional[float] = None
    p_alive: Optional[float] = None
    noshow_risk: Optional[float] = None
    expected_visits: Optional[float] = None

    __table_args__ = (UniqueConstraint("as_of", "customer_id", name="uq_snapshot_day_customer"),)


class PageResult(SQLModel, table=True):
    """A page's computed figures for one set of stores, kept so that a freshly started server
    answers from them instead of recomputing from every booking (``db.page_results``).

    Holds aggregates and customer ids only, never names, phones or emails: an anonymised
    customer must not live on in a cache. One row per (name, stores, params); a new data
    version replaces the row.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    stores: str = Field(sa_column=Column(Text, nullable=False))  # sorted store ids, "1,2,5"
    params: str = Field(max_length=200)  # e.g. "as_of=2026-11-30|period_days=30"
    version: str = Field(max_length=200)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow, index=True)
    compute_seconds: float = Field(default=0.0)

    __table_args__ = (UniqueConstraint("name", "stores", "params", name="uq_page_result_key"),)


class ModelReview(SQLModel, table=True):
    """A manager's manual verdict on a customer's risk, for the "AI model accuracy" KPI."""

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    reviewer: str = Field(max_length=64)
    as_of: date
    model_label: str = Field(max_length=32)
    manual_label: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


# --- campaigns -------------------------------------------------------------------------------


class Campaign(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)  # None = chain-wide
    name: str = Field(max_length=120)
    description: str = Field(default="")
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    trigger: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # {"variants": [{"key": "A", "weight": 0.5, "templates": {"zh-TW": "...", "zh-CN": "...", "en": "..."}}]}
    templates: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    channel: str = Field(default="line", max_length=16)
    schedule_cron: Optional[str] = Field(default=None, max_length=64)
    send_hour: int = Field(default=11)
    holdout_pct: float = Field(default=10.0)
    frequency_cap_days: int = Field(default=1)
    quiet_start: int = Field(default=21)  # local hour
    quiet_end: int = Field(default=9)
    cost_per_message: float = Field(default=0.0)
    benefit_budget: Optional[float] = None
    benefit_spent: float = Field(default=0)
    benefit_per_message: float = Field(default=0)
    status: str = Field(default="draft", max_length=20)  # draft|pending_approval|active|paused|ended
    paused_reason: Optional[str] = None
    created_by: str = Field(default="system", max_length=64)
    approved_by: Optional[str] = Field(default=None, max_length=64)
    approved_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class CampaignRun(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    occurrence: str = Field(max_length=40)  # e.g. the local date of the tick
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None
    status: str = Field(default="running", max_length=16)
    audience_size: int = Field(default=0)
    queued: int = Field(default=0)
    holdout: int = Field(default=0)
    suppressed: int = Field(default=0)
    error: Optional[str] = None

    __table_args__ = (UniqueConstraint("campaign_id", "occurrence", name="uq_run_occurrence"),)


class Message(SQLModel, table=True):
    """Outbox row. The unique dedupe key (campaign, customer, trigger occurrence) makes ticks idempotent."""

    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    run_id: Optional[int] = Field(default=None, foreign_key="campaignrun.id", index=True)
    customer_id: int = Field(foreign_key="customer.id")
    store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)
    channel: str = Field(max_length=16)
    variant: str = Field(default="A", max_length=8)
    locale: str = Field(default="zh-TW", max_length=8)
    dedupe_key: str = Field(unique=True, max_length=160)
    tracking_code: str = Field(unique=True, max_length=32)
    status: str = Field(default="queued", max_length=16)  # queued|sent|failed|suppressed|holdout
    reason: Optional[str] = Field(default=None, max_length=64)
    body: str = Field(default="")
    scheduled_for: datetime
    attempts: int = Field(default=0)
    next_attempt_at: Optional[datetime] = None
    claimed_by: Optional[str] = Field(default=None, max_length=64)
    claimed_at: Optional[datetime] = None
    sent_at: Optional[datetime] = None
    provider_message_id: Optional[str] = Field(default=None, max_length=120)
    error: Optional[str] = None
    cost: float = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (
        Index("ix_message_status_due", "status", "next_attempt_at"),
        Index("ix_message_customer_sent", "customer_id", "sent_at"),
    )


class Task(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    campaign_id: Optional[int] = Field(default=None, foreign_key="campaign.id")
    message_id: Optional[int] = Field(default=None, foreign_key="message.id")
    kind: str = Field(default="follow_up", max_length=24)  # follow_up | complaint_recovery | call
    reason: str = Field(default="")
    script: str = Field(default="")
    due_on: date = Field(index=True)
    status: str = Field(default="open", max_length=16)  # open | done | no_answer | booked
    idempotency_key: Optional[str] = Field(default=None, max_length=120, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: Optional[datetime] = None
    completed_by: Optional[str] = Field(default=None, max_length=64)


# --- settings, vocabularies, audit -----------------------------------------------------------


class ImportMapping(SQLModel, table=True):
    """A saved column mapping per source, so the next import is one click."""

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str = Field(max_length=120)
    kind: str = Field(default="bookings", max_length=16)
    mapping: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (UniqueConstraint("source", "kind", name="uq_mapping_source_kind"),)


class AppSetting(SQLModel, table=True):
    """Editable settings kept in the database (status vocabulary, thresholds, targets)."""

    key: str = Field(primary_key=True, max_length=80)
    store_id: int = Field(default=0, primary_key=True)  # 0 = chain-wide
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_by: str = Field(default="system", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class TagDictionary(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)
    category: str = Field(max_length=40)  # coat_type, skin_type, preferred_slot, ...
    value: str = Field(max_length=40)

    __table_args__ = (UniqueConstraint("store_id", "category", "value", name="uq_tag"),)


class MemberMerge(SQLModel, table=True):
    """One merge of two member cards of one person, with exactly what moved, so it can be undone.

    ``moved`` maps a kind of row (``booking``, ``pet``, ``points_ledger``, ``referral_referrer``,
    …) to the ids that were re-pointed from the absorbed member to the kept one; ``keep_before``
    holds the kept member's fields as they were (tags, contacts, referred_by).
    """

    __tablename__ = "member_merge"
    id: Optional[int] = Field(default=None, primary_key=True)
    keep_id: int = Field(foreign_key="customer.id", index=True)
    absorb_id: int = Field(foreign_key="customer.id", index=True)
    actor: str = Field(max_length=64)
    score: Optional[float] = None
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    moved: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    keep_before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    merged_at: datetime = Field(default_factory=utcnow)
    undone_at: Optional[datetime] = None
    undone_by: Optional[str] = Field(default=None, max_length=64)


class AuditLog(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64, index=True)
    action: str = Field(max_length=48, index=True)
    entity: str = Field(default="", max_length=48)
    entity_id: Optional[str] = Field(default=None, max_length=64)
    store_id: Optional[int] = Field(default=None, index=True)
    before: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON, nullable=True))


class SqlSource(SQLModel, table=True):
    """A shop database a chain admin registered for reading bookings (read-only user).

    ``secret`` is the full connection URL encrypted with the installation's secret key; it is never
    shown back or written to the audit log. ``shown_url`` is the URL without its password.
    """

    __tablename__ = "sql_source"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    backend: str = Field(max_length=16)
    shown_url: str = Field(max_length=300)
    secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    table_name: Optional[str] = Field(default=None, max_length=130)
    query: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    watermark_column: Optional[str] = Field(default=None, max_length=64)
    kind: str = Field(default="bookings", max_length=16)
    # Tables a manager may name in a query of their own (``table``, ``schema.table``, ``schema.*``).
    allowed_tables: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Stores the source may feed; empty = every store (chain-wide source).
    store_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
