"""Programme simulator: determinism and points conservation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.loyalty.points import LedgerEntry, PointsRule
from core.loyalty.simulator import estimate_redemption_propensity, simulate_program
from core.loyalty.tiers import salon_tier_rules


def history(seed: int = 3, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "booking_id": np.arange(n),
            "customer_id": rng.integers(1, 80, n),
            "store_id": 1,
            "scheduled_at": pd.Timestamp("2023-07-01") + pd.to_timedelta(rng.integers(0, 366, n), unit="D"),
            "status": rng.choice(["completed", "completed", "completed", "no_show"], n),
            "amount": rng.integers(300, 3000, n).astype(float),
            "addon_amount": 0.0,
        }
    )


RULE = PointsRule(earn_per_currency_unit=0.1, expiry_months=3, min_redemption=50, point_cash_value=0.2)


def test_simulator_is_deterministic_for_a_seed():
    a = simulate_program(history(), rule=RULE, tier_rules=salon_tier_rules(), as_of="2024-06-30", seed=7)
    b = simulate_program(history(), rule=RULE, tier_rules=salon_tier_rules(), as_of="2024-06-30", seed=7)
    c = simulate_program(history(), rule=RULE, tier_rules=salon_tier_rules(), as_of="2024-06-30", seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert len(a) == 12 and a["month"].iloc[0] == pd.Timestamp("2024-07-01")


@pytest.mark.parametrize("expiry", [1, 3, None])
@pytest.mark.parametrize("propensity", [0.0, 0.3, 1.0])
def test_simulator_conserves_points(expiry, propensity):
    rule = PointsRule(earn_per_currency_unit=0.1, expiry_months=expiry, min_redemption=50)
    ledger = [
        LedgerEntry(1, "earn", 500, pd.Timestamp("2024-05-01"), "a", pd.Timestamp("2024-08-15")),
        LedgerEntry(2, "earn", 70, pd.Timestamp("2023-05-01"), "b", pd.Timestamp("2024-05-01")),
        LedgerEntry(3, "earn", 30, pd.Timestamp("2024-01-01"), "c", None),
    ]
    out = simulate_program(
        history(),
        rule=rule,
        tier_rules=salon_tier_rules(),
        as_of="2024-06-30",
        months=18,
        redemption_propensity=propensity,
        ledger=ledger,
    )
    flow = out["points_issued"] - out["points_redeemed"] - out["points_expired"]
    assert (flow == out["outstanding_end"] - out["outstanding_start"]).all()
    assert (out["outstanding_end"].shift(1).iloc[1:] == out["outstanding_start"].iloc[1:]).all()
    assert out["outstanding_start"].iloc[0] == 600
    total = out["points_issued"].sum()
    assert total == out["points_redeemed"].sum() + out["points_expired"].sum() + (
        out["outstanding_end"].iloc[-1] - out["outstanding_start"].iloc[0]
    )
    assert (out[["points_issued", "points_redeemed", "points_expired", "outstanding_end"]] >= 0).all().all()
    assert out["liability"].tolist() == pytest.approx((out["outstanding_end"] * rule.point_cash_value).tolist())
    if propensity == 0.0:
        assert out["points_redeemed"].sum() == 0
    if expiry is None:  # only opening lots expire: 70 already past expiry, 500 in August
        assert 70 <= out["points_expired"].sum() <= 570
        assert out["points_expired"].iloc[2:].sum() == 0
        if propensity == 0.0:
            assert out["points_expired"].iloc[:2].tolist() == [70, 500]
    tier_cols = [c for c in out.columns if c.startswith("tier:")]
    assert len(tier_cols) == 4
    assert (out[tier_cols].sum(axis=1) == out[tier_cols].sum(axis=1).iloc[0]).all()


def test_propensity_estimate():
    ledger = [
        LedgerEntry(1, "earn", 100, pd.Timestamp("2024-01-01"), "a"),
        LedgerEntry(2, "earn", 100, pd.Timestamp("2024-01-01"), "b"),
        LedgerEntry(1, "redeem", -50, pd.Timestamp("2024-02-01"), "r1", allocations=(("a", 50),)),
        LedgerEntry(1, "redeem", -50, pd.Timestamp("2024-03-01"), "r2", allocations=(("a", 50),)),
    ]
    assert estimate_redemption_propensity(ledger, as_of="2024-06-30") == pytest.approx(2 / 24)
    assert estimate_redemption_propensity([], as_of="2024-06-30") is None
