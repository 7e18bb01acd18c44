"""Reason codes for at-risk customers: keys with parameters, ranked by contribution.

A reason's contribution is measured by local perturbation (no SHAP): the churn risk of the
customer minus the risk of the same customer with that reason's features set to a neutral value
(e.g. not overdue, no complaint on the last visit). Only reasons whose condition holds are
candidates; they are ranked by contribution and the top ``top_k`` are returned. When the model in
use ignores a feature (BG/NBD ignores complaints) the contribution is 0 and the reason still
appears after the contributing ones, so staff see the facts.

Keys and parameters (words are rendered in three languages by the i18n layer;
:data:`REASON_TEXT_EN` is the English reference):

======================== ====================== ============================================
key                      parameters             condition
======================== ====================== ============================================
overdue                  days, window           days past the revisit window's due date > 0
intervals_lengthening    ratio                  last interval / earlier median ≥ 1.2
complaint_last_visit     —                      the last visit drew a complaint
low_rating               rating                 last visit rated ≤ 2 (without a complaint)
recent_no_show           —                      a no-show after the last visit
no_shows                 count                  ≥ 2 no-shows in the last 365 days
frequent_cancellations   count                  ≥ 2 cancelled/rescheduled in the last 365 days
single_visit             —                      only one visit so far
few_recent_visits        count, expected        visits in 365 d below half of 365 / window
similar_to_churned       —                      none of the above holds (the model's pattern)
======================== ====================== ============================================

Every reason dict also carries ``contribution`` (risk points, rounded to 0.001).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import pandas as pd

from core.models.churn import ChurnModelReport, predict_churn

__all__ = ["REASON_KEYS", "REASON_TEXT_EN", "explain_churn", "reason_text_en"]

#: English templates, for reference only (the i18n layer owns the real strings).
REASON_TEXT_EN: Final[dict[str, str]] = {
    "overdue": "{days} days past their usual {window}-day revisit window",
    "intervals_lengthening": "Visits are getting further apart (last gap {ratio}× their usual)",
    "complaint_last_visit": "Complained at the last visit",
    "low_rating": "Rated the last visit {rating}/5",
    "recent_no_show": "Missed a booking since the last visit",
    "no_shows": "{count} no-shows in the past year",
    "frequent_cancellations": "{count} cancelled or rescheduled bookings in the past year",
    "single_visit": "Has visited only once",
    "few_recent_visits": "Only {count} visits in the past year (about {expected} expected)",
    "similar_to_churned": "Behaves like customers who stopped coming",
}
REASON_KEYS: Final = tuple(REASON_TEXT_EN)

_Perturb = Callable[[pd.DataFrame], pd.DataFrame]


def _set(frame: pd.DataFrame, **values: object) -> pd.DataFrame:
    out = frame.copy()
    for column, value in values.items():
        out[column] = value
    return out


def _rules(f: pd.DataFrame) -> list[tuple[str, np.ndarray, _Perturb, Callable[[int], dict[str, object]]]]:
    """(key, condition, neutralising perturbation, parameters of row i) per reason."""
    overdue = f["days_overdue"].to_numpy(float)
    window = f["window_days"].to_numpy(float)
    trend = f["interval_trend"].to_numpy(float)
    noshows = f["n_noshow_365"].to_numpy(float)
    cancels = f["n_cancel_365"].to_numpy(float) + f["n_resched_365"].to_numpy(float)
    rating = f["last_rating"].to_numpy(float)
    complaint = f["complaint_last_visit"].to_numpy(float) > 0
    visits = f["visits_365"].to_numpy(float)
    expected = np.round(365.0 / window)
    return [
        (
            "overdue",
            overdue > 0,
            lambda x: _set(
                x,
                days_overdue=np.minimum(x["days_overdue"], 0.0),
                overdue_ratio=np.minimum(x["overdue_ratio"], 0.0),
                recency_days=x["recency_days"] - np.maximum(x["days_overdue"], 0.0),
            ),
            lambda i: {"days": int(overdue[i]), "window": int(round(window[i]))},
        ),
        (
            "intervals_lengthening",
            np.nan_to_num(trend) >= 1.2,
            lambda x: _set(x, interval_trend=np.minimum(x["interval_trend"], 1.0)),
            lambda i: {"ratio": round(float(trend[i]), 1)},
        ),
        (
            "complaint_last_visit",
            complaint,
            lambda x: _set(
                x, complaint_last_visit=0.0, complaints_365=np.maximum(x["complaints_365"] - 1, 0.0), last_rating=np.nan
            ),
            lambda i: {},
        ),
        (
            "low_rating",
            ~complaint & (np.nan_to_num(rating, nan=5.0) <= 2),
            lambda x: _set(x, last_rating=np.nan),
            lambda i: {"rating": int(rating[i])},
        ),
        (
            "recent_no_show",
            f["noshow_after_last_visit"].to_numpy(float) > 0,
            lambda x: _set(x, noshow_after_last_visit=0.0, n_noshow_365=np.maximum(x["n_noshow_365"] - 1, 0.0)),
            lambda i: {},
        ),
        (
            "no_shows",
            noshows >= 2,
            lambda x: _set(x, n_noshow_365=0.0, noshow_after_last_visit=0.0),
            lambda i: {"count": int(noshows[i])},
        ),
        (
            "frequent_cancellations",
            cancels >= 2,
            lambda x: _set(
                x,
                n_cancel_365=0.0,
                n_resched_365=0.0,
                failed_share_365=np.where(x["n_noshow_365"] > 0, x["failed_share_365"] / 2, 0.0),
            ),
            lambda i: {"count": int(cancels[i])},
        ),
        (
            "single_visit",
            f["n_visits"].to_numpy(float) <= 1,
            lambda x: _set(x, n_visits=4.0, visits_365=np.maximum(x["visits_365"], 4.0)),
            lambda i: {},
        ),
        (
            "few_recent_visits",
            (f["n_visits"].to_numpy(float) > 1) & (visits < 0.5 * expected),
            lambda x: _set(x, visits_365=np.round(365.0 / x["window_days"])),
            lambda i: {"count": int(visits[i]), "expected": int(expected[i])},
        ),
    ]


def explain_churn(
    report: ChurnModelReport,
    features: pd.DataFrame,
    *,
    min_risk: float = 0.5,
    top_k: int = 3,
    min_contribution: float = 0.005,
) -> pd.DataFrame:
    """Top reasons per at-risk customer.

    Parameters
    ----------
    report : ChurnModelReport
        The fitted churn models (its chosen model is explained).
    features : DataFrame
        :func:`core.models.features.churn_features` at the scoring date.
    min_risk : float
        Customers with a churn risk at or above this are explained.
    top_k : int
        Reasons per customer.
    min_contribution : float
        Reasons contributing less than this rank after the contributing ones (still shown when a
        slot is free, so a model that ignores a feature does not hide the fact).

    Returns
    -------
    DataFrame
        ``customer_id``, ``churn_risk``, ``reasons`` (list of dicts ``{"key": …, params…,
        "contribution": …}``), one row per at-risk customer, highest risk first.
    """
    base = predict_churn(report, features)["churn_risk"].to_numpy()
    at_risk = np.flatnonzero(base >= min_risk)
    if at_risk.size == 0:
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype="int64"),
                "churn_risk": pd.Series(dtype=float),
                "reasons": pd.Series(dtype=object),
            }
        )
    f = features.iloc[at_risk]
    risk = base[at_risk]
    rules = _rules(f)
    contrib = np.zeros((len(f), len(rules)))
    holds = np.zeros((len(f), len(rules)), dtype=bool)
    for j, (_, cond, perturb, _) in enumerate(rules):
        holds[:, j] = cond
        if cond.any():
            rows = np.flatnonzero(cond)
            changed = perturb(f.iloc[rows])
            contrib[rows, j] = risk[rows] - predict_churn(report, changed)["churn_risk"].to_numpy()
    reasons: list[list[dict[str, object]]] = []
    for i in range(len(f)):
        cands = [j for j in range(len(rules)) if holds[i, j]]
        # Contributing reasons first by contribution, then the rest in the table's order.
        cands.sort(key=lambda j: (contrib[i, j] < min_contribution, -contrib[i, j], j))
        chosen = [
            {"key": rules[j][0], **rules[j][3](i), "contribution": round(float(contrib[i, j]), 3)}
            for j in cands[:top_k]
        ]
        reasons.append(chosen or [{"key": "similar_to_churned", "contribution": 0.0}])
    out = pd.DataFrame({"customer_id": f.index.to_numpy(), "churn_risk": risk, "reasons": reasons})
    return out.sort_values(["churn_risk", "customer_id"], ascending=[False, True], kind="stable", ignore_index=True)


def reason_text_en(reason: dict[str, object]) -> str:
    """English sentence for one reason dict (reference rendering)."""
    template = REASON_TEXT_EN[str(reason["key"])]
    return template.format(**{k: v for k, v in reason.items() if k != "key"})
