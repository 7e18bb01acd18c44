"""Cached model fitting for the model page (模型評估).

Fitting takes seconds, so every stage is cached, keyed by the database URL, the caller's scope,
the picked stores, the as-of day and :func:`db.repo.data_version` (an import refits at once; one
store's models are never served to another). Fitted reports hold sklearn models, so they live in
``st.cache_resource`` (never mutated by callers); frames in ``st.cache_data``. The page calls
the stages in order inside ``st.status`` so users see progress on the first, slow run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.scope import Scope
from dashboard import model_service as ms
from dashboard.data import data_version, shallow
from dashboard.precomputed import remembered
from db import model_repo
from db.engine import session_scope

TTL = 3600
Version = tuple[int, int, int]


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _inputs(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], version: Version) -> dict[str, Any]:
    with session_scope(_engine) as session:
        return model_repo.load_model_inputs(session, scope=scope, store_ids=list(store_ids))


def inputs(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> dict[str, Any]:
    """Raw ``bookings`` (including upcoming ones), ``customers``, ``feedback``, ``stores``."""
    return shallow(_inputs(engine, str(engine.url), scope, store_ids, data_version(engine)))


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _churn(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> Any | None:
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    return ms.fit_churn(f["bookings"], f["customers"], as_of=as_of, feedback=f["feedback"], stores=f["stores"])


def churn(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> Any | None:
    """The fitted churn models (``ChurnModelReport``; ``None`` without bookings)."""
    return _churn(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _noshow(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> Any | None:
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    return ms.fit_noshow(f["bookings"], as_of=as_of)


def noshow(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> Any | None:
    """The fitted no-show model (``NoShowReport``; ``None`` with too few resolved bookings)."""
    return _noshow(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _forecast(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> ms.ForecastResult | None:
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    return ms.forecast_demand(f["bookings"], f["stores"], as_of=as_of)


def forecast(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> ms.ForecastResult | None:
    """90-day forecast per store and its holdout evaluation (``None``: too little history)."""
    return _forecast(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _confidence(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> pd.DataFrame:
    report = _churn(_engine, url, scope, store_ids, as_of, version)
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    if report is None:
        return pd.DataFrame()
    return ms.churn_confidence_by_store(
        report, f["bookings"], f["customers"], as_of=as_of, feedback=f["feedback"], stores=f["stores"]
    )


def confidence(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame:
    """Per-store confidence of the churn scores (``model_service.churn_confidence_by_store``)."""
    return _confidence(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _reasons(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> pd.DataFrame:
    report = _churn(_engine, url, scope, store_ids, as_of, version)
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    if report is None:
        return pd.DataFrame(columns=["customer_id", "churn_risk", "reasons"])
    return ms.reasons_by_customer(
        report, f["bookings"], f["customers"], as_of=as_of, feedback=f["feedback"], stores=f["stores"]
    )


def reasons(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame:
    """Reason codes of the at-risk customers (``customer_id``, ``churn_risk``, ``reasons``)."""
    return _reasons(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _upcoming(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> pd.DataFrame | None:
    report = _noshow(_engine, url, scope, store_ids, as_of, version)
    if report is None:
        return None
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    return ms.upcoming_noshows(f["bookings"], f["customers"], report, as_of=as_of)


def upcoming(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame | None:
    """Upcoming bookings of the next 14 days with no-show risk (``None``: no model)."""
    return _upcoming(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


#: Personal columns of the upcoming no-show list: looked up at render time, never kept.
PERSONAL_COLUMNS = ("external_id", "name", "phone")


# A resource, not data: the figures of a chain run to megabytes, and st.cache_data would unpickle
# them on every rerun (a quarter of the page's time). Callers get a shallow copy.
@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _page(
    _engine: Engine,
    url: str,
    scope: Scope,
    store_ids: tuple[int, ...],
    as_of: date,
    version: Version,
    _on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    def step(key: str) -> None:
        if _on_step is not None:
            _on_step(key)

    def compute() -> dict[str, Any]:
        from core.models.noshow import summarise_actions  # scikit-learn: only when fitting

        step("models.step_data")
        if shallow(_inputs(_engine, url, scope, store_ids, version))["bookings"].empty:
            return {"empty": True}
        step("models.step_churn")
        churn_report = _churn(_engine, url, scope, store_ids, as_of, version)
        step("models.step_noshow")
        noshow_report = _noshow(_engine, url, scope, store_ids, as_of, version)
        step("models.step_forecast")
        forecast_result = _forecast(_engine, url, scope, store_ids, as_of, version)
        summary, reliability = ms.evaluation_tables(
            churn_report, noshow_report, forecast_result.evaluation if forecast_result is not None else None
        )
        upcoming_list = _upcoming(_engine, url, scope, store_ids, as_of, version)
        return {
            "empty": False,
            "fit_seconds": sum(getattr(r, "fit_seconds", 0.0) for r in (churn_report, noshow_report) if r is not None),
            "churn_chosen": None if churn_report is None else churn_report.chosen,
            "churn_auc_chosen": None if churn_report is None else churn_report.auc(churn_report.chosen),
            "churn_auc_baseline": None if churn_report is None else churn_report.auc("bgnbd"),
            "noshow_auc": None if noshow_report is None else noshow_report.auc("gbm"),
            "noshow_auc_baseline": None if noshow_report is None else noshow_report.auc("previous_noshow"),
            "summary": summary,
            "reliability": reliability,
            "forecast": forecast_result,
            "confidence": _confidence(_engine, url, scope, store_ids, as_of, version)
            if churn_report is not None
            else pd.DataFrame(),
            "reasons": _reasons(_engine, url, scope, store_ids, as_of, version)
            if churn_report is not None
            else pd.DataFrame(columns=["customer_id", "churn_risk", "reasons"]),
            "upcoming": None
            if upcoming_list is None
            else upcoming_list.drop(columns=[c for c in PERSONAL_COLUMNS if c in upcoming_list.columns]),
            # Summed here, so showing the kept page never imports scikit-learn (half a second).
            "noshow_actions": None if upcoming_list is None else summarise_actions(upcoming_list),
        }

    return remembered(
        _engine, scope, "models_page", store_ids, {"as_of": as_of}, version, compute, revision=1
    )  # 1: noshow_actions added


def page(
    engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, on_step: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Everything the model page shows, fitted once per data version and day and kept in the
    database: backtest tables, the chosen churn model and its baseline, per-store confidence,
    reason codes, the upcoming no-show list (without personal columns) and the demand forecast.
    ``on_step`` hears the i18n key of each fitting stage when they run (a cold start)."""
    return shallow(_page(engine, str(engine.url), scope, store_ids, as_of, data_version(engine), on_step))


def reviews(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Managers' manual reviews (not cached: Customer 360 adds them without changing the data version)."""
    with session_scope(engine) as session:
        return model_repo.load_model_reviews(session, scope=scope, store_ids=list(store_ids))
