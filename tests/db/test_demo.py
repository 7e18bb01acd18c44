"""Unit tests of the demo generator (`demo.world`): pure pandas, no database."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.columns import BOOKING_COLUMNS, BOOKING_STATUSES, CUSTOMER_COLUMNS
from core.kpi import push_uplift
from demo.world import (
    DEMO_BOOKING_COLUMNS,
    DEMO_CUSTOMER_COLUMNS,
    FEEDBACK_COLUMNS,
    PET_COLUMNS,
    PLAN_COLUMNS,
    REFERRAL_COLUMNS,
    SERVICE_COLUMNS,
    STAFF_COLUMNS,
    STORE_COLUMNS,
    STORED_VALUE_COLUMNS,
    TRUTH_COLUMNS,
    DemoWorld,
    generate_world,
    iter_world_chunks,
)

END = date(2026, 11, 22)
COLUMNS = {
    "stores": STORE_COLUMNS,
    "staff": STAFF_COLUMNS,
    "services": SERVICE_COLUMNS,
    "customers": DEMO_CUSTOMER_COLUMNS,
    "pets": PET_COLUMNS,
    "bookings": DEMO_BOOKING_COLUMNS,
    "feedback": FEEDBACK_COLUMNS,
    "plans": PLAN_COLUMNS,
    "stored_value": STORED_VALUE_COLUMNS,
    "referrals": REFERRAL_COLUMNS,
    "truth": TRUTH_COLUMNS,
}


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate_world(n_customers=5000, seed=7, end_date=END)


def _visits_with_intervals(world: DemoWorld) -> pd.DataFrame:
    """Completed visits per cadence subject (customer, or pet) with days since the previous one."""
    visits = world.bookings[world.bookings["status"] == "completed"]
    visits = visits.assign(pet_key=visits["pet_id"].fillna(0).astype("int64"))
    visits = visits.sort_values(["customer_id", "pet_key", "scheduled_at"])
    gap = visits.groupby(["customer_id", "pet_key"])["scheduled_at"].diff()
    return visits.assign(interval=gap.dt.total_seconds() / 86400)


def _truth_keyed(world: DemoWorld) -> pd.DataFrame:
    truth = world.truth
    return truth.assign(pet_key=truth["pet_id"].fillna(0).astype("int64"))


def test_columns_match_contracts(world: DemoWorld) -> None:
    for name, columns in COLUMNS.items():
        assert tuple(getattr(world, name).columns) == columns, name
    assert set(BOOKING_COLUMNS) <= set(world.bookings.columns)
    assert set(CUSTOMER_COLUMNS) <= set(world.customers.columns)
    assert str(world.bookings["pet_id"].dtype) == "Int64"
    assert world.bookings["scheduled_at"].dtype == "datetime64[ns]"


def test_default_stores(world: DemoWorld) -> None:
    stores = world.stores.set_index("code")
    assert list(stores.index) == ["TPE01", "TPE02", "SHA01", "TXG01"]
    assert list(stores["kind"]) == ["beauty_salon", "pet_groomer", "pet_adoption", "nail_studio"]
    assert stores.loc["SHA01", "currency"] == "CNY" and stores.loc["SHA01", "timezone"] == "Asia/Shanghai"
    assert stores.loc["TPE01", "currency"] == "TWD"


def test_more_stores_cycle_kinds() -> None:
    w = generate_world(n_stores=9, n_customers=600, seed=3)
    assert len(w.stores) == 9 and w.stores["code"].is_unique
    assert {"Kaohsiung", "Hangzhou"} <= set(w.stores["city"])
    assert set(w.bookings["store_id"]) <= set(w.stores["store_id"])


def test_deterministic_for_seed() -> None:
    a = generate_world(n_customers=800, seed=11)
    b = generate_world(n_customers=800, seed=11)
    c = generate_world(n_customers=800, seed=12)
    for f in fields(DemoWorld):
        pd.testing.assert_frame_equal(getattr(a, f.name), getattr(b, f.name))
    assert not a.bookings["scheduled_at"].equals(c.bookings["scheduled_at"])


def test_all_statuses_present_with_realistic_rates(world: DemoWorld) -> None:
    share = world.bookings["status"].value_counts(normalize=True)
    assert set(share.index) == set(BOOKING_STATUSES)
    assert 0.04 <= share["no_show"] <= 0.09
    assert 0.03 <= share["cancelled"] <= 0.07
    assert 0.02 <= share["rescheduled"] <= 0.06


def test_median_interval_recovers_true_cadence(world: DemoWorld) -> None:
    visits = _visits_with_intervals(world)
    per_subject = (
        visits.groupby(["customer_id", "pet_key"])
        .agg(n=("interval", "size"), median=("interval", "median"))
        .reset_index()
        .merge(_truth_keyed(world), on=["customer_id", "pet_key"])
    )
    c28 = per_subject[(per_subject["true_cadence_days"] == 28) & (per_subject["n"] >= 5)]
    pooled = visits.merge(c28[["customer_id", "pet_key"]])["interval"].dropna()
    assert len(pooled) > 500
    assert abs(pooled.median() - 28) <= 2
    enough = per_subject[per_subject["n"] >= 4]
    close = (enough["median"] - enough["true_cadence_days"]).abs() <= 3
    assert len(enough) > 1000
    assert close.mean() >= 0.80


def test_no_completed_visit_after_churn(world: DemoWorld) -> None:
    truth = _truth_keyed(world)
    churned = truth[truth["churned_at"].notna()]
    assert 0.25 <= len(churned) / len(truth) <= 0.50
    visits = _visits_with_intervals(world).merge(churned[["customer_id", "pet_key", "churned_at"]])
    assert len(visits) > 0
    assert (visits["scheduled_at"] <= visits["churned_at"]).all()
    # Churned subjects have nothing booked in the future either.
    future = world.bookings[world.bookings["status"] == "booked"]
    future = future.assign(pet_key=future["pet_id"].fillna(0).astype("int64"))
    assert future.merge(churned[["customer_id", "pet_key"]]).empty


def test_churn_is_learnable(world: DemoWorld) -> None:
    visits = _visits_with_intervals(world)
    truth = _truth_keyed(world)

    # The last interval before churn stretches relative to the subject's usual interval.
    def last_ratio(s: pd.Series) -> float:
        s = s.dropna()
        return s.iloc[-1] / s.iloc[:-2].median() if len(s) >= 5 else np.nan

    ratio = (
        visits.groupby(["customer_id", "pet_key"])["interval"]
        .agg(last_ratio)
        .dropna()
        .rename("ratio")
        .reset_index()
        .merge(truth)
    )
    by_churn = ratio.groupby(ratio["churned_at"].notna())["ratio"].median()
    assert by_churn[True] > 1.2 > by_churn[False]
    # A complaint raises the churn rate.
    complained = world.feedback.loc[world.feedback["complaint"], "booking_id"]
    who = set(world.bookings.loc[world.bookings["booking_id"].isin(complained), "customer_id"])
    base = truth[truth["archetype"].isin(["loyal", "seasonal"])]
    rate = base.groupby(base["customer_id"].isin(who))["churned_at"].apply(lambda s: s.notna().mean())
    assert rate[True] > 1.5 * rate[False]


def test_nothing_after_end_date_except_booked(world: DemoWorld) -> None:
    b = world.bookings
    cutoff = pd.Timestamp(END) + pd.Timedelta(days=1)
    after = b["scheduled_at"] >= cutoff
    assert after.any()
    assert (b.loc[after, "status"] == "booked").all()
    assert (b.loc[~after, "status"] != "booked").all()
    assert (b.loc[after, "scheduled_at"] < cutoff + pd.Timedelta(days=21)).all()
    assert (b["created_at"] < cutoff).all()
    assert (b["created_at"] <= b["scheduled_at"]).all()
    hours = b["scheduled_at"].dt.hour
    assert hours.between(10, 19).all()


def test_plans(world: DemoWorld) -> None:
    plans = world.plans
    assert len(plans) > 0
    assert plans["periods_total"].between(12, 24).all()
    assert (plans["periods_paid"] <= plans["periods_total"]).all() and (plans["periods_paid"] >= 1).all()
    assert set(plans["status"]) <= {"active", "completed", "cancelled"}
    adoption = world.stores.loc[world.stores["kind"] == "pet_adoption", "store_id"]
    assert plans["store_id"].isin(adoption).all()
    assert plans["pet_id"].isin(world.pets["pet_id"]).all()


def test_referral_chains(world: DemoWorld) -> None:
    customers = world.customers.set_index("customer_id")
    referred_by = customers["referred_by"]
    assert 0.10 <= referred_by.notna().mean() <= 0.20
    depth = pd.Series(0, index=referred_by.index)
    current = referred_by
    for level in range(1, 6):
        has = current.notna()
        depth[has] = level
        current = current[has].map(referred_by).reindex(referred_by.index)
    assert depth.max() >= 3
    # The referrer joined first, and the referral row points at the referrer's own code.
    refs = world.referrals.merge(customers["referral_code"], left_on="referrer_id", right_index=True)
    assert (refs["code"] == refs["referral_code"]).all()
    assert customers["referral_code"].is_unique
    joined = customers["joined_on"]
    assert (joined[refs["referrer_id"]].to_numpy() <= joined[refs["referee_id"]].to_numpy()).all()


def test_referential_integrity(world: DemoWorld) -> None:
    b = world.bookings
    assert b["customer_id"].isin(world.customers["customer_id"]).all()
    assert b["store_id"].isin(world.stores["store_id"]).all()
    assert b["service_id"].isin(world.services["service_id"]).all()
    assert b["staff_id"].isin(world.staff["staff_id"]).all()
    assert b["pet_id"].dropna().isin(world.pets["pet_id"]).all()
    assert world.feedback["booking_id"].isin(b["booking_id"]).all()
    assert world.pets["customer_id"].isin(world.customers["customer_id"]).all()
    assert world.stored_value["customer_id"].isin(world.customers["customer_id"]).all()
    # The service belongs to the kind of the store the visit happened at.
    kinds = b.merge(world.services[["service_id", "kind"]]).merge(
        world.stores[["store_id", "kind"]], on="store_id", suffixes=("_service", "_store")
    )
    assert (kinds["kind_service"] == kinds["kind_store"]).all()


def test_customer_fields(world: DemoWorld) -> None:
    c = world.customers
    assert c["external_id"].str.fullmatch(r"C\d{7}").all()
    cn = c["home_store_id"].isin(world.stores.loc[world.stores["country"] == "CN", "store_id"])
    assert c.loc[cn, "phone"].str.fullmatch(r"\+861\d{10}").all()
    assert c.loc[~cn, "phone"].str.fullmatch(r"\+8869\d{8}").all()
    assert c["phone"].is_unique
    assert c.loc[cn, "line_id"].isna().all() and c.loc[~cn, "wechat_openid"].isna().all()
    assert 0.01 <= c["opted_out_at"].notna().mean() <= 0.06
    assert not c.loc[c["opted_out_at"].notna(), ["consent_sms", "consent_line", "consent_email", "consent_wechat"]].any(
        axis=None
    )


def test_stored_value_balance_never_negative(world: DemoWorld) -> None:
    sv = world.stored_value
    assert set(sv["kind"]) == {"topup", "debit"}
    signed = np.where(sv["kind"] == "topup", sv["amount"], -sv["amount"])
    balance = pd.Series(signed).groupby(sv["customer_id"].to_numpy()).cumsum()
    assert (balance >= -1e-9).all()


def test_chunks_have_unique_ids_and_static_tables_once() -> None:
    chunks = list(iter_world_chunks(n_customers=2500, chunk_customers=1000, seed=5))
    assert len(chunks) == 3
    assert len(chunks[0].stores) == 4 and len(chunks[1].stores) == 0 and len(chunks[2].services) == 0
    assert list(chunks[1].staff.columns) == list(STAFF_COLUMNS)
    ids = {
        "customers": "customer_id",
        "pets": "pet_id",
        "bookings": "booking_id",
        "feedback": "feedback_id",
        "plans": "plan_id",
        "stored_value": "entry_id",
        "referrals": "referral_id",
    }
    for table, column in ids.items():
        values = pd.concat([getattr(ch, table)[column] for ch in chunks])
        assert values.is_unique, table
        assert values.min() == 1, table
    external = pd.concat([ch.bookings["external_id"] for ch in chunks])
    assert external.is_unique
    codes = pd.concat([ch.customers["referral_code"] for ch in chunks])
    assert codes.is_unique


def test_noshow_rises_with_lead_time(world: DemoWorld) -> None:
    b = world.bookings[world.bookings["status"].isin(["completed", "no_show"])]
    lead_days = (b["scheduled_at"] - b["created_at"]).dt.total_seconds() / 86400
    noshow = b["status"] == "no_show"
    short = noshow[lead_days <= 2].mean()
    long = noshow[lead_days >= 14].mean()
    assert long > 1.5 * short
    deposit = noshow[b["deposit"] > 0].mean()
    assert deposit < noshow[b["deposit"] == 0].mean()


# ---- reminder history: a known effect that the uplift measurement must find -------------------


def _reminder_messages(world: DemoWorld) -> pd.DataFrame:
    r = world.reminders
    return pd.DataFrame(
        {
            "message_id": r["reminder_id"],
            "campaign_id": 1,
            "customer_id": r["customer_id"],
            "store_id": r["store_id"],
            "status": r["status"],
            "sent_at": r["sent_at"],
            "cost": 0.2,
        }
    )


def test_reminders_hold_out_a_tenth_and_stop_at_opt_out(world: DemoWorld) -> None:
    r = world.reminders
    assert len(r) > 5000 and r["reminder_id"].is_unique
    shares = r["status"].value_counts(normalize=True)
    assert 0.08 < shares["holdout"] < 0.12 and shares["suppressed"] < 0.05
    assert not r.loc[r["status"].ne("sent"), "pulled"].any()  # only a delivered reminder acts
    assert (r["sent_at"] < pd.Timestamp(END) + pd.Timedelta(days=1)).all()
    opted = world.customers.set_index("customer_id")["opted_out_at"]
    after_opt_out = r["sent_at"].to_numpy() >= pd.to_datetime(r["customer_id"].map(opted)).to_numpy()
    assert set(r.loc[after_opt_out, "status"]) <= {"suppressed", "holdout"}
    assert r.loc[r["status"].eq("suppressed"), "reason"].eq("opted_out").all()


def test_a_pulled_visit_is_booked_within_the_week_after_its_reminder(world: DemoWorld) -> None:
    r = world.reminders
    # A reminder of the last week may still be answered after the end of the history.
    pulled = r.loc[r["pulled"] & (r["sent_at"] < pd.Timestamp(END) - pd.Timedelta(days=6))]
    assert len(pulled) > 100
    made = world.bookings[["customer_id", "created_at"]].sort_values("created_at")
    joined = pd.merge_asof(
        pulled.sort_values("sent_at"),
        made,
        left_on="sent_at",
        right_on="created_at",
        by="customer_id",
        direction="forward",
    )
    assert ((joined["created_at"] - joined["sent_at"]) <= pd.Timedelta(days=7)).all()


def test_measured_uplift_recovers_the_true_effect(world: DemoWorld) -> None:
    """Sent − holdout conversion over the half year equals the share of sent reminders that truly
    brought a visit forward, within the sampling error of a ~1,400-message holdout."""
    messages = _reminder_messages(world)
    bookings = world.bookings.assign(booking_id=world.bookings["booking_id"])
    uplift = push_uplift(messages, bookings, as_of=END, period_days=200)
    sent = world.reminders.loc[world.reminders["status"].eq("sent")]
    truth = float(sent["pulled"].mean())
    assert 0.03 < truth < 0.10
    holdout_n = int(world.reminders["status"].eq("holdout").sum())
    p = 0.55
    assert abs(uplift.value - truth) < 2.5 * (p * (1 - p) / holdout_n) ** 0.5


def test_a_failed_demo_load_keeps_the_indexes(sqlite_engine) -> None:
    """The load drops secondary indexes for speed inside its transaction: a failure mid-load rolls
    the drop back with the rows (pysqlite would otherwise have committed the DROP INDEX)."""
    from sqlalchemy import inspect

    from demo.load import load_world

    def before() -> set[str]:
        return {ix["name"] for table in ("booking", "customer") for ix in inspect(sqlite_engine).get_indexes(table)}

    indexes = before()
    world = generate_world(n_customers=50, seed=3, end_date=END)

    def chunks():
        yield world
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        load_world(sqlite_engine, chunks())
    assert before() == indexes


def test_store_capacity_holds_an_ordinary_day(world: DemoWorld) -> None:
    """Daily capacity matches the booking volume: over the last 90 days each store's bookings
    exceed it on few days (the forecast used to say 82 of the next 90 days were over)."""
    b = world.bookings
    recent = b.loc[b["scheduled_at"].between(pd.Timestamp(END) - pd.Timedelta(days=90), pd.Timestamp(END))]
    per_day = recent.groupby(["store_id", recent["scheduled_at"].dt.normalize()]).size()
    capacity = world.stores.set_index("store_id")["daily_capacity"]
    for store, days in per_day.groupby(level=0):
        assert days.mean() < 0.85 * capacity[store]
        assert (days > capacity[store]).mean() < 0.1
