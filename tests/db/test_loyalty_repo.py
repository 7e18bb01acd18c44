"""Loyalty persistence on SQLite and PostgreSQL: idempotent jobs, locking, rules, permissions.

RELIABILITY 19 (concurrent redemptions) and 20 (FIFO lots, idempotent expiry) are here.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from core import loyalty
from core.scope import PermissionDenied, Scope
from db import loyalty as loyalty_repo
from db.engine import session_scope
from db.models import AuditLog, PointsAccount, PointsLedger, RedemptionItem, Referral, TierRule
from db.users import scope_for
from demo.loyalty import seed_loyalty
from tests.support.factories import small_world

SYSTEM = Scope.system("test")
AT = datetime(2026, 12, 1, 4, tzinfo=UTC)


def _lot(customer_id: int, points: int, key: str, earned: str, expires: str | None) -> loyalty.LedgerEntry:
    return loyalty.LedgerEntry(
        customer_id,
        "adjust",
        points,
        pd.Timestamp(earned),
        key,
        None if expires is None else pd.Timestamp(expires),
        (),
        "opening balance",
    )


def _give(
    engine, customer_id: int, points: int, key: str = "open", earned: str = "2026-06-01", expires: str | None = None
) -> None:
    with session_scope(engine) as session:
        loyalty_repo.append_entries(
            session, entries=[_lot(customer_id, points, f"{key}:{customer_id}", earned, expires)], source="test"
        )


def _balance(engine, customer_id: int) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(PointsAccount.balance).where(PointsAccount.customer_id == customer_id)))


def _ledger_rows(engine) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count(PointsLedger.id))))


def _salon_rules() -> list[loyalty.TierRule]:
    return [
        loyalty.TierRule("一般會員", 0),
        loyalty.TierRule("銀卡", 1, min_spend_12m=500),
        loyalty.TierRule("金卡", 2, min_spend_12m=2000, benefits=loyalty.TierBenefits(points_multiplier=1.5)),
    ]


def test_earn_and_expiry_are_idempotent(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        loyalty_repo.save_points_rule(
            session, scope=SYSTEM, store_id=None, rule=loyalty.PointsRule(expiry_months=1, min_redemption=0)
        )
    first = loyalty_repo.earn_from_bookings(engine, as_of=date(2026, 11, 30))
    rows = _ledger_rows(engine)
    again = loyalty_repo.earn_from_bookings(engine, as_of=date(2026, 11, 30))
    assert first == {"candidates": 4, "written": 4} and again["written"] == 0
    assert _ledger_rows(engine) == rows == 4
    assert _balance(engine, ids["a1"]) == 2400 and _balance(engine, ids["a2"]) == 800
    assert _balance(engine, ids["b1"]) == 300

    expired = loyalty_repo.run_expiry(engine, as_of=date(2027, 1, 1))
    again = loyalty_repo.run_expiry(engine, as_of=date(2027, 1, 1))
    assert expired["written"] == 4 and expired["points"] == 3500 and again["written"] == 0
    with session_scope(engine) as session:
        kinds = dict(session.execute(select(PointsLedger.kind, func.count()).group_by(PointsLedger.kind)).all())
        assert kinds == {"earn": 4, "expire": 4}
        assert loyalty_repo.reconcile(session).empty
    assert _balance(engine, ids["a1"]) == 0


def test_two_concurrent_80_point_redemptions_against_100(engine) -> None:
    """RELIABILITY 19: exactly one succeeds, the balance is 20, never negative."""
    ids = small_world(engine)
    _give(engine, ids["a1"], 100)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(key: str) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                loyalty_repo.redeem(session, scope=SYSTEM, customer_id=ids["a1"], points=80, key=key, at=AT)
            outcomes.append("ok")
        except loyalty.InsufficientPoints:
            outcomes.append("insufficient")

    threads = [threading.Thread(target=attempt, args=(f"redeem:{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["insufficient", "ok"]
    assert _balance(engine, ids["a1"]) == 20
    with session_scope(engine) as session:
        assert loyalty_repo.reconcile(session).empty


def test_fifo_lots_and_expiry_run_twice(engine) -> None:
    """RELIABILITY 20: the January lot is used first; expiry twice → one entry; balance = ledger sum."""
    ids = small_world(engine)
    cid = ids["a1"]
    with session_scope(engine) as session:
        loyalty_repo.append_entries(
            session,
            entries=[
                _lot(cid, 50, "lot:jun", "2026-06-01", "2027-06-15"),
                _lot(cid, 50, "lot:jan", "2026-07-01", "2027-01-15"),
            ],
            source="test",
        )
    with session_scope(engine) as session:
        result = loyalty_repo.redeem(session, scope=SYSTEM, customer_id=cid, points=60, key="redeem:fifo", at=AT)
    assert result.entry.allocations == (("lot:jan", 50), ("lot:jun", 10)) and result.balance == 40
    with session_scope(engine) as session:  # a retry with the same key writes nothing new
        retry = loyalty_repo.redeem(session, scope=SYSTEM, customer_id=cid, points=60, key="redeem:fifo", at=AT)
    assert retry.duplicate and retry.balance == 40
    first = loyalty_repo.run_expiry(engine, as_of=date(2027, 7, 1))
    second = loyalty_repo.run_expiry(engine, as_of=date(2027, 7, 1))
    assert (first["written"], first["points"], second["written"]) == (1, 40, 0)
    with session_scope(engine) as session:
        expiries = session.execute(
            select(PointsLedger.idempotency_key, PointsLedger.points).where(PointsLedger.kind == "expire")
        ).all()
        assert [tuple(e) for e in expiries] == [("expire:lot:jun", -40)]
        ledger_sum = session.scalar(select(func.sum(PointsLedger.points)).where(PointsLedger.customer_id == cid))
        assert ledger_sum == 0 == _balance(engine, cid)
        assert loyalty_repo.reconcile(session).empty


def test_store_manager_cannot_edit_chain_wide_rules(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        manager = scope_for(session, username="mgr_a")
    assert manager is not None
    with pytest.raises(PermissionDenied), session_scope(engine) as session:
        loyalty_repo.save_tier_rules(
            session, scope=manager, store_id=None, rules=_salon_rules(), policy=loyalty.TierPolicy()
        )
    with pytest.raises(PermissionDenied), session_scope(engine) as session:
        loyalty_repo.save_points_rule(session, scope=manager, store_id=None, rule=loyalty.PointsRule())
    with pytest.raises(PermissionDenied), session_scope(engine) as session:
        loyalty_repo.save_tier_rules(
            session, scope=manager, store_id=ids["store_b"], rules=_salon_rules(), policy=loyalty.TierPolicy()
        )
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(TierRule.id))) == 0
        assert session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action.like("%rule%"))) == 0
        # Their own store's rules they may set.
        assert (
            loyalty_repo.save_tier_rules(
                session, scope=manager, store_id=ids["store_a"], rules=_salon_rules(), policy=loyalty.TierPolicy()
            )
            == 1
        )


def test_rule_saves_are_versioned_and_audited(engine) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        loyalty_repo.save_tier_rules(
            session, scope=SYSTEM, store_id=None, rules=_salon_rules(), policy=loyalty.TierPolicy()
        )
    changed = [replace(r, min_spend_12m=1000) if r.name == "金卡" else r for r in _salon_rules()]
    with session_scope(engine) as session:
        version = loyalty_repo.save_tier_rules(
            session,
            scope=SYSTEM,
            store_id=None,
            rules=changed,
            policy=loyalty.TierPolicy(downgrade="grace", grace_days=14),
        )
    assert version == 2
    with session_scope(engine) as session:
        active = loyalty_repo.active_tier_rules(session, scope=SYSTEM, store_id=None)
        history = loyalty_repo.tier_rule_versions(session, scope=SYSTEM, store_id=None)
        audits = list(
            session.scalars(select(AuditLog).where(AuditLog.action == "tier_rules_saved").order_by(AuditLog.id))
        )
    assert active is not None and active.version == 2 and active.policy.downgrade == "grace"
    assert {r.name: r.min_spend_12m for r in active.rules}["金卡"] == 1000
    assert history["version"].tolist() == [2, 1] and history["active"].tolist() == [True, False]
    assert audits[0].before is None and audits[1].before["version"] == 1 and audits[1].after["version"] == 2
    assert audits[1].after["tiers"][2]["min_spend_12m"] == 1000


def test_tier_recalculation_records_changes_once(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        loyalty_repo.save_tier_rules(
            session,
            scope=SYSTEM,
            store_id=None,
            rules=_salon_rules(),
            policy=loyalty.TierPolicy(downgrade="period_end"),
        )
    events = loyalty_repo.recalculate_tiers(engine, as_of=date(2026, 11, 30))
    assert list(events.columns) == list(loyalty_repo.TIER_EVENT_COLUMNS)
    assert events[["customer_id", "to_tier", "direction"]].values.tolist() == [
        [ids["a1"], "金卡", "up"],
        [ids["a2"], "銀卡", "up"],
    ]
    assert loyalty_repo.recalculate_tiers(engine, as_of=date(2026, 11, 30)).empty
    # Two years later nobody qualifies any more and the membership period has ended.
    later = loyalty_repo.recalculate_tiers(engine, as_of=date(2028, 1, 1))
    assert later["direction"].tolist() == ["down", "down"]
    with session_scope(engine) as session:
        accounts = loyalty_repo.load_accounts(session, scope=SYSTEM).set_index("customer_id")
        changes = session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "tier_change"))
    assert accounts.loc[ids["a1"], "tier"] == "一般會員" and accounts.loc[ids["b1"], "tier"] == "一般會員"
    assert changes == 4


def test_item_stock_never_below_zero_and_scope_enforced(engine) -> None:
    ids = small_world(engine)
    _give(engine, ids["a1"], 1000)
    with session_scope(engine) as session:
        item_id = loyalty_repo.upsert_redemption_item(
            session, scope=SYSTEM, item_id=None, store_id=None, name="Mask", kind="goods", points_cost=300, stock=1
        )
    with session_scope(engine) as session:
        loyalty_repo.redeem(session, scope=SYSTEM, customer_id=ids["a1"], points=300, key="r1", item_id=item_id, at=AT)
    with pytest.raises(loyalty.RedemptionRefused), session_scope(engine) as session:
        loyalty_repo.redeem(session, scope=SYSTEM, customer_id=ids["a1"], points=300, key="r2", item_id=item_id, at=AT)
    with session_scope(engine) as session:
        desk_b = scope_for(session, username="desk_b")
        marketer = scope_for(session, username="mkt_a")
    with pytest.raises(LookupError), session_scope(engine) as session:  # store B desk, store A customer
        loyalty_repo.redeem(session, scope=desk_b, customer_id=ids["a1"], points=100, key="r3", at=AT)
    with pytest.raises(PermissionDenied), session_scope(engine) as session:
        loyalty_repo.redeem(session, scope=marketer, customer_id=ids["a1"], points=100, key="r4", at=AT)
    with session_scope(engine) as session:
        assert session.scalar(select(RedemptionItem.stock).where(RedemptionItem.id == item_id)) == 0
    assert _balance(engine, ids["a1"]) == 700


def test_reconcile_reports_a_tampered_balance(engine) -> None:
    ids = small_world(engine)
    _give(engine, ids["a2"], 100)
    with session_scope(engine) as session:
        session.execute(update(PointsAccount).where(PointsAccount.customer_id == ids["a2"]).values(balance=90))
    with session_scope(engine) as session:
        problems = loyalty_repo.reconcile(session)
    assert problems["issue"].tolist() == ["balance_mismatch"] and problems["difference"].tolist() == [-10]


def test_referral_rewards_are_credited_once_and_seed_reconciles(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        session.add(
            Referral(
                referrer_id=ids["a1"], referee_id=ids["a2"], code="RV1", created_at=datetime(2026, 10, 15, tzinfo=UTC)
            )
        )
    counts = seed_loyalty(engine)
    assert counts["tier_rule_sets"] == 1 and counts["points_rules"] == 1 and counts["items"] > 0
    assert counts["referral_credits"] == 2 and counts["earned"] == 4
    assert loyalty_repo.award_referrals(engine, as_of=date(2026, 11, 30))["written"] == 0
    again = seed_loyalty(engine)
    assert again["earned"] == 0 and again["items"] == 0
    with session_scope(engine) as session:
        assert loyalty_repo.reconcile(session).empty
        ledger = loyalty_repo.load_ledger(session, scope=SYSTEM)
        tier_events = session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "tier_change"))
    referral = ledger[ledger["kind"] == "referral"].set_index("customer_id")["points"].to_dict()
    assert referral == {ids["a1"]: 200, ids["a2"]: 100}
    assert tier_events == 0  # first assignment by the seed is not an upgrade event
    # The Loyalty page counts referrals in the database, scoped by the referee's home store.
    with session_scope(engine) as session:
        for scope, stores, expected in (
            (SYSTEM, None, 1),
            (SYSTEM, [ids["store_a"]], 1),
            (SYSTEM, [ids["store_b"]], 0),
        ):
            assert loyalty_repo.count_referrals(session, scope=scope, store_ids=stores) == expected
            assert len(loyalty_repo.load_referrals(session, scope=scope, store_ids=stores)) == expected


def test_loyalty_fingerprint_moves_with_loyalty_writes_only(engine) -> None:
    """Loyalty pages are cached (and kept) by this fingerprint: a sign-in must not throw them away,
    a rule change must."""
    from db.repo import record_audit

    small_world(engine)
    with session_scope(engine) as session:
        before = loyalty_repo.loyalty_version(session)
        record_audit(session, actor="mgr_a", action="login", entity="user")
    with session_scope(engine) as session:
        assert loyalty_repo.loyalty_version(session) == before
        loyalty_repo.save_points_rule(session, scope=SYSTEM, store_id=None, rule=loyalty.PointsRule(expiry_months=6))
    with session_scope(engine) as session:
        assert loyalty_repo.loyalty_version(session) != before
