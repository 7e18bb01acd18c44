"""Cohort retention by first-visit month (core/cohorts.py), on a hand-computed case."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.cohorts import COHORT_COLUMNS, cohort_retention


def visits(*rows: tuple) -> pd.DataFrame:
    """Rows of (customer_id, date[, status[, store_id]])."""
    return pd.DataFrame(
        [
            {
                "customer_id": c,
                "scheduled_at": pd.Timestamp(d),
                "status": rest[0] if rest else "completed",
                "store_id": rest[1] if len(rest) > 1 else 1,
            }
            for c, d, *rest in rows
        ]
    )


BOOKINGS = visits(
    # January cohort: 1, 2, 3 (3's first *visit* is January; the December booking was cancelled)
    (1, "2024-01-05"),
    (1, "2024-02-10"),
    (1, "2024-03-01"),
    (1, "2024-03-20"),
    (2, "2024-01-20"),
    (2, "2024-03-15"),
    (3, "2023-12-30", "cancelled"),
    (3, "2024-01-31"),
    # February cohort: 4, 5
    (4, "2024-02-01"),
    (4, "2024-03-02"),
    (5, "2024-02-29"),
    # after as-of: ignored
    (5, "2024-04-01"),
    (6, "2024-04-02"),
    # another store
    (7, "2024-03-05", "completed", 2),
)


def test_hand_computed_cohorts() -> None:
    out = cohort_retention(BOOKINGS, as_of="2024-03-31", months=3, store_ids=[1])
    assert list(out.columns) == list(COHORT_COLUMNS)
    table = {
        (row.cohort.strftime("%Y-%m"), row.month_offset): (row.cohort_size, row.retained) for row in out.itertuples()
    }
    assert table == {
        ("2024-01", 0): (3, 3),
        ("2024-01", 1): (3, 1),
        ("2024-01", 2): (3, 2),
        ("2024-02", 0): (2, 2),
        ("2024-02", 1): (2, 1),
    }
    jan = out[out["cohort"].eq(pd.Timestamp("2024-01-01"))]
    assert jan["retention"].tolist() == pytest.approx([1.0, 1 / 3, 2 / 3])


def test_all_stores_and_window() -> None:
    out = cohort_retention(BOOKINGS, as_of="2024-03-31", months=1)
    assert out.to_dict("records") == [
        {"cohort": pd.Timestamp("2024-03-01"), "cohort_size": 1, "month_offset": 0, "retained": 1, "retention": 1.0}
    ]


def test_empty_and_bad_months() -> None:
    assert cohort_retention(BOOKINGS, as_of="2023-01-01").empty
    with pytest.raises(ValueError):
        cohort_retention(BOOKINGS, as_of="2024-03-31", months=0)
    with pytest.raises(ValueError, match="missing column"):
        cohort_retention(BOOKINGS.drop(columns=["status"]), as_of="2024-03-31")


# --- the other page summaries in core: R × F grid, segment summary, migration, store comparison
def test_rfm_grid_segment_summary_and_migration() -> None:
    from core.rfm import rfm_grid, segment_migration, segment_summary

    scores = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "r_score": pd.array([5, 5, 1, None], dtype="Int64"),
            "f_score": pd.array([4, 4, 1, None], dtype="Int64"),
            "monetary": [100.0, 300.0, 50.0, 0.0],
            "recency_days": pd.array([2, 4, 400, None], dtype="Int64"),
            "rfm_segment": ["Champions", "Champions", "Lost", None],
        }
    )
    grid = rfm_grid(scores).set_index(["r_score", "f_score"])
    assert len(grid) == 25 and grid["customers"].sum() == 3
    assert grid.loc[(5, 4)].tolist() == [2, 400.0, 200.0]
    summary = segment_summary(scores)
    assert summary[["segment", "customers", "avg_recency_days", "action_key"]].values.tolist() == [
        ["Champions", 2, 3.0, "reward_and_refer"],
        ["Lost", 1, 400.0, "low_cost_winback"],
    ]
    assert summary["share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    snaps = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2024-01-31"] * 3 + ["2024-02-29"] * 3),
            "customer_id": [1, 2, 3, 1, 2, 4],
            "rfm_segment": ["Loyal", "Lost", None, "Champions", "Lost", "Loyal"],
        }
    )
    flows = segment_migration(snaps, from_date="2024-01-31", to_date="2024-02-29")
    assert flows.values.tolist() == [["Lost", "Lost", 1], ["Loyal", "Champions", 1]]


def test_compare_groups_against_the_median() -> None:
    from core.kpi import compare_groups

    by_store = pd.DataFrame(
        {
            "group": [1, 2, 3, 1, 2, 3],
            "kpi": ["revisit_rate_30"] * 3 + ["no_show_rate"] * 3,
            "value": [0.5, 0.3, 0.4, 0.10, 0.02, None],
        }
    )
    out = compare_groups(by_store).set_index(["kpi", "group"])
    assert out.loc[("revisit_rate_30", 1), ["group_median", "vs_median", "rank"]].tolist() == pytest.approx(
        [0.4, 0.1, 1]
    )
    assert out.loc[("no_show_rate", 2), "rank"] == 1  # lower is better
    assert out.loc[("no_show_rate", 3), "rank"] == 3  # unknown ranks last


def test_default_migration_is_month_over_month_when_the_history_allows() -> None:
    from core.rfm import default_migration_span

    days = [date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 30), date(2026, 12, 4)]
    assert default_migration_span(days) == (date(2026, 10, 31), date(2026, 12, 4))
    assert default_migration_span(days[-2:]) == (date(2026, 11, 30), date(2026, 12, 4))  # 4 days is all there is
    assert default_migration_span(days[:1]) is None
