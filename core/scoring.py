"""Customer scores: RFM, lifecycle, revisit window and churn figures in one frame.

The output is the ``score`` command's contract (:data:`core.columns.SCORE_COLUMNS`) followed by
:data:`SCORE_EXTRA_COLUMNS`. Churn figures come from a pluggable *churn model*: a callable
``(features: DataFrame) -> DataFrame[p_alive, churn_risk, expected_visits]`` receiving
:data:`FEATURE_COLUMNS`. Without one, :func:`cadence_churn_rule` is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import pandas as pd

from core.aggregates import aggregate_bookings
from core.cadence import windows_from_aggregates
from core.columns import SCORE_COLUMNS, require_columns
from core.lifecycle import NEW, lifecycle_from_aggregates
from core.params import (
    AsOf,
    CadenceParams,
    LifecycleParams,
    RfmParams,
    as_of_cutoff,
    day_number,
    day_numbers,
)
from core.rfm import rfm_from_aggregates

ChurnModel = Callable[[pd.DataFrame], pd.DataFrame]

SCORING_CUSTOMER_COLUMNS: Final = ("customer_id", "home_store_id")
SCORING_BOOKING_COLUMNS: Final = (
    "customer_id",
    "store_id",
    "service_category",
    "scheduled_at",
    "status",
    "amount",
    "addon_amount",
)

#: Columns after :data:`SCORE_COLUMNS`, in order.
SCORE_EXTRA_COLUMNS: Final = (
    "rfm8_segment",
    "days_overdue",
    "band_low",
    "band_high",
    "home_store_id",
    "name",
    "opted_out_at",  # NaT unless the customer had opted out by the end of the as-of day
    "n_visits",  # distinct visit days up to as-of
    "is_high_value",
    "is_churn_risk",
)

#: Columns of the frame passed to a churn model.
FEATURE_COLUMNS: Final = (
    "customer_id",
    "recency_days",  # float, NaN without a visit
    "frequency",
    "monetary",
    "n_visits",
    "window_days",  # the revisit window; the default window without a visit
    "days_since_ref",  # days since the last visit, or since joining without a visit
    "horizon_days",
)

MODEL_OUTPUT_COLUMNS: Final = ("p_alive", "churn_risk", "expected_visits")

#: Days overdue, in windows, that halve P(alive) in :func:`cadence_churn_rule`.
HALF_LIFE_WINDOWS: Final = 1.0


def cadence_churn_rule(features: pd.DataFrame) -> pd.DataFrame:
    """Churn figures from the revisit window alone (the default churn model).

    With ``excess = max(0, days_since_ref − window) / window`` (windows past due),
    ``lam = horizon_days / window`` (visits expected in the horizon on cadence):

    - ``p_alive = 0.5 ** (excess / HALF_LIFE_WINDOWS)`` (1 while on time, halving per window late);
    - ``expected_visits = p_alive × lam``;
    - ``churn_risk = 1 − p_alive × (1 − exp(−lam))``: the probability of no visit in the horizon
      when visits of an alive customer arrive as a Poisson process at the window's rate.

    Parameters
    ----------
    features : DataFrame
        ``window_days``, ``days_since_ref``, ``horizon_days``.

    Returns
    -------
    DataFrame
        ``p_alive``, ``churn_risk``, ``expected_visits`` with the index of ``features``.
    """
    require_columns(features, ("window_days", "days_since_ref", "horizon_days"), what="features")
    window = features["window_days"].astype(float).to_numpy()
    since = features["days_since_ref"].astype(float).to_numpy()
    horizon = features["horizon_days"].astype(float).to_numpy()
    excess = np.maximum(0.0, since - window) / window
    p_alive = np.power(0.5, excess / HALF_LIFE_WINDOWS)
    lam = horizon / window
    return pd.DataFrame(
        {
            "p_alive": p_alive,
            "churn_risk": 1.0 - p_alive * (1.0 - np.exp(-lam)),
            "expected_visits": p_alive * lam,
        },
        index=features.index,
    )


def _apply_model(model: ChurnModel, features: pd.DataFrame) -> pd.DataFrame:
    result = model(features)
    require_columns(result, MODEL_OUTPUT_COLUMNS, what="churn model output")
    if "customer_id" in result.columns:
        result = result.set_index("customer_id").reindex(features["customer_id"].to_numpy())
    elif len(result) != len(features):
        raise ValueError("churn model output must have one row per feature row")
    return result.loc[:, list(MODEL_OUTPUT_COLUMNS)].reset_index(drop=True).astype(float)


def score_customers(
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    as_of: AsOf,
    horizon_days: int = 90,
    rfm_params: RfmParams | None = None,
    cadence_params: CadenceParams | None = None,
    lifecycle_params: LifecycleParams | None = None,
    churn_model: ChurnModel | None = None,
) -> pd.DataFrame:
    """Score every customer as of a date.

    Parameters
    ----------
    bookings : DataFrame
        ``BOOKING_COLUMNS`` (at least ``customer_id``, ``store_id``, ``service_category``,
        ``scheduled_at``, ``status``, ``amount``, ``addon_amount``). Bookings after the as-of
        day are ignored, so the result is the same whether or not they are loaded.
    customers : DataFrame
        ``customer_id``, ``home_store_id``; ``name``, ``joined_on``, ``opted_out_at`` when
        present. Customers who joined after the as-of day are left out unless they have a
        booking by then.
    as_of : date-like
    horizon_days : int
        Horizon of ``churn_risk`` and ``expected_visits``.
    rfm_params, cadence_params, lifecycle_params : optional
    churn_model : callable, optional
        ``(features) -> DataFrame[p_alive, churn_risk, expected_visits]`` (same rows, or keyed by
        a ``customer_id`` column); default :func:`cadence_churn_rule`.

    Returns
    -------
    DataFrame
        :data:`SCORE_COLUMNS` then :data:`SCORE_EXTRA_COLUMNS`, one row per customer, sorted by
        ``customer_id`` (internal id). Customers without a visit have NaN recency, scores,
        window and segment, ``frequency`` 0 and lifecycle ``new`` (or ``rescheduler``); their
        churn figures treat the join date as the last contact.
    """
    require_columns(bookings, SCORING_BOOKING_COLUMNS, what="bookings")
    rfm_params = rfm_params or RfmParams()
    lifecycle_params = lifecycle_params or LifecycleParams()
    aggregates = aggregate_bookings(
        bookings,
        as_of=as_of,
        lookback_days=rfm_params.lookback_days,
        rescheduler_lookback_days=lifecycle_params.rescheduler_lookback_days,
        rescheduler_statuses=tuple(lifecycle_params.rescheduler_statuses),
    )
    return score_from_aggregates(
        aggregates.customers,
        aggregates.priors,
        customers,
        as_of=as_of,
        horizon_days=horizon_days,
        rfm_params=rfm_params,
        cadence_params=cadence_params,
        lifecycle_params=lifecycle_params,
        churn_model=churn_model,
    )


def score_from_aggregates(
    aggregates: pd.DataFrame,
    priors: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    as_of: AsOf,
    horizon_days: int = 90,
    rfm_params: RfmParams | None = None,
    cadence_params: CadenceParams | None = None,
    lifecycle_params: LifecycleParams | None = None,
    churn_model: ChurnModel | None = None,
) -> pd.DataFrame:
    """:func:`score_customers` from pre-aggregated input (the pushdown path of chains).

    Parameters
    ----------
    aggregates, priors : DataFrame
        :data:`core.aggregates.AGGREGATE_COLUMNS` and :data:`core.aggregates.PRIOR_COLUMNS`,
        computed for the same ``as_of`` with ``rfm_params.lookback_days`` and the rescheduler
        settings of ``lifecycle_params`` (by :func:`core.aggregates.aggregate_bookings` or by
        the database, ``db.aggregates``).
    customers, as_of, horizon_days, rfm_params, cadence_params, lifecycle_params, churn_model
        As in :func:`score_customers`.

    Returns
    -------
    DataFrame
        The same frame as :func:`score_customers` on the bookings the aggregates came from.
    """
    cadence_params = cadence_params or CadenceParams()
    require_columns(customers, SCORING_CUSTOMER_COLUMNS, what="customers")
    cust = customers.copy()
    for column in ("name", "joined_on", "opted_out_at"):
        if column not in cust.columns:
            cust[column] = pd.NaT if column != "name" else None
    joined = pd.to_datetime(cust["joined_on"])
    cust = cust.loc[(joined.isna() | joined.lt(as_of_cutoff(as_of))).to_numpy()]
    cust = cust.drop_duplicates("customer_id").set_index("customer_id")

    rfm = rfm_from_aggregates(aggregates, as_of=as_of, store_of=cust["home_store_id"])
    windows = windows_from_aggregates(aggregates, priors, as_of=as_of, params=cadence_params)
    life = lifecycle_from_aggregates(rfm, windows, aggregates, params=lifecycle_params)

    ids = np.union1d(cust.index.to_numpy(), aggregates["customer_id"].to_numpy())
    out = pd.DataFrame({"customer_id": ids})
    out = out.merge(rfm, on="customer_id", how="left")
    w = windows.set_index("customer_id").reindex(ids)
    lf = life.set_index("customer_id").reindex(ids)
    c = cust.reindex(ids)

    out["recency_days"] = out["recency_days"].astype("Int64")
    out["frequency"] = out["frequency"].fillna(0).astype(np.int64)
    out["monetary"] = out["monetary"].fillna(0.0).astype(float)
    for column in ("r_score", "f_score", "m_score"):
        out[column] = out[column].astype("Int64")
    out["lifecycle_segment"] = lf["lifecycle_segment"].fillna(NEW).to_numpy(dtype=object)
    out["revisit_window_days"] = w["window_days"].to_numpy(dtype=float)
    out["next_due_date"] = pd.to_datetime(w["next_due_date"]).to_numpy()

    today = day_number(as_of)
    has_visit = out["recency_days"].notna().to_numpy()
    joined_days = today - day_numbers(pd.to_datetime(c["joined_on"]))
    since = np.where(has_visit, out["recency_days"].astype(float).to_numpy(), np.nan_to_num(joined_days, nan=0.0))
    features = pd.DataFrame(
        {
            "customer_id": ids,
            "recency_days": out["recency_days"].astype(float).to_numpy(),
            "frequency": out["frequency"].to_numpy(),
            "monetary": out["monetary"].to_numpy(),
            "n_visits": w["n_visits"].fillna(0).to_numpy(dtype=np.int64),
            "window_days": np.where(
                has_visit, w["window_days"].to_numpy(dtype=float), float(cadence_params.default_window_days)
            ),
            "days_since_ref": np.maximum(since, 0.0),
            "horizon_days": float(horizon_days),
        }
    )
    model = churn_model or cadence_churn_rule
    figures = _apply_model(model, features)
    for column in MODEL_OUTPUT_COLUMNS:
        out[column] = figures[column].to_numpy()

    for column in ("rfm_segment", "rfm8_segment", "lifecycle_segment"):
        out[column] = out[column].astype("str")
    out["days_overdue"] = w["days_overdue"].astype("Int64").array
    out["band_low"] = w["band_low"].to_numpy(dtype=float)
    out["band_high"] = w["band_high"].to_numpy(dtype=float)
    out["home_store_id"] = c["home_store_id"].astype("Int64").array
    out["name"] = c["name"].to_numpy(dtype=object)
    opted = pd.to_datetime(c["opted_out_at"])
    out["opted_out_at"] = opted.where(opted.lt(as_of_cutoff(as_of))).to_numpy()
    out["n_visits"] = features["n_visits"].to_numpy()
    out["is_high_value"] = lf["is_high_value"].fillna(False).astype(bool).to_numpy()
    out["is_churn_risk"] = lf["is_churn_risk"].fillna(False).astype(bool).to_numpy()
    return out.loc[:, list(SCORE_COLUMNS) + list(SCORE_EXTRA_COLUMNS)]
