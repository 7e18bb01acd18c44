"""Many concurrent redemptions of one balance on PostgreSQL: exactly the affordable number succeed."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import func, select

from core import loyalty
from core.scope import Scope
from db import loyalty_repo
from db.engine import make_engine, session_scope
from db.models import PointsAccount, PointsLedger
from tests.conftest import clean_all_tables
from tests.factories import small_world


def test_twenty_threads_redeem_one_balance(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        clean_all_tables(engine)
        ids = small_world(engine)
        cid = ids["a1"]
        with session_scope(engine) as session:
            loyalty_repo.append_entries(session, entries=[loyalty.LedgerEntry(
                cid, "adjust", 250, pd.Timestamp("2026-06-01"), "open:a1", None, (), "opening")], source="test")
        barrier = threading.Barrier(20)
        outcomes: list[str] = []
        lock = threading.Lock()

        def attempt(n: int) -> None:
            barrier.wait()
            try:
                with session_scope(engine) as session:
                    loyalty_repo.redeem(session, scope=Scope.system("t"), customer_id=cid, points=100,
                                        key=f"redeem:thread:{n}", at=datetime(2026, 12, 1, tzinfo=UTC))
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
