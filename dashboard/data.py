"""Cached data loaders for pages: the only place that caches.

Every cache key includes the caller's scope (role and stores), the picked stores and a data
version that changes on each import, so one store's data is never served to another and an
import shows up at once.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.config import load_settings
from core.overview import monthly_trend, visits_and_revenue
from core.scope import Scope
from db import repo
from db.engine import get_engine, session_scope
from db.models import Store


@st.cache_resource
def cached_engine(url: str) -> Engine:
    """One engine per database URL for the whole server."""
    return get_engine(url)


def app_engine() -> Engine:
    return cached_engine(load_settings().database_url)


@st.cache_data(ttl=5, show_spinner=False)
def _data_version(_engine: Engine, url: str) -> tuple[int, int, int]:
    with session_scope(_engine) as session:
        return repo.data_version(session)


def data_version(engine: Engine) -> tuple[int, int, int]:
    """The data fingerprint of every cache key; held 5 s so one page run counts the rows once."""
    return _data_version(engine, str(engine.url))


@st.cache_data(ttl=300, show_spinner=False)
def _bookings(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], version: tuple[int, int, int]) -> pd.DataFrame:
    with session_scope(_engine) as session:
        return repo.load_bookings(session, scope=scope, store_ids=list(store_ids))


@st.cache_data(ttl=300, show_spinner=False)
def _customers(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], version: tuple[int, int, int]) -> pd.DataFrame:
    with session_scope(_engine) as session:
        return repo.load_customers(session, scope=scope, store_ids=list(store_ids))


def bookings(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Bookings of the picked stores the caller may see (cached by scope, stores and data version)."""
    return _bookings(engine, str(engine.url), scope, store_ids, data_version(engine))


def customers(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Customers of the picked stores the caller may see (cached like :func:`bookings`)."""
    return _customers(engine, str(engine.url), scope, store_ids, data_version(engine))


@st.cache_data(ttl=300, show_spinner=False)
def _overview(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date,
              version: tuple[int, int, int]) -> dict[str, Any]:
    frame = _bookings(_engine, url, scope, store_ids, version)
    people = _customers(_engine, url, scope, store_ids, version)
    visits, revenue = visits_and_revenue(frame, as_of=as_of)
    booked = frame["status"].eq("booked") & (frame["scheduled_at"] >= pd.Timestamp(as_of) + pd.Timedelta(days=1))
    return {
        "empty": frame.empty,
        "customers": len(people),
        "visits": visits,
        "revenue": revenue,
        "trend": monthly_trend(frame, as_of=as_of),
        "upcoming_customer_ids": frozenset(frame.loc[booked.to_numpy(), "customer_id"].tolist()),
        "people": people[["customer_id", "name", "external_id", "phone", "home_store_id"]],
    }


def overview(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> dict[str, Any]:
    """What the Overview needs from the raw bookings, computed once per data version and day, so a
    warm page never copies the whole bookings frame out of the cache."""
    return _overview(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_data(ttl=300, show_spinner=False)
def _latest_visit_day(_engine: Engine, url: str, scope: Scope, version: tuple[int, int, int]) -> date | None:
    with session_scope(_engine) as session:
        return repo.latest_booking_day(session, scope=scope)


def latest_visit_day(engine: Engine, scope: Scope) -> date | None:
    """The last day with a visit the caller may see (the default as-of); a scan, so cached."""
    return _latest_visit_day(engine, str(engine.url), scope, data_version(engine))


def stores(engine: Engine, scope: Scope) -> list[Store]:
    with session_scope(engine) as session:
        return repo.list_stores(session, scope=scope)
