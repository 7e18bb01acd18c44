"""Score customers: the one scoring path of every surface.

The Segments page, Customer 360, the priority list, campaign audiences (the page and the worker),
the daily snapshot and the ``score`` command all call :func:`score_customers_for` (or
:func:`scoring_run`, which also returns the fitted churn model), so one customer shows one
``churn_risk``, ``p_alive``, revisit window and next due date for the same stores, as-of day and
horizon. There used to be three paths (``db.score_repo.score_frame``,
``dashboard.model_service.score_with_model`` and a direct ``core.scoring.score_customers`` call in
the worker), and the ``score`` command's default fitted the backtested churn model while every
page used the cadence rule: the CLI's ``churn_risk`` differed from every screen.

Which churn model: :data:`DEFAULT_MODEL` for everybody — the cadence rule of
:func:`core.scoring.cadence_churn_rule`. No fitted model is kept for reuse, and fitting one takes
seconds for each set of stores, so the backtested model (``"auto"``: gradient boosting or BG/NBD,
whichever wins, :func:`core.models.churn.fit_churn_models`) is used only when a caller asks for it
by name (``score --model auto``); its rows then name the model in ``churn_model``.

Store scope: customers are read for the caller's (picked) home stores and visits at those stores,
filtered in the database queries (``db.repo``, ``db.aggregates``), never after loading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import pandas as pd
from sqlalchemy.engine import Engine

from core.params import LifecycleParams, RfmParams
from core.scope import PermissionDenied, Scope
from core.scoring import score_customers, score_from_aggregates
from db import model_repo, repo
from db.aggregates import load_aggregates
from db.dialect import is_postgres
from db.engine import session_scope
from db.score_repo import default_as_of, month_ends, write_snapshot

#: The cadence rule's name in the ``churn_model`` column.
RULE: Final = "cadence_rule"
#: Churn models a caller may ask for: the cadence rule, or the backtest winner fitted on the spot.
MODELS: Final = ("rule", "auto")
#: The churn model of every surface unless a caller names another one.
DEFAULT_MODEL: Final = "rule"
#: Columns after the ``core.scoring`` frame: which model gave the churn figures, how sure it is
#: (``None`` for the rule asked by name) and a JSON list of reason keys (at-risk customers).
MODEL_SCORE_COLUMNS: Final = ("churn_model", "confidence", "reasons")
#: Churn risk from which reason codes are given.
REASON_MIN_RISK: Final = 0.5


@dataclass(frozen=True)
class ScoreRun:
    """Scores of one run and the churn model behind them."""

    scores: pd.DataFrame  # core.scoring frame + external_id (2nd column) + MODEL_SCORE_COLUMNS
    chosen: str  # "cadence_rule", "gbm" or "bgnbd"
    report: Any | None  # ChurnModelReport when a model was fitted ("auto"), else None


def require_scores_permission(scope: Scope) -> None:
    """Scores are read by anyone who may view analytics or look a customer up (front desk)."""
    if not (scope.can("view") or scope.can("view_customer")):
        raise PermissionDenied(f"{scope.actor} ({scope.role}) may not view customer scores")


def model_customers(customers: pd.DataFrame) -> pd.DataFrame:
    """Only the customer columns the churn features read (names and phones stay out of models)."""
    return customers.loc[:, ["customer_id", "home_store_id"]]


def store_kinds(stores: pd.DataFrame | None) -> pd.DataFrame | None:
    """``store_id``, ``kind`` of a ``db.model_repo.load_store_frame`` frame (None when unknown)."""
    if stores is None or stores.empty or "kind" not in stores.columns:
        return None
    return stores.loc[:, ["store_id", "kind"]]


def fit_churn(
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    as_of: date,
    horizon_days: int = 90,
    feedback: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
) -> Any | None:
    """:func:`core.models.churn.fit_churn_models` on the frames, or ``None`` when nothing can be
    fitted at all (no bookings; the report itself says when the cadence rule is used)."""
    from core.models.churn import fit_churn_models

    if bookings.empty:
        return None
    try:
        return fit_churn_models(
            bookings,
            model_customers(customers),
            as_of=as_of,
            horizon_days=horizon_days,
            feedback=feedback,
            stores=store_kinds(stores),
            importance=False,
        )
    except ValueError:
        return None


def reasons_by_customer(
    report: Any,
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    as_of: date,
    feedback: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
    min_risk: float = REASON_MIN_RISK,
) -> pd.DataFrame:
    """``customer_id``, ``churn_risk``, ``reasons`` (list of dicts) for at-risk customers
    (:func:`core.models.reasons.explain_churn`)."""
    from core.models.features import churn_features, prepare_history
    from core.models.reasons import explain_churn

    history = prepare_history(
        bookings, model_customers(customers), as_of=as_of, feedback=feedback, stores=store_kinds(stores)
    )
    features = churn_features(history, as_of=as_of)
    if features.empty:
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype="int64"),
                "churn_risk": pd.Series(dtype=float),
                "reasons": pd.Series(dtype=object),
            }
        )
    return explain_churn(report, features, min_risk=min_risk)


def scoring_run(
    engine: Engine,
    scope: Scope,
    *,
    as_of: date,
    horizon_days: int = 90,
    store_ids: Sequence[int] | None = None,
    model: str = DEFAULT_MODEL,
    pushdown: bool | None = None,
    customers: pd.DataFrame | None = None,
    bookings: pd.DataFrame | None = None,
) -> ScoreRun:
    """Score the customers whose home store the caller may see (of ``store_ids`` when given).

    Parameters
    ----------
    engine : Engine
    scope : Scope
        The caller; needs ``view`` or ``view_customer``.
    as_of : date
        Scoring day; visits after it change nothing.
    horizon_days : int
        Horizon of ``churn_risk`` and ``expected_visits``.
    store_ids : optional
        The picked stores: customers of those home stores, visits at those stores.
    model : {"rule", "auto"}
        The churn model (:data:`DEFAULT_MODEL` unless a caller names the backtested one).
    pushdown : optional
        Aggregate in SQL (default: on PostgreSQL, for the cadence rule).
    customers, bookings : optional
        Frames the caller already loaded for the same scope and stores (``db.repo``), to score
        several days without reloading them; bookings are read only without pushdown.

    Returns
    -------
    ScoreRun
        ``scores``: the ``core.scoring`` columns with ``external_id`` second, then
        :data:`MODEL_SCORE_COLUMNS`; one row per customer in scope, sorted by internal id.
    """
    require_scores_permission(scope)
    if model not in MODELS:
        raise ValueError(f"unknown churn model {model!r}; expected one of {', '.join(MODELS)}")
    if horizon_days <= 0:
        raise ValueError("horizon_days must be positive")
    stores = list(store_ids) if store_ids is not None else None
    if pushdown is None:
        pushdown = is_postgres(engine)
    pushdown = pushdown and model == "rule"  # the fitted models read raw bookings
    feedback = store_frame = None
    aggregates = None
    with session_scope(engine) as session:
        if customers is None:
            customers = repo.load_customers(session, scope=scope, store_ids=stores)
        if pushdown:
            rfm, life = RfmParams(), LifecycleParams()
            aggregates = load_aggregates(
                session,
                scope=scope,
                as_of=as_of,
                store_ids=stores,
                lookback_days=rfm.lookback_days,
                rescheduler_lookback_days=life.rescheduler_lookback_days,
                rescheduler_statuses=life.rescheduler_statuses,
            )
        elif bookings is None:
            bookings = repo.load_bookings(session, scope=scope, store_ids=stores, until=as_of)
        if model == "auto":
            feedback = model_repo.load_feedback(session, scope=scope, store_ids=stores, until=as_of)
            store_frame = model_repo.load_store_frame(session, scope=scope, store_ids=stores)

    report = None
    if model == "auto" and bookings is not None:
        report = fit_churn(
            bookings, customers, as_of=as_of, horizon_days=horizon_days, feedback=feedback, stores=store_frame
        )
    chosen = RULE if report is None else str(report.chosen)
    if chosen == RULE:
        if aggregates is not None:
            scores = score_from_aggregates(
                aggregates.customers, aggregates.priors, customers, as_of=as_of, horizon_days=horizon_days
            )
        else:
            scores = score_customers(bookings, customers, as_of=as_of, horizon_days=horizon_days)
        scores = _restrict(scores, customers)
        # Asked for by name the rule has no confidence; as the fallback of "auto" it is "low".
        scores["churn_model"] = RULE
        scores["confidence"] = None if model == "rule" else "low"
        scores["reasons"] = "[]"
        return ScoreRun(scores=scores, chosen=RULE, report=report)

    from core.models.churn import churn_model_for_scoring

    assert bookings is not None and report is not None  # "auto" with a fitted model
    adapter = churn_model_for_scoring(
        report, bookings, model_customers(customers), as_of=as_of, feedback=feedback, stores=store_kinds(store_frame)
    )
    seen: dict[str, pd.DataFrame] = {}

    def fitted(features: pd.DataFrame) -> pd.DataFrame:
        out = adapter(features)
        seen["out"] = out
        return out

    scores = _restrict(
        score_customers(bookings, customers, as_of=as_of, horizon_days=horizon_days, churn_model=fitted), customers
    )
    extra = seen["out"].drop_duplicates("customer_id").set_index("customer_id")
    scores["churn_model"] = chosen
    scores["confidence"] = scores["customer_id"].map(extra["confidence"]).fillna("low").to_numpy(dtype=object)
    why = reasons_by_customer(report, bookings, customers, as_of=as_of, feedback=feedback, stores=store_frame)
    keys = {
        int(c): json.dumps([r["key"] for r in rs]) for c, rs in zip(why["customer_id"], why["reasons"], strict=True)
    }
    scores["reasons"] = [keys.get(int(c), "[]") for c in scores["customer_id"]]
    return ScoreRun(scores=scores, chosen=chosen, report=report)


def score_customers_for(
    engine: Engine,
    scope: Scope,
    *,
    as_of: date,
    horizon_days: int = 90,
    store_ids: Sequence[int] | None = None,
    model: str = DEFAULT_MODEL,
    pushdown: bool | None = None,
    customers: pd.DataFrame | None = None,
    bookings: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The scores of :func:`scoring_run` (same parameters), for callers that need no model report."""
    return scoring_run(
        engine,
        scope,
        as_of=as_of,
        horizon_days=horizon_days,
        store_ids=store_ids,
        model=model,
        pushdown=pushdown,
        customers=customers,
        bookings=bookings,
    ).scores


