"""No-show model: time-split backtest against the "previous no-show" rule, actions, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.models.evaluation import model_evaluation
from core.models.noshow import NOSHOW_OUTPUT_COLUMNS, fit_noshow_model, noshow_features, noshow_risk, summarise_actions
from demo.world import generate_world

AS_OF = "2026-11-22"


@pytest.fixture(scope="module")
def world():
    return generate_world(n_customers=5000, seed=11)


@pytest.fixture(scope="module")
def report(world):
    return fit_noshow_model(world.bookings, as_of=AS_OF)


def test_noshow_model_beats_the_previous_noshow_rule(report):
    auc, base = report.auc("gbm"), report.auc("previous_noshow")
    ece = report.metrics.set_index("model").loc["gbm", "ece"]
    print(
        f"\nno-show AUC {auc:.3f} vs previous-no-show rule {base:.3f}; ECE {ece:.3f}; "
        f"deposit effect {report.deposit_effect:.3f}"
    )
    assert auc >= 0.70
    assert auc > base
    assert ece <= 0.05
    assert report.deposit_effect > 0  # the model learned that deposits reduce no-shows


def test_upcoming_bookings_get_risks_and_actions(world, report):
    risks = noshow_risk(world.bookings, as_of=AS_OF, report=report)
    assert list(risks.columns) == list(NOSHOW_OUTPUT_COLUMNS)
    upcoming = world.bookings.loc[(world.bookings["status"] == "booked") & (world.bookings["channel"] != "walk_in")]
    assert set(risks["booking_id"]) == set(upcoming["booking_id"])
    assert risks["noshow_risk"].between(0, 1).all()
    ask = risks["suggested_action"] == "ask_deposit"
    assert (risks.loc[ask, "noshow_risk"] >= 0.15).all()
    assert (risks.loc[ask, "expected_noshows_avoided"] > 0).any()
    assert (risks.loc[~ask, "expected_noshows_avoided"] == 0).all()
    summary = summarise_actions(risks)
    assert summary["bookings"].sum() == len(risks)
    # Risk follows the generator's true per-customer propensity.
    prop = world.truth.groupby("customer_id")["noshow_propensity"].first()
    assert np.corrcoef(risks["noshow_risk"], prop.reindex(risks["customer_id"]))[0, 1] > 0.2


def test_record_counts_only_what_was_known_when_booking():
    b = pd.DataFrame(
        {
            "booking_id": [1, 2, 3],
            "customer_id": [7, 7, 7],
            "channel": ["line"] * 3,
            "deposit": 0.0,
            "amount": 100.0,
            "created_at": pd.to_datetime(["2026-01-01 09:00", "2026-01-03 09:00", "2026-01-09 09:00"]),
            "scheduled_at": pd.to_datetime(["2026-01-05 10:00", "2026-01-10 10:00", "2026-01-12 10:00"]),
            "status": ["no_show", "completed", "completed"],
        }
    )
    f = noshow_features(b, base_rate=0.1).set_index("booking_id")
    assert f.loc[2, "prior_noshows"] == 0  # booked before the no-show happened
    assert f.loc[3, "prior_noshows"] == 1 and f.loc[3, "prior_bookings"] == 1


def test_noshow_is_deterministic_and_ignores_later_bookings(world, report):
    past = "2026-09-30"
    cut = world.bookings.loc[pd.to_datetime(world.bookings["scheduled_at"]) < pd.Timestamp("2026-10-01")]
    a = noshow_risk(world.bookings, as_of=past)
    b = noshow_risk(
        pd.concat([cut, world.bookings.loc[world.bookings["booking_id"].isin(a["booking_id"])]]), as_of=past
    )
    pd.testing.assert_frame_equal(a, b)
    summary, reliability = model_evaluation(noshow=report)
    assert set(summary["model"]) == {"gbm", "previous_noshow"}
    assert set(reliability["task"]) == {"noshow"}
