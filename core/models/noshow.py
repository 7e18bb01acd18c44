"""No-show risk per upcoming booking, with suggested actions and their expected effect.

Features of a booking (known when it is made): lead time, weekday, hour, evening slot, channel,
service category, deposit (flag and share of the price) and the customer's own record *before
the booking was made* (bookings scheduled before its ``created_at``: no-shows, cancellations,
completed visits, a smoothed no-show rate). Walk-ins are left out (they cannot no-show).

Training is split by time: with ``test_days`` = 60, the backtest trains on bookings scheduled in
the ``train_days`` before ``as_of − 2·test_days``, calibrates on the next ``test_days`` and is
scored on the last ``test_days`` up to ``as_of``; the production model moves forward by
``test_days`` (train up to ``as_of − test_days``, calibrate on the last ``test_days``). The
baseline is the "previous no-show" rule: the customer's smoothed past no-show rate.

Actions: ``ask_deposit`` when the risk is at least ``deposit_threshold`` and no deposit was
taken; ``confirm_day_before`` when it is at least ``confirm_threshold``; otherwise ``none``. The
expected effect of a deposit is the model's own: the risk of the same booking with a deposit
(30 % of the price, the demo's and many shops' rule) minus its risk now.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from sklearn.base import clone

from core.columns import require_columns
from core.models.churn import CalibratedBoostingClassifier
from core.models.evaluation import classification_metrics, reliability_curve
from core.params import AsOf, as_of_cutoff, as_of_day

__all__ = [
    "NOSHOW_BOOKING_COLUMNS",
    "NOSHOW_CATEGORICAL",
    "NOSHOW_NUMERIC",
    "NOSHOW_OUTPUT_COLUMNS",
    "NoShowReport",
    "fit_noshow_model",
    "noshow_features",
    "noshow_risk",
    "summarise_actions",
]

NOSHOW_BOOKING_COLUMNS: Final = (
    "booking_id",
    "customer_id",
    "created_at",
    "scheduled_at",
    "status",
    "channel",
    "deposit",
    "amount",
)
NOSHOW_NUMERIC: Final = (
    "log_lead_days",
    "weekday",
    "hour",
    "evening",
    "has_deposit",
    "deposit_share",
    "prior_bookings",
    "prior_noshows",
    "prior_cancels",
    "prior_visits",
    "prior_noshow_rate",
)
NOSHOW_CATEGORICAL: Final = ("channel", "service_category")
#: Columns of :func:`noshow_risk`.
NOSHOW_OUTPUT_COLUMNS: Final = (
    "booking_id",
    "customer_id",
    "scheduled_at",
    "noshow_risk",
    "suggested_action",
    "risk_with_deposit",
    "expected_noshows_avoided",
)
ACTIONS: Final = ("ask_deposit", "confirm_day_before", "none")
#: Smoothing of the customer's past no-show rate toward the chain's rate (pseudo-bookings).
PRIOR_STRENGTH: Final = 3.0
DEPOSIT_SHARE: Final = 0.3
_RESOLVED: Final = ("completed", "no_show")


def noshow_features(
    bookings: pd.DataFrame, *, known_by: AsOf | None = None, base_rate: float | None = None
) -> pd.DataFrame:
    """Features per booking (walk-ins dropped), from what was known when it was made.

    Parameters
    ----------
    bookings : DataFrame
        :data:`NOSHOW_BOOKING_COLUMNS` (``service_category`` optional). The customer's record
        counts her bookings scheduled before the booking's ``created_at`` (and before the end of
        ``known_by`` when given).
    known_by : date-like, optional
        Ignore bookings scheduled after this day for the record (the as-of convention).
    base_rate : float, optional
        Chain no-show rate used to smooth the customer's rate (default: from ``bookings``).

    Returns
    -------
    DataFrame
        ``booking_id``, ``customer_id``, ``scheduled_at``, ``status`` then
        :data:`NOSHOW_NUMERIC` and :data:`NOSHOW_CATEGORICAL`, in the input's row order.
    """
    require_columns(bookings, NOSHOW_BOOKING_COLUMNS, what="bookings")
    b = bookings.loc[bookings["channel"].ne("walk_in").to_numpy()]
    created = pd.to_datetime(b["created_at"]).to_numpy("datetime64[ns]").astype(np.int64) // 60_000_000_000
    sched_ts = pd.to_datetime(b["scheduled_at"])
    sched = sched_ts.to_numpy("datetime64[ns]").astype(np.int64) // 60_000_000_000
    cust, cust_code = np.unique(b["customer_id"].to_numpy(np.int64), return_inverse=True)
    status = b["status"].to_numpy(object)
    # The record: every booking of the customer, resolved by the time the query looks.
    hist_ok = np.ones(len(b), dtype=bool)
    if known_by is not None:
        hist_ok = sched_ts.lt(as_of_cutoff(known_by)).to_numpy()
    span = int(max(sched.max(), created.max()) - min(sched.min(), created.min()) + 2) if len(b) else 1
    t0 = min(sched.min(), created.min()) if len(b) else 0
    key_h = cust_code[hist_ok].astype(np.int64) * span + (sched[hist_ok] - t0)
    order = np.argsort(key_h, kind="stable")
    key_sorted = key_h[order]
    st = status[hist_ok][order]

    def cum(mask: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(mask.astype(np.int64))])

    c_all = cum(np.isin(st, ("completed", "no_show", "cancelled", "rescheduled")))
    c_ns = cum(st == "no_show")
    c_cx = cum(np.isin(st, ("cancelled", "rescheduled")))
    c_done = cum(st == "completed")
    # Bookings of the same customer scheduled strictly before this booking's creation.
    lo = np.searchsorted(key_sorted, cust_code.astype(np.int64) * span, side="left")
    hi = np.searchsorted(key_sorted, cust_code.astype(np.int64) * span + (created - t0), side="left")
    prior_all = (c_all[hi] - c_all[lo]).astype(float)
    prior_ns = (c_ns[hi] - c_ns[lo]).astype(float)
    prior_cx = (c_cx[hi] - c_cx[lo]).astype(float)
    prior_done = (c_done[hi] - c_done[lo]).astype(float)
    if base_rate is None:
        resolved = np.isin(status, _RESOLVED)
        base_rate = float((status[resolved] == "no_show").mean()) if resolved.any() else 0.05
    lead_days = np.maximum((sched - created) / 1440.0, 0.0)
    hour = sched_ts.dt.hour.to_numpy(float) + sched_ts.dt.minute.to_numpy(float) / 60.0
    amount = b["amount"].fillna(0).to_numpy(float)
    deposit = b["deposit"].fillna(0).to_numpy(float)
    return pd.DataFrame(
        {
            "booking_id": b["booking_id"].to_numpy(),
            "customer_id": b["customer_id"].to_numpy(),
            "scheduled_at": sched_ts.to_numpy(),
            "status": status,
            "log_lead_days": np.log1p(lead_days),
            "weekday": sched_ts.dt.day_of_week.to_numpy(float),
            "hour": hour,
            "evening": (hour >= 18).astype(float),
            "has_deposit": (deposit > 0).astype(float),
            "deposit_share": np.where(amount > 0, deposit / np.maximum(amount, 1e-9), 0.0),
            "prior_bookings": prior_all,
            "prior_noshows": prior_ns,
            "prior_cancels": prior_cx,
            "prior_visits": prior_done,
            "prior_noshow_rate": (prior_ns + PRIOR_STRENGTH * base_rate) / (prior_all + PRIOR_STRENGTH),
            "channel": b["channel"].astype(object).to_numpy(),
            "service_category": (
                b["service_category"].astype(object).to_numpy()
                if "service_category" in b.columns
                else np.full(len(b), None, dtype=object)
            ),
        }
    )


@dataclass
class NoShowReport:
    """The fitted no-show model and its time-split backtest.

    Attributes
    ----------
    model : CalibratedBoostingClassifier
        Production model (trained up to ``as_of − test_days``, calibrated on the last slice).
    backtest_model : CalibratedBoostingClassifier
    metrics : DataFrame
        ``model`` ("gbm", "previous_noshow"), ``role``, ``n``, ``base_rate``, ``auc``, ``pr_auc``,
        ``ece``, ``lift_top10``, ``precision_top10`` on the test slice.
    reliability : DataFrame
        ``model``, ``bin``, ``mean_predicted``, ``observed_rate``, ``count``.
    deposit_effect : float
        Mean model risk reduction from a 30 % deposit on test bookings without one (risk points).
    base_rate : float
    as_of, test_start : Timestamp
    fit_seconds : float
    """

    model: CalibratedBoostingClassifier
    backtest_model: CalibratedBoostingClassifier
    metrics: pd.DataFrame
    reliability: pd.DataFrame
    deposit_effect: float
    base_rate: float
    as_of: pd.Timestamp
    test_start: pd.Timestamp
    fit_seconds: float = 0.0

    def auc(self, model: str = "gbm") -> float:
        """Backtest AUC of ``model``."""
        row = self.metrics.loc[self.metrics["model"] == model]
        return float(row["auc"].iloc[0]) if len(row) else float("nan")


def _classifier(random_state: int) -> CalibratedBoostingClassifier:
    return CalibratedBoostingClassifier(
        numeric_features=NOSHOW_NUMERIC,
        categorical_features=NOSHOW_CATEGORICAL,
        max_iter=150,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=100,
        random_state=random_state,
    )


def _with_deposit(x: pd.DataFrame) -> pd.DataFrame:
    out = x.copy()
    none = out["has_deposit"].to_numpy() == 0
    out.loc[none, "has_deposit"] = 1.0
    out.loc[none, "deposit_share"] = DEPOSIT_SHARE
    return out


def fit_noshow_model(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    test_days: int = 60,
    train_days: int = 365,
    max_rows: int | None = 300_000,
    random_state: int = 0,
) -> NoShowReport:
    """Fit and backtest the no-show model on resolved bookings up to ``as_of``.

    Parameters
    ----------
    bookings : DataFrame
        :data:`NOSHOW_BOOKING_COLUMNS`; bookings scheduled after ``as_of`` are ignored.
    as_of : date-like
    test_days, train_days : int
        Lengths of the test / calibration slices and of the training window.
    max_rows : int or None
        Seeded sample of at most this many bookings per training / calibration slice (a
        million-customer chain has millions of resolved bookings; the test slice is never sampled).
    random_state : int

    Returns
    -------
    NoShowReport
    """
    started = time.perf_counter()
    day = as_of_day(as_of)
    cutoff = as_of_cutoff(as_of)
    past = bookings.loc[pd.to_datetime(bookings["scheduled_at"]).lt(cutoff).to_numpy()]
    resolved = past["status"].isin(_RESOLVED).to_numpy()
    base_rate = float(past.loc[resolved, "status"].eq("no_show").mean()) if resolved.any() else 0.05
    feats = noshow_features(past, known_by=day, base_rate=base_rate)
    feats = feats.loc[feats["status"].isin(_RESOLVED).to_numpy()]
    y_all = feats["status"].eq("no_show").to_numpy().astype(np.int64)
    when = pd.to_datetime(feats["scheduled_at"])
    span = pd.Timedelta(days=test_days)
    test_start = cutoff - span

    def window(lo: pd.Timestamp, hi: pd.Timestamp, sample: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
        idx = np.flatnonzero((when.ge(lo) & when.lt(hi)).to_numpy())
        if sample and max_rows is not None and idx.size > max_rows:
            idx = np.sort(np.random.default_rng(random_state).choice(idx, max_rows, replace=False))
        return feats.iloc[idx], y_all[idx]

    train_span = pd.Timedelta(days=train_days)
    X_tr, y_tr = window(test_start - span - train_span, test_start - span)  # noqa: N806
    X_cal, y_cal = window(test_start - span, test_start)  # noqa: N806
    X_te, y_te = window(test_start, cutoff, sample=False)  # noqa: N806
    if min(len(np.unique(y_tr)), len(np.unique(y_te))) < 2:
        raise ValueError("too few resolved bookings (or no no-shows) to fit a no-show model")
    proto = _classifier(random_state)
    backtest = clone(proto).fit(X_tr, y_tr, X_cal=X_cal, y_cal=y_cal)
    X_p, y_p = window(test_start - train_span, test_start)  # noqa: N806
    model = clone(proto).fit(X_p, y_p, X_cal=X_te, y_cal=y_te)

    scores = {"gbm": backtest.predict_risk(X_te), "previous_noshow": X_te["prior_noshow_rate"].to_numpy()}
    rows, curves = [], []
    for name, s in scores.items():
        rows.append(
            {"model": name, "role": "model" if name == "gbm" else "baseline", **classification_metrics(y_te, s)}
        )
        curve = reliability_curve(y_te, s)
        curve.insert(0, "model", name)
        curves.append(curve)
    no_dep = X_te["has_deposit"].to_numpy() == 0
    effect = (
        float(np.mean(scores["gbm"][no_dep] - backtest.predict_risk(_with_deposit(X_te.loc[no_dep]))))
        if no_dep.any()
        else 0.0
    )
    return NoShowReport(
        model=model,
        backtest_model=backtest,
        metrics=pd.DataFrame(rows),
        reliability=pd.concat(curves, ignore_index=True),
        deposit_effect=effect,
        base_rate=base_rate,
        as_of=day,
        test_start=test_start,
        fit_seconds=time.perf_counter() - started,
    )


def noshow_risk(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    report: NoShowReport | None = None,
    deposit_threshold: float = 0.15,
    confirm_threshold: float = 0.08,
    horizon_days: int | None = None,
) -> pd.DataFrame:
    """No-show risk and a suggested action for every booking upcoming after ``as_of``.

    Parameters
    ----------
    bookings : DataFrame
        :data:`NOSHOW_BOOKING_COLUMNS`. Upcoming: made by the end of ``as_of`` and scheduled after
        it (walk-ins and bookings already cancelled/rescheduled left out).
    as_of : date-like
    report : NoShowReport, optional
        A fitted model (default: :func:`fit_noshow_model` at ``as_of``).
    deposit_threshold, confirm_threshold : float
        Risk at or above which to ask a deposit (when none was taken) / confirm the day before.
    horizon_days : int, optional
        Only bookings scheduled within this many days after ``as_of``.

    Returns
    -------
    DataFrame
        :data:`NOSHOW_OUTPUT_COLUMNS`, sorted by ``scheduled_at`` then ``booking_id``.
        ``expected_noshows_avoided`` is ``noshow_risk − risk_with_deposit`` on ``ask_deposit``
        rows and 0 elsewhere (no measured effect of a reminder in the data).
    """
    require_columns(bookings, NOSHOW_BOOKING_COLUMNS, what="bookings")
    report = report or fit_noshow_model(bookings, as_of=as_of)
    cutoff = as_of_cutoff(as_of)
    created = pd.to_datetime(bookings["created_at"])
    sched = pd.to_datetime(bookings["scheduled_at"])
    upcoming = created.lt(cutoff) & sched.ge(cutoff)
    if horizon_days is not None:
        upcoming &= sched.lt(cutoff + pd.Timedelta(days=horizon_days))
    upcoming &= ~bookings["status"].isin(("cancelled", "rescheduled"))
    # The record is what was known by as_of, so add the past to the upcoming rows.
    past = bookings.loc[sched.lt(cutoff).to_numpy()]
    frame = pd.concat([past, bookings.loc[upcoming.to_numpy()]], ignore_index=True)
    feats = noshow_features(frame, base_rate=report.base_rate)
    feats = feats.loc[pd.to_datetime(feats["scheduled_at"]).ge(cutoff).to_numpy()]
    risk = report.model.predict_risk(feats) if len(feats) else np.zeros(0)
    with_dep = report.model.predict_risk(_with_deposit(feats)) if len(feats) else np.zeros(0)
    no_dep = feats["has_deposit"].to_numpy() == 0
    action = np.where(
        (risk >= deposit_threshold) & no_dep,
        "ask_deposit",
        np.where(risk >= confirm_threshold, "confirm_day_before", "none"),
    )
    avoided = np.where(action == "ask_deposit", np.maximum(risk - with_dep, 0.0), 0.0)
    out = pd.DataFrame(
        {
            "booking_id": feats["booking_id"].to_numpy(),
            "customer_id": feats["customer_id"].to_numpy(),
            "scheduled_at": feats["scheduled_at"].to_numpy(),
            "noshow_risk": risk,
            "suggested_action": action,
            "risk_with_deposit": with_dep,
            "expected_noshows_avoided": avoided,
        }
    )
    return out.sort_values(["scheduled_at", "booking_id"], kind="stable", ignore_index=True)


def summarise_actions(risks: pd.DataFrame) -> pd.DataFrame:
    """Bookings, expected no-shows and expected no-shows avoided per suggested action.

    Parameters
    ----------
    risks : DataFrame
        From :func:`noshow_risk`.

    Returns
    -------
    DataFrame
        ``suggested_action``, ``bookings``, ``expected_noshows``, ``expected_noshows_avoided``,
        one row per action in :data:`ACTIONS` order.
    """
    require_columns(risks, ("suggested_action", "noshow_risk", "expected_noshows_avoided"), what="risks")
    g = risks.groupby("suggested_action")
    out = pd.DataFrame(
        {
            "bookings": g.size(),
            "expected_noshows": g["noshow_risk"].sum(),
            "expected_noshows_avoided": g["expected_noshows_avoided"].sum(),
        }
    )
    out = out.reindex(list(ACTIONS)).fillna(0.0)
    out["bookings"] = out["bookings"].astype(np.int64)
    return out.rename_axis("suggested_action").reset_index()