def _restrict(scores: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Only customers the caller may see (a visitor from another home store has no row here),
    with their ``external_id`` as the second column."""
    known = customers.set_index("customer_id")["external_id"]
    scores = scores.loc[scores["customer_id"].isin(known.index).to_numpy()].reset_index(drop=True)
    scores.insert(1, "external_id", scores["customer_id"].map(known).to_numpy(dtype=object))
    return scores


# ------------------------------------------------------------------------------ snapshots
def snapshot_job(engine: Engine, *, as_of: date | None = None) -> dict[str, Any]:
    """The daily job: score every customer as of ``as_of`` (default: the last visit day) and
    replace that day's snapshot. Idempotent; returns ``{"as_of": …, "rows": …}``."""
    scope = Scope.system("snapshot-job")
    if as_of is None:
        with session_scope(engine) as session:
            as_of = default_as_of(session, scope=scope)
    scores = score_customers_for(engine, scope, as_of=as_of)
    return {"as_of": as_of.isoformat(), "rows": write_snapshot(engine, scores=scores, as_of=as_of)}


def backfill_snapshots(engine: Engine, *, months: int = 6, as_of: date | None = None) -> dict[str, int]:
    """Write month-end snapshots for the last ``months`` months and the last visit day.

    Used once after a demo or first import, so segment migration can be shown at once. Each day
    is replaced as a whole (re-running is harmless). Returns rows written per ISO date.
    """
    scope = Scope.system("snapshot-backfill")
    pushdown = is_postgres(engine)
    with session_scope(engine) as session:
        last = as_of or default_as_of(session, scope=scope)
        customers = repo.load_customers(session, scope=scope)
        bookings = None if pushdown else repo.load_bookings(session, scope=scope, until=last)
    written: dict[str, int] = {}
    for day in month_ends(last, months):
        scores = score_customers_for(
            engine, scope, as_of=day, customers=customers, bookings=bookings, pushdown=pushdown
        )
        written[day.isoformat()] = write_snapshot(engine, scores=scores, as_of=day)
    return written
