"""RFM table, quintile scores and both segment schemes (core/rfm.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.params import RfmParams
from core.rfm import (
    RF_SEGMENT_GRID,
    RFM8_BY_FLAGS,
    RFM8_SEGMENTS,
    RFM11_SEGMENTS,
    RFM_COLUMNS,
    SEGMENT_ACTIONS,
    quintile_scores,
    rfm8_segment,
    rfm11_segment,
    rfm_table,
)

AS_OF = "2024-06-30"


def visits(*rows: tuple) -> pd.DataFrame:
    """Rows of (customer_id, date[, amount[, addon[, status]]])."""
    records = []
    for i, (cust, when, *rest) in enumerate(rows, start=1):
        records.append(
            {
                "booking_id": i,
                "customer_id": cust,
                "store_id": 1,
                "scheduled_at": pd.Timestamp(when),
                "amount": float(rest[0]) if rest else 100.0,
                "addon_amount": float(rest[1]) if len(rest) > 1 else 0.0,
                "status": rest[2] if len(rest) > 2 else "completed",
            }
        )
    return pd.DataFrame.from_records(records)


TINY = visits(
    (1, "2024-06-29", 100),
    (2, "2024-06-20"),
    (2, "2024-06-01"),
    (2, "2024-05-01"),
    (3, "2023-01-01", 500),  # outside the 365-day lookback
    (4, "2024-06-25", 200),
    (4, "2024-06-10", 50, 10),
    (5, "2024-03-01", 1000),
    (5, "2024-06-30", 999, 0, "cancelled"),  # not a visit
    (1, "2024-07-02", 100),  # after as_of
)


def test_rfm_table_tiny_hand_computed() -> None:
    table = rfm_table(TINY, as_of=AS_OF).set_index("customer_id")
    assert list(rfm_table(TINY, as_of=AS_OF).columns) == list(RFM_COLUMNS)
    assert table["recency_days"].to_dict() == {1: 1, 2: 10, 3: 546, 4: 5, 5: 121}
    assert table["frequency"].to_dict() == {1: 1, 2: 3, 3: 0, 4: 2, 5: 1}
    assert table["monetary"].to_dict() == {1: 100.0, 2: 300.0, 3: 0.0, 4: 260.0, 5: 1000.0}
    # R: more recent is higher; F ties (c1, c5 with 1 visit) split by rank(method="first")
    assert table["r_score"].to_dict() == {1: 5, 2: 3, 3: 1, 4: 4, 5: 2}
    assert table["f_score"].to_dict() == {1: 2, 2: 5, 3: 1, 4: 4, 5: 3}
    assert table["m_score"].to_dict() == {1: 2, 2: 4, 3: 1, 4: 3, 5: 5}
    assert table["rfm_segment"].to_dict() == {1: "Potential Loyalist", 2: "Loyal", 3: "Lost", 4: "Loyal", 5: "At Risk"}
    # means: recency 136.6, frequency 1.4, monetary 332
    assert table["rfm8_segment"].to_dict() == {
        1: "一般发展客户",
        2: "一般价值客户",
        3: "一般挽留客户",
        4: "一般价值客户",
        5: "重要发展客户",
    }


def test_rfm8_uses_home_store_mean() -> None:
    table = rfm_table(TINY, as_of=AS_OF, store_of={1: 1, 2: 1, 3: 2, 4: 2, 5: 2})
    # store 1 (c1, c2): R 5.5, F 2, M 200; store 2 (c3, c4, c5): R 224, F 1, M 420
    assert dict(zip(table["customer_id"], table["rfm8_segment"], strict=False)) == {
        1: "一般发展客户",
        2: "重要保持客户",
        3: "一般挽留客户",
        4: "一般价值客户",
        5: "重要价值客户",
    }


def test_lookback_is_a_setting() -> None:
    table = rfm_table(TINY, as_of=AS_OF, params=RfmParams(lookback_days=30))
    assert dict(zip(table["customer_id"], table["frequency"], strict=False)) == {1: 1, 2: 2, 3: 0, 4: 2, 5: 0}


@pytest.mark.parametrize(
    ("values", "higher_is_better", "expected"),
    [
        (list(range(10)), True, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        ([7] * 10, True, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),  # all tied: still five bins
        ([5, 1, 3], True, [5, 1, 3]),
        ([5, 1, 3], False, [1, 5, 3]),
        ([42], True, [3]),
        ([1, 2], True, [2, 4]),
        ([], True, []),
    ],
)
def test_quintile_scores(values, higher_is_better, expected) -> None:
    got = quintile_scores(pd.Series(values, dtype=float), higher_is_better=higher_is_better)
    assert got.tolist() == expected


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "Champions"),
        (5, 4, "Champions"),
        (4, 5, "Loyal"),
        (3, 4, "Loyal"),
        (5, 2, "Potential Loyalist"),
        (4, 3, "Potential Loyalist"),
        (5, 1, "New Customers"),
        (4, 1, "Promising"),
        (3, 3, "Need Attention"),
        (3, 1, "About to Sleep"),
        (3, 2, "About to Sleep"),
        (2, 3, "At Risk"),
        (1, 4, "At Risk"),
        (1, 5, "Cannot Lose Them"),
        (2, 5, "Cannot Lose Them"),
        (2, 1, "Hibernating"),
        (2, 2, "Hibernating"),
        (1, 1, "Lost"),
        (1, 2, "Lost"),
    ],
)
def test_rfm11_mapping(r: int, f: int, segment: str) -> None:
    assert rfm11_segment(pd.Series([r]), pd.Series([f])).iloc[0] == segment


def test_rfm11_grid_uses_all_eleven_segments() -> None:
    cells = {name for row in RF_SEGMENT_GRID for name in row}
    assert cells == set(RFM11_SEGMENTS) and len(RFM11_SEGMENTS) == 11


@pytest.mark.parametrize(
    ("recency", "frequency", "monetary", "segment"),
    [
        # compared with the means of the frame below: recency 50, frequency 5, monetary 500
        (10, 9, 900, "重要价值客户"),
        (10, 1, 900, "重要发展客户"),
        (90, 9, 900, "重要保持客户"),
        (90, 1, 900, "重要挽留客户"),
        (10, 9, 100, "一般价值客户"),
        (10, 1, 100, "一般发展客户"),
        (90, 9, 100, "一般保持客户"),
        (90, 1, 100, "一般挽留客户"),
        (50, 5, 500, "重要价值客户"),  # equal to the mean counts as high (R: <=, F/M: >=)
    ],
)
def test_rfm8_mapping(recency: int, frequency: int, monetary: int, segment: str) -> None:
    frame = pd.DataFrame(
        {
            "recency_days": [recency, 100 - recency],
            "frequency": [frequency, 10 - frequency],
            "monetary": [monetary, 1000 - monetary],
        }
    )
    assert rfm8_segment(frame).iloc[0] == segment


def test_every_segment_has_an_action() -> None:
    assert set(SEGMENT_ACTIONS) == set(RFM11_SEGMENTS) | set(RFM8_SEGMENTS)
    assert len(set(RFM8_BY_FLAGS.values())) == 8
    assert SEGMENT_ACTIONS["Champions"].text == "Reward them; ask for referrals; offer early access"
    keys = [a.segment_key for a in SEGMENT_ACTIONS.values()]
    assert len(set(keys)) == len(keys) and all(k.isascii() for k in keys)


def test_empty_and_missing_columns() -> None:
    assert rfm_table(TINY.iloc[:0], as_of=AS_OF).empty
    with pytest.raises(ValueError, match="addon_amount"):
        rfm_table(TINY.drop(columns="addon_amount"), as_of=AS_OF)
