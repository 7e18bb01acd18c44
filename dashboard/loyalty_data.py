"""Cached loyalty loaders for the loyalty pages, plus small frame helpers they share.

Cache keys hold the caller's scope, the picked stores and a version that changes with every
booking import and every loyalty write (ledger rows, audited rule / catalog / tier changes);
:func:`clear` is called after a page writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core import loyalty
from core.scope import Scope
from dashboard import data
from dashboard.precomputed import remembered
from db import loyalty as loyalty_repo
from db import repo
from db.engine import session_scope

Version = tuple[tuple[int, int, int], tuple[int, int, int]]
TIER_EDITOR_COLUMNS = (
    "name",
    "rank",
    "min_spend_12m",
    "min_stored_value",
    "min_plan_months",
    "discount_pct",
    "booking_window_days",
    "prime_time_access",
    "designated_staff",
    "points_multiplier",
)


def version(engine: Engine) -> Version:
    """Data version + loyalty version (part of every cache key; each held 5 s, cleared by writes)."""
    return data.data_version(engine), data.loyalty_version(engine)


@st.cache_resource(ttl=3600, max_entries=8, show_spinner=False)
def _frames(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], ver: Version
) -> dict[str, pd.DataFrame]:
    stores = list(store_ids)
    with session_scope(_engine) as session:
        return {
            "ledger": loyalty_repo.load_ledger(session, scope=scope, store_ids=stores),
            "accounts": loyalty_repo.load_accounts(session, scope=scope, store_ids=stores),
            "plans": loyalty_repo.load_plans(session, scope=scope, store_ids=stores),
            "stored_value": loyalty_repo.load_stored_value(session, scope=scope, store_ids=stores),
            "referrals": loyalty_repo.load_referrals(session, scope=scope, store_ids=stores),
            "items": loyalty_repo.list_redemption_items(session, scope=scope, store_ids=stores, include_inactive=True),
        }


def frames(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> dict[str, pd.DataFrame]:
    """Ledger, accounts, plans, stored value, referrals and catalog of the picked stores (cached)."""
    return data.shallow(_frames(engine, str(engine.url), scope, store_ids, version(engine)))


@st.cache_resource(ttl=3600, max_entries=8, show_spinner=False)
def _page_summary(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], ver: Version, as_of: date
) -> dict[str, object]:
    def compute() -> dict[str, object]:
        stores = list(store_ids)
        with session_scope(_engine) as session:
            accounts = loyalty_repo.load_accounts(session, scope=scope, store_ids=stores)
            plans = loyalty_repo.load_plans(session, scope=scope, store_ids=stores)
            stored = loyalty_repo.load_stored_value(session, scope=scope, store_ids=stores)
            referral_count = loyalty_repo.count_referrals(session, scope=scope, store_ids=stores)
        status = loyalty.plan_status(plans, as_of=as_of) if len(plans) else pd.DataFrame()
        return {
            # Tier and balance per member (no names): the tier chart and the liability by home store.
            "accounts": accounts[["customer_id", "home_store_id", "tier", "balance"]],
            "stored_value_total": None
            if stored.empty
            else float(loyalty.stored_value_balances(stored, as_of=as_of)["balance"].sum()),
            "plans": len(plans),
            "active_plans": status[status["is_active"]] if len(status) else status,
            "renewals_due": loyalty.renewals_due(plans, as_of=as_of, within_days=30) if len(plans) else pd.DataFrame(),
            "plan_churn": loyalty.plan_churn_rate(plans, start=as_of - timedelta(days=365), end=as_of)
            if len(plans)
            else None,
            "referrals": referral_count,
        }

    return remembered(_engine, scope, "loyalty_page", store_ids, {"as_of": as_of}, ver, compute)


def page_summary(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> dict[str, object]:
    """What the Loyalty page shows besides the ledger figures: each member's tier, balance and home
    store, the stored-value total, active plans, renewals due in 30 days, the plan churn of the
    last year and the number of referrals — kept per data/loyalty version and day."""
    return data.shallow(_page_summary(engine, str(engine.url), scope, store_ids, version(engine), as_of))


@st.cache_data(ttl=3600, show_spinner=False)
def _ledger_summary(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], ver: Version, as_of: date
) -> dict[str, pd.DataFrame]:
    def compute() -> dict[str, pd.DataFrame]:
        frames = data.shallow(_frames(_engine, url, scope, store_ids, ver))
        ledger = frames["ledger"]
        # Replaying every lot (FIFO) is the slow part of the page: once per data version and day;
        # the other ledger scans (recent redemptions, top items) are kept with it, so the page
        # never loads the ledger itself.
        last_30 = ledger[
            (ledger["kind"] == "redeem")
            & (ledger["occurred_at"] > pd.Timestamp(as_of - timedelta(days=29)))
            & (ledger["occurred_at"] < pd.Timestamp(as_of + timedelta(days=1)))
        ]
        return {
            "expiring": expiring_lots(ledger, as_of=as_of, days=30),
            "flows": monthly_points(ledger, as_of=as_of),
            "redeemed_30": pd.DataFrame({"points": [int(-last_30["points"].sum())], "count": [len(last_30)]}),
            "top_items": top_items(ledger, frames["items"]),
        }

    return remembered(_engine, scope, "loyalty_ledger", store_ids, {"as_of": as_of}, ver, compute)


@st.cache_data(ttl=3600, show_spinner=False)
def _referral_summary(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], ver: Version, as_of: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    def compute() -> tuple[pd.DataFrame, pd.DataFrame]:
        with session_scope(_engine) as session:
            referrals = loyalty_repo.load_referrals(session, scope=scope, store_ids=list(store_ids))
            bookings = repo.load_bookings(session, scope=scope, store_ids=list(store_ids), until=as_of)
        return loyalty.leaderboard(referrals, bookings, as_of=as_of, top=20), loyalty.referral_tree(referrals)

    return remembered(_engine, scope, "loyalty_referrals", store_ids, {"as_of": as_of}, ver, compute)


def referral_summary(
    engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Referral leaderboard (top 20) and the referral tree, cached per data version and day."""
    return _referral_summary(engine, str(engine.url), scope, store_ids, version(engine), as_of)


