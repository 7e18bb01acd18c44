"""Referral tree, leaderboard, rewards; stored value and monthly plans."""

from __future__ import annotations

import math

import pandas as pd

from core.loyalty.plans import (
    plan_churn_rate,
    plan_status,
    renewals_due,
    stored_value_balances,
)
from core.loyalty.points import PointsRule, new_entries
from core.loyalty.referrals import (
    ambassadors,
    leaderboard,
    referral_reward_entries,
    referral_tree,
)


def refs(pairs, **extra) -> pd.DataFrame:
    frame = pd.DataFrame(pairs, columns=["referrer_id", "referee_id"])
    for k, v in extra.items():
        frame[k] = v
    return frame


def test_referral_tree_chain_depth():
    out = referral_tree(refs([("A", "B"), ("B", "C"), ("C", "D")])).set_index("customer_id")
    assert out["depth"].to_dict() == {"A": 0, "B": 1, "C": 2, "D": 3}
    assert set(out["root_id"]) == {"A"}
    assert out.loc["D", "path"] == ("A", "B", "C", "D")
    assert pd.isna(out.loc["A", "referrer_id"])
    assert not out["in_cycle"].any()


def test_referral_tree_cycles_self_and_duplicate_referees():
    out = referral_tree(refs([(3, 1), (1, 2), (2, 3), (3, 4), (5, 5), (6, 4)])).set_index("customer_id")
    # cycle 1→2→3→1 broken at its smallest id; 4 hangs under 3 (first row wins over 6→4)
    assert out.loc[1, "depth"] == 0 and out.loc[3, "depth"] == 2 and out.loc[4, "depth"] == 3
    assert out.loc[4, "path"] == (1, 2, 3, 4)
    assert out["in_cycle"].to_dict() == {1: True, 2: True, 3: True, 4: False}
    assert 5 not in out.index and 6 not in out.index  # self-referral and duplicate referral dropped


def test_referral_tree_long_chain_is_iterative():
    n = 5_000
    out = referral_tree(refs([(i, i + 1) for i in range(n)]))
    assert out["depth"].max() == n


def visits(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "scheduled_at", "status", "amount"])


def test_leaderboard_counts_only_referees_who_visited():
    r = refs(
        [(1, 10), (1, 11), (1, 12), (1, 13), (2, 20), (2, 21), (3, 30)],
        referred_at=pd.to_datetime(["2024-01-01"] * 6 + ["2024-09-01"]),
    )
    v = visits(
        [
            (10, pd.Timestamp("2024-02-01"), "completed", 1000.0),
            (10, pd.Timestamp("2024-03-01"), "completed", 500.0),
            (11, pd.Timestamp("2024-02-01"), "completed", 800.0),
            (12, pd.Timestamp("2024-02-01"), "no_show", 800.0),
            (13, pd.Timestamp("2024-02-01"), "completed", 100.0),
            (20, pd.Timestamp("2024-02-01"), "completed", 3000.0),
            (21, pd.Timestamp("2023-12-01"), "completed", 3000.0),  # before being referred
            (30, pd.Timestamp("2024-09-02"), "completed", 9000.0),  # referral after as_of
        ]
    )
    lb = leaderboard(r, v, as_of="2024-06-30")
    assert lb[["rank", "referrer_id", "referrals", "visited_referees", "referee_revenue"]].values.tolist() == [
        [1, 1, 4, 3, 2400.0],
        [2, 2, 2, 1, 3000.0],
    ]
    assert ambassadors(lb, min_referrals=3)["referrer_id"].tolist() == [1]
    assert leaderboard(r, v, as_of="2024-06-30", top=1)["referrer_id"].tolist() == [1]


