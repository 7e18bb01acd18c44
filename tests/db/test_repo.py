"""Repository reads on SQLite and PostgreSQL: scoping, local time, audit, data version."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, select

from core.columns import BOOKING_COLUMNS
from core.scope import Scope
from db import repo
from db.engine import session_scope
from db.models import AuditLog
from db.users import scope_for
from tests.support.factories import small_world


def test_store_manager_sees_only_own_store(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        scope = scope_for(session, username="mgr_a")
        assert scope is not None and scope.store_ids == frozenset({ids["store_a"]})
        bookings = repo.load_bookings(session, scope=scope)
        customers = repo.load_customers(session, scope=scope)
        # Asking for store B explicitly still yields nothing.
        other = repo.load_bookings(session, scope=scope, store_ids=[ids["store_b"]])
        stores = [s.code for s in repo.list_stores(session, scope=scope)]
    assert set(bookings["store_id"]) == {ids["store_a"]}
    assert len(bookings) == 4
    assert set(customers["external_id"]) == {"A-1", "A-2"}
    assert other.empty and list(other.columns) == list(BOOKING_COLUMNS)
    assert stores == ["A01"]


def test_chain_admin_sees_every_store(engine) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        scope = scope_for(session, username="admin")
        assert scope is not None and scope.store_ids is None
        assert len(repo.load_bookings(session, scope=scope)) == 5
        assert repo.count_customers(session, scope=scope) == 3


def test_bookings_come_back_in_store_local_time(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        frame = repo.load_bookings(session, scope=Scope.system())
    by_key = frame.set_index("customer_id")
    b1_visit = by_key.loc[ids["b1"], "scheduled_at"]
    assert b1_visit == pd.Timestamp("2026-11-05 01:00")  # 17:00 UTC the day before, in Shanghai
    first_a1 = frame[frame["customer_id"] == ids["a1"]]["scheduled_at"].min()
    assert first_a1 == pd.Timestamp("2026-10-01 10:00")


def test_empty_scope_reads_nothing(engine) -> None:
    small_world(engine)
    nobody = Scope(actor="x", role="store_manager", store_ids=frozenset())
    with session_scope(engine) as session:
        assert repo.load_bookings(session, scope=nobody).empty
        assert repo.count_customers(session, scope=nobody) == 0
        assert repo.list_stores(session, scope=nobody) == []


def test_data_version_changes_with_new_bookings(engine) -> None:
    from db.models import Booking
    from tests.support.factories import utc

    ids = small_world(engine)
    with session_scope(engine) as session:
        before = repo.data_version(session)
        session.add(
            Booking(
                dedupe_key="k9",
                store_id=ids["store_a"],
                customer_id=ids["a1"],
                scheduled_at=utc(2026, 11, 20, 3),
                status="completed",
                amount=500,
            )
        )
    with session_scope(engine) as session:
        assert repo.data_version(session) != before
        assert repo.latest_booking_day(session, scope=Scope.system()) == date(2026, 11, 20)


def test_audit_entries_are_written_in_the_callers_transaction(engine) -> None:
    small_world(engine)
    try:
        with session_scope(engine) as session:
            repo.record_audit(session, actor="mgr_a", action="export", entity="customers")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with session_scope(engine) as session:
        exports = session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "export"))
    assert exports == 0
