"""Starter loyalty programme for a fresh (demo) chain: rules, a small catalog, and the first job run."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core import loyalty
from core.localtime import local_day
from core.scope import Scope
from db import loyalty as loyalty_repo
from db.engine import session_scope
from db.models import Booking, PointsRule, RedemptionItem, Store, TierRule

SEED_ACTOR = "seed"

#: (name, kind, points cost, cash cost, stock) — chain-wide starter catalog.
CHAIN_CATALOG: tuple[tuple[str, str, int, float, int | None], ...] = (
    ("護髮精華 30ml", "goods", 300, 0.0, 40),
    ("品牌帆布袋", "goods", 500, 0.0, 25),
    ("頭皮深層清潔(免費加購)", "service", 800, 0.0, None),
    ("熱門時段優先預約(一次)", "privilege", 400, 0.0, None),
    ("指定設計師/美容師(一次)", "privilege", 600, 0.0, None),
)
#: Extra items for pet stores.
PET_CATALOG: tuple[tuple[str, str, int, float, int | None], ...] = (
    ("寵物零食禮盒", "goods", 350, 0.0, 30),
    ("免費指甲修剪", "service", 250, 0.0, None),
)


def _money_scale(stores: list[Store]) -> float:
    """Thresholds are quoted in CNY; a chain whose stores mostly take TWD scales them by 10."""
    twd = sum(1 for store in stores if store.currency == "TWD")
    return 10.0 if twd * 2 > len(stores) else 1.0


def seed_loyalty(engine: Engine, *, as_of: date | None = None, run_jobs: bool = True) -> dict[str, int]:
    """Write default loyalty rules and a catalog, then run the daily jobs once.

    - chain-wide salon tiers (一般會員 / 銀卡 / 金卡 / 鑽石, ``period_end`` downgrades) used by
      salon, nail and groomer stores; store-level plan tiers (一般會員 / 黃金 / 鉑金 / 鑽石) for
      every ``pet_adoption`` store;
    - one chain-wide points rule (1 point per CNY 1 / NT$10, birthday ×2, referral 200/100,
      12-month expiry, minimum redemption 100, 1 point = 0.2);
    - a small catalog (goods, services, privileges; pet items for pet stores);
    - :func:`db.loyalty.run_daily` as of the last booking day (first tier assignment is
      not reported as upgrade events).

    Rules and items are only written when none exist, so calling it again just re-runs the
    (idempotent) jobs.

    Parameters
    ----------
    engine : Engine
        The database (already holding stores, customers and bookings).
    as_of : date, optional
        Day to run the jobs for; default the day of the last booking.

    Returns
    -------
    dict
        ``tier_rule_sets``, ``points_rules``, ``items`` written, plus the job counts.
    """
    scope = Scope.system(SEED_ACTOR)
    counts = {"tier_rule_sets": 0, "points_rules": 0, "items": 0}
    with session_scope(engine) as session:
        stores = list(session.scalars(select(Store).order_by(Store.id)))
        if not session.scalar(select(func.count(TierRule.id))):
            loyalty_repo.save_tier_rules(
                session,
                scope=scope,
                store_id=None,
                rules=loyalty.salon_tier_rules(scale=_money_scale(stores)),
                policy=loyalty.TierPolicy(downgrade="period_end"),
            )
            counts["tier_rule_sets"] += 1
            for store in stores:
                if store.kind == "pet_adoption":
                    loyalty_repo.save_tier_rules(
                        session,
                        scope=scope,
                        store_id=store.id,
                        rules=loyalty.monthly_plan_tier_rules(),
                        policy=loyalty.TierPolicy(downgrade="grace", grace_days=30),
                    )
                    counts["tier_rule_sets"] += 1
        if not session.scalar(select(func.count(PointsRule.id))):
            loyalty_repo.save_points_rule(
                session,
                scope=scope,
                store_id=None,
                rule=loyalty.PointsRule(
                    earn_per_currency_unit=1.0 / _money_scale(stores),
                    birthday_multiplier=2.0,
                    referral_bonus_referrer=200,
                    referral_bonus_referee=100,
                    expiry_months=12,
                    min_redemption=100,
                    point_cash_value=0.2,
                ),
            )
            counts["points_rules"] += 1
        if not session.scalar(select(func.count(RedemptionItem.id))):
            for name, kind, cost, cash, stock in CHAIN_CATALOG:
                loyalty_repo.upsert_redemption_item(
                    session,
                    scope=scope,
                    item_id=None,
                    store_id=None,
                    name=name,
                    kind=kind,
                    points_cost=cost,
                    cash_cost=cash,
                    stock=stock,
                )
                counts["items"] += 1
            for store in stores:
                if store.kind in ("pet_groomer", "pet_adoption"):
                    for name, kind, cost, cash, stock in PET_CATALOG:
                        loyalty_repo.upsert_redemption_item(
                            session,
                            scope=scope,
                            item_id=None,
                            store_id=store.id,
                            name=name,
                            kind=kind,
                            points_cost=cost,
                            cash_cost=cash,
                            stock=stock,
                        )
                        counts["items"] += 1
        last_by_store = session.execute(
            select(Booking.store_id, func.max(Booking.scheduled_at))
            .where(Booking.status == "completed")
            .group_by(Booking.store_id)
        ).all()
        zones = {s.id: s.timezone for s in stores}
    # The last day with a completed visit on the store's own clock.
    local_days = [
        local_day(pd.to_datetime(when, utc=True).to_pydatetime(), zones.get(store_id, "UTC"))
        for store_id, when in last_by_store
        if when is not None
    ]
    day = as_of or (max(local_days) if local_days else date.today())
    if not run_jobs:
        return counts
    jobs = loyalty_repo.run_daily(engine, as_of=day, scope=scope, include_new=False)
    return {**counts, **jobs}
