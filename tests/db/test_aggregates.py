"""Per-customer aggregates: the numpy path equals the original core functions, and the SQL path
(db/aggregates.py) equals the numpy path on SQLite and PostgreSQL on a demo world."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.aggregates import AGGREGATE_COLUMNS, PRIOR_COLUMNS, aggregate_bookings, group_median_mad
from core.cadence import revisit_windows, windows_from_aggregates
from core.lifecycle import lifecycle_from_aggregates, lifecycle_segments
from core.rfm import rfm_from_aggregates, rfm_table
from core.scope import Scope
from db import repo
from db.aggregates import load_aggregates
from db.engine import session_scope
from demo.load import load_world
from demo.world import generate_world, iter_world_chunks
from services.scoring import score_customers_for

END = date(2026, 11, 22)
DATES = (END, date(2026, 3, 31), date(2025, 12, 31))


@pytest.fixture(scope="module")
def world():
    return generate_world(n_stores=4, n_customers=600, seed=11, end_date=END)


def test_group_median_and_mad_match_pandas() -> None:
    groups = pd.Series([0, 0, 0, 1, 1, 1, 1, 3, -1])
    values = pd.Series([5, 1, 3, 10, 2, 2, 7, 4, 99])
    counts, median, mad = group_median_mad(groups.to_numpy(), values.to_numpy(), 4)
    assert counts.tolist() == [3, 4, 0, 1]
    assert median[[0, 1, 3]].tolist() == [3.0, 4.5, 4.0]
    # MAD of [10, 2, 2, 7] around 4.5: deviations 5.5, 2.5, 2.5, 2.5 -> 2.5
    assert mad[[0, 1, 3]].tolist() == [2.0, 2.5, 0.0]
    assert pd.isna(median[2]) and pd.isna(mad[2])


@pytest.mark.parametrize("as_of", DATES)
def test_aggregate_path_equals_core_functions(world, as_of) -> None:
    bookings = world.bookings
    home = world.customers.set_index("customer_id")["home_store_id"]
    agg = aggregate_bookings(bookings, as_of=as_of)
    assert list(agg.customers.columns) == list(AGGREGATE_COLUMNS)
    assert list(agg.priors.columns) == list(PRIOR_COLUMNS)
    pd.testing.assert_frame_equal(
        rfm_from_aggregates(agg.customers, as_of=as_of, store_of=home), rfm_table(bookings, as_of=as_of, store_of=home)
    )
    expected = revisit_windows(bookings, as_of=as_of, by="customer")
    got = windows_from_aggregates(agg.customers, agg.priors, as_of=as_of)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    rfm = rfm_table(bookings, as_of=as_of)
    pd.testing.assert_frame_equal(
        lifecycle_from_aggregates(rfm, expected, agg.customers),
        lifecycle_segments(rfm, expected, bookings, as_of=as_of),
    )


def test_aggregates_ignore_later_bookings(world) -> None:
    as_of = date(2026, 3, 31)
    cut = world.bookings[world.bookings["scheduled_at"] < pd.Timestamp("2026-04-01")]
    full = aggregate_bookings(world.bookings, as_of=as_of)
    trimmed = aggregate_bookings(cut, as_of=as_of)
    pd.testing.assert_frame_equal(full.customers, trimmed.customers)
    pd.testing.assert_frame_equal(full.priors, trimmed.priors)


@pytest.fixture
def demo_db(engine):
    load_world(engine, iter_world_chunks(n_stores=4, n_customers=250, seed=5, end_date=END))
    return engine


def test_sql_aggregates_equal_pandas(demo_db) -> None:
    """PostgreSQL (percentile_cont) and SQLite (row_number medians) both equal numpy."""
    system = Scope.system()
    with session_scope(demo_db) as session:
        bookings = repo.load_bookings(session, scope=system)
        store = int(bookings["store_id"].iloc[0])
        for as_of in (END, date(2026, 5, 31)):
            sql = load_aggregates(session, scope=system, as_of=as_of)
            numpy = aggregate_bookings(bookings, as_of=as_of)
            pd.testing.assert_frame_equal(sql.customers, numpy.customers)
            pd.testing.assert_frame_equal(sql.priors, numpy.priors)
        mine = Scope(actor="m", role="store_manager", store_ids=frozenset({store}))
        scoped = load_aggregates(session, scope=mine, as_of=END)
        pd.testing.assert_frame_equal(
            scoped.customers, aggregate_bookings(bookings[bookings["store_id"] == store], as_of=END).customers
        )
        other = Scope(actor="x", role="store_manager", store_ids=frozenset())
        assert load_aggregates(session, scope=other, as_of=END).customers.empty


def test_score_pushdown_equals_pandas_path(demo_db) -> None:
    system = Scope.system()
    pushed = score_customers_for(demo_db, system, as_of=END, pushdown=True)
    loaded = score_customers_for(demo_db, system, as_of=END, pushdown=False)
    assert len(pushed) == 250
    pd.testing.assert_frame_equal(pushed, loaded)
