"""The page caches (dashboard/data.py and friends) on SQLite and PostgreSQL: a cached frame is
never served to another store's user, a new booking or ledger row shows at once after the
held fingerprints are cleared, and a caller changing its copy never changes the cached frame."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.scope import Scope
from dashboard import analytics_data as ad
from dashboard import data, loyalty_data
from db import repo
from db.engine import session_scope
from db.models import Booking
from tests.support.factories import small_world, utc

AS_OF = date(2026, 11, 10)


pytestmark = pytest.mark.usefixtures("empty_streamlit_caches")


def _scopes(ids: dict[str, int]) -> tuple[Scope, Scope]:
    a = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({ids["store_a"]}))
    b = Scope(actor="desk_b", role="store_manager", store_ids=frozenset({ids["store_b"]}))
    return a, b


def test_cached_frames_keep_each_store_apart(engine) -> None:
    ids = small_world(engine)
    a, b = _scopes(ids)
    # Same picked stores, different callers: B's manager asking for store A gets nothing.
    mine = data.bookings(engine, a, (ids["store_a"],))
    theirs = data.bookings(engine, b, (ids["store_a"],))
    assert set(mine["store_id"]) == {ids["store_a"]} and len(mine) == 4
    assert theirs.empty
    assert set(data.customers(engine, b, (ids["store_b"],))["customer_id"]) == {ids["b1"]}
    assert data.customers(engine, b, (ids["store_a"],)).empty
    assert set(ad.scores(engine, a, (ids["store_a"],), AS_OF)["customer_id"]) == {ids["a1"], ids["a2"]}
    assert ad.scores(engine, b, (ids["store_a"],), AS_OF).empty
    assert loyalty_data.frames(engine, b, (ids["store_a"],))["accounts"].empty


def test_new_booking_shows_after_fingerprint(engine) -> None:
    ids = small_world(engine)
    a, _ = _scopes(ids)
    before = data.bookings(engine, a, (ids["store_a"],))
    with session_scope(engine) as session:
        session.add(
            Booking(
                dedupe_key="k6",
                external_id="k6",
                store_id=ids["store_a"],
                customer_id=ids["a1"],
                scheduled_at=utc(2026, 11, 9, 2),
                status="completed",
                amount=500,
            )
        )
    data.clear_versions()  # what an import in this process does; another process waits ≤ 5 s
    after = data.bookings(engine, a, (ids["store_a"],))
    assert len(after) == len(before) + 1
    row = ad.scores(engine, a, (ids["store_a"],), AS_OF).set_index("customer_id").loc[ids["a1"]]
    assert row["frequency"] == 3


def test_rule_change_and_earning_change_the_loyalty_caches(engine) -> None:
    from core import loyalty
    from db import loyalty as loyalty_repo

    ids = small_world(engine)
    admin = Scope(actor="admin", role="chain_admin", store_ids=None)
    store_a = (ids["store_a"],)
    before = loyalty_data.rules(engine, admin, store_a)["effective_points"][None]
    with session_scope(engine) as session:
        loyalty_repo.save_points_rule(
            session,
            scope=admin,
            store_id=None,
            rule=loyalty.PointsRule(earn_per_currency_unit=before.earn_per_currency_unit + 1),
        )
    loyalty_data.clear()  # what the rules page does after saving
    after = loyalty_data.rules(engine, admin, store_a)["effective_points"][None]
    assert after.earn_per_currency_unit == before.earn_per_currency_unit + 1
    assert loyalty_data.frames(engine, admin, store_a)["ledger"].empty
    loyalty_repo.earn_from_bookings(engine, as_of=AS_OF)  # the nightly job, another process
    data.clear_versions()  # stands in for the 5 s the fingerprints are held
    assert not loyalty_data.frames(engine, admin, store_a)["ledger"].empty


def test_callers_cannot_change_the_cached_frame(engine) -> None:
    ids = small_world(engine)
    a, _ = _scopes(ids)
    first = data.bookings(engine, a, (ids["store_a"],))
    first["amount"] = 0.0
    first.loc[:, "status"] = "cancelled"
    first.drop(columns=["channel"], inplace=True)
    again = data.bookings(engine, a, (ids["store_a"],))
    assert again["amount"].sum() == 2800.0
    assert "channel" in again.columns and not again["status"].eq("cancelled").any()
    with session_scope(engine) as session:
        fresh = repo.load_bookings(session, scope=a, store_ids=[ids["store_a"]])
    pd.testing.assert_frame_equal(again.reset_index(drop=True), fresh)