def ledger_summary(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> dict[str, pd.DataFrame]:
    """Points expiring in the next 30 days, monthly points flows, redemptions of the last 30 days
    (``redeemed_30``: one row, ``points`` and ``count``) and the top items (cached like :func:`frames`)."""
    return _ledger_summary(engine, str(engine.url), scope, store_ids, version(engine), as_of)


@st.cache_resource(ttl=3600, max_entries=8, show_spinner=False)
def _activity(
    _engine: Engine,
    url: str,
    scope: Scope,
    store_ids: tuple[int, ...],
    ver: Version,
    as_of: date,
    governed: tuple[int, ...],
) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        stores = list(store_ids)
        with session_scope(_engine) as session:
            stored_value = loyalty_repo.load_stored_value(session, scope=scope, store_ids=stores)
            plans = loyalty_repo.load_plans(session, scope=scope, store_ids=stores)
        bookings = data.bookings(_engine, scope, store_ids)
        members = data.customers(_engine, scope, store_ids)
        members = members.loc[members["home_store_id"].isin(governed), "customer_id"]
        activity = loyalty.activity_from_bookings(
            bookings[bookings["customer_id"].isin(members)], stored_value, plans, as_of=as_of
        )
        return activity[activity["customer_id"].isin(members)]

    return remembered(
        _engine,
        scope,
        "loyalty_activity",
        store_ids,
        {"as_of": as_of, "governed": ",".join(map(str, governed))},
        ver,
        compute,
    )


def activity(
    engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, governed: tuple[int, ...]
) -> pd.DataFrame:
    """``core.loyalty.activity_from_bookings`` of the customers whose home store is in ``governed``
    (the tier editor's impact preview), cached per data/loyalty version and day."""
    return data.shallow(
        _activity(engine, str(engine.url), scope, store_ids, version(engine), as_of, tuple(sorted(governed)))
    )


@st.cache_data(ttl=3600, show_spinner=False)
def _items(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], ver: Version) -> pd.DataFrame:
    with session_scope(_engine) as session:
        return loyalty_repo.list_redemption_items(
            session, scope=scope, store_ids=list(store_ids), include_inactive=True
        )


def items(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """The redemption catalog of the picked stores, inactive items included (cached)."""
    return _items(engine, str(engine.url), scope, store_ids, version(engine))


@st.cache_data(ttl=3600, show_spinner=False)
def _rules(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], ver: Version) -> dict[str, object]:
    with session_scope(_engine) as session:
        targets: list[int | None] = [None, *store_ids]
        return {
            "own_tiers": {s: loyalty_repo.active_tier_rules(session, scope=scope, store_id=s) for s in targets},
            "effective_tiers": {
                s: loyalty_repo.effective_tier_rules(session, scope=scope, store_id=s) for s in targets
            },
            "own_points": {s: loyalty_repo.active_points_rule(session, scope=scope, store_id=s) for s in targets},
            "effective_points": {
                s: loyalty_repo.effective_points_rule(session, scope=scope, store_id=s) for s in targets
            },
            "tier_versions": {s: loyalty_repo.tier_rule_versions(session, scope=scope, store_id=s) for s in targets},
            "points_versions": {
                s: loyalty_repo.points_rule_versions(session, scope=scope, store_id=s) for s in targets
            },
            "kinds": loyalty_repo.store_kinds(session, scope=scope),
        }


