"""Model-page (模型評估) numbers: discrimination, calibration and lift, each against a baseline.

Every model is judged on data it did not see, split by time: the churn models on the last fully
labelled as-of date, the no-show model on the latest bookings, the forecast on a 60-day holdout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from core.columns import require_columns

if TYPE_CHECKING:  # pragma: no cover - imported for annotations only
    from core.models.churn import ChurnModelReport
    from core.models.forecast import ForecastEvaluation
    from core.models.noshow import NoShowReport

__all__ = [
    "EVALUATION_COLUMNS",
    "RELIABILITY_COLUMNS",
    "ai_accuracy",
    "classification_metrics",
    "expected_calibration_error",
    "model_evaluation",
    "reliability_curve",
]

#: Columns of :func:`model_evaluation`'s summary (NaN where a metric does not apply).
EVALUATION_COLUMNS: Final = (
    "task",  # "churn", "noshow", "forecast"
    "model",  # e.g. "gbm", "bgnbd", "previous_noshow", "prophet", "seasonal_naive"
    "role",  # "model" (the one used), "candidate" or "baseline"
    "n",  # rows (customers, bookings or days) evaluated
    "base_rate",  # share of positives
    "auc",
    "pr_auc",  # average precision
    "ece",  # expected calibration error (10 equal-width bins)
    "lift_top10",  # positive rate in the top 10 % by score ÷ base rate
    "precision_top10",  # positive rate in the top 10 % by score
    "mape",  # forecast only
)
#: Columns of the reliability-curve frame.
RELIABILITY_COLUMNS: Final = ("task", "model", "bin", "mean_predicted", "observed_rate", "count")


def reliability_curve(y_true: np.ndarray, y_prob: np.ndarray, *, n_bins: int = 10) -> pd.DataFrame:
    """Observed positive rate against mean predicted probability in equal-width bins.

    Parameters
    ----------
    y_true : array of 0/1
    y_prob : array of probabilities in [0, 1]
    n_bins : int

    Returns
    -------
    DataFrame
        ``bin`` (0 … n_bins−1), ``mean_predicted``, ``observed_rate``, ``count``; empty bins are
        left out.
    """
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(y_prob, dtype=float), 0.0, 1.0)
    b = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    keep = count > 0
    mean_p = np.bincount(b, weights=p, minlength=n_bins)[keep] / count[keep]
    rate = np.bincount(b, weights=y, minlength=n_bins)[keep] / count[keep]
    return pd.DataFrame(
        {"bin": np.flatnonzero(keep), "mean_predicted": mean_p, "observed_rate": rate, "count": count[keep]}
    )


def expected_calibration_error(y_true: np.ndarray, y_prob: np.ndarray, *, n_bins: int = 10) -> float:
    """ECE: ``Σ_bins (n_bin / n) · |observed rate − mean predicted|`` over equal-width bins."""
    curve = reliability_curve(y_true, y_prob, n_bins=n_bins)
    if curve.empty:
        return float("nan")
    weight = curve["count"] / curve["count"].sum()
    return float((weight * (curve["observed_rate"] - curve["mean_predicted"]).abs()).sum())


def classification_metrics(
    y_true: np.ndarray, y_score: np.ndarray, *, top_share: float = 0.1, probabilistic: bool = True
) -> dict[str, float]:
    """AUC, PR-AUC, ECE, lift and precision in the top ``top_share`` by score.

    Parameters
    ----------
    y_true : array of 0/1
    y_score : array
        Scores; probabilities when ``probabilistic`` (otherwise ECE is NaN).
    top_share : float
        The "top 10 %" share. Ties at the threshold are broken by row order (stable sort).
    probabilistic : bool

    Returns
    -------
    dict
        ``n``, ``base_rate``, ``auc``, ``pr_auc``, ``ece``, ``lift_top10``, ``precision_top10``
        (NaN when only one class is present).
    """
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(y_score, dtype=float)
    n = int(y.size)
    base = float(y.mean()) if n else float("nan")
    out: dict[str, float] = {
        "n": n,
        "base_rate": base,
        "auc": float("nan"),
        "pr_auc": float("nan"),
        "ece": float("nan"),
        "lift_top10": float("nan"),
        "precision_top10": float("nan"),
    }
    if n == 0:
        return out
    if probabilistic:
        out["ece"] = expected_calibration_error(y, s)
    k = max(1, int(round(top_share * n)))
    top = np.argsort(-s, kind="stable")[:k]
    out["precision_top10"] = float(y[top].mean())
    if 0 < base < 1:
        out["auc"] = float(roc_auc_score(y, s))
        out["pr_auc"] = float(average_precision_score(y, s))
        out["lift_top10"] = out["precision_top10"] / base
    return out


def ai_accuracy(reviews: pd.DataFrame) -> float:
    """Agreement of the model's label with a manager's manual review (the ModelReview table).

    Parameters
    ----------
    reviews : DataFrame
        ``model_label``, ``manual_label``. Rows where either label is missing are ignored;
        labels are compared after stripping spaces and case-folding.

    Returns
    -------
    float
        Share of reviewed rows where the labels agree; NaN when nothing was reviewed.
    """
    require_columns(reviews, ("model_label", "manual_label"), what="reviews")
    both = reviews.dropna(subset=["model_label", "manual_label"])
    if both.empty:
        return float("nan")
    model = both["model_label"].astype(str).str.strip().str.casefold()
    manual = both["manual_label"].astype(str).str.strip().str.casefold()
    return float((model == manual).mean())


def model_evaluation(
    *,
    churn: ChurnModelReport | None = None,
    noshow: NoShowReport | None = None,
    forecast: ForecastEvaluation | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The model page's tables, from the reports the fitting functions return.

    Parameters
    ----------
    churn : ChurnModelReport, optional
        From :func:`core.models.churn.fit_churn_models` (baseline: BG/NBD; the cadence rule is
        shown too).
    noshow : NoShowReport, optional
        From :func:`core.models.noshow.fit_noshow_model` (baseline: the "previous no-show" rule).
    forecast : ForecastEvaluation, optional
        From :func:`core.models.forecast.evaluate_forecast` (baseline: seasonal naive).

    Returns
    -------
    summary : DataFrame
        :data:`EVALUATION_COLUMNS`, one row per model and baseline.
    reliability : DataFrame
        :data:`RELIABILITY_COLUMNS`, the calibration curves of the probabilistic models.
    """
    rows: list[dict[str, Any]] = []
    curves: list[pd.DataFrame] = []
    for task, report in (("churn", churn), ("noshow", noshow)):
        if report is None:
            continue
        metrics = report.metrics
        for _, row in metrics.iterrows():
            rec = {c: row.get(c, np.nan) for c in EVALUATION_COLUMNS if c not in ("task", "mape")}
            rec.update(task=task, mape=np.nan)
            rows.append(rec)
        rel = report.reliability.copy()
        rel.insert(0, "task", task)
        curves.append(rel)
    if forecast is not None:
        for model, mape in (("prophet", forecast.mape_prophet), ("seasonal_naive", forecast.mape_naive)):
            rows.append(
                {
                    "task": "forecast",
                    "model": model,
                    "role": "model" if model == "prophet" else "baseline",
                    "n": forecast.n_days,
                    "mape": mape,
                }
            )
    summary = pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS))
    reliability = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=list(RELIABILITY_COLUMNS))
    return summary, reliability.loc[:, list(RELIABILITY_COLUMNS)]
