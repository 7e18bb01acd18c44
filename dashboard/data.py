"""Cached data loaders for pages: the only place that caches.

Every cache key includes the caller's scope (role and stores), the picked stores and a data
version that changes on each import, so one store's data is never served to another and an
import shows up at once.

Large frames (bookings, customers, scores, ledgers) are held in ``st.cache_resource``, which
hands out the cached object itself: ``st.cache_data`` pickles and unpickles its value on every
hit, which cost seconds per page run at 1–2 M bookings. Callers get :func:`shallow` copies —
with pandas' copy-on-write a shallow copy shares the data but any change to it copies first —
so no page can change what another session reads.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.overview import monthly_trend, visits_and_revenue
from core.scope import Scope
from dashboard.settings import load_settings
from db import repo
from db.engine import get_engine, session_scope
from db.models import Store


def shallow(value: Any) -> Any:
    """A copy of a cached frame (or a dict/tuple of frames) that shares its data (copy-on-write)."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=False)
    if isinstance(value, dict):
        return {key: shallow(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(shallow(item) for item in value)
    return value


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


@st.cache_data(ttl=5, show_spinner=False)
def _loyalty_version(_engine: Engine, url: str) -> tuple[int, int, int]:
    from db import loyalty as loyalty_repo

    with session_scope(_engine) as session:
        return loyalty_repo.loyalty_version(session)


def loyalty_version(engine: Engine) -> tuple[int, int, int]:
    """Fingerprint of the loyalty data, held 5 s like :func:`data_version` (writes clear it)."""
    return _loyalty_version(engine, str(engine.url))


@st.cache_data(ttl=5, show_spinner=False)
def _outbox_version(_engine: Engine, url: str) -> tuple[int, int, int, int]:
    from db import campaigns as campaign_repo

    with session_scope(_engine) as session:
        return campaign_repo.outbox_version(session)


def outbox_version(engine: Engine) -> tuple[int, int, int, int]:
    """Fingerprint of the outbox, tasks and campaigns, held 5 s (campaign writes clear it)."""
    return _outbox_version(engine, str(engine.url))


@st.cache_data(ttl=5, show_spinner=False)
def _snapshot_version(_engine: Engine, url: str) -> tuple[int, str]:
    from db import score_repo

    with session_scope(_engine) as session:
        return score_repo.snapshot_version(session)


def snapshot_version(engine: Engine) -> tuple[int, str]:
    """Fingerprint of the score snapshots, held 5 s."""
    return _snapshot_version(engine, str(engine.url))


def clear_versions() -> None:
    """Forget the held fingerprints (after a write in this process, so it shows at once)."""
    _data_version.clear()
    _loyalty_version.clear()
    _outbox_version.clear()
    _snapshot_version.clear()


def data_version(engine: Engine) -> tuple[int, int, int]:
    """The data fingerprint of every cache key; held 5 s so one page run counts the rows once."""
    return _data_version(engine, str(engine.url))


@st.cache_resource(ttl=3600, max_entries=8, show_spinner=False)
def _bookings(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], version: tuple[int, int, int]
) -> pd.DataFrame:
    with session_scope(_engine) as session:
        return repo.load_bookings(session, scope=scope, store_ids=list(store_ids))


@st.cache_resource(ttl=3600, max_entries=8, show_spinner=False)
def _customers(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], version: tuple[int, int, int]
) -> pd.DataFrame:
    with session_scope(_engine) as session:
        return repo.load_customers(session, scope=scope, store_ids=list(store_ids))


def bookings(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Bookings of the picked stores the caller may see (cached by scope, stores and data version)."""
    return shallow(_bookings(engine, str(engine.url), scope, store_ids, data_version(engine)))


def customers(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Customers of the picked stores the caller may see (cached like :func:`bookings`)."""
    return shallow(_customers(engine, str(engine.url), scope, store_ids, data_version(engine)))


@st.cache_data(ttl=3600, show_spinner=False)
def _overview(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: tuple[int, int, int]
) -> dict[str, Any]:
    from dashboard.precomputed import remembered

    def compute() -> dict[str, Any]:
        frame = shallow(_bookings(_engine, url, scope, store_ids, version))
        people = shallow(_customers(_engine, url, scope, store_ids, version))
        visits, revenue = visits_and_revenue(frame, as_of=as_of)
        booked = frame["status"].eq("booked") & (frame["scheduled_at"] >= pd.Timestamp(as_of) + pd.Timedelta(days=1))
        return {
            "empty": frame.empty,
            "customers": len(people),
            "visits": visits,
            "revenue": revenue,
            "trend": monthly_trend(frame, as_of=as_of),
            "upcoming_customer_ids": frozenset(frame.loc[booked.to_numpy(), "customer_id"].tolist()),
        }

    return remembered(_engine, scope, "overview", store_ids, {"as_of": as_of}, version, compute)


def overview(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> dict[str, Any]:
    """What the Overview needs from the raw bookings (headline figures, the monthly trend, who has
    a visit booked), computed once per data version and day and kept in the database."""
    return _overview(engine, str(engine.url), scope, store_ids, as_of, data_version(engine))


@st.cache_data(ttl=3600, show_spinner=False)
def _latest_visit_day(_engine: Engine, url: str, scope: Scope, version: tuple[int, int, int]) -> date | None:
    from dashboard.precomputed import remembered

    def compute() -> date | None:
        with session_scope(_engine) as session:
            return repo.latest_booking_day(session, scope=scope)

    visible = tuple(sorted(int(s.id or 0) for s in stores(_engine, scope)))
    if not visible:
        return None
    return remembered(_engine, scope, "latest_visit_day", visible, {}, version, compute)


def latest_visit_day(engine: Engine, scope: Scope) -> date | None:
    """The last day with a visit the caller may see (the default as-of); a scan, so cached."""
    return _latest_visit_day(engine, str(engine.url), scope, data_version(engine))


def stores(engine: Engine, scope: Scope) -> list[Store]:
    with session_scope(engine) as session:
        return repo.list_stores(session, scope=scope)
