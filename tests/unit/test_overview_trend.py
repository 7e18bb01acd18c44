"""Overview trend (core/overview.py): the running month is marked, never read as a drop."""

from __future__ import annotations

from datetime import date

import pandas as pd

from core.overview import monthly_trend


def _visits(*days: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"scheduled_at": pd.to_datetime(list(days)), "status": "completed", "amount": 1000.0, "addon_amount": 0.0}
    )


def test_running_month_is_flagged_with_its_days() -> None:
    trend = monthly_trend(
        _visits("2026-10-05", "2026-11-30", "2026-12-01", "2026-12-03"), as_of=date(2026, 12, 2), months=3
    )
    assert trend["month"].dt.strftime("%Y-%m").tolist() == ["2026-10", "2026-11", "2026-12"]
    assert trend["visits"].tolist() == [1, 1, 1]  # the visit after as-of is not counted
    assert trend["complete"].tolist() == [True, True, False]
    assert trend["days"].tolist() == [31, 30, 2]


def test_a_month_ending_on_the_as_of_day_is_complete() -> None:
    trend = monthly_trend(_visits("2026-11-30"), as_of=date(2026, 11, 30), months=2)
    assert trend["complete"].tolist() == [True, True] and trend["days"].tolist() == [31, 30]
