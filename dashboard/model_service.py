"""Glue between the loaded frames and :mod:`core.models` for the model page's tables: no-show
model, forecast, per-store churn confidence, evaluation. Functions take frames (no database, no
Streamlit). Scoring customers with a churn model is ``services.scoring`` (the one scoring path).

Frames are those of :func:`db.model_repo.load_model_inputs`: ``bookings`` (``db.repo.load_bookings``
columns, store-local times), ``customers``, ``feedback`` (``booking_id``, ``complaint``, ``rating``)
and ``stores`` (``store_id``, ``kind``, ``country``, ``daily_capacity``).
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd

from core.models.forecast import ForecastResult
from services import scoring

# The churn model glue lives with the one scoring path (``services.scoring``); the model page
# fits and explains through the same functions.
RULE: Final = scoring.RULE
fit_churn = scoring.fit_churn
reasons_by_customer = scoring.reasons_by_customer
_store_kinds = scoring.store_kinds
_model_customers = scoring.model_customers


# ------------------------------------------------------------------------------ model page
def fit_noshow(bookings: pd.DataFrame, *, as_of: date) -> Any | None:
    """:func:`core.models.noshow.fit_noshow_model`, or ``None`` with too few resolved bookings."""
    from core.models.noshow import NOSHOW_BOOKING_COLUMNS, fit_noshow_model

    if bookings.empty:
        return None
    try:
        return fit_noshow_model(bookings.loc[:, [*NOSHOW_BOOKING_COLUMNS, "store_id", "service_category"]], as_of=as_of)
    except ValueError:
        return None


def upcoming_noshows(
    bookings: pd.DataFrame, customers: pd.DataFrame, report: Any, *, as_of: date, days: int = 14
) -> pd.DataFrame:
    """Upcoming bookings in the next ``days`` days with risk and action, joined to the customer.

    Columns: ``booking_id``, ``scheduled_at``, ``store_id``, ``customer_id``, ``external_id``, ``name``, ``phone``,
    ``noshow_risk``, ``suggested_action``, ``expected_noshows_avoided`` (highest risk first).
    Personal columns keep their canonical names so ``display_frame`` can mask them.
    """
    from core.models.noshow import noshow_risk

    risks = noshow_risk(bookings, as_of=as_of, report=report, horizon_days=days)
    store = bookings.set_index("booking_id")["store_id"]
    who = customers.set_index("customer_id")
    out = pd.DataFrame(
        {
            "booking_id": risks["booking_id"].to_numpy(),
            "scheduled_at": pd.to_datetime(risks["scheduled_at"]).to_numpy(),
            "store_id": risks["booking_id"].map(store).to_numpy(),
            "customer_id": risks["customer_id"].to_numpy(),
            "external_id": risks["customer_id"].map(who["external_id"]).to_numpy(dtype=object),
            "name": risks["customer_id"].map(who["name"]).to_numpy(dtype=object),
            "phone": risks["customer_id"].map(who["phone"]).to_numpy(dtype=object),
            "noshow_risk": risks["noshow_risk"].to_numpy(float),
            "suggested_action": risks["suggested_action"].to_numpy(dtype=object),
            "expected_noshows_avoided": risks["expected_noshows_avoided"].to_numpy(float),
        }
    )
    return out.sort_values(["noshow_risk", "scheduled_at"], ascending=[False, True], kind="stable", ignore_index=True)


def forecast_demand(
    bookings: pd.DataFrame,
    stores: pd.DataFrame,
    *,
    as_of: date,
    horizon_days: int = 90,
    holdout_days: int = 60,
    max_workers: int = 1,
) -> ForecastResult | None:
    """90-day forecast per store against capacity, and the holdout MAPE vs. seasonal naive."""
    from core.models.forecast import daily_store_demand, evaluate_forecast, forecast_store_demand

    if bookings.empty or stores.empty:
        return None
    daily = daily_store_demand(bookings, as_of=as_of)
    daily = daily.loc[daily["store_id"].isin(stores["store_id"]).to_numpy()]
    # Prophet needs some history: stores with under 120 days are left out.
    lengths = daily.groupby("store_id")["ds"].transform("size")
    daily = daily.loc[(lengths >= 120).to_numpy()].reset_index(drop=True)
    if daily.empty:
        return None
    country = dict(zip(stores["store_id"].astype(int), stores["country"].astype(str), strict=True))
    capacity = dict(zip(stores["store_id"].astype(int), stores["daily_capacity"].astype(float), strict=True))
    forecast = forecast_store_demand(
        daily, horizon_days=horizon_days, country_by_store=country, capacity_by_store=capacity, max_workers=max_workers
    )
    try:
        evaluation = evaluate_forecast(
            daily, country_by_store=country, holdout_days=holdout_days, max_workers=max_workers
        )
    except ValueError:
        evaluation = None
    recent = daily.loc[pd.to_datetime(daily["ds"]).gt(pd.Timestamp(as_of) - pd.Timedelta(days=120)).to_numpy()]
    return ForecastResult(forecast=forecast, history=recent.reset_index(drop=True), evaluation=evaluation)


def churn_confidence_by_store(
    report: Any,
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    as_of: date,
    feedback: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """How sure the churn scores are, per store: ``store_id``, ``customers``, ``labelled``
    (training rows at the latest labelled date), ``auc_gbm``, ``auc_bgnbd``, ``high``, ``medium``,
    ``low`` (shares of customers by confidence), ``pooled`` (True: under the small-store size)."""
    from core.models.churn import SMALL_STORE_ROWS, predict_churn
    from core.models.features import churn_features, prepare_history

    history = prepare_history(
        bookings, _model_customers(customers), as_of=as_of, feedback=feedback, stores=_store_kinds(stores)
    )
    features = churn_features(history, as_of=as_of)
    if features.empty:
        return pd.DataFrame(
            columns=["store_id", "customers", "labelled", "auc_gbm", "auc_bgnbd", "high", "medium", "low", "pooled"]
        )
    pred = predict_churn(report, features)
    pred["store_id"] = features["store_id"].to_numpy(float)
    pred = pred.dropna(subset=["store_id"])
    share = pd.crosstab(pred["store_id"].astype(int), pred["confidence"], normalize="index")
    share = share.reindex(columns=["high", "medium", "low"], fill_value=0.0)
    counts = pred.groupby(pred["store_id"].astype(int)).size().rename("customers")
    out = pd.concat([counts, share], axis=1).rename_axis("store_id").reset_index()
    out["labelled"] = out["store_id"].map(lambda s: report.store_train_rows.get(int(s), 0)).astype(int)
    sm = report.store_metrics.set_index("store_id") if len(report.store_metrics) else None
    for col in ("auc_gbm", "auc_bgnbd"):
        out[col] = out["store_id"].map(sm[col]).astype(float) if sm is not None else np.nan
    out["pooled"] = out["labelled"] < SMALL_STORE_ROWS
    if stores is not None and not stores.empty:
        out = out.loc[out["store_id"].isin(stores["store_id"]).to_numpy()].reset_index(drop=True)
    return out.loc[:, ["store_id", "customers", "labelled", "auc_gbm", "auc_bgnbd", "high", "medium", "low", "pooled"]]


def evaluation_tables(churn: Any | None, noshow: Any | None, forecast: Any | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`core.models.evaluation.model_evaluation` (population "all" for churn)."""
    from core.models.evaluation import model_evaluation

    if churn is not None and "population" in churn.metrics.columns:
        # The summary reads report.metrics: show the "all customers" view (a shallow copy).
        churn = copy.copy(churn)
        churn.metrics = churn.metrics.loc[churn.metrics["population"] == "all"].reset_index(drop=True)
    return model_evaluation(churn=churn, noshow=noshow, forecast=forecast)


def ai_accuracy_summary(reviews: pd.DataFrame) -> dict[str, float | int]:
    """``accuracy`` (share agreeing; NaN without reviews) and ``count`` of reviews."""
    from core.models.evaluation import ai_accuracy

    if reviews.empty:
        return {"accuracy": float("nan"), "count": 0}
    return {
        "accuracy": ai_accuracy(reviews),
        "count": int(reviews.dropna(subset=["model_label", "manual_label"]).shape[0]),
    }
