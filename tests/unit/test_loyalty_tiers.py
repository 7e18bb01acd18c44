"""Tier qualification, downgrade policies, tier changes and rule-change previews."""

from __future__ import annotations

import pandas as pd
import pytest

from core.loyalty.tiers import (
    NO_TIER,
    TierPolicy,
    TierRule,
    activity_from_bookings,
    apply_downgrade_policy,
    impact_preview,
    monthly_plan_tier_rules,
    qualify_tiers,
    salon_tier_rules,
    tier_changes,
)


def activity(rows: list[tuple[int, float, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "spend_12m", "stored_value_topups_12m", "plan_months"])


@pytest.mark.parametrize(
    ("spend", "topups", "expected"),
    [
        (0, 0, "一般會員"),
        (499, 0, "一般會員"),
        (500, 0, "銀卡"),
        (1_999, 0, "銀卡"),
        (2_000, 0, "金卡"),
        (4_999, 2_999, "金卡"),
        (5_000, 0, "鑽石"),
        (0, 3_000, "鑽石"),  # topped up 3,000 in the window
        (100, 2_999, "一般會員"),
    ],
)
def test_salon_qualification_table(spend, topups, expected):
    assert qualify_tiers(activity([(1, spend, topups, 0)]), salon_tier_rules()).loc[1] == expected


@pytest.mark.parametrize(
    ("months", "expected"),
    [(0, "一般會員"), (2, "一般會員"), (3, "黃金"), (5, "黃金"), (6, "鉑金"), (11, "鉑金"), (12, "鑽石"), (30, "鑽石")],
)
def test_monthly_plan_qualification_table(months, expected):
    assert qualify_tiers(activity([(1, 0, 0, months)]), monthly_plan_tier_rules()).loc[1] == expected


def test_no_entry_tier_gives_na():
    rules = [TierRule("金", 1, min_spend_12m=100)]
    out = qualify_tiers(activity([(1, 50, 0, 0), (2, 100, 0, 0)]), rules)
    assert pd.isna(out.loc[1]) and out.loc[2] == "金"


def test_rule_set_validation():
    with pytest.raises(ValueError):
        qualify_tiers(activity([(1, 0, 0, 0)]), [TierRule("a", 1), TierRule("b", 1)])


def _bookings(rows):
    return pd.DataFrame(rows, columns=["booking_id", "customer_id", "scheduled_at", "status", "amount", "addon_amount"])


def test_activity_counts_spend_and_topups_in_window_never_balance():
    as_of = "2024-06-30"
    bookings = _bookings(
        [
            (1, 1, pd.Timestamp("2024-06-30 18:00"), "completed", 400.0, 100.0),  # last day counts
            (2, 1, pd.Timestamp("2023-06-30 12:00"), "completed", 9_000.0, 0.0),  # outside the window
            (3, 1, pd.Timestamp("2024-02-01"), "cancelled", 9_000.0, 0.0),
            (4, 2, pd.Timestamp("2024-07-01"), "completed", 9_000.0, 0.0),  # after as_of
        ]
    )
    stored_value = pd.DataFrame(
        {
            "entry_id": [1, 2, 3, 4],
            "customer_id": [2, 2, 3, 3],
            "store_id": 1,
            "kind": ["topup", "debit", "topup", "debit"],
            "amount": [3_000.0, 3_000.0, 5_000.0, 100.0],
            "occurred_at": pd.to_datetime(["2024-01-10", "2024-03-01", "2022-01-01", "2024-05-01"]),
        }
    )
    act = activity_from_bookings(bookings, stored_value, None, as_of=as_of)
    tiers = qualify_tiers(act, salon_tier_rules())
    got = act.set_index("customer_id")
    assert got.loc[1, "spend_12m"] == 500.0
    assert got.loc[2, "spend_12m"] == 0.0
    # customer 2 topped up 3,000 and spent it all: qualified by the top-up (balance is 0)
    assert got.loc[2, "stored_value_topups_12m"] == 3_000.0 and tiers.loc[2] == "鑽石"
    # customer 3 holds a 4,900 balance from an old top-up: no qualification from it
    assert got.loc[3, "stored_value_topups_12m"] == 0.0 and tiers.loc[3] == "一般會員"
    assert tiers.loc[1] == "銀卡"


def test_activity_plan_months_paid_by_as_of():
    plans = pd.DataFrame(
        {
            "plan_id": [1, 2, 3],
            "customer_id": [7, 7, 8],
            "store_id": 1,
            "monthly_fee": 990.0,
            "periods_total": [12, 12, 12],
            "periods_paid": [4, 12, 12],
            "started_on": pd.to_datetime(["2023-01-15", "2024-03-01", "2024-09-01"]),
            "ends_on": pd.to_datetime(["2024-01-14", "2025-02-28", "2025-08-31"]),
            "status": ["cancelled", "active", "active"],
        }
    )
    empty = _bookings([])
    act = activity_from_bookings(empty, None, plans, as_of="2024-06-30").set_index("customer_id")
    # plan 1: 4 paid; plan 2: prepaid 12 but only Mar–Jun (4 periods) started by as_of; plan 3 not started
    assert act.loc[7, "plan_months"] == 8
    assert act.loc[8, "plan_months"] == 0


# --------------------------------------------------------------------------- downgrades

RULES = salon_tier_rules()
PREV = pd.Series({1: "金卡", 2: "金卡", 3: "銀卡", 4: pd.NA}, dtype="string")
QUAL = pd.Series({1: "銀卡", 2: "金卡", 3: "鑽石", 4: "銀卡"}, dtype="string")


def test_downgrade_never():
    out = apply_downgrade_policy(PREV, QUAL, rules=RULES, policy=TierPolicy("never"), as_of="2024-06-30")
    assert out.to_dict() == {1: "金卡", 2: "金卡", 3: "鑽石", 4: "銀卡"}


@pytest.mark.parametrize(("as_of", "tier_of_1"), [("2024-12-30", "金卡"), ("2024-12-31", "銀卡")])
def test_downgrade_at_period_end(as_of, tier_of_1):
    out = apply_downgrade_policy(
        PREV, QUAL, rules=RULES, policy=TierPolicy("period_end"), as_of=as_of, period_end="2024-12-31"
    )
    assert out.loc[1] == tier_of_1 and out.loc[3] == "鑽石"  # upgrades are immediate


def test_downgrade_period_end_per_customer():
    ends = pd.Series({1: pd.Timestamp("2024-03-01"), 2: pd.Timestamp("2025-03-01")})
    prev = pd.Series({1: "金卡", 2: "金卡"}, dtype="string")
    qual = pd.Series({1: "一般會員", 2: "一般會員"}, dtype="string")
    out = apply_downgrade_policy(
        prev, qual, rules=RULES, policy=TierPolicy("period_end"), as_of="2024-06-30", period_end=ends
    )
    assert out.to_dict() == {1: "一般會員", 2: "金卡"}


@pytest.mark.parametrize(
    ("as_of", "expected"), [("2024-07-30", "金卡"), ("2024-07-31", "金卡"), ("2024-08-01", "銀卡")]
)
def test_downgrade_grace(as_of, expected):
    last = pd.Series({1: pd.Timestamp("2024-07-01")})
    out = apply_downgrade_policy(
        PREV, QUAL, rules=RULES, policy=TierPolicy("grace", grace_days=30), as_of=as_of, last_qualified_on=last
    )
    assert out.loc[1] == expected
    assert out.loc[2] == "金卡" and out.loc[4] == "銀卡"


def test_policy_validation():
    with pytest.raises(ValueError):
        TierPolicy("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        apply_downgrade_policy(PREV, QUAL, rules=RULES, policy=TierPolicy("period_end"), as_of="2024-01-01")


def test_tier_changes_directions():
    prev = pd.Series({1: "金卡", 2: "銀卡", 3: "銀卡", 4: pd.NA, 5: pd.NA}, dtype="string")
    cur = pd.Series({1: "銀卡", 2: "鑽石", 3: "銀卡", 4: "金卡", 5: "一般會員", 6: "銀卡"}, dtype="string")
    out = tier_changes(prev, cur, rules=RULES)
    assert out.values.tolist() == [
        [1, "金卡", "銀卡", "down"],
        [2, "銀卡", "鑽石", "up"],
        [4, pd.NA, "金卡", "up"],
        [6, pd.NA, "銀卡", "up"],
    ]
    assert tier_changes(prev, cur, rules=RULES, include_new=False)["customer_id"].tolist() == [1, 2]


def test_impact_preview_counts():
    act = activity([(1, 100, 0, 0), (2, 600, 0, 0), (3, 1_500, 0, 0), (4, 2_500, 0, 0), (5, 6_000, 0, 0)])
    proposed = [
        TierRule("一般會員", 0),
        TierRule("銀卡", 1, min_spend_12m=1_000),
        TierRule("金卡", 2, min_spend_12m=2_000),
        TierRule("鑽石", 3, min_spend_12m=2_500),
    ]
    out = impact_preview(act, None, RULES, proposed).set_index("tier")
    assert NO_TIER not in out.index
    assert out["customers_now"].to_dict() == {"一般會員": 1, "銀卡": 2, "金卡": 1, "鑽石": 1}
    assert out["customers_proposed"].to_dict() == {"一般會員": 2, "銀卡": 1, "金卡": 0, "鑽石": 2}
    assert out["moving_up"].to_dict() == {"一般會員": 0, "銀卡": 0, "金卡": 0, "鑽石": 1}
    assert out["moving_down"].to_dict() == {"一般會員": 1, "銀卡": 0, "金卡": 0, "鑽石": 0}
    assert out.loc["鑽石", "revenue_share_proposed"] == pytest.approx(8_500 / 10_700)
    assert out["revenue_share_proposed"].sum() == pytest.approx(1.0)


def test_impact_preview_with_revenue_and_no_tier_row():
    act = activity([(1, 100, 0, 0), (2, 600, 0, 0)])
    proposed = [TierRule("VIP", 5, min_spend_12m=500)]
    out = impact_preview(act, pd.Series({1: 10.0, 2: 30.0}), RULES, proposed).set_index("tier")
    assert out.loc[NO_TIER, "customers_proposed"] == 1 and out.loc[NO_TIER, "moving_down"] == 1
    assert out.loc["VIP", "revenue_share_proposed"] == pytest.approx(0.75)
    assert out.loc["VIP", "moving_up"] == 1
