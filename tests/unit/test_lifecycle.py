"""Lifecycle segments: each rule and the precedence between them (core/lifecycle.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.lifecycle import (
    LIFECYCLE_COLUMNS,
    LIFECYCLE_PRECEDENCE,
    high_value_flags,
    lifecycle_segments,
)
from core.params import LifecycleParams

AS_OF = pd.Timestamp("2024-06-30")


def case(
    recency: int,
    monetary: float = 100.0,
    *,
    window: float = 30.0,
    overdue: int = -5,
    visit_days: int = 3,
    moved: int = 0,
    other: int = 0,
):
    """One customer's rfm row, window row and bookings (visits, cancellations, other)."""
    bookings = [("completed", AS_OF - pd.Timedelta(days=recency + 40 * k)) for k in range(visit_days)]
    bookings += [("cancelled", AS_OF - pd.Timedelta(days=3 + k)) for k in range(moved)]
    bookings += [("no_show", AS_OF - pd.Timedelta(days=5 + k)) for k in range(other)]
    return ({"recency_days": recency, "monetary": monetary}, {"window_days": window, "days_overdue": overdue}, bookings)


def frames(cases: list) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rfm, windows, bookings = [], [], []
    for cid, (r, w, b) in enumerate(cases, start=1):
        rfm.append({"customer_id": cid, **r})
        windows.append({"customer_id": cid, **w})
        bookings += [{"customer_id": cid, "status": s, "scheduled_at": t} for s, t in b]
    return pd.DataFrame(rfm), pd.DataFrame(windows), pd.DataFrame(bookings)


# With these seven, the top-20 % high-value cut (rank <= 2 of 8) takes a 9999 spender, never a 10.
FILLER = [case(5, 5000.0)] * 2 + [case(5, 10.0) for _ in range(5)]


@pytest.mark.parametrize(
    ("subject", "label"),
    [
        (case(400, 9999, overdue=370, moved=5), "lost"),  # lost beats everything
        (case(200, 9999, overdue=170, moved=5), "sleeping"),  # sleeping beats rescheduler
        (case(10, 9999, overdue=40, moved=3, visit_days=3), "rescheduler"),  # 3 of 6 moved
        (case(10, 9999, overdue=8, window=28), "churn_risk"),  # 8 > max(7, 7)
        (case(10, 9999, overdue=7, window=28), "high_value"),  # 7 is within tolerance
        (case(10, 9999, overdue=20, window=100), "high_value"),  # tolerance 25 for a 100-d window
        (case(10, 10.0, overdue=-3, visit_days=1), "new"),
        (case(10, 10.0, overdue=-3, visit_days=3), "stable"),
        (case(10, 10.0, overdue=-3, moved=2, visit_days=1), "new"),  # 2 moves < min count 3
        (case(10, 10.0, overdue=-3, moved=3, visit_days=8), "stable"),  # 3 of 11 < 30 %
    ],
)
def test_precedence(subject, label: str) -> None:
    rfm, windows, bookings = frames([subject, *FILLER])
    out = lifecycle_segments(rfm, windows, bookings, as_of=AS_OF, params=LifecycleParams())
    assert list(out.columns) == list(LIFECYCLE_COLUMNS)
    assert out.loc[out["customer_id"].eq(1), "lifecycle_segment"].item() == label


def test_flags_are_kept_alongside_the_label() -> None:
    rfm, windows, bookings = frames([case(10, 9999, overdue=30), *FILLER])
    row = lifecycle_segments(rfm, windows, bookings, as_of=AS_OF).iloc[0]
    assert row["lifecycle_segment"] == "churn_risk"
    assert row["is_churn_risk"] and row["is_high_value"]


def test_thresholds_are_settings() -> None:
    rfm, windows, bookings = frames([case(100), *FILLER])
    params = LifecycleParams(sleeping_days=90)
    out = lifecycle_segments(rfm, windows, bookings, as_of=AS_OF, params=params)
    assert out.iloc[0]["lifecycle_segment"] == "sleeping"


def test_several_window_rows_per_customer_any_overdue_is_risk() -> None:
    rfm, windows, bookings = frames([case(10, 10.0), *FILLER])
    extra = pd.DataFrame({"customer_id": [1], "window_days": [28.0], "days_overdue": [20]})
    out = lifecycle_segments(rfm, pd.concat([windows, extra]), bookings, as_of=AS_OF)
    assert out.iloc[0]["lifecycle_segment"] == "churn_risk"


def test_bookings_after_as_of_are_ignored() -> None:
    rfm, windows, bookings = frames([case(10, 10.0, visit_days=1), *FILLER])
    later = pd.DataFrame(
        {
            "customer_id": [1] * 4,
            "status": ["completed", "cancelled", "cancelled", "cancelled"],
            "scheduled_at": [AS_OF + pd.Timedelta(days=d) for d in (1, 2, 3, 4)],
        }
    )
    out = lifecycle_segments(rfm, windows, pd.concat([bookings, later]), as_of=AS_OF)
    assert out.iloc[0]["lifecycle_segment"] == "new"


@pytest.mark.parametrize(
    ("monetary", "share", "expected"),
    [
        ([100, 90, 80, 70, 60], 0.2, [True, False, False, False, False]),
        ([100, 100, 80, 70, 60], 0.2, [True, True, False, False, False]),  # ties included
        ([0, 0, 50, 40, 0], 0.5, [False, False, True, False, False]),  # of spenders only
        ([0, 0, 0], 0.2, [False, False, False]),
    ],
)
def test_high_value_flags(monetary, share, expected) -> None:
    got = high_value_flags(pd.Series(monetary, dtype=float), top_share=share)
    assert got.tolist() == expected


def test_precedence_order_is_documented() -> None:
    assert LIFECYCLE_PRECEDENCE == ("lost", "sleeping", "rescheduler", "churn_risk", "high_value", "new", "stable")


def test_missing_columns() -> None:
    rfm, windows, bookings = frames([case(10)])
    with pytest.raises(ValueError, match="days_overdue"):
        lifecycle_segments(rfm, windows.drop(columns="days_overdue"), bookings, as_of=AS_OF)
