"""Daily demand forecast per store with Prophet, against staff capacity.

Per store, two Prophet models (daily bookings and daily revenue) with weekly and yearly
seasonality and a holidays frame: the public holidays of the store's country from the
``holidays`` package (``TW`` for Taiwan, ``CN`` for the mainland) plus a ``lunar_new_year``
event spanning the three-week pre-New-Year rush and the closed days after it (dates from
``lunardate``). Stores are fitted in parallel on 2 threads (the sampling itself runs in CmdStan
processes). cmdstanpy's logging is silenced.

The baseline is seasonal naive: the last observed week repeated over the horizon (each day gets
the value of the same weekday in the final week before the forecast origin). Caching is the page
layer's job.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from core.columns import require_columns
from core.params import AsOf, as_of_cutoff, as_of_day
from core.spend import visit_spend

__all__ = [
    "DAILY_COLUMNS",
    "FORECAST_COLUMNS",
    "ForecastEvaluation",
    "daily_store_demand",
    "evaluate_forecast",
    "forecast_store_demand",
    "holiday_frame",
    "seasonal_naive",
]

DAILY_COLUMNS: Final = ("store_id", "ds", "bookings", "revenue")
FORECAST_COLUMNS: Final = (
    "store_id",
    "ds",
    "yhat_bookings",
    "yhat_lower",
    "yhat_upper",
    "yhat_revenue",
    "capacity",
    "over_capacity",
)
#: Days before Lunar New Year's day of the busy rush, and days after it the shops stay closed.
LNY_RUSH_DAYS: Final = 21
LNY_CLOSED_DAYS: Final = 4


def daily_store_demand(bookings: pd.DataFrame, *, as_of: AsOf, start: AsOf | None = None) -> pd.DataFrame:
    """Daily appointments and revenue per store up to ``as_of`` (zero-filled).

    Parameters
    ----------
    bookings : DataFrame
        ``store_id``, ``scheduled_at``, ``status``, ``amount``, ``addon_amount``. Bookings counts
        appointments held or missed (completed + no-show); revenue sums completed visits.
    as_of : date-like
    start : date-like, optional
        First day (default: each store's first booking day).

    Returns
    -------
    DataFrame
        :data:`DAILY_COLUMNS`, one row per store and day, sorted.
    """
    require_columns(bookings, ("store_id", "scheduled_at", "status", "amount", "addon_amount"), what="bookings")
    sched = pd.to_datetime(bookings["scheduled_at"])
    keep = sched.lt(as_of_cutoff(as_of)).to_numpy() & bookings["status"].isin(("completed", "no_show")).to_numpy()
    b = bookings.loc[keep]
    done = b["status"].eq("completed").to_numpy()
    frame = pd.DataFrame(
        {
            "store_id": b["store_id"].to_numpy(),
            "ds": pd.to_datetime(b["scheduled_at"]).dt.normalize().to_numpy(),
            "bookings": 1,
            "revenue": np.where(done, visit_spend(b).to_numpy(), 0.0),
        }
    )
    g = frame.groupby(["store_id", "ds"], sort=True).agg(bookings=("bookings", "sum"), revenue=("revenue", "sum"))
    end = as_of_day(as_of)
    parts = []
    for sid, grp in g.groupby(level=0, sort=True):
        first = as_of_day(start) if start is not None else grp.index.get_level_values(1).min()
        days = pd.date_range(first, end, freq="D")
        part = grp.droplevel(0).reindex(days, fill_value=0).rename_axis("ds").reset_index()
        part.insert(0, "store_id", sid)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=list(DAILY_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["bookings"] = out["bookings"].astype(float)
    return out.loc[:, list(DAILY_COLUMNS)]


def _lunar_new_years(years: range) -> list[date]:
    from lunardate import LunarDate

    return [LunarDate(y, 1, 1).to_solar_date() for y in years]


def holiday_frame(country: str, years: range) -> pd.DataFrame:
    """Prophet holidays frame for ``country`` ("TW" or "CN") over ``years``.

    Returns
    -------
    DataFrame
        ``holiday``, ``ds``, ``lower_window``, ``upper_window``: the country's public holidays
        (one-day windows) and ``lunar_new_year`` (from ``LNY_RUSH_DAYS`` before to
        ``LNY_CLOSED_DAYS`` after New Year's day).
    """
    import holidays as holidays_lib

    if country not in ("TW", "CN"):
        raise ValueError(f"country must be 'TW' or 'CN', not {country!r}")
    cal = holidays_lib.country_holidays(country, years=list(years))
    rows = [
        {"holiday": f"{country}:{name}", "ds": pd.Timestamp(d), "lower_window": 0, "upper_window": 0}
        for d, name in sorted(cal.items())
    ]
    lny = pd.DataFrame(
        {
            "holiday": "lunar_new_year",
            "ds": pd.to_datetime(_lunar_new_years(years)),
            "lower_window": -LNY_RUSH_DAYS,
            "upper_window": LNY_CLOSED_DAYS,
        }
    )
    pub = pd.DataFrame(rows, columns=["holiday", "ds", "lower_window", "upper_window"])
    # Names vary by year ("(observed)" etc.); collapse to one effect per distinct name.
    return pd.concat([pub, lny], ignore_index=True)


def _quiet() -> None:
    import cmdstanpy

    cmdstanpy.disable_logging() if hasattr(cmdstanpy, "disable_logging") else None
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.ERROR)
        logging.getLogger(name).propagate = False
    warnings.filterwarnings("ignore", category=FutureWarning)


def _fit_one(args: tuple[int, pd.DataFrame, str, int, float]) -> pd.DataFrame:
    """Fit bookings and revenue models of one store (runs in a worker process)."""
    from prophet import Prophet

    _quiet()  # after the import: cmdstanpy configures its logger when first used

    store_id, daily, country, horizon, interval_width = args
    ds = pd.to_datetime(daily["ds"])
    years = range(ds.min().year - 1, ds.max().year + 2 + horizon // 365)
    hol = holiday_frame(country, years)
    out = None
    for target in ("bookings", "revenue"):
        model = Prophet(
            holidays=hol,
            weekly_seasonality=True,
            yearly_seasonality=True,
            daily_seasonality=False,
            interval_width=interval_width,
            uncertainty_samples=200,
        )
        np.random.seed(0)  # Prophet draws its intervals with numpy's global generator
        model.fit(pd.DataFrame({"ds": ds, "y": daily[target].to_numpy(float)}), algorithm="LBFGS")
        future = model.make_future_dataframe(periods=horizon, freq="D", include_history=False)
        pred = model.predict(future)
        if target == "bookings":
            out = pd.DataFrame(
                {
                    "store_id": store_id,
                    "ds": pred["ds"].to_numpy(),
                    "yhat_bookings": np.maximum(pred["yhat"].to_numpy(), 0.0),
                    "yhat_lower": np.maximum(pred["yhat_lower"].to_numpy(), 0.0),
                    "yhat_upper": np.maximum(pred["yhat_upper"].to_numpy(), 0.0),
                }
            )
        else:
            assert out is not None
            out["yhat_revenue"] = np.maximum(pred["yhat"].to_numpy(), 0.0)
    assert out is not None
    return out


def forecast_store_demand(
    daily: pd.DataFrame,
    *,
    horizon_days: int = 90,
    country_by_store: Mapping[int, str],
    capacity_by_store: Mapping[int, float] | None = None,
    max_workers: int = 2,
    interval_width: float = 0.8,
) -> pd.DataFrame:
    """Forecast daily bookings and revenue of every store for ``horizon_days`` after its last day.

    Parameters
    ----------
    daily : DataFrame
        :data:`DAILY_COLUMNS` (from :func:`daily_store_demand`).
    horizon_days : int
    country_by_store : mapping
        ``store_id → "TW" | "CN"`` (which holidays apply).
    capacity_by_store : mapping, optional
        ``store_id → daily capacity`` (appointments a day; the stores table's ``daily_capacity``).
        Without it ``capacity`` is NaN and ``over_capacity`` False.
    max_workers : int
        Stores fitted at once (1 fits them one after another).
    interval_width : float
        Width of ``yhat_lower`` … ``yhat_upper``.

    Returns
    -------
    DataFrame
        :data:`FORECAST_COLUMNS`, one row per store and future day; ``over_capacity`` is
        ``yhat_bookings > capacity``.
    """
    require_columns(daily, DAILY_COLUMNS, what="daily")
    jobs = []
    for sid, grp in daily.groupby("store_id", sort=True):
        if sid not in country_by_store:
            raise ValueError(f"no country for store {sid!r} in country_by_store")
        jobs.append(
            (
                sid,
                grp.sort_values("ds").reset_index(drop=True),
                country_by_store[sid],
                int(horizon_days),
                float(interval_width),
            )
        )
    if not jobs:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS))
    if max_workers <= 1 or len(jobs) == 1:
        results = [_fit_one(job) for job in jobs]
    else:
        # Prophet's fitting runs in CmdStan's own process, so threads fit stores in parallel without
        # re-importing the caller's __main__ (a process pool would re-run a Streamlit script).
        with ThreadPoolExecutor(max_workers=min(max_workers, len(jobs))) as pool:
            results = list(pool.map(_fit_one, jobs))
    out = pd.concat(results, ignore_index=True)
    cap = capacity_by_store or {}
    out["capacity"] = out["store_id"].map(lambda s: float(cap.get(s, np.nan))).astype(float)
    out["over_capacity"] = (out["yhat_bookings"] > out["capacity"]).to_numpy()
    return out.loc[:, list(FORECAST_COLUMNS)]


def seasonal_naive(history: pd.Series, horizon_days: int) -> np.ndarray:
    """The last observed week repeated ``horizon_days`` days forward."""
    last_week = np.asarray(history, dtype=float)[-7:]
    return np.resize(last_week, horizon_days)


def _mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    ok = actual > 0  # closed days (Lunar New Year) have no percentage error
    return float(np.mean(np.abs(forecast[ok] - actual[ok]) / actual[ok])) if ok.any() else float("nan")


@dataclass
class ForecastResult:
    """What the model page shows of the demand forecast."""

    forecast: pd.DataFrame  # FORECAST_COLUMNS
    history: pd.DataFrame  # daily_store_demand (recent days, for the chart)
    evaluation: ForecastEvaluation | None  # None: too little history


@dataclass(frozen=True)
class ForecastEvaluation:
    """Holdout evaluation of the bookings forecast.

    Attributes
    ----------
    mape_prophet, mape_naive : float
        Mean absolute percentage error over all stores' holdout days (days with 0 bookings left
        out).
    per_store : DataFrame
        ``store_id``, ``mape_prophet``, ``mape_naive``, ``n_days``.
    n_days : int
        Holdout days per store.
    """

    mape_prophet: float
    mape_naive: float
    per_store: pd.DataFrame
    n_days: int


def evaluate_forecast(
    daily: pd.DataFrame, *, country_by_store: Mapping[int, str], holdout_days: int = 60, max_workers: int = 2
) -> ForecastEvaluation:
    """MAPE of Prophet vs. seasonal naive on the last ``holdout_days`` of every store.

    Parameters
    ----------
    daily : DataFrame
        :data:`DAILY_COLUMNS`.
    country_by_store : mapping
    holdout_days : int
    max_workers : int

    Returns
    -------
    ForecastEvaluation
    """
    require_columns(daily, DAILY_COLUMNS, what="daily")
    daily = daily.sort_values(["store_id", "ds"], kind="stable")
    last = daily.groupby("store_id")["ds"].transform("max")
    is_hold = pd.to_datetime(daily["ds"]) > pd.to_datetime(last) - pd.Timedelta(days=holdout_days)
    train, hold = daily.loc[~is_hold.to_numpy()], daily.loc[is_hold.to_numpy()]
    fc = forecast_store_demand(
        train, horizon_days=holdout_days, country_by_store=country_by_store, max_workers=max_workers
    )
    rows = []
    errs_p, errs_n = [], []
    for sid, actual in hold.groupby("store_id", sort=True):
        y = actual["bookings"].to_numpy(float)
        pred = (
            fc.loc[fc["store_id"] == sid]
            .set_index("ds")["yhat_bookings"]
            .reindex(pd.to_datetime(actual["ds"]))
            .to_numpy(float)
        )
        naive = seasonal_naive(train.loc[train["store_id"] == sid, "bookings"], len(y))
        rows.append({"store_id": sid, "mape_prophet": _mape(y, pred), "mape_naive": _mape(y, naive), "n_days": len(y)})
        ok = y > 0
        errs_p.append(np.abs(pred[ok] - y[ok]) / y[ok])
        errs_n.append(np.abs(naive[ok] - y[ok]) / y[ok])
    return ForecastEvaluation(
        mape_prophet=float(np.mean(np.concatenate(errs_p))),
        mape_naive=float(np.mean(np.concatenate(errs_n))),
        per_store=pd.DataFrame(rows),
        n_days=int(holdout_days),
    )
