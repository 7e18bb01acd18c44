"""Customer scoring, the priority list and the settings catalogue (core/scoring.py,
core/priority.py, core/params.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core.columns import SCORE_COLUMNS
from core.params import PARAM_CLASSES, describe_params
from core.priority import REASON_PARAM_KEYS, REASON_TEMPLATES_EN, priority_list
from core.scoring import SCORE_EXTRA_COLUMNS, cadence_churn_rule, score_customers

AS_OF = pd.Timestamp("2024-06-30")


def bookings(*rows: tuple) -> pd.DataFrame:
    """Rows of (customer_id, date[, status[, amount[, store_id[, category]]]])."""
    records = []
    for i, (cust, when, *rest) in enumerate(rows, start=1):
        records.append(
            {
                "booking_id": i,
                "customer_id": cust,
                "store_id": rest[2] if len(rest) > 2 else 1,
                "pet_id": pd.NA,
                "service_id": 1,
                "service_category": rest[3] if len(rest) > 3 else "hair",
                "staff_id": 1,
                "designated": False,
                "created_at": pd.Timestamp(when) - pd.Timedelta(days=3),
                "scheduled_at": pd.Timestamp(when),
                "status": rest[0] if rest else "completed",
                "amount": float(rest[1]) if len(rest) > 1 else 100.0,
                "addon_amount": 0.0,
                "channel": "line",
                "deposit": 0.0,
            }
        )
    frame = pd.DataFrame.from_records(records)
    frame["pet_id"] = frame["pet_id"].astype("Int64")
    return frame


def cadence(cust: int, last: str, every: int, n: int, amount: float = 100.0) -> list:
    end = pd.Timestamp(last)
    return [(cust, end - pd.Timedelta(days=every * k), "completed", amount) for k in range(n)]


BASE = bookings(
    *cadence(1, "2024-06-20", 30, 6, 300.0),  # on time
    *cadence(2, "2024-04-20", 28, 5, 200.0),  # ~43 days overdue
    *cadence(3, "2023-11-01", 30, 4),  # sleeping
    (4, "2024-06-25"),  # new
    (5, "2022-01-01"),  # lost
    (6, "2024-06-01", "cancelled"),  # never visited
)
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [1, 2, 3, 4, 5, 6, 7, 8],
        "external_id": [f"X{i}" for i in range(1, 9)],
        "name": ["Ann", "Bo", "Cy", "Di", "Ed", "Fa", "Gu", "Later"],
        "home_store_id": [1, 1, 1, 2, 2, 2, 2, 1],
        "joined_on": pd.to_datetime(["2020-01-01"] * 7 + ["2024-08-01"]),
        "opted_out_at": pd.to_datetime([None, None, None, None, None, None, None, None]),
    }
)


def test_score_columns_and_one_row_per_customer() -> None:
    scores = score_customers(BASE, CUSTOMERS, as_of=AS_OF)
    assert list(scores.columns) == list(SCORE_COLUMNS) + list(SCORE_EXTRA_COLUMNS)
    assert scores["customer_id"].tolist() == [1, 2, 3, 4, 5, 6, 7]  # 8 joins after as_of
    seg = dict(zip(scores["customer_id"], scores["lifecycle_segment"], strict=False))
    assert seg[2] == "churn_risk" and seg[3] == "sleeping" and seg[4] == "new"
    assert seg[5] == "lost" and seg[7] == "new"
    assert scores["churn_risk"].between(0, 1).all() and scores["p_alive"].between(0, 1).all()
    never = scores.set_index("customer_id").loc[7]
    assert pd.isna(never["recency_days"]) and never["frequency"] == 0


def test_as_of_a_past_date_ignores_later_bookings_exactly() -> None:
    later = bookings(
        (1, "2024-07-01"),
        (2, "2024-07-02", "completed", 900.0),
        (3, "2024-07-03"),
        (4, "2024-07-04", "cancelled"),
        (4, "2024-07-05", "cancelled"),
        (4, "2024-07-06", "cancelled"),
        (7, "2024-07-10"),
        (8, "2024-08-02"),
        *[(9, f"2024-{m:02d}-01", "completed", 100.0, 3, "spa") for m in range(7, 13)],
    )
    later["booking_id"] += 1000
    before = score_customers(BASE, CUSTOMERS, as_of=AS_OF)
    after = score_customers(pd.concat([BASE, later], ignore_index=True), CUSTOMERS, as_of=AS_OF)
    pd.testing.assert_frame_equal(before, after)


def test_default_churn_rule_values() -> None:
    features = pd.DataFrame(
        {"window_days": [30.0, 30.0, 30.0], "days_since_ref": [20, 60, 90], "horizon_days": [90.0] * 3}
    )
    got = cadence_churn_rule(features)
    assert got["p_alive"].tolist() == pytest.approx([1.0, 0.5, 0.25])
    assert got["expected_visits"].tolist() == pytest.approx([3.0, 1.5, 0.75])
    assert got["churn_risk"].iloc[0] == pytest.approx(np.exp(-3.0))
    assert got["churn_risk"].iloc[1] == pytest.approx(1 - 0.5 * (1 - np.exp(-3.0)))


def test_churn_model_is_pluggable() -> None:
    seen = {}

    def model(features: pd.DataFrame) -> pd.DataFrame:
        seen["columns"] = list(features.columns)
        return pd.DataFrame(
            {
                "customer_id": features["customer_id"][::-1],
                "p_alive": features["customer_id"] / 10.0,
                "churn_risk": 0.5,
                "expected_visits": 1.0,
            }
        )

    scores = score_customers(BASE, CUSTOMERS, as_of=AS_OF, churn_model=model)
    assert "window_days" in seen["columns"] and "horizon_days" in seen["columns"]
    assert scores["p_alive"].tolist() == pytest.approx([0.1 * i for i in range(1, 8)])
    with pytest.raises(ValueError, match="expected_visits"):
        score_customers(BASE, CUSTOMERS, as_of=AS_OF, churn_model=lambda f: pd.DataFrame({"p_alive": [1.0] * len(f)}))


def test_opt_out_after_as_of_is_not_known_yet() -> None:
    customers = CUSTOMERS.assign(
        opted_out_at=pd.to_datetime(
            ["2024-07-15", "2024-06-30 20:00", None, None, None, None, None, None], format="mixed"
        )
    )
    scores = score_customers(BASE, customers, as_of=AS_OF).set_index("customer_id")
    assert pd.isna(scores.loc[1, "opted_out_at"]) and pd.notna(scores.loc[2, "opted_out_at"])


# ---------------------------------------------------------------------------- priority list
def test_priority_list_ranks_and_explains() -> None:
    scores = score_customers(BASE, CUSTOMERS, as_of=AS_OF)
    top = priority_list(scores, as_of=AS_OF)
    assert top["rank"].tolist() == list(range(1, len(top) + 1))
    assert top["expected_value"].is_monotonic_decreasing
    assert 5 not in set(top["customer_id"])  # lost: left to win-back campaigns
    first = top.iloc[0]
    assert first["customer_id"] == 2 and first["reason_key"] == "overdue"
    row2 = scores.set_index("customer_id").loc[2]
    assert first["reason_params"] == {
        "days_overdue": int(row2["days_overdue"]),
        "window": round(row2["revisit_window_days"]),
    }
    assert REASON_TEMPLATES_EN["overdue"].format(**first["reason_params"]).endswith("-day cycle")
    for key, params in zip(top["reason_key"], top["reason_params"], strict=False):
        assert set(params) == set(REASON_PARAM_KEYS[key])


def test_priority_list_excludes_opted_out_and_booked() -> None:
    scores = score_customers(
        BASE,
        CUSTOMERS.assign(opted_out_at=pd.to_datetime([None, "2024-06-01", None, None, None, None, None, None])),
        as_of=AS_OF,
    )
    listed = set(priority_list(scores, as_of=AS_OF)["customer_id"])
    assert 2 not in listed and 3 in listed
    assert 3 not in set(priority_list(scores, as_of=AS_OF, booked_customer_ids=[3])["customer_id"])
    assert len(priority_list(scores, as_of=AS_OF, limit=1)) == 1
    with pytest.raises(ValueError, match="opted_out_at"):
        priority_list(scores.drop(columns="opted_out_at"), as_of=AS_OF)


# ------------------------------------------------------------------------------- settings
def test_every_setting_has_a_default_and_help() -> None:
    rows = describe_params()
    fields = [(cls.__name__, f.name) for cls in PARAM_CLASSES for f in dataclasses.fields(cls)]
    assert [(r["group"], r["name"]) for r in rows] == fields
    for row in rows:
        assert row["help"].strip(), row
        assert row["default"] is not dataclasses.MISSING, row
    names = {r["name"]: r["default"] for r in rows}
    assert names["lookback_days"] == 365 and names["prior_strength"] == 1.0
    assert names["sleeping_days"] == 180 and names["push_window_days"] == 7
