"""Write a generated demo world (demo.world) into the database with bulk loads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import Table, func, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core.campaigns.ab import assign_variants
from core.campaigns.outbox import CampaignPlan, dedupe_key
from core.campaigns.templates import locale_for_country, tracking_code
from core.localtime import to_utc
from db.bulk import begin_explicitly, bulk_insert, reset_sequences
from db.models import (
    Booking,
    Campaign,
    Customer,
    Feedback,
    Message,
    MonthlyPlan,
    Pet,
    Referral,
    Service,
    Staff,
    Store,
    StoredValueEntry,
)
from demo.truth import create_truth_table, demo_truth

# frame name in demo.world.DemoWorld -> (table, {frame column: table column}); the truth goes to the
# demo-only table of demo.truth, outside the app's schema.
_TABLES: tuple[tuple[str, Table, dict[str, str]], ...] = (
    ("stores", Store.__table__, {"store_id": "id"}),  # type: ignore[attr-defined]
    ("staff", Staff.__table__, {"staff_id": "id"}),  # type: ignore[attr-defined]
    ("services", Service.__table__, {"service_id": "id"}),  # type: ignore[attr-defined]
    ("customers", Customer.__table__, {"customer_id": "id"}),  # type: ignore[attr-defined]
    ("pets", Pet.__table__, {"pet_id": "id"}),  # type: ignore[attr-defined]
    ("bookings", Booking.__table__, {"booking_id": "id"}),  # type: ignore[attr-defined]
    ("feedback", Feedback.__table__, {"feedback_id": "id"}),  # type: ignore[attr-defined]
    ("plans", MonthlyPlan.__table__, {"plan_id": "id"}),  # type: ignore[attr-defined]
    ("stored_value", StoredValueEntry.__table__, {"entry_id": "id"}),  # type: ignore[attr-defined]
    ("referrals", Referral.__table__, {"referral_id": "id"}),  # type: ignore[attr-defined]
    ("truth", demo_truth, {}),
    ("reminders", Message.__table__, {}),  # type: ignore[attr-defined]  # written by _reminder_messages
)


def _frame_for_table(
    name: str, frame: pd.DataFrame, table: Table, renames: dict[str, str], timezones: dict[int, str]
) -> pd.DataFrame:
    frame = frame.rename(columns=renames)
    columns = set(table.c.keys())
    if name == "customers":
        frame["tags"] = frame["tags"].fillna("").map(lambda s: [t for t in str(s).split(",") if t])
        frame["attributes"] = [{} for _ in range(len(frame))]
    if name == "pets":
        # A household may name two pets alike; the owner+name pair must stay unique.
        counter = frame.groupby(["customer_id", "name"]).cumcount()
        frame["name"] = frame["name"].where(counter == 0, frame["name"] + " " + (counter + 1).astype(str))
    if name == "bookings":
        frame["dedupe_key"] = "demo:" + frame["external_id"].astype(str)
        for column in ("created_at", "scheduled_at"):
            frame[column] = to_utc(frame[column], frame["store_id"], timezones)
    if name == "feedback":
        frame["comment"] = frame["comment"].fillna("")
    if name == "stored_value":
        frame["occurred_at"] = to_utc(frame["occurred_at"], frame["store_id"], timezones)
    if name == "customers" and "opted_out_at" in frame:
        frame["opted_out_at"] = pd.to_datetime(frame["opted_out_at"]).dt.tz_localize("UTC")
    return frame[[c for c in frame.columns if c in columns]]


def _reminder_messages(
    frame: pd.DataFrame,
    *,
    campaign_id: int,
    channel: str,
    body: str,
    cost: float,
    templates: dict[str, Any],
    timezones: dict[int, str],
    countries: dict[int, str],
) -> pd.DataFrame:
    """The demo's past reminders as outbox rows of one campaign (a holdout row keeps its
    would-be send time in ``scheduled_for`` and no ``sent_at``, as the worker writes it)."""
    variants = CampaignPlan.variants_from_json(templates)
    variant = assign_variants(
        frame["customer_id"].to_numpy(), campaign_id=campaign_id, variants=[(v.key, v.weight) for v in variants]
    )
    local = pd.to_datetime(frame["sent_at"])
    when = to_utc(local, frame["store_id"], timezones)
    sent = frame["status"].eq("sent").to_numpy()
    occurrences = ("demo-history:" + frame["reminder_id"].astype(str)).tolist()
    keys = [dedupe_key(campaign_id, int(c), o) for c, o in zip(frame["customer_id"], occurrences, strict=True)]
    return pd.DataFrame(
        {
            "campaign_id": campaign_id,
            "customer_id": frame["customer_id"].to_numpy(),
            "store_id": frame["store_id"].to_numpy(),
            "channel": channel,
            "variant": variant,
            "locale": [locale_for_country(countries.get(int(s))) for s in frame["store_id"]],
            "dedupe_key": keys,
            "tracking_code": [tracking_code(k) for k in keys],
            "status": frame["status"].to_numpy(dtype=object),
            "reason": frame["reason"].to_numpy(dtype=object),
            "body": body,
            "scheduled_for": when,
            "attempts": sent.astype(int),
            "sent_at": when.where(sent),
            "cost": pd.Series(sent.astype(float) * cost),
            "created_at": when,
        }
    )


def database_is_empty(session: Session) -> bool:
    return (session.scalar(select(func.count(Store.id))) or 0) == 0


@contextmanager
def _without_secondary_indexes(connection: Connection) -> Iterator[None]:
    """Drop the non-unique indexes of the demo's tables for the load and build them once after.

    The demo only loads into an empty database, so no reader waits on the rebuild; building an
    index once is far cheaper than updating it for each of millions of rows.
    """
    present = {
        name: {ix["name"] for ix in inspect(connection).get_indexes(name)}
        for name in inspect(connection).get_table_names()
    }
    aside = [
        index
        for _, table, _ in _TABLES
        for index in table.indexes
        if not index.unique and index.name in present.get(index.table.name, set())
    ]
    begin_explicitly(connection)  # a failed load must keep its indexes
    for index in aside:
        index.drop(connection)
    yield
    for index in aside:
        index.create(connection)


def load_world(
    engine: Engine, chunks: Iterable[object], *, reminder_campaign: Campaign | None = None
) -> dict[str, int]:
    """Insert every chunk of a demo world in one transaction; return rows written per table.

    The world's past reminders become messages of ``reminder_campaign`` (skipped without one).
    """
    counts: dict[str, int] = {}
    timezones: dict[int, str] = {}
    countries: dict[int, str] = {}
    referrals: list[pd.DataFrame] = []
    with engine.begin() as connection:
        create_truth_table(connection)  # the demo's own table, created with the demo
    with engine.begin() as connection, _without_secondary_indexes(connection):
        for chunk in chunks:
            for name, table, renames in _TABLES:
                frame = getattr(chunk, name)
                if frame is None or frame.empty:
                    continue
                if name == "reminders":
                    if reminder_campaign is not None:
                        messages = _reminder_messages(
                            frame,
                            campaign_id=int(reminder_campaign.id),
                            channel=reminder_campaign.channel,
                            body=reminder_campaign.name,
                            cost=float(reminder_campaign.cost_per_message),
                            templates=dict(reminder_campaign.templates or {}),
                            timezones=timezones,
                            countries=countries,
                        )
                        counts["messages"] = counts.get("messages", 0) + bulk_insert(
                            connection, Message.__table__, messages
                        )  # type: ignore[attr-defined]
                    continue
                if name == "referrals":
                    # A referrer may sit in a later chunk: referrals go in once every customer is there.
                    referrals.append(frame)
                    continue
                if name == "customers":
                    frame = frame.drop(columns=["referred_by"])
                if name == "stores":
                    timezones.update(zip(frame["store_id"].astype(int), frame["timezone"], strict=True))
                    countries.update(zip(frame["store_id"].astype(int), frame["country"], strict=True))
                prepared = _frame_for_table(name, frame.copy(), table, renames, timezones)
                counts[name] = counts.get(name, 0) + bulk_insert(connection, table, prepared)
        if referrals:
            frame = _frame_for_table(
                "referrals",
                pd.concat(referrals, ignore_index=True),
                Referral.__table__,  # type: ignore[attr-defined]
                {"referral_id": "id"},
                timezones,
            )
            counts["referrals"] = bulk_insert(connection, Referral.__table__, frame)  # type: ignore[attr-defined]
            referrer = select(Referral.referrer_id).where(Referral.referee_id == Customer.id).scalar_subquery()
            connection.execute(
                update(Customer).where(Customer.id.in_(select(Referral.referee_id))).values(referred_by=referrer)
            )
        reset_sequences(connection, [table for _, table, _ in _TABLES])
    return counts
