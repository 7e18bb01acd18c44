"""Cached loaders of the analytics pages (Overview KPIs, Segments, Customer 360, Stores).

Every cached function's key holds the caller's scope, the picked stores, the as-of day and the
data version (which changes on each import), so one store's figures are never served to another
and an import shows at once. Writes (tags, reviews, targets) go straight to ``db/`` and clear the
caches they affect.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.cohorts import cohort_retention
from core.priority import priority_list
from core.rfm import rfm_grid, segment_migration, segment_summary
from core.scope import Scope
from dashboard.data import data_version, outbox_version, shallow, snapshot_version
from dashboard.precomputed import remembered
from db import customer_repo, kpi_repo, repo, score_repo
from db.engine import session_scope
from services import kpis
from services.scoring import score_customers_for

TTL = 3600  # entries are keyed by the data version, so the TTL only bounds memory: a short one
# made a manager returning after five minutes wait for the full recompute again
Version = tuple[int, ...]


#: Revision of the kept KPI figures (``dashboard.precomputed.remembered``): 1 = one definition
#: per store (visits at the stores only), intervals, incremental ROI, accuracy.
KPI_REVISION = 1


def kpi_version(engine: Engine) -> Version:
    """Data, outbox and review versions: the KPIs read messages, tasks and managers' reviews as
    well as bookings."""
    return (*data_version(engine), *outbox_version(engine), *_review_version(engine, str(engine.url)))


@st.cache_data(ttl=5, show_spinner=False)
def _review_version(_engine: Engine, url: str) -> tuple[int, int]:
    with session_scope(_engine) as session:
        return kpi_repo.review_version(session)


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _scores(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        frame = score_customers_for(_engine, scope, as_of=as_of, store_ids=list(store_ids))
        return frame.drop(columns=["name"], errors="ignore")

    kept = remembered(
        _engine, scope, "scores", store_ids, {"as_of": as_of}, version, compute, revision=1
    )  # 1: the churn model columns (services.scoring)
    # Names are never kept with the scores: read now, so an anonymised customer drops out at once.
    with session_scope(_engine) as session:
        names = repo.customer_names(session, scope=scope, store_ids=list(store_ids))
    kept = kept[kept["customer_id"].isin(names.index)].reset_index(drop=True)
    position = list(kept.columns).index("home_store_id") + 1 if "home_store_id" in kept.columns else len(kept.columns)
    kept.insert(position, "name", kept["customer_id"].map(names).to_numpy(dtype=object))
    return kept


def scores(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame:
    """Scores of the customers of the picked stores as of a day (``services.scoring``: the numbers
    of every surface)."""
    return shallow(_scores(engine, str(engine.url), scope, store_ids, as_of, data_version(engine)))


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def _kpi_inputs(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> dict[str, pd.DataFrame]:
    return kpis.kpi_frames(_engine, scope, store_ids, as_of)


def kpi_inputs(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> dict[str, pd.DataFrame]:
    """Bookings, customers (home stores), messages, tasks, feedback and reviews of the picked
    stores up to as-of (``services.kpis.kpi_frames``)."""
    return shallow(_kpi_inputs(engine, str(engine.url), scope, store_ids, as_of, kpi_version(engine)))


@st.cache_data(ttl=TTL, show_spinner=False)
def _board(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, period_days: int, version: Version
) -> pd.DataFrame:
    return remembered(
        _engine,
        scope,
        "kpi_board",
        store_ids,
        {"as_of": as_of, "period_days": period_days},
        version,
        lambda: kpis.board(
            _engine,
            scope,
            store_ids,
            as_of,
            period_days=period_days,
            frames=kpi_inputs(_engine, scope, store_ids, as_of),
        ),
        revision=KPI_REVISION,
    )


def board(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, period_days: int = 30) -> pd.DataFrame:
    """``services.kpis.board`` of the picked stores (the same figures as ``kpi --json``)."""
    return _board(engine, str(engine.url), scope, store_ids, as_of, period_days, kpi_version(engine))


@st.cache_data(ttl=TTL, show_spinner=False)
def _trend(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, periods: int, version: Version
) -> pd.DataFrame:
    return remembered(
        _engine,
        scope,
        "kpi_trend",
        store_ids,
        {"as_of": as_of, "periods": periods},
        version,
        lambda: kpis.trend(
            _engine, scope, store_ids, as_of, periods=periods, frames=kpi_inputs(_engine, scope, store_ids, as_of)
        ),
        revision=KPI_REVISION,
    )


def trend(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, periods: int = 12) -> pd.DataFrame:
    """``services.kpis.trend`` (monthly) of the picked stores."""
    return _trend(engine, str(engine.url), scope, store_ids, as_of, periods, kpi_version(engine))


@st.cache_data(ttl=TTL, show_spinner=False)
def _by_store(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, version: Version
) -> pd.DataFrame:
    return remembered(
        _engine,
        scope,
        "kpi_by_store",
        store_ids,
        {"as_of": as_of},
        version,
        lambda: kpis.by_store(_engine, scope, store_ids, as_of, frames=kpi_inputs(_engine, scope, store_ids, as_of)),
        revision=KPI_REVISION,
    )


def by_store(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame:
    """``services.kpis.by_store`` of the picked stores: each store exactly as its own board."""
    return _by_store(engine, str(engine.url), scope, store_ids, as_of, kpi_version(engine))


@st.cache_data(ttl=TTL, show_spinner=False)
def _cohorts(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, months: int, version: Version
) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        bookings = kpi_inputs(_engine, scope, store_ids, as_of)["bookings"]
        return cohort_retention(bookings, as_of=as_of, months=months, store_ids=list(store_ids))

    return remembered(_engine, scope, "cohorts", store_ids, {"as_of": as_of, "months": months}, version, compute)


def cohorts(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, months: int = 12) -> pd.DataFrame:
    """``core.cohorts.cohort_retention`` of the picked stores."""
    return _cohorts(engine, str(engine.url), scope, store_ids, as_of, months, data_version(engine))


@st.cache_data(ttl=TTL, show_spinner=False)
def _snapshot_dates(_engine: Engine, url: str, scope: Scope, version: tuple[int, str]) -> list[date]:
    with session_scope(_engine) as session:
        return score_repo.snapshot_dates(session, scope=scope)


def snapshot_dates(engine: Engine, scope: Scope) -> list[date]:
    """Days with a snapshot of the caller's stores (keyed by the snapshot fingerprint)."""
    return _snapshot_dates(engine, str(engine.url), scope, _snapshot_version(engine))


