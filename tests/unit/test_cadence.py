"""Revisit windows: shrinkage toward the prior, band, due date (core/cadence.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from core.cadence import WINDOW_COLUMNS, revisit_windows
from core.params import CadenceParams

AS_OF = "2024-12-31"


def visits(*rows: tuple) -> pd.DataFrame:
    """Rows of (customer_id, date[, category[, store_id[, pet_id[, status]]]])."""
    records = []
    for i, (cust, when, *rest) in enumerate(rows, start=1):
        records.append(
            {
                "booking_id": i,
                "customer_id": cust,
                "store_id": rest[1] if len(rest) > 1 else 1,
                "pet_id": rest[2] if len(rest) > 2 else pd.NA,
                "service_category": rest[0] if rest else "hair",
                "scheduled_at": pd.Timestamp(when),
                "status": rest[3] if len(rest) > 3 else "completed",
                "amount": 100.0,
                "addon_amount": 0.0,
            }
        )
    frame = pd.DataFrame.from_records(records)
    frame["pet_id"] = frame["pet_id"].astype("Int64")
    return frame


def regular(cust: int, start: str, every: int, n_visits: int, category: str = "hair") -> list:
    first = pd.Timestamp(start)
    return [(cust, first + pd.Timedelta(days=every * k), category) for k in range(n_visits)]


# A "hair" population whose intervals are all 30 days: the category prior is 30.
POPULATION = [row for c in range(100, 106) for row in regular(c, "2024-01-01", 30, 3)]


def window_of(rows: list, cust: int, **params) -> pd.Series:
    table = revisit_windows(visits(*rows), as_of=AS_OF, params=CadenceParams(**params))
    return table.set_index("customer_id").loc[cust]


def test_one_interval_stays_near_the_prior() -> None:
    row = window_of(POPULATION + regular(1, "2024-06-01", 60, 2), 1)
    assert row["prior_days"] == 30 and row["prior_source"] == "category"
    assert row["own_median_interval"] == 60
    assert row["window_days"] == pytest.approx(60 / 2 + 30 / 2)  # 45: halfway to the prior


def test_ten_intervals_approach_the_own_median() -> None:
    row = window_of(POPULATION + regular(1, "2023-01-01", 60, 11), 1)
    assert row["n_intervals"] == 10
    assert row["window_days"] == pytest.approx(60 * 10 / 11 + 30 / 11)  # 57.3


def test_no_interval_uses_the_prior() -> None:
    row = window_of(POPULATION + [(1, "2024-12-01", "hair")], 1)
    assert row["n_visits"] == 1 and np.isnan(row["own_median_interval"])
    assert row["shrink_weight"] == 0 and row["window_days"] == 30


def test_band_narrows_as_visits_accumulate() -> None:
    spread_out = [
        r
        for c, every in zip(range(100, 106), (20, 25, 30, 30, 35, 40), strict=False)
        for r in regular(c, "2024-01-01", every, 3)
    ]
    widths = []
    for n in (1, 2, 3, 5, 11):
        row = window_of(spread_out + regular(1, "2022-01-01", 30, n), 1, min_band_days=0.0)
        widths.append(row["band_high"] - row["band_low"])
        assert row["band_low"] <= row["window_days"] <= row["band_high"]
    assert all(a > b for a, b in itertools.pairwise(widths)), widths


def test_due_date_and_days_overdue_hand_computed() -> None:
    # One interval of 30 d, no prior data (default 35): window = 30/2 + 35/2 = 32.5 → 32 d (half to even)
    table = revisit_windows(visits((1, "2024-01-01"), (1, "2024-01-31")), as_of="2024-03-10")
    row = table.iloc[0]
    assert row["prior_source"] == "default"
    assert row["window_days"] == pytest.approx(32.5)
    assert row["next_due_date"] == pd.Timestamp("2024-03-03")
    assert row["days_overdue"] == 7
    early = revisit_windows(visits((1, "2024-01-01"), (1, "2024-01-31")), as_of="2024-03-01")
    assert early.iloc[0]["days_overdue"] == -2


def test_same_day_visits_count_once_and_later_visits_are_ignored() -> None:
    rows = [
        (1, "2024-01-01 10:00"),
        (1, "2024-01-01 15:00"),
        (1, "2024-02-01"),
        (1, "2024-02-15", "hair", 1, pd.NA, "cancelled"),
        (1, "2025-01-10"),
    ]
    row = revisit_windows(visits(*rows), as_of=AS_OF).iloc[0]
    assert row["n_visits"] == 2 and row["own_median_interval"] == 31
    assert row["last_visit"] == pd.Timestamp("2024-02-01")


def test_prior_falls_back_category_then_store_then_default() -> None:
    rows = (
        POPULATION
        + [r for c in range(200, 206) for r in regular(c, "2024-01-01", 50, 3, "nails")]
        + [(1, "2024-11-01", "spa"), (2, "2024-11-01", "spa", 9)]
    )
    table = revisit_windows(visits(*rows), as_of=AS_OF).set_index("customer_id")
    # "spa" has no intervals; store 1's intervals are 30s and 50s (median 40)
    assert table.loc[1, "prior_source"] == "store" and table.loc[1, "prior_days"] == 40
    assert table.loc[2, "prior_source"] == "default" and table.loc[2, "prior_days"] == 35


def test_window_is_clipped() -> None:
    row = window_of(regular(1, "2024-01-01", 1, 30), 1, min_window_days=7)
    assert row["window_days"] == 7


@pytest.mark.parametrize(
    ("by", "keys", "n_rows"),
    [
        ("customer", ["customer_id"], 1),
        ("pet", ["customer_id", "pet_id"], 2),
        ("customer_category", ["customer_id", "service_category"], 2),
    ],
)
def test_subjects(by: str, keys: list, n_rows: int) -> None:
    rows = [
        (1, "2024-01-01", "groom", 1, 7),
        (1, "2024-02-01", "groom", 1, 7),
        (1, "2024-01-05", "bath", 1, 8),
        (1, "2024-03-05", "bath", 1, 8),
    ]
    table = revisit_windows(visits(*rows), as_of=AS_OF, by=by)
    assert list(table.columns) == keys + [c for c in WINDOW_COLUMNS if c not in keys]
    assert len(table) == n_rows
    if by == "pet":
        assert table.set_index("pet_id")["own_median_interval"].to_dict() == {7: 31.0, 8: 60.0}


def test_bad_by_and_missing_columns() -> None:
    with pytest.raises(ValueError, match="by must be"):
        revisit_windows(visits((1, "2024-01-01")), as_of=AS_OF, by="store")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="service_category"):
        revisit_windows(visits((1, "2024-01-01")).drop(columns="service_category"), as_of=AS_OF)
