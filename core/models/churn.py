"""Churn risk, P(alive) and expected visits: BG/NBD baseline vs. a gradient-boosting model.

How the models are trained and chosen (:func:`fit_churn_models`), with ``h = horizon_days``:

* **Labels**: as of a date ``T``, a customer with a visit by ``T`` churns when she has no
  completed visit in ``(T, T + h]``.
* **Backtest**: the last fully labelled date is ``T_test = as_of − h``. The boosting model is
  trained on features/labels at ``T_test − h − k·step`` (k = 1 … n_train_slices, stacked) and
  its probabilities are calibrated (isotonic, or sigmoid when the slice is small) on
  ``T_cal = T_test − h``, whose labels end by ``T_test``: nothing it sees lies after ``T_test``.
  BG/NBD is fitted on the calibration summary at ``T_test``. Both (and the cadence rule) are
  scored on the customers at ``T_test``; the model with the higher AUC is used.
* **Production**: the same recipe moved forward by ``h`` — train on ``as_of − h − k·step``,
  calibrate on the latest labelled date ``as_of − h``; BG/NBD refitted at ``as_of``.
* **Small shops**: one model is trained on all stores' customers (store kind and service category
  are features), so a 300-customer studio borrows strength from the chain. With too few labelled
  rows the cadence rule (:func:`core.scoring.cadence_churn_rule`) is used and every score is
  labelled ``low`` confidence.
* **P(alive) and expected visits from the boosting path**: BG/NBD gives, per customer,
  ``P0 = P(no visit in h | alive)`` and ``E[visits | alive]``. With the boosting churn risk ``c``,
  ``p_alive = min(1, (1 − c) / (1 − P0))`` (inverting ``c = 1 − p_alive (1 − P0)``) and
  ``expected_visits = p_alive · E[visits | alive]``.

Deterministic: the same bookings and ``as_of`` give the same numbers (fixed ``random_state``, no
early-stopping split, stable sorts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from core.models.bgnbd import BetaGeoModel
from core.models.evaluation import classification_metrics, reliability_curve
from core.models.features import (
    CATEGORICAL_FEATURES,
    MODEL_FEATURES,
    NUMERIC_FEATURES,
    PreparedHistory,
    churn_features,
    history_labels,
    prepare_history,
)
from core.models.limits import SMALL_STORE_ROWS, WEAK_AUC
from core.params import AsOf, as_of_day
from core.scoring import cadence_churn_rule

__all__ = [
    "CHURN_OUTPUT_COLUMNS",
    "CONFIDENCE_REASONS",
    "CalibratedBoostingClassifier",
    "ChurnClassifier",
    "ChurnModelReport",
    "churn_model_for_scoring",
    "fit_churn_models",
    "predict_churn",
]

#: Columns of :func:`predict_churn`.
CHURN_OUTPUT_COLUMNS: Final = (
    "customer_id",
    "p_alive",
    "churn_risk",
    "expected_visits",
    "confidence",
    "confidence_reason",
    "model",
)
#: Keys of ``confidence_reason`` (rendered by the i18n layer).
CONFIDENCE_REASONS: Final = {
    "backtested": "high: the model was backtested on this chain and the customer has a real history",
    "short_history": "medium: 2–3 visits, the customer's own rhythm is still uncertain",
    "small_store_pooled": "medium: few labelled customers in this store; the model is pooled over the chain",
    "weak_backtest": "medium: the chosen model's backtest AUC is below 0.75",
    "single_visit": "low: one visit only, the window is the service's typical one",
    "no_visit": "low: no visit yet, cadence rule from the join date",
    "too_little_history": "low: too little labelled history for a model; cadence rule used",
}
GBM, BGNBD, RULE = "gbm", "bgnbd", "cadence_rule"
#: "Active" customers for the harder backtest view: a visit in the last 180 days.
ACTIVE_DAYS: Final = 180


class CalibratedBoostingClassifier(ClassifierMixin, BaseEstimator):
    """Histogram gradient boosting on named feature columns, with calibrated probabilities.

    Used for churn (default features :data:`MODEL_FEATURES`) and no-show risk.

    Parameters
    ----------
    numeric_features, categorical_features : tuple of str
        Columns of the input frame; categoricals are coded with a vocabulary fixed at fit time.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to :class:`~sklearn.ensemble.HistGradientBoostingClassifier` (no early stopping, so
        no random validation split).
    calibration : {"auto", "isotonic", "sigmoid"}
        Calibration of the calibration slice; ``"auto"`` is isotonic from 2,000 rows, else sigmoid.
    random_state : int
    n_threads : int or None
        OpenMP threads for fitting and predicting (``None``: the library default). One thread is
        the default because on a shared 2-core server OpenMP's spin-waiting made fits 4× slower.

    Attributes
    ----------
    estimator_ : HistGradientBoostingClassifier
    calibrator_ : CalibratedClassifierCV or None
        ``None`` when fitted without a calibration slice.
    calibration_method_ : str or None
    vocab_ : dict of list
        Category vocabulary per categorical feature (codes are positions; unknown → missing).
    numeric_used_, categorical_used_ : list of str
        The features present in the training data (optional ones may be absent).
    classes_ : ndarray
    n_features_in_ : int
    """

    def __init__(
        self,
        numeric_features: tuple[str, ...] = NUMERIC_FEATURES,
        categorical_features: tuple[str, ...] = CATEGORICAL_FEATURES,
        max_iter: int = 200,
        learning_rate: float = 0.06,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        calibration: str = "auto",
        random_state: int = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.numeric_features = numeric_features
        self.categorical_features = categorical_features
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.random_state = random_state
        self.n_threads = n_threads

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        missing = [c for c in (*self.numeric_features, *self.categorical_features) if c not in X.columns]
        if missing:
            raise ValueError(f"features are missing column(s): {', '.join(missing)}")
        cols = [X[c].to_numpy(dtype=float) for c in self.numeric_used_]
        for c in self.categorical_used_:
            lookup = {v: i for i, v in enumerate(self.vocab_[c])}
            cols.append(X[c].map(lookup).to_numpy(dtype=float))
        return np.column_stack(cols)

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        X_cal: pd.DataFrame | None = None,  # noqa: N803
        y_cal: np.ndarray | None = None,
    ) -> CalibratedBoostingClassifier:
        """Fit the boosting model on ``(X, y)``, then calibrate on the later slice ``(X_cal, y_cal)``.

        Returns
        -------
        CalibratedBoostingClassifier
            ``self``.
        """
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self._fit(X, y, X_cal, y_cal)

    def _fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_cal: pd.DataFrame | None,  # noqa: N803
        y_cal: np.ndarray | None,
    ) -> CalibratedBoostingClassifier:
        self.vocab_ = {c: sorted({str(v) for v in X[c].dropna().unique()}) for c in self.categorical_features}
        # Optional inputs that are absent (all missing) are left out: nothing to split on.
        self.numeric_used_ = [c for c in self.numeric_features if X[c].notna().any()]
        self.categorical_used_ = [c for c in self.categorical_features if self.vocab_[c]]
        matrix = self._encode(X)
        categorical = np.zeros(matrix.shape[1], dtype=bool)
        categorical[len(self.numeric_used_) :] = True
        self.estimator_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            categorical_features=categorical,
            early_stopping=False,
            random_state=self.random_state,
        ).fit(matrix, np.asarray(y))
        self.classes_ = self.estimator_.classes_
        self.n_features_in_ = matrix.shape[1]
        self.calibrator_ = None
        self.calibration_method_ = None
        if X_cal is not None and y_cal is not None and len(np.unique(y_cal)) == 2:
            method = self.calibration
            if method == "auto":
                method = "isotonic" if len(y_cal) >= 2000 else "sigmoid"
            self.calibrator_ = CalibratedClassifierCV(FrozenEstimator(self.estimator_), method=method)
            self.calibrator_.fit(self._encode(X_cal), np.asarray(y_cal))
            self.calibration_method_ = method
        return self

    def _encode(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        X_str = X.copy()  # noqa: N806
        for c in self.categorical_used_:
            X_str[c] = X_str[c].where(X_str[c].isna(), X_str[c].astype(str))
        return self._matrix(X_str)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """Calibrated ``[P(stay), P(churn)]`` per row."""
        matrix = self._encode(X)
        model = self.calibrator_ if self.calibrator_ is not None else self.estimator_
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return model.predict_proba(matrix)

    def predict(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """Class with the higher calibrated probability."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """Calibrated probability of the positive class (churn / no-show) per row."""
        return self.predict_proba(X)[:, 1]


#: The churn model: :class:`CalibratedBoostingClassifier` with the churn features.
ChurnClassifier = CalibratedBoostingClassifier


@dataclass
class ChurnModelReport:
    """Everything :func:`fit_churn_models` learned and measured.

    Attributes
    ----------
    as_of : Timestamp
    horizon_days : int
    chosen : str
        ``"gbm"``, ``"bgnbd"`` or ``"cadence_rule"`` (fallback).
    fallback_reason : str or None
        Why the cadence rule is used (a :data:`CONFIDENCE_REASONS` key).
    metrics : DataFrame
        Backtest at ``test_date``: ``model``, ``role``, ``population`` ("all" / "active"), ``n``,
        ``base_rate``, ``auc``, ``pr_auc``, ``ece``, ``lift_top10``, ``precision_top10``.
        The page's view (population "all") is what :func:`core.models.evaluation.model_evaluation`
        shows.
    reliability : DataFrame
        ``model``, ``bin``, ``mean_predicted``, ``observed_rate``, ``count`` at ``test_date``.
    store_metrics : DataFrame
        ``store_id``, ``n``, ``train_rows``, ``auc_gbm``, ``auc_bgnbd`` at ``test_date``.
    test_predictions : DataFrame
        ``customer_id``, ``store_id``, ``y``, ``gbm``, ``bgnbd``, ``cadence_rule`` at ``test_date``.
    feature_importance : Series
        Permutation importance (AUC drop) of each feature on the backtest slice.
    gbm, backtest_gbm : ChurnClassifier or None
        The production model and the one that was backtested.
    bgnbd : BetaGeoModel
        Fitted at ``as_of`` (used for P(alive) and expected visits).
    test_date, calibration_date : Timestamp
    train_dates : list of Timestamp
        Production training dates.
    store_train_rows : dict
        Labelled customers per store id at the latest labelled date (``as_of − h``); stores under
        :data:`SMALL_STORE_ROWS` get at most medium confidence.
    fit_seconds : float
    """

    as_of: pd.Timestamp
    horizon_days: int
    chosen: str
    fallback_reason: str | None
    metrics: pd.DataFrame
    reliability: pd.DataFrame
    store_metrics: pd.DataFrame
    test_predictions: pd.DataFrame
    feature_importance: pd.Series
    gbm: ChurnClassifier | None
    backtest_gbm: ChurnClassifier | None
    bgnbd: BetaGeoModel
    test_date: pd.Timestamp
    calibration_date: pd.Timestamp
    train_dates: list[pd.Timestamp] = field(default_factory=list)
    store_train_rows: dict[int, int] = field(default_factory=dict)
    fit_seconds: float = 0.0

    def auc(self, model: str, population: str = "all") -> float:
        """Backtest AUC of ``model`` ("gbm", "bgnbd", "cadence_rule")."""
        m = self.metrics
        row = m.loc[(m["model"] == model) & (m["population"] == population)]
        return float(row["auc"].iloc[0]) if len(row) else float("nan")


def _rule_risk(feats: pd.DataFrame, horizon_days: int) -> np.ndarray:
    rule_input = pd.DataFrame(
        {
            "window_days": feats["window_days"].to_numpy(float),
            "days_since_ref": feats["recency_days"].to_numpy(float),
            "horizon_days": float(horizon_days),
        }
    )
    return cadence_churn_rule(rule_input)["churn_risk"].to_numpy()


def _bg_summary(feats: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": feats.index.to_numpy(),
            "frequency": feats["bg_frequency"].to_numpy(float),
            "recency": feats["bg_recency"].to_numpy(float),
            "T": feats["bg_T"].to_numpy(float),
        }
    )


class _Slices:
    """Features and labels per date, computed once."""

    def __init__(self, history: PreparedHistory, horizon_days: int) -> None:
        self.history = history
        self.horizon = horizon_days
        self.cache: dict[pd.Timestamp, tuple[pd.DataFrame, np.ndarray]] = {}

    def get(self, day: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
        if day not in self.cache:
            feats = churn_features(self.history, as_of=day)
            y = history_labels(self.history, as_of=day, horizon_days=self.horizon, customer_ids=feats.index)
            self.cache[day] = (feats, y)
        return self.cache[day]

    def stack(self, days: list[pd.Timestamp], max_rows: int | None, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
        parts = [self.get(d) for d in days]
        parts = [p for p in parts if len(p[0])]
        if not parts:
            return pd.DataFrame(columns=list(MODEL_FEATURES) + ["store_id"]), np.zeros(0, dtype=np.int64)
        X = pd.concat([p[0] for p in parts], ignore_index=True)  # noqa: N806
        y = np.concatenate([p[1] for p in parts])
        if max_rows is not None and len(y) > max_rows:
            pick = np.sort(np.random.default_rng(seed).choice(len(y), max_rows, replace=False))
            X, y = X.iloc[pick].reset_index(drop=True), y[pick]  # noqa: N806
        return X, y


def _enough(y: np.ndarray, min_rows: int, min_class: int) -> bool:
    return len(y) >= min_rows and int(y.sum()) >= min_class and int(len(y) - y.sum()) >= min_class


def fit_churn_models(
    bookings: pd.DataFrame,
    customers: pd.DataFrame | None,
    *,
    as_of: AsOf,
    horizon_days: int = 90,
    feedback: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
    step_days: int = 30,
    n_train_slices: int = 4,
    min_train_rows: int = 300,
    min_class_rows: int = 30,
    max_train_rows: int | None = 300_000,
    importance: bool = True,
    classifier: ChurnClassifier | None = None,
    random_state: int = 0,
) -> ChurnModelReport:
    """Backtest BG/NBD and the boosting model, pick the better, and fit it for ``as_of``.

    Parameters
    ----------
    bookings : DataFrame
        :data:`core.models.features.CHURN_BOOKING_COLUMNS` (``booking_id``, ``designated``,
        ``pet_id`` when present). Bookings scheduled after ``as_of`` are ignored.
    customers : DataFrame or None
        ``customer_id`` with optional ``home_store_id``, ``points``, ``tier``, ``store_kind``.
    as_of : date-like
    horizon_days : int
        Churn means no visit in this many days.
    feedback : DataFrame, optional
        ``booking_id``, ``complaint``, ``rating``: enables the complaint features.
    stores : DataFrame, optional
        ``store_id``, ``kind``: the store kind feature for chain-wide pooling.
    step_days, n_train_slices : int
        Training dates are ``step_days`` apart, ``n_train_slices`` of them, stacked.
    min_train_rows, min_class_rows : int
        Below these (training rows, or churners / returners) the boosting model is not fitted and
        the cadence rule is used.
    max_train_rows : int or None
        Seeded sample of the stacked training rows (keeps a million-customer chain fast).
    importance : bool
        Compute the permutation importance on the backtest slice (at most 5,000 rows, one repeat).
    classifier : ChurnClassifier, optional
        Hyper-parameters of the boosting model (cloned; default ``ChurnClassifier()``).
    random_state : int

    Returns
    -------
    ChurnModelReport
    """
    from sklearn.base import clone
    from sklearn.inspection import permutation_importance

    started = time.perf_counter()
    as_of_ts = as_of_day(as_of)
    h = int(horizon_days)
    history = prepare_history(bookings, customers, as_of=as_of_ts, feedback=feedback, stores=stores)
    slices = _Slices(history, h)
    step = pd.Timedelta(days=step_days)
    test_day = as_of_ts - pd.Timedelta(days=h)
    bt_cal = test_day - pd.Timedelta(days=h)
    bt_train = [bt_cal - k * step for k in range(1, n_train_slices + 1)]
    pr_cal = test_day
    pr_train = [pr_cal - k * step for k in range(1, n_train_slices + 1)]
    proto = classifier if classifier is not None else ChurnClassifier(random_state=random_state)

    # ---- backtest at test_day
    X_test, y_test = slices.get(test_day)  # noqa: N806
    X_tr, y_tr = slices.stack(bt_train, max_train_rows, random_state)  # noqa: N806
    X_cal, y_cal = slices.get(bt_cal)  # noqa: N806
    fallback = None
    backtest_gbm = None
    if not (_enough(y_tr, min_train_rows, min_class_rows) and len(np.unique(y_test)) == 2):
        fallback = "too_little_history"
    else:
        backtest_gbm = clone(proto).fit(X_tr, y_tr, X_cal=X_cal, y_cal=y_cal)

    bg_test = BetaGeoModel(random_state=random_state)
    if len(X_test):
        bg_test.fit(X_test["bg_frequency"], X_test["bg_recency"], X_test["bg_T"])
        risk_bg = bg_test.predict_frame(_bg_summary(X_test), horizon_days=h)["churn_risk"].to_numpy()
    else:
        risk_bg = np.zeros(0)
    risk_rule = _rule_risk(X_test, h) if len(X_test) else np.zeros(0)
    scores = {BGNBD: risk_bg, RULE: risk_rule}
    if backtest_gbm is not None:
        scores[GBM] = backtest_gbm.predict_risk(X_test)
    active = (X_test["recency_days"].to_numpy(float) <= ACTIVE_DAYS) if len(X_test) else np.zeros(0, bool)

    auc_gbm = float(roc_auc_score(y_test, scores[GBM])) if GBM in scores else float("nan")
    auc_bg = float(roc_auc_score(y_test, risk_bg)) if len(np.unique(y_test)) == 2 else float("nan")
    if fallback is not None:
        chosen = RULE
    elif np.isnan(auc_bg) or auc_gbm >= auc_bg:
        chosen = GBM
    else:
        chosen = BGNBD

    rows, curves = [], []
    for model, score in scores.items():
        role = "model" if model == chosen else ("baseline" if model == BGNBD else "candidate")
        for population, mask in (("all", np.ones(len(y_test), bool)), ("active", active)):
            met = classification_metrics(y_test[mask], score[mask])
            rows.append({"model": model, "role": role, "population": population, **met})
        curve = reliability_curve(y_test, score)
        curve.insert(0, "model", model)
        curves.append(curve)
    metrics = pd.DataFrame(rows)
    reliability = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()

    store_col = X_test["store_id"].to_numpy(float) if len(X_test) else np.zeros(0)
    test_pred = pd.DataFrame(
        {
            "customer_id": X_test.index.to_numpy(),
            "store_id": store_col,
            "y": y_test,
            GBM: scores.get(GBM, np.full(len(y_test), np.nan)),
            BGNBD: risk_bg,
            RULE: risk_rule,
        }
    )

    # ---- production fit (the boosting model is refitted whenever it could be backtested, so
    # callers can compare it with BG/NBD out of time even when BG/NBD won)
    gbm = None
    X_p, y_p = slices.stack(pr_train, max_train_rows, random_state)  # noqa: N806
    if backtest_gbm is not None and _enough(y_p, min_train_rows, min_class_rows):
        X_pc, y_pc = slices.get(pr_cal)  # noqa: N806
        gbm = clone(proto).fit(X_p, y_p, X_cal=X_pc, y_cal=y_pc)
    elif chosen == GBM:
        chosen, fallback = RULE, "too_little_history"
    # Customers with a label at the latest labelled date, per store (the small-shop test).
    latest, _ = slices.get(pr_cal)
    counts = pd.Series(latest["store_id"].to_numpy(float)).value_counts() if len(latest) else pd.Series(dtype=float)
    store_rows = {int(k): int(v) for k, v in counts.items() if not np.isnan(k)}

    smet = []
    for sid, grp in test_pred.groupby("store_id", sort=True):
        two = grp["y"].nunique() == 2
        smet.append(
            {
                "store_id": int(sid),
                "n": len(grp),
                "train_rows": store_rows.get(int(sid), 0),
                "auc_gbm": float(roc_auc_score(grp["y"], grp[GBM])) if two and GBM in scores else np.nan,
                "auc_bgnbd": float(roc_auc_score(grp["y"], grp[BGNBD])) if two else np.nan,
            }
        )
    store_metrics = pd.DataFrame(smet, columns=["store_id", "n", "train_rows", "auc_gbm", "auc_bgnbd"])

    feat_imp = pd.Series(dtype=float)
    if importance and backtest_gbm is not None:
        n_imp = min(len(y_test), 5_000)
        pick = np.sort(np.random.default_rng(random_state).choice(len(y_test), n_imp, replace=False))
        Xi = X_test.iloc[pick].loc[:, list(MODEL_FEATURES)]  # noqa: N806
        res = permutation_importance(
            backtest_gbm, Xi, y_test[pick], scoring="roc_auc", n_repeats=1, random_state=random_state
        )
        feat_imp = pd.Series(res.importances_mean, index=list(MODEL_FEATURES)).sort_values(ascending=False)

    history_full = history  # BG/NBD at as_of for P(alive) and expected visits.
    feats_now = churn_features(history_full, as_of=as_of_ts)
    bg = BetaGeoModel(random_state=random_state)
    if len(feats_now):
        bg.fit(feats_now["bg_frequency"], feats_now["bg_recency"], feats_now["bg_T"])
    return ChurnModelReport(
        as_of=as_of_ts,
        horizon_days=h,
        chosen=chosen,
        fallback_reason=fallback,
        metrics=metrics,
        reliability=reliability,
        store_metrics=store_metrics,
        test_predictions=test_pred,
        feature_importance=feat_imp,
        gbm=gbm,
        backtest_gbm=backtest_gbm,
        bgnbd=bg,
        test_date=test_day,
        calibration_date=pr_cal,
        train_dates=pr_train,
        store_train_rows=store_rows,
        fit_seconds=time.perf_counter() - started,
    )


def _confidence(report: ChurnModelReport, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(features)
    level = np.full(n, "high", dtype=object)
    reason = np.full(n, "backtested", dtype=object)
    if report.chosen == RULE:
        return np.full(n, "low", dtype=object), np.full(n, report.fallback_reason or "too_little_history", object)
    visits = features["n_visits"].to_numpy(float)
    stores = features["store_id"].to_numpy(float)
    rows = np.array([report.store_train_rows.get(int(s), 0) if not np.isnan(s) else 0 for s in stores])
    weak = report.auc(report.chosen) < WEAK_AUC
    medium_reasons = [
        (weak, "weak_backtest"),
        (rows < SMALL_STORE_ROWS, "small_store_pooled"),
        (visits <= 3, "short_history"),
    ]
    for cond, key in medium_reasons:  # later rules take precedence
        m = np.broadcast_to(cond, (n,))
        level[m] = "medium"
        reason[m] = key
    low = visits <= 1
    level[low] = "low"
    reason[low] = "single_visit"
    return level, reason


def predict_churn(
    report_or_model: ChurnModelReport | BetaGeoModel, features: pd.DataFrame, *, horizon_days: int | None = None
) -> pd.DataFrame:
    """Churn risk, P(alive) and expected visits for customers with a visit.

    Parameters
    ----------
    report_or_model : ChurnModelReport or BetaGeoModel
        A report uses its chosen model (boosting, BG/NBD or the cadence rule); a bare BG/NBD model
        needs ``horizon_days``.
    features : DataFrame
        From :func:`core.models.features.churn_features` at the scoring date (index
        ``customer_id``).
    horizon_days : int, optional
        Defaults to the report's horizon.

    Returns
    -------
    DataFrame
        :data:`CHURN_OUTPUT_COLUMNS`, one row per feature row, in the same order.
    """
    if isinstance(report_or_model, BetaGeoModel):
        if horizon_days is None:
            raise ValueError("horizon_days is needed with a bare BG/NBD model")
        bg = report_or_model.predict_frame(_bg_summary(features), horizon_days=horizon_days)
        out = bg.loc[:, ["customer_id", "p_alive", "churn_risk", "expected_visits"]]
        out["confidence"] = np.where(features["n_visits"].to_numpy(float) <= 1, "low", "medium")
        out["confidence_reason"] = np.where(features["n_visits"].to_numpy(float) <= 1, "single_visit", "short_history")
        out["model"] = BGNBD
        return out.loc[:, list(CHURN_OUTPUT_COLUMNS)].reset_index(drop=True)
    report = report_or_model
    h = int(horizon_days or report.horizon_days)
    bg = report.bgnbd.predict_frame(_bg_summary(features), horizon_days=h)
    p_alive_bg = bg["p_alive"].to_numpy()
    exp_if_alive = bg["expected_visits"].to_numpy() / np.maximum(p_alive_bg, 1e-12)
    if report.chosen == GBM and report.gbm is not None:
        risk = report.gbm.predict_risk(features)
        p_alive = np.clip((1.0 - risk) / np.maximum(1.0 - bg["p_none_if_alive"].to_numpy(), 1e-12), 0.0, 1.0)
        expected = p_alive * exp_if_alive
    elif report.chosen == BGNBD:
        risk, p_alive, expected = bg["churn_risk"].to_numpy(), p_alive_bg, bg["expected_visits"].to_numpy()
    else:
        rule_input = pd.DataFrame(
            {
                "window_days": features["window_days"].to_numpy(float),
                "days_since_ref": features["recency_days"].to_numpy(float),
                "horizon_days": float(h),
            }
        )
        rule = cadence_churn_rule(rule_input)
        risk, p_alive, expected = (rule[c].to_numpy() for c in ("churn_risk", "p_alive", "expected_visits"))
    level, reason = _confidence(report, features)
    return pd.DataFrame(
        {
            "customer_id": features.index.to_numpy(),
            "p_alive": p_alive,
            "churn_risk": risk,
            "expected_visits": expected,
            "confidence": level,
            "confidence_reason": reason,
            "model": report.chosen,
        }
    )


def churn_model_for_scoring(
    report: ChurnModelReport,
    bookings: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    as_of: AsOf,
    feedback: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """An adapter for :func:`core.scoring.score_customers`' ``churn_model`` argument.

    The behavioural features are computed here from ``bookings`` as of ``as_of`` (the scoring
    frame carries only RFM/window columns); customers without a visit keep the cadence rule.

    Parameters
    ----------
    report : ChurnModelReport
    bookings, customers, feedback, stores
        As for :func:`fit_churn_models`.
    as_of : date-like
        Must be the ``as_of`` given to ``score_customers``.

    Returns
    -------
    callable
        ``(features) -> DataFrame[customer_id, p_alive, churn_risk, expected_visits, confidence,
        confidence_reason]``.
    """
    history = prepare_history(bookings, customers, as_of=as_of, feedback=feedback, stores=stores)
    predicted = predict_churn(report, churn_features(history, as_of=as_of)).set_index("customer_id")

    def model(features: pd.DataFrame) -> pd.DataFrame:
        horizons = np.unique(features["horizon_days"].to_numpy(float))
        if horizons.size and (horizons.size > 1 or int(horizons[0]) != report.horizon_days):
            raise ValueError(
                f"the churn model was fitted for a {report.horizon_days}-day horizon, "
                f"scoring asked for {horizons.tolist()}"
            )
        rule = cadence_churn_rule(features)
        ids = features["customer_id"].to_numpy()
        got = predicted.reindex(ids)
        has = got["churn_risk"].notna().to_numpy()
        out = pd.DataFrame({"customer_id": ids})
        for column in ("p_alive", "churn_risk", "expected_visits"):
            out[column] = np.where(has, got[column].to_numpy(float), rule[column].to_numpy(float))
        out["confidence"] = np.where(has, got["confidence"].to_numpy(object), "low")
        out["confidence_reason"] = np.where(has, got["confidence_reason"].to_numpy(object), "no_visit")
        return out

    return model
