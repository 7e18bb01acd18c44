"""Today's priority list: who to contact, ranked, with a translatable reason.

Eligible customers: not opted out by the as-of day, without an upcoming booking (when the caller
passes ``booked_customer_ids``), not lost (unless ``include_lost``), and either due
(``days_overdue >= 0``) or in the ``sleeping``/``churn_risk`` lifecycle segment.

Ranked by ``expected_value = monetary × churn_risk`` (the lookback spend at stake), then by days
overdue, then by ``customer_id``. Each row carries a ``reason_key`` and ``reason_params`` (a dict)
so pages can render e.g. ``"12 days past her usual 28-day cycle"`` in any language
(:data:`REASON_TEMPLATES_EN` shows the English wording).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

import numpy as np
import pandas as pd

from core.columns import require_columns
from core.params import AsOf, as_of_cutoff

PRIORITY_SCORE_COLUMNS: Final = (
    "customer_id",
    "recency_days",
    "monetary",
    "lifecycle_segment",
    "revisit_window_days",
    "days_overdue",
    "churn_risk",
    "opted_out_at",
)

REASON_SLEEPING: Final = "sleeping"
REASON_OVERDUE: Final = "overdue"
REASON_DUE_TODAY: Final = "due_today"
REASON_CHURN_RISK: Final = "churn_risk"

#: reason_key → English wording with the ``reason_params`` placeholders.
REASON_TEMPLATES_EN: Final = {
    REASON_SLEEPING: "No visit for {days_since_visit} days",
    REASON_OVERDUE: "{days_overdue} days past the usual {window}-day cycle",
    REASON_DUE_TODAY: "Due today on the usual {window}-day cycle",
    REASON_CHURN_RISK: "At risk of not coming back ({churn_risk_pct}% risk)",
}

#: reason_key → the keys of its ``reason_params`` dict.
REASON_PARAM_KEYS: Final = {
    REASON_SLEEPING: ("days_since_visit",),
    REASON_OVERDUE: ("days_overdue", "window"),
    REASON_DUE_TODAY: ("window",),
    REASON_CHURN_RISK: ("churn_risk_pct",),
}

#: Columns of :func:`priority_list`'s frame (plus ``name``/``home_store_id`` when present).
PRIORITY_COLUMNS: Final = (
    "rank",
    "customer_id",
    "lifecycle_segment",
    "expected_value",
    "churn_risk",
    "monetary",
    "days_overdue",
    "revisit_window_days",
    "reason_key",
    "reason_params",
)


def priority_list(
    scores: pd.DataFrame,
    *,
    as_of: AsOf,
    limit: int | None = None,
    booked_customer_ids: Collection[int] | None = None,
    include_lost: bool = False,
) -> pd.DataFrame:
    """Who to contact today, best first.

    Parameters
    ----------
    scores : DataFrame
        From :func:`core.scoring.score_customers`: :data:`PRIORITY_SCORE_COLUMNS`.
    as_of : date-like
        Customers opted out by the end of this day are excluded.
    limit : int, optional
        Keep the first ``limit`` rows.
    booked_customer_ids : collection of int, optional
        Customers who already hold an upcoming booking (excluded).
    include_lost : bool
        Also list ``lost`` customers (normally left to win-back campaigns).

    Returns
    -------
    DataFrame
        :data:`PRIORITY_COLUMNS` (``name``, ``home_store_id`` inserted after ``customer_id``
        when ``scores`` has them); ``rank`` starts at 1. ``reason_key`` is one of
        :data:`REASON_TEMPLATES_EN`; ``reason_params`` a dict with :data:`REASON_PARAM_KEYS`.
    """
    require_columns(scores, PRIORITY_SCORE_COLUMNS, what="scores")
    opted = pd.to_datetime(scores["opted_out_at"])
    keep = ~(opted.notna() & opted.lt(as_of_cutoff(as_of)))
    if booked_customer_ids is not None:
        keep &= ~scores["customer_id"].isin(list(booked_customer_ids))
    segment = scores["lifecycle_segment"].astype(object)
    if not include_lost:
        keep &= segment.ne("lost")
    overdue = scores["days_overdue"].astype(float)
    keep &= overdue.ge(0) | segment.isin(["sleeping", "churn_risk", "lost"])

    extra = [c for c in ("name", "home_store_id") if c in scores.columns]
    cols = [
        "customer_id",
        *extra,
        "lifecycle_segment",
        "monetary",
        "churn_risk",
        "days_overdue",
        "revisit_window_days",
        "recency_days",
    ]
    out = scores.loc[keep.to_numpy(), cols].copy()
    out["expected_value"] = out["monetary"].astype(float).fillna(0.0) * out["churn_risk"].astype(float).fillna(0.0)
    out["_overdue"] = out["days_overdue"].astype(float).fillna(-np.inf)
    out = out.sort_values(["expected_value", "_overdue", "customer_id"], ascending=[False, False, True], kind="stable")
    if limit is not None:
        out = out.iloc[:limit]
    out["rank"] = np.arange(1, len(out) + 1)

    seg = out["lifecycle_segment"].astype(object).to_numpy()
    ovd = out["_overdue"].to_numpy()
    out["reason_key"] = np.select(
        [np.isin(seg, ["sleeping", "lost"]), ovd > 0, ovd == 0],
        [REASON_SLEEPING, REASON_OVERDUE, REASON_DUE_TODAY],
        default=REASON_CHURN_RISK,
    ).astype(object)
    params_frame = pd.DataFrame(
        {
            "days_since_visit": out["recency_days"].astype(float).round().astype("Int64"),
            "days_overdue": out["days_overdue"].astype(float).round().astype("Int64"),
            "window": out["revisit_window_days"].astype(float).round().astype("Int64"),
            "churn_risk_pct": (out["churn_risk"].astype(float) * 100).round().astype("Int64"),
        },
        index=out.index,
    ).astype(object)
    params_frame = params_frame.where(params_frame.notna(), None)
    reason_params = pd.Series([None] * len(out), index=out.index, dtype=object)
    for key, names in REASON_PARAM_KEYS.items():  # one vectorised pass per reason, not per row
        mask = out["reason_key"].eq(key).to_numpy()
        if mask.any():
            records = [
                {k: (None if v is None else int(v)) for k, v in r.items()}
                for r in params_frame.loc[mask, list(names)].to_dict("records")
            ]
            reason_params.loc[mask] = pd.Series(records, index=out.index[mask], dtype=object)
    out["reason_params"] = reason_params
    columns = ["rank", "customer_id", *extra, *PRIORITY_COLUMNS[2:]]
    return out.loc[:, columns].reset_index(drop=True)