def _snapshot_version(engine: Engine) -> tuple[int, str]:
    return snapshot_version(engine)


@st.cache_data(ttl=TTL, show_spinner=False)
def _snapshots(
    _engine: Engine,
    url: str,
    scope: Scope,
    store_ids: tuple[int, ...],
    dates: tuple[date, ...],
    version: tuple[int, str],
) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        with session_scope(_engine) as session:
            return score_repo.load_snapshots(
                session,
                scope=scope,
                store_ids=list(store_ids),
                dates=list(dates),
                columns=("as_of", "customer_id", "store_id", "rfm_segment", "rfm8_segment", "lifecycle_segment"),
            )

    return remembered(
        _engine, scope, "snapshots", store_ids, {"dates": ",".join(d.isoformat() for d in dates)}, version, compute
    )


def snapshots(engine: Engine, scope: Scope, store_ids: tuple[int, ...], dates: tuple[date, ...]) -> pd.DataFrame:
    """Snapshot segments of the picked stores on ``dates``."""
    return _snapshots(engine, str(engine.url), scope, store_ids, dates, _snapshot_version(engine))


# The page's R × F grid, segment table, drill-down and migration are small results of large
# frames: computed once per data version (or snapshot set) instead of on every rerun.
@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _segment_tables(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, column: str, version: Version
) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = _scores(_engine, url, scope, store_ids, as_of, version)
    return segment_summary(frame, column=column), rfm_grid(frame)


