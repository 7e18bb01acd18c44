"""Prophet demand forecast vs. seasonal naive on a 60-day holdout (two stores, parallel fits)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.models.evaluation import model_evaluation
from core.models.forecast import (
    FORECAST_COLUMNS,
    daily_store_demand,
    evaluate_forecast,
    forecast_store_demand,
    holiday_frame,
)
from demo.world import generate_world

AS_OF = "2026-11-22"


@pytest.fixture(scope="module")
def world():
    return generate_world(n_customers=5000, seed=11)


@pytest.fixture(scope="module")
def daily(world):
    return daily_store_demand(world.bookings, as_of=AS_OF)


def test_holidays_include_lunar_new_year_for_both_countries():
    for country in ("TW", "CN"):
        hol = holiday_frame(country, range(2025, 2028))
        lny = hol.loc[hol["holiday"] == "lunar_new_year", "ds"]
        assert pd.Timestamp("2026-02-17") in set(lny) and pd.Timestamp("2027-02-06") in set(lny)
        assert (hol["holiday"].str.startswith(f"{country}:")).sum() > 10
    with pytest.raises(ValueError):
        holiday_frame("JP", range(2025, 2026))


def test_daily_series_is_zero_filled_and_stops_at_as_of(daily):
    assert list(daily.columns) == ["store_id", "ds", "bookings", "revenue"]
    assert daily["ds"].max() == pd.Timestamp(AS_OF)
    per_store = daily.groupby("store_id")["ds"].agg(["min", "max", "size"])
    assert ((per_store["max"] - per_store["min"]).dt.days + 1 == per_store["size"]).all()


def test_prophet_beats_seasonal_naive_on_a_60_day_holdout(world, daily):
    countries = dict(zip(world.stores["store_id"], world.stores["country"], strict=True))
    two = daily.loc[daily["store_id"].isin([1, 3])]  # a Taiwan salon and the Shanghai shop
    ev = evaluate_forecast(two, country_by_store=countries, holdout_days=60)
    print(f"\nMAPE 60-day holdout: prophet {ev.mape_prophet:.3f}, seasonal naive {ev.mape_naive:.3f}")
    print(ev.per_store.to_string(index=False))
    assert ev.mape_prophet < ev.mape_naive
    summary, _ = model_evaluation(forecast=ev)
    assert set(summary["model"]) == {"prophet", "seasonal_naive"}

    capacity = dict(zip(world.stores["store_id"], world.stores["daily_capacity"], strict=True))
    fc = forecast_store_demand(two, horizon_days=90, country_by_store=countries, capacity_by_store=capacity)
    assert list(fc.columns) == list(FORECAST_COLUMNS)
    assert len(fc) == 2 * 90
    assert (fc["yhat_lower"] <= fc["yhat_bookings"]).all() and (fc["yhat_bookings"] <= fc["yhat_upper"]).all()
    assert (fc["over_capacity"] == (fc["yhat_bookings"] > fc["capacity"])).all()
