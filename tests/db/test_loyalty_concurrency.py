"""Many concurrent redemptions of one balance on PostgreSQL: exactly the affordable number succeed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import func, select

from core import loyalty
from core.scope import Scope
from db import loyalty as loyalty_repo
from db.engine import make_engine, session_scope
from db.models import PointsAccount, PointsLedger
from tests.conftest import clean_all_tables
from tests.support.factories import small_world


def test_twenty_threads_redeem_one_balance(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        clean_all_tables(engine)
        ids = small_world(engine)
        cid = ids["a1"]
        with session_scope(engine) as session:
            loyalty_repo.append_entries(
                session,
                entries=[
                    loyalty.LedgerEntry(cid, "adjust", 250, pd.Timestamp("2026-06-01"), "open:a1", None, (), "opening")
                ],
                source="test",
            )
        barrier = threading.Barrier(20)
        outcomes: list[str] = []
        lock = threading.Lock()

        def attempt(n: int) -> None:
            barrier.wait()
            try:
                with session_scope(engine) as session:
                    loyalty_repo.redeem(
                        session,
                        scope=Scope.system("t"),
                        customer_id=cid,
                        points=100,
                        key=f"redeem:thread:{n}",
                        at=datetime(2026, 12, 1, tzinfo=UTC),
                    )
                result = "ok"
            except loyalty.InsufficientPoints:
                result = "insufficient"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert outcomes.count("ok") == 2 and outcomes.count("insufficient") == 18
        with session_scope(engine) as session:
            balance = session.scalar(select(PointsAccount.balance).where(PointsAccount.customer_id == cid))
            redeems = session.scalar(select(func.count(PointsLedger.id)).where(PointsLedger.kind == "redeem"))
            assert balance == 50 and redeems == 2
            assert loyalty_repo.reconcile(session).empty
    finally:
        engine.dispose()


def test_simultaneous_rule_saves_get_distinct_versions(pg_url: str) -> None:
    """Eight managers saving the chain's tier and points rules at the same moment: versions 1..8,
    one active set, each version whole (no two saves share a number)."""
    from db.models import PointsRule, TierRule

    engine = make_engine(pg_url)
    try:
        clean_all_tables(engine)
        small_world(engine)
        tiers = [loyalty.TierRule("一般會員", 0), loyalty.TierRule("金卡", 1, min_spend_12m=2000)]
        barrier = threading.Barrier(8)
        versions: list[tuple[int, int]] = []
        lock = threading.Lock()

        def save(n: int) -> None:
            barrier.wait()
            with session_scope(engine) as session:
                tier_version = loyalty_repo.save_tier_rules(
                    session, scope=Scope.system(f"t{n}"), store_id=None, rules=tiers, policy=loyalty.TierPolicy()
                )
                points_version = loyalty_repo.save_points_rule(
                    session, scope=Scope.system(f"t{n}"), store_id=None, rule=loyalty.PointsRule(min_redemption=n)
                )
            with lock:
                versions.append((tier_version, points_version))

        threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(v for v, _ in versions) == list(range(1, 9))
        assert sorted(v for _, v in versions) == list(range(1, 9))
        with session_scope(engine) as session:
            per_version = session.execute(select(TierRule.version, func.count()).group_by(TierRule.version)).all()
            assert all(count == len(tiers) for _, count in per_version)
            assert session.scalar(select(func.count()).select_from(TierRule).where(TierRule.active.is_(True))) == 2
            assert session.scalar(select(func.count()).select_from(PointsRule).where(PointsRule.active.is_(True))) == 1
    finally:
        engine.dispose()
