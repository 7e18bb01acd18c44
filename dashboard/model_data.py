"""Cached model fitting for the model page (模型評估).

Fitting takes seconds, so every stage is cached, keyed by the database URL, the caller's scope,
the picked stores, the as-of day and :func:`db.repo.data_version` (an import refits at once; one
store's models are never served to another). Fitted reports hold sklearn models, so they live in
``st.cache_resource`` (never mutated by callers); frames in ``st.cache_data``. The page calls
the stages in order inside ``st.status`` so users see progress on the first, slow run.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.scope import Scope
from dashboard import model_service as ms
from dashboard.data import data_version, shallow
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
def _churn(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date,
           version: Version) -> Any | None:
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    return ms.fit_churn(f["bookings"], f["customers"], as_of=as_of, feedback=f["feedback"], stores=f["stores"])


def churn(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> Any | None:
    """The fitted churn models (``ChurnModelReport``; ``None`` without bookings)."""
    return _churn(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _noshow(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date,
            version: Version) -> Any | None:
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    return ms.fit_noshow(f["bookings"], as_of=as_of)


def noshow(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> Any | None:
    """The fitted no-show model (``NoShowReport``; ``None`` with too few resolved bookings)."""
    return _noshow(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _forecast(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date,
              version: Version) -> ms.ForecastResult | None:
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    return ms.forecast_demand(f["bookings"], f["stores"], as_of=as_of)


def forecast(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> ms.ForecastResult | None:
    """90-day forecast per store and its holdout evaluation (``None``: too little history)."""
    return _forecast(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _confidence(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date,
                version: Version) -> pd.DataFrame:
    report = _churn(_engine, url, scope, store_ids, as_of, version)
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    if report is None:
        return pd.DataFrame()
    return ms.churn_confidence_by_store(report, f["bookings"], f["customers"], as_of=as_of, feedback=f["feedback"],
                                        stores=f["stores"])


def confidence(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame:
    """Per-store confidence of the churn scores (``model_service.churn_confidence_by_store``)."""
    return _confidence(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _reasons(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date,
             version: Version) -> pd.DataFrame:
    report = _churn(_engine, url, scope, store_ids, as_of, version)
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    if report is None:
        return pd.DataFrame(columns=["customer_id", "churn_risk", "reasons"])
    return ms.reasons_by_customer(report, f["bookings"], f["customers"], as_of=as_of, feedback=f["feedback"],
                                  stores=f["stores"])


def reasons(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame:
    """Reason codes of the at-risk customers (``customer_id``, ``churn_risk``, ``reasons``)."""
    return _reasons(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _upcoming(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date,
              version: Version) -> pd.DataFrame | None:
    report = _noshow(_engine, url, scope, store_ids, as_of, version)
    if report is None:
        return None
    f = shallow(_inputs(_engine, url, scope, store_ids, version))
    return ms.upcoming_noshows(f["bookings"], f["customers"], report, as_of=as_of)


def upcoming(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame | None:
    """Upcoming bookings of the next 14 days with no-show risk (``None``: no model)."""
    return _upcoming(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


def reviews(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Managers' manual reviews (not cached: Customer 360 adds them without changing the data version)."""
    with session_scope(engine) as session:
        return model_repo.load_model_reviews(session, scope=scope, store_ids=list(store_ids))