def test_referral_rewards_idempotent_keys():
    rule = PointsRule(referral_bonus_referrer=200, referral_bonus_referee=100, expiry_months=6)
    r = refs([(1, 2), (1, 3), (4, 2), (5, 5)])
    firsts = pd.Series({2: pd.Timestamp("2024-03-10"), 3: pd.NaT})
    out = referral_reward_entries(r, firsts, rule=rule)
    assert [(e.customer_id, e.points, e.idempotency_key) for e in out] == [
        (1, 200, "referral:referrer:2"),
        (2, 100, "referral:referee:2"),
    ]
    assert out[0].kind == "referral" and out[0].expires_at == pd.Timestamp("2024-09-10")
    assert new_entries(referral_reward_entries(r, firsts, rule=rule), out) == []


def test_referral_reward_skipped_when_referee_was_already_a_customer():
    rule = PointsRule(referral_bonus_referrer=200, referral_bonus_referee=100)
    r = refs([(1, 2)], referred_at=pd.to_datetime(["2024-05-01"]))
    frame = pd.DataFrame({"customer_id": [2], "first_visit_at": pd.to_datetime(["2024-01-01"])})
    assert referral_reward_entries(r, frame, rule=rule) == []


# --------------------------------------------------------------------------- stored value and plans


def test_stored_value_balances():
    sv = pd.DataFrame(
        {
            "entry_id": [1, 2, 3, 4],
            "customer_id": [1, 1, 1, 2],
            "store_id": [1, 1, 2, 1],
            "kind": ["topup", "debit", "topup", "topup"],
            "amount": [3000.0, 1200.0, 500.0, 1000.0],
            "occurred_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-07-01"]),
        }
    )
    out = stored_value_balances(sv, as_of="2024-06-30")
    assert out[["customer_id", "balance"]].values.tolist() == [[1, 2300.0]]
    per_store = stored_value_balances(sv, by_store=True)
    assert per_store["balance"].tolist() == [1800.0, 500.0, 1000.0]


def plans() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "plan_id": [1, 2, 3, 4, 5],
            "customer_id": [1, 2, 3, 4, 5],
            "store_id": 1,
            "monthly_fee": 1290.0,
            "periods_total": [12, 12, 6, 12, 12],
            "periods_paid": [5, 12, 2, 3, 12],
            "started_on": pd.to_datetime(["2024-01-10", "2023-08-01", "2024-02-01", "2024-03-01", "2023-01-01"]),
            "ends_on": pd.to_datetime(["2025-01-09", "2024-07-31", "2024-07-31", None, "2023-12-31"]),
            "status": ["active", "active", "cancelled", "active", "completed"],
        }
    )


def test_plan_status():
    out = plan_status(plans(), as_of="2024-06-30").set_index("plan_id")
    assert out["periods_remaining"].to_dict() == {1: 7, 2: 0, 3: 4, 4: 9, 5: 0}
    assert out["periods_elapsed"].to_dict() == {1: 6, 2: 11, 3: 5, 4: 4, 5: 12}
    assert out["periods_in_arrears"].to_dict() == {1: 1, 2: 0, 3: 0, 4: 1, 5: 0}
    assert out.loc[1, "next_payment_on"] == pd.Timestamp("2024-06-10")
    assert pd.isna(out.loc[2, "next_payment_on"])
    assert out.loc[4, "ends_on"] == pd.Timestamp("2025-02-28")
    assert out["is_active"].to_dict() == {1: True, 2: True, 3: False, 4: True, 5: False}


def test_renewals_due():
    out = renewals_due(plans(), as_of="2024-06-30", within_days=31)
    assert out[["plan_id", "days_left"]].values.tolist() == [[2, 31]]
    assert renewals_due(plans(), as_of="2024-06-30", within_days=30).empty


def test_plan_churn_rate():
    got = plan_churn_rate(plans(), start="2024-01-01", end="2024-12-31")
    assert (got.started, got.churned) == (3, 1)
    assert math.isclose(got.rate, 1 / 3)
    assert math.isnan(plan_churn_rate(plans(), start="2020-01-01", end="2020-12-31").rate)
