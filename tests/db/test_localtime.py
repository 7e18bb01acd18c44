"""core/localtime.py: UTC instants <-> a store's local calendar, checked against hand-worked values.

Asia/Shanghai is UTC+8 all year (the small world's store B: a booking at 17:00 UTC on Nov 4 is at
01:00 on Nov 5 there); America/New_York springs forward on 2024-03-10 at 02:00 (EST UTC-5 -> EDT
UTC-4) and falls back on 2024-11-03 at 02:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from core.localtime import (
    local_day,
    local_day_end_utc,
    local_midnight_utc,
    local_time,
    local_to_utc,
    to_local,
    to_utc,
    to_utc_per_row,
    utc_offset,
)

SH, TPE, NY = "Asia/Shanghai", "Asia/Taipei", "America/New_York"


@pytest.mark.parametrize(
    ("instant", "tz", "day", "wall"),
    [
        (datetime(2024, 11, 4, 17, 0, tzinfo=UTC), SH, date(2024, 11, 5), datetime(2024, 11, 5, 1, 0)),
        (datetime(2024, 11, 4, 15, 59, tzinfo=UTC), SH, date(2024, 11, 4), datetime(2024, 11, 4, 23, 59)),
        (datetime(2024, 11, 4, 16, 0, tzinfo=UTC), TPE, date(2024, 11, 5), datetime(2024, 11, 5, 0, 0)),
        (datetime(2024, 11, 4, 17, 0), SH, date(2024, 11, 5), datetime(2024, 11, 5, 1, 0)),  # naive = UTC
        (datetime(2024, 3, 10, 4, 59, tzinfo=UTC), NY, date(2024, 3, 9), datetime(2024, 3, 9, 23, 59)),
        (datetime(2024, 3, 10, 7, 0, tzinfo=UTC), NY, date(2024, 3, 10), datetime(2024, 3, 10, 3, 0)),
        (
            datetime(2024, 11, 5, 1, 0, tzinfo=ZoneInfo(SH)),
            NY,
            date(2024, 11, 4),
            datetime(2024, 11, 4, 12, 0),
        ),  # an aware non-UTC input: 17:00 UTC
    ],
)
def test_local_day_and_wall_time_of_an_instant(instant, tz, day, wall) -> None:
    assert local_day(instant, tz) == day
    assert local_time(instant, tz) == wall


@pytest.mark.parametrize(
    ("day", "tz", "start", "end"),
    [
        (date(2024, 11, 5), SH, datetime(2024, 11, 4, 16, tzinfo=UTC), datetime(2024, 11, 5, 16, tzinfo=UTC)),
        (date(2024, 11, 5), "UTC", datetime(2024, 11, 5, tzinfo=UTC), datetime(2024, 11, 6, tzinfo=UTC)),
        # the spring-forward day has 23 hours, the fall-back day 25
        (date(2024, 3, 10), NY, datetime(2024, 3, 10, 5, tzinfo=UTC), datetime(2024, 3, 11, 4, tzinfo=UTC)),
        (date(2024, 11, 3), NY, datetime(2024, 11, 3, 4, tzinfo=UTC), datetime(2024, 11, 4, 5, tzinfo=UTC)),
    ],
)
def test_local_day_bounds_in_utc(day, tz, start, end) -> None:
    assert local_midnight_utc(day, tz) == start
    assert local_day_end_utc(day, tz) == end
    assert local_day(start, tz) == day
    assert local_day(end - timedelta(microseconds=1), tz) == day
    assert local_day(end, tz) == day + timedelta(days=1)


def test_local_to_utc_and_offsets() -> None:
    assert local_to_utc(datetime(2024, 11, 5, 1, 0), SH) == datetime(2024, 11, 4, 17, 0, tzinfo=UTC)
    assert utc_offset(SH, datetime(2024, 6, 1, 12)) == timedelta(hours=8)
    assert utc_offset(NY, datetime(2024, 6, 1, 12)) == timedelta(hours=-4)
    assert utc_offset(NY, datetime(2024, 1, 1, 12)) == timedelta(hours=-5)
    assert utc_offset("Not/A_Zone", datetime(2024, 6, 1, 12)) == timedelta(0)


def test_to_local_converts_each_row_by_its_stores_zone() -> None:
    utc = pd.Series(["2024-11-04T17:00:00+00:00", "2024-11-04T17:00:00+00:00", "2024-11-04T17:00:00+00:00", None])
    stores = pd.Series([2, 1, 9, 2])  # 9: a store with no known zone keeps the UTC wall time
    local = to_local(utc, stores, {1: TPE, 2: SH})
    assert list(local[:3]) == [
        pd.Timestamp("2024-11-05 01:00"),
        pd.Timestamp("2024-11-05 01:00"),
        pd.Timestamp("2024-11-04 17:00"),
    ]
    assert pd.isna(local[3])


def test_to_utc_reads_repeated_times_as_standard_and_moves_skipped_times_forward() -> None:
    local = pd.Series(
        [
            datetime(2024, 11, 5, 1, 0),
            datetime(2024, 11, 3, 1, 30),
            datetime(2024, 3, 10, 2, 30),
            datetime(2024, 11, 5, 1, 0),
        ]
    )
    stores = pd.Series([2, 3, 3, 9])
    utc = to_utc(local, stores, {2: SH, 3: NY})
    assert list(utc[:3]) == [
        pd.Timestamp("2024-11-04 17:00", tz="UTC"),
        pd.Timestamp("2024-11-03 06:30", tz="UTC"),  # 01:30 EST, not EDT
        pd.Timestamp("2024-03-10 07:00", tz="UTC"),
    ]  # 02:30 does not exist: 03:00 EDT
    assert pd.isna(utc[3])  # no zone for store 9
    per_row = to_utc_per_row(
        pd.Series([datetime(2024, 11, 5, 1, 0), None, datetime(2024, 11, 3, 1, 30)]), pd.Series([SH, SH, NY])
    )
    assert per_row == [datetime(2024, 11, 4, 17, 0, tzinfo=UTC), None, datetime(2024, 11, 3, 6, 30, tzinfo=UTC)]


def test_to_utc_undoes_to_local() -> None:
    utc = pd.Series(pd.to_datetime(["2024-11-04 17:00", "2024-07-01 03:15", "2024-12-31 23:59"], utc=True))
    stores = pd.Series([1, 2, 3])
    zones = {1: SH, 2: NY, 3: TPE}
    assert list(to_utc(to_local(utc, stores, zones), stores, zones)) == list(utc)


def test_the_small_worlds_shanghai_visit_reads_on_its_local_day(engine) -> None:
    """Through the database (SQLite and PostgreSQL): 17:00 UTC on Nov 4 is a Nov 5, 01:00 visit."""
    from db import repo
    from db.engine import session_scope
    from db.users import scope_for
    from tests.support.factories import small_world

    world = small_world(engine)
    with session_scope(engine) as session:
        store_b = scope_for(session, username="desk_b")  # store B's front desk
        assert store_b.store_ids == frozenset({world["store_b"]})
        bookings = repo.load_bookings(session, scope=store_b)
        assert list(bookings["scheduled_at"]) == [pd.Timestamp("2026-11-05 01:00")]
        assert repo.latest_booking_day(session, scope=store_b) == date(2026, 11, 5)