def segment_tables(
    engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, column: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(:func:`core.rfm.segment_summary` by ``column``, :func:`core.rfm.rfm_grid`) of the picked stores' scores."""
    return _segment_tables(engine, str(engine.url), scope, store_ids, as_of, column, data_version(engine))


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _segment_members(
    _engine: Engine,
    url: str,
    scope: Scope,
    store_ids: tuple[int, ...],
    as_of: date,
    column: str,
    segment: str,
    limit: int,
    version: Version,
) -> pd.DataFrame:
    frame = _scores(_engine, url, scope, store_ids, as_of, version)
    members = frame.loc[frame[column].astype(str).eq(segment).to_numpy()]
    return members.sort_values(["monetary", "customer_id"], ascending=[False, True]).head(limit).reset_index(drop=True)


def segment_members(
    engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, column: str, segment: str, limit: int = 500
) -> pd.DataFrame:
    """The ``limit`` highest-spending customers of one segment (score rows, names included)."""
    return _segment_members(
        engine, str(engine.url), scope, store_ids, as_of, column, segment, limit, data_version(engine)
    )


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _migration(
    _engine: Engine,
    url: str,
    scope: Scope,
    store_ids: tuple[int, ...],
    start: date,
    end: date,
    column: str,
    version: tuple[int, str],
) -> pd.DataFrame:
    snaps = _snapshots(_engine, url, scope, store_ids, (start, end), version)
    return segment_migration(snaps, from_date=start, to_date=end, column=column)


def migration(
    engine: Engine, scope: Scope, store_ids: tuple[int, ...], start: date, end: date, column: str
) -> pd.DataFrame:
    """Customers moving between segments of ``column`` from ``start`` to ``end`` (daily snapshots)."""
    return _migration(engine, str(engine.url), scope, store_ids, start, end, column, _snapshot_version(engine))


@st.cache_data(ttl=TTL, show_spinner=False)
def _priority(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, limit: int, version: Version
) -> pd.DataFrame:
    from dashboard import data

    def compute() -> pd.DataFrame:
        booked = data.overview(_engine, scope, store_ids, as_of)["upcoming_customer_ids"]
        frame = scores(_engine, scope, store_ids, as_of)
        return priority_list(frame, as_of=as_of, limit=limit, booked_customer_ids=set(booked))

    return remembered(_engine, scope, "priority", store_ids, {"as_of": as_of, "limit": limit}, version, compute)


def priority(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, limit: int = 20) -> pd.DataFrame:
    """Today's priority list (``core.priority.priority_list``) of the picked stores, leaving out
    customers who already booked their next visit; customer ids only (see :func:`contacts`)."""
    return _priority(engine, str(engine.url), scope, store_ids, as_of, limit, data_version(engine))


def contacts(engine: Engine, scope: Scope, customer_ids: list[int]) -> pd.DataFrame:
    """Name, member number, phone and home store of a few customers the caller may see (not cached:
    an anonymisation shows at once)."""
    with session_scope(engine) as session:
        return repo.customer_contacts(session, scope=scope, customer_ids=customer_ids)


def kpi_targets(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> dict[str, float]:
    """Targets of the one picked store, or the chain-wide targets for several (not cached: one row)."""
    return kpis.targets(engine, scope, store_ids)


def save_kpi_targets(engine: Engine, scope: Scope, store_id: int, targets: dict[str, float | None]) -> dict[str, float]:
    """Set one store's own KPI targets (``services.kpis.save_targets``: permission-checked, audited)."""
    return kpis.save_targets(engine, scope, store_id, targets)


# ------------------------------------------------------------------ Customer 360 (not cached)
def search_customers(engine: Engine, scope: Scope, store_ids: tuple[int, ...], query: str) -> pd.DataFrame:
    with session_scope(engine) as session:
        return customer_repo.search_customers(session, scope=scope, query=query, store_ids=list(store_ids))


def customer_profile(engine: Engine, scope: Scope, customer_id: int) -> dict[str, Any] | None:
    """Profile, visits, pets, points and messages of one customer the caller may see."""
    with session_scope(engine) as session:
        profile = customer_repo.get_customer(session, scope=scope, customer_id=customer_id)
        if profile is None:
            return None
        account, ledger = customer_repo.customer_points(session, scope=scope, customer_id=customer_id)
        return {
            "profile": profile,
            "visits": customer_repo.customer_visits(session, scope=scope, customer_id=customer_id),
            "pets": customer_repo.customer_pets(session, scope=scope, customer_id=customer_id),
            "account": account,
            "ledger": ledger,
            "messages": customer_repo.customer_messages(session, scope=scope, customer_id=customer_id),
            "tags": customer_repo.tag_dictionary(session, scope=scope, store_id=profile["home_store_id"]),
            "reviews": customer_repo.model_reviews(session, scope=scope, customer_id=customer_id),
        }


def save_tags(engine: Engine, scope: Scope, customer_id: int, tags: list[str]) -> list[str]:
    with session_scope(engine) as session:
        return customer_repo.save_customer_tags(session, scope=scope, customer_id=customer_id, tags=tags)


def record_review(
    engine: Engine, scope: Scope, customer_id: int, as_of: date, model_label: str, manual_label: str
) -> None:
    with session_scope(engine) as session:
        customer_repo.record_model_review(
            session,
            scope=scope,
            customer_id=customer_id,
            as_of=as_of,
            model_label=model_label,
            manual_label=manual_label,
        )


# ------------------------------------------------------------------ rendering helpers (pure text)
def format_kpi(key: str, value: float | None) -> str:
    """A KPI value for a card: shares as %, days with one decimal, ROI as a multiple."""
    from core.kpi import KPI_UNITS

    if value is None or value != value:
        return "—"
    unit = KPI_UNITS.get(key, "share")
    if unit == "days":
        return f"{value:.1f}"
    if unit == "multiple":
        return f"{value:,.2f}×"
    if unit == "points":
        return f"{value * 100:+.1f} pp"
    return f"{value * 100:.1f}%"


def format_kpi_range(key: str, low: float | None, high: float | None) -> tuple[str, str] | None:
    """The two ends of a KPI's 95% interval as card text (``None`` when it has none)."""
    if low is None or high is None or low != low or high != high:
        return None
    return format_kpi(key, low), format_kpi(key, high)


def format_kpi_cell(key: str, value: float | None, low: float | None, high: float | None) -> str:
    """A table cell: the value, and its 95% interval in brackets when it has one."""
    text = format_kpi(key, value)
    ends = None if text == "—" else format_kpi_range(key, low, high)
    return text if ends is None else f"{text} ({ends[0]} – {ends[1]})"


def format_kpi_delta(key: str, delta: float | None) -> str | None:
    """A change of a KPI for ``st.metric`` (percentage points for shares)."""
    from core.kpi import KPI_UNITS

    if delta is None or delta != delta:
        return None
    unit = KPI_UNITS.get(key, "share")
    if unit == "days":
        return f"{delta:+.1f}"
    if unit == "multiple":
        return f"{delta:+.2f}×"
    return f"{delta * 100:+.1f} pp"


def segment_label(t: Any, name: object) -> str:
    """The reader's name of an RFM segment (either scheme) or a lifecycle label."""
    from core.rfm import SEGMENT_ACTIONS

    if name is None or (isinstance(name, float) and name != name) or str(name) in ("", "nan", "None", "none", "<NA>"):
        return t("segment.none")
    text = str(name)
    if text in SEGMENT_ACTIONS:
        return t(f"segment.{SEGMENT_ACTIONS[text].segment_key}")
    key = f"segment.lifecycle.{text}"
    label = t(key)
    return text if label == key else label


def segment_action(t: Any, name: object) -> str:
    from core.rfm import SEGMENT_ACTIONS

    action = SEGMENT_ACTIONS.get(str(name))
    return "" if action is None else t(f"segment.action.{action.action_key}")


def reason_text(t: Any, key: str, params: dict[str, Any] | None) -> str:
    """A priority reason (``core.priority`` ``reason_key`` + ``reason_params``) in the reader's language."""
    values = {k: ("—" if v is None else v) for k, v in (params or {}).items()}
    try:
        return t(f"reason.{key}", **values)
    except (KeyError, IndexError):
        return key
