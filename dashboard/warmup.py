"""Compute what each user sees first, ahead of time, and keep it (``dashboard.precomputed``).

The worker runs :func:`warm` every few minutes; it recomputes only what an import, a loyalty
change or a send made stale (the rest is read back from the kept copies), so the first manager of
the morning, or anyone after a server restart, gets the pages at once instead of waiting for a
recompute of every booking.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from core.scope import Scope
from db import page_results, repo, users
from db.engine import session_scope
from db.models import Store

log = logging.getLogger("revisit.warmup")


@dataclass(frozen=True)
class View:
    """What a user sees first: their stores of one currency (``store_ids``), every store they
    picked (``picked_store_ids``, the Stores page) and the default as-of day."""

    scope: Scope
    store_ids: tuple[int, ...]
    picked_store_ids: tuple[int, ...]
    as_of: date


def currency_groups(stores: Sequence[Store], store_ids: Sequence[int]) -> list[tuple[str, tuple[int, ...]]]:
    """The picked stores by currency, the group a page reports first leading: the larger group,
    then the one with the smaller first store id (money is never added across currencies)."""
    by_currency: dict[str, list[int]] = {}
    for store in stores:
        if store.id in store_ids:
            by_currency.setdefault(store.currency, []).append(int(store.id or 0))
    ordered = sorted(by_currency.items(), key=lambda item: (-len(item[1]), min(item[1])))
    return [(currency, tuple(sorted(ids))) for currency, ids in ordered]


def default_views(engine: Engine, *, today: date | None = None) -> list[View]:
    """Each enabled user's first view (all their stores, the leading currency group, the default
    as-of day), once per distinct view; front-desk users open Tasks only."""
    from dashboard import data

    today = today or date.today()
    views: dict[tuple[tuple[int, ...], tuple[int, ...], date], View] = {}
    with session_scope(engine) as session:
        stores = repo.list_stores(session, scope=Scope.system())
        for scope in users.enabled_scopes(session):
            if not scope.can("view"):
                continue
            picked = tuple(sorted(int(s.id or 0) for s in stores if scope.allows_store(s.id)))
            if not picked:
                continue
            last_day = data.latest_visit_day(engine, scope)  # kept too: the app's first query
            as_of = min(today, last_day) if last_day else today
            store_ids = currency_groups(stores, picked)[0][1]
            reader = Scope(actor="system", role="system", store_ids=frozenset(picked))
            views.setdefault((store_ids, picked, as_of), View(reader, store_ids, picked, as_of))
    return list(views.values())


def fingerprint(engine: Engine, views: Sequence[View]) -> tuple[object, ...]:
    """What every kept result depends on: bookings, loyalty, outbox and the views themselves. The
    worker skips a warm-up whose fingerprint equals the last one (reading back 40-odd results
    at 100,000 customers still costs half a minute)."""
    from db import campaigns as campaign_repo
    from db import loyalty as loyalty_repo

    with session_scope(engine) as session:
        return (
            repo.data_version(session),
            loyalty_repo.loyalty_version(session),
            campaign_repo.outbox_version(session),
            tuple(views),
        )


def _steps(engine: Engine, view: View) -> list[tuple[str, Callable[[], Any]]]:
    from dashboard import analytics_data as ad
    from dashboard import campaign_data, data, loyalty_data
    from dashboard import model_data as md

    scope, stores, picked, as_of = view.scope, view.store_ids, view.picked_store_ids, view.as_of
    return [
        ("overview", lambda: data.overview(engine, scope, stores, as_of)),
        ("kpi_board", lambda: ad.board(engine, scope, stores, as_of)),
        ("kpi_trend", lambda: ad.trend(engine, scope, stores, as_of)),
        ("scores", lambda: ad.scores(engine, scope, stores, as_of)),
        ("snapshots", lambda: _latest_migration(engine, view)),
        ("priority", lambda: ad.priority(engine, scope, stores, as_of)),
        ("kpi_by_store", lambda: ad.by_store(engine, scope, picked, as_of)),
        ("cohorts", lambda: ad.cohorts(engine, scope, picked, as_of)),
        ("loyalty_page", lambda: loyalty_data.page_summary(engine, scope, stores, as_of)),
        ("loyalty_activity", lambda: _chain_rule_activity(engine, view)),
        ("loyalty_ledger", lambda: loyalty_data.ledger_summary(engine, scope, stores, as_of)),
        ("loyalty_referrals", lambda: loyalty_data.referral_summary(engine, scope, stores, as_of)),
        # The model page reads every picked store (rates and risks add up across currencies).
        ("models_page", lambda: md.page(engine, scope, picked, as_of)),
        ("audience_facts", lambda: campaign_data.audience(engine, scope, stores, as_of)),
        ("task_summary", lambda: campaign_data.task_summary(engine, scope, picked, as_of)),
        ("campaign_results", lambda: campaign_data.results(engine, scope, stores, as_of)),
    ]


def _latest_migration(engine: Engine, view: View) -> Any:
    """The Segments page's first migration (:func:`core.rfm.default_migration_span`)."""
    from core.rfm import default_migration_span
    from dashboard import analytics_data as ad

    span = default_migration_span(ad.snapshot_dates(engine, view.scope))
    return None if span is None else ad.snapshots(engine, view.scope, view.store_ids, span)


def _chain_rule_activity(engine: Engine, view: View) -> Any:
    """The tier editor's first view: customers of the picked stores under the chain-wide rules."""
    from dashboard import loyalty_data

    own = loyalty_data.rules(engine, view.scope, view.store_ids)["own_tiers"]
    governed = tuple(s for s in view.store_ids if own.get(s) is None)  # type: ignore[union-attr]
    return loyalty_data.activity(engine, view.scope, view.store_ids, view.as_of, governed)


#: What the landing page (the Overview) reads: warmed for every view before anything else, so
#: after an import each user's first page is ready minutes before the rest of the warm-up is done.
LANDING_STEPS = ("overview", "kpi_board", "kpi_trend", "scores", "priority")


def warm(engine: Engine, views: Sequence[View] | None = None, *, keep_days: int = 7) -> list[dict[str, Any]]:
    """Compute (or read back) every page result of ``views`` (default: :func:`default_views`) —
    every view's :data:`LANDING_STEPS` first — and drop results nobody asked for in ``keep_days``;
    one row per result: view, name, seconds, error."""
    report: list[dict[str, Any]] = []
    try:
        jobs = [
            (view, name, step)
            for view in (views if views is not None else default_views(engine))
            for name, step in _steps(engine, view)
        ]
        jobs.sort(key=lambda job: job[1] not in LANDING_STEPS)  # stable: view order kept within each part
        for view, name, step in jobs:
            label = f"{','.join(map(str, view.store_ids))}@{view.as_of.isoformat()}"
            started = time.perf_counter()
            error = None
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - one failing figure must not stop the others
                log.exception("warming %s for %s failed", name, label)
                error = f"{type(exc).__name__}: {exc}"
            report.append(
                {"view": label, "name": name, "seconds": round(time.perf_counter() - started, 2), "error": error}
            )
        with session_scope(engine) as session:
            page_results.prune_results(session, keep_days=keep_days)
    finally:
        # The worker is not a Streamlit server: what the loaders cached in memory here would only
        # hold gigabytes between runs; the kept copies are in the database.
        st.cache_data.clear()
        st.cache_resource.clear()
    return report