def rules(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> dict[str, object]:
    """Stored / effective tier and points rules per target (``None`` = chain-wide) and store kinds."""
    return _rules(engine, str(engine.url), scope, store_ids, version(engine))


@st.cache_data(ttl=600, show_spinner=False)
def simulate(
    visits: pd.DataFrame,
    rule: loyalty.PointsRule,
    tier_rules: tuple[loyalty.TierRule, ...],
    as_of: date,
    ledger: pd.DataFrame,
    activity: pd.DataFrame,
    scope: Scope,
) -> pd.DataFrame:
    """:func:`core.loyalty.simulate_program`, cached on its inputs (and the caller's scope)."""
    return loyalty.simulate_program(
        visits, rule=rule, tier_rules=list(tier_rules), as_of=as_of, ledger=ledger, activity=activity, months=12, seed=0
    )


def clear() -> None:
    """Drop the loyalty caches (after a write)."""
    _frames.clear()
    _page_summary.clear()
    _rules.clear()
    _items.clear()
    _ledger_summary.clear()
    _referral_summary.clear()
    _activity.clear()
    data.clear_versions()


# --------------------------------------------------------------------------- frame helpers


def rules_to_frame(rules: list[loyalty.TierRule] | tuple[loyalty.TierRule, ...]) -> pd.DataFrame:
    """Tier rules as an editable table (``TIER_EDITOR_COLUMNS``)."""
    rows = [
        {
            "name": r.name,
            "rank": r.rank,
            "min_spend_12m": r.min_spend_12m,
            "min_stored_value": r.min_stored_value,
            "min_plan_months": r.min_plan_months,
            "discount_pct": r.benefits.discount_pct,
            "booking_window_days": r.benefits.booking_window_days,
            "prime_time_access": r.benefits.prime_time_access,
            "designated_staff": r.benefits.designated_staff,
            "points_multiplier": r.benefits.points_multiplier,
        }
        for r in sorted(rules, key=lambda r: r.rank)
    ]
    frame = pd.DataFrame(rows, columns=list(TIER_EDITOR_COLUMNS))
    for column in ("min_spend_12m", "min_stored_value", "discount_pct", "points_multiplier"):
        frame[column] = frame[column].astype(float)
    frame["min_plan_months"] = frame["min_plan_months"].astype("Int64")
    return frame


def _optional(value: object, kind: type) -> float | int | None:
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return None
    return kind(value)  # type: ignore[call-arg]


def rules_from_frame(frame: pd.DataFrame) -> list[loyalty.TierRule]:
    """Tier rules from the editor's table; raises ``ValueError`` on a blank name or bad values."""
    out = []
    for row in frame.to_dict(orient="records"):
        name = str(row.get("name") or "").strip()
        if not name:
            raise ValueError("every tier needs a name")
        out.append(
            loyalty.TierRule(
                name=name,
                rank=int(row["rank"]),
                min_spend_12m=_optional(row.get("min_spend_12m"), float),
                min_stored_value=_optional(row.get("min_stored_value"), float),
                min_plan_months=_optional(row.get("min_plan_months"), int),  # type: ignore[arg-type]
                benefits=loyalty.TierBenefits(
                    discount_pct=float(_optional(row.get("discount_pct"), float) or 0.0),
                    booking_window_days=int(_optional(row.get("booking_window_days"), int) or 14),
                    prime_time_access=bool(row.get("prime_time_access") or False),
                    designated_staff=bool(row.get("designated_staff") or False),
                    points_multiplier=float(_optional(row.get("points_multiplier"), float) or 1.0),
                ),
            )
        )
    loyalty.qualify_tiers(
        pd.DataFrame(columns=["customer_id", "spend_12m", "stored_value_topups_12m", "plan_months"]), out
    )
    return out


def tier_distribution(accounts: pd.DataFrame, *, none_label: str, order: Sequence[str] = ()) -> pd.DataFrame:
    """Customers per tier: ``tier``, ``customers``, ``share``; tiers named in ``order`` (lowest
    first) lead in that order, other tiers follow largest first, customers without a tier last."""
    tiers = accounts["tier"].astype("string").fillna(none_label)
    counts = tiers.value_counts().rename_axis("tier").reset_index(name="customers")
    rank = {name: position for position, name in enumerate(dict.fromkeys(order))}
    counts["_rank"] = counts["tier"].map(
        lambda name: len(rank) + 1 if name == none_label else rank.get(name, len(rank))
    )
    counts = counts.sort_values(["_rank", "customers"], ascending=[True, False], kind="stable")
    counts = counts.drop(columns="_rank").reset_index(drop=True)
    counts["share"] = counts["customers"] / counts["customers"].sum() if len(counts) else 0.0
    return counts


def tier_order(tier_sets: Iterable[loyalty_repo.TierRuleSet | None]) -> list[str]:
    """Tier names from lowest to highest rank over the given rule sets (chain-wide set first)."""
    ranked = [(rule.rank, rule.name) for tier_set in tier_sets if tier_set is not None for rule in tier_set.rules]
    return list(dict.fromkeys(name for _, name in sorted(ranked, key=lambda pair: pair[0])))


def liability(accounts: pd.DataFrame, point_values: dict[int | None, float]) -> tuple[int, float]:
    """Outstanding points and their cash value (each customer at their home store's point value)."""
    homes = accounts["home_store_id"].astype(object).where(accounts["home_store_id"].notna(), None)
    values = homes.map(lambda h: point_values.get(None if h is None else int(h), point_values.get(None, 0.0)))
    points = accounts["balance"].clip(lower=0)
    return int(points.sum()), float((points * values.astype(float)).sum())


def expiring_lots(ledger: pd.DataFrame, *, as_of: date, days: int = 30) -> pd.DataFrame:
    """Open lots expiring after ``as_of`` and within ``days`` (core :func:`open_lots`)."""
    if ledger.empty:
        return pd.DataFrame(columns=["customer_id", "lot_key", "expires_at", "points_remaining"])
    lots = loyalty.open_lots(ledger, as_of=pd.Timestamp(as_of) + pd.Timedelta(days=1))
    start, end = pd.Timestamp(as_of) + pd.Timedelta(days=1), pd.Timestamp(as_of + timedelta(days=days + 1))
    due = lots[(lots["expires_at"] >= start) & (lots["expires_at"] < end)]
    return due[["customer_id", "lot_key", "expires_at", "points_remaining"]].reset_index(drop=True)


def monthly_points(ledger: pd.DataFrame, *, as_of: date, months: int = 12) -> pd.DataFrame:
    """Points issued / redeemed / expired per month over the last ``months`` months (positive numbers)."""
    columns = ["month", "issued", "redeemed", "expired"]
    if ledger.empty:
        return pd.DataFrame(columns=columns)
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    start = (end - pd.DateOffset(months=months)).to_period("M").to_timestamp()
    part = ledger[(ledger["occurred_at"] >= start) & (ledger["occurred_at"] < end)]
    month = part["occurred_at"].dt.to_period("M").dt.to_timestamp()
    frame = pd.DataFrame(
        {
            "month": month,
            "issued": part["points"].where(part["points"] > 0, 0),
            "redeemed": -part["points"].where(part["kind"] == "redeem", 0),
            "expired": -part["points"].where(part["kind"] == "expire", 0),
        }
    )
    return frame.groupby("month", as_index=False)[["issued", "redeemed", "expired"]].sum()


def top_items(ledger: pd.DataFrame, items: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """Most redeemed catalog items: ``item_id``, ``name``, ``redemptions``, ``points``."""
    columns = ["item_id", "name", "redemptions", "points"]
    redeems = ledger[(ledger["kind"] == "redeem") & ledger["note"].str.startswith("item:")]
    if redeems.empty:
        return pd.DataFrame(columns=columns)
    item_id = redeems["note"].str.extract(r"^item:(\d+)")[0].astype(int)
    grouped = (
        pd.DataFrame({"item_id": item_id, "points": -redeems["points"]})
        .groupby("item_id")
        .agg(redemptions=("points", "size"), points=("points", "sum"))
        .reset_index()
    )
    names = items.set_index("item_id")["name"] if len(items) else pd.Series(dtype=str)
    grouped["name"] = grouped["item_id"].map(names).fillna("?")
    return grouped.sort_values(["redemptions", "points"], ascending=False).head(top)[columns].reset_index(drop=True)
