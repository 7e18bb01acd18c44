"""Cached loaders and write helpers for the campaign, results and tasks pages.

Every cached loader is keyed by the caller's scope, the picked stores and a data version (the
bookings/customers version plus the outbox/tasks/campaign-audit version), so a send, a task
update or an approval shows up at once and one store's data is never served to another.
Writes go through ``db.campaigns`` (which checks permissions) and clear these caches.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.campaigns.audience import audience_facts, audience_frame, with_person_columns
from core.campaigns.playbook import PLAYBOOK, PLAYBOOK_PREFIX
from core.campaigns.results import (
    ab_verdicts,
    campaign_results,
    campaign_wake_up,
    comparable_variant_messages,
    message_outcomes,
    recovery_comparison,
    timing_script_table,
)
from core.campaigns.triggers import trigger_label
from core.kpi import task_completion_rate
from core.scope import Scope
from dashboard import analytics_data, data
from dashboard.precomputed import remembered
from db import campaigns as campaign_repo
from db import loyalty as loyalty_repo
from db.engine import session_scope

#: The lifecycle segment each playbook campaign speaks to (its audience's, else the entry's group).
_PLAYBOOK_SEGMENTS = {entry.key: (entry.audience.get("lifecycle_segments") or [entry.segment])[0] for entry in PLAYBOOK}

Version = tuple[Any, ...]


def version(engine: Engine) -> Version:
    """Data version + outbox version (each held 5 s; writes clear them)."""
    return (*data.data_version(engine), *data.outbox_version(engine))


def _campaign_rows(campaigns: list[Any]) -> pd.DataFrame:
    rows = [
        {
            "campaign_id": c.id,
            "name": c.name,
            "store_id": c.store_id,
            "status": c.status,
            "channel": c.channel,
            "timing": trigger_label(c.trigger),
            "trigger": c.trigger,
            "audience": c.audience,
            "templates": c.templates,
            "holdout_pct": c.holdout_pct,
            "frequency_cap_days": c.frequency_cap_days,
            "send_hour": c.send_hour,
            "quiet_start": c.quiet_start,
            "quiet_end": c.quiet_end,
            "cost_per_message": c.cost_per_message,
            "benefit_budget": c.benefit_budget,
            "benefit_spent": c.benefit_spent,
            "paused_reason": c.paused_reason,
            "created_by": c.created_by,
            "approved_by": c.approved_by,
            "segment": _PLAYBOOK_SEGMENTS.get((c.description or "").removeprefix(PLAYBOOK_PREFIX), ""),
        }
        for c in campaigns
    ]
    columns = [
        "campaign_id",
        "name",
        "store_id",
        "status",
        "channel",
        "timing",
        "trigger",
        "audience",
        "templates",
        "holdout_pct",
        "frequency_cap_days",
        "send_hour",
        "quiet_start",
        "quiet_end",
        "cost_per_message",
        "benefit_budget",
        "benefit_spent",
        "paused_reason",
        "created_by",
        "approved_by",
        "segment",
    ]
    return pd.DataFrame(rows, columns=columns)


@st.cache_data(ttl=120, show_spinner=False)
def _campaigns(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], ver: Version) -> pd.DataFrame:
    with session_scope(_engine) as session:
        frame = _campaign_rows(campaign_repo.list_campaigns(session, scope=scope, store_ids=list(store_ids)))
        counts = campaign_repo.message_counts(session, scope=scope, store_ids=list(store_ids))
    frame = frame.merge(counts, on="campaign_id", how="left")
    for column in ("queued", "sent", "failed", "suppressed", "holdout", "not_configured"):
        frame[column] = frame[column].fillna(0).astype(int)
    return frame


def campaigns(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Campaigns the caller may see with their message counts (scoped to the picked stores)."""
    return _campaigns(engine, str(engine.url), scope, store_ids, version(engine))


@st.cache_resource(ttl=3600, max_entries=8, show_spinner=False)
def _audience(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, ver: Version
) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        with session_scope(_engine) as session:
            accounts = loyalty_repo.load_accounts(session, scope=scope, store_ids=list(store_ids))
            pets = campaign_repo.load_pets(session, scope=scope, store_ids=list(store_ids))
            staff = campaign_repo.staff_names(session)
        scores = analytics_data.scores(_engine, scope, store_ids, as_of)
        frame = audience_frame(
            scores,
            data.customers(_engine, scope, store_ids),
            accounts=accounts,
            pets=pets,
            bookings=data.bookings(_engine, scope, store_ids),
            staff_names=staff,
        )
        return audience_facts(frame)

    facts = remembered(
        _engine, scope, "audience_facts", store_ids, {"as_of": as_of}, ver, compute, revision=1
    )  # 1: churn_risk and p_alive
    # Names, contact details and consent are read now, never kept: a campaign is built on current consent.
    return with_person_columns(facts, data.customers(_engine, scope, store_ids))


def audience(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> pd.DataFrame:
    """The audience frame (one row per customer of the picked stores, as of the day)."""
    # Facts move with bookings and loyalty (tiers), not with sends: a tick must not recompute them.
    facts_version = (*data.data_version(engine), *data.loyalty_version(engine))
    return data.shallow(_audience(engine, str(engine.url), scope, store_ids, as_of, facts_version))


@st.cache_data(ttl=3600, show_spinner=False)
def _results(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, window_days: int, ver: Version
) -> dict[str, pd.DataFrame]:
    def compute() -> dict[str, pd.DataFrame]:
        with session_scope(_engine) as session:
            messages = campaign_repo.load_messages(session, scope=scope, store_ids=list(store_ids))
            frame = _campaign_rows(campaign_repo.list_campaigns(session, scope=scope, store_ids=list(store_ids)))
        bookings = data.bookings(_engine, scope, store_ids)
        meta = frame.loc[:, ["campaign_id", "name", "timing", "segment", "status", "channel"]]
        if messages.empty:
            empty = pd.DataFrame()
            return {
                "by_campaign": empty,
                "by_variant": empty,
                "timing": empty,
                "verdicts": ab_verdicts(empty),
                "meta": meta,
            }
        messages = messages.merge(meta[["campaign_id", "timing", "segment"]], on="campaign_id", how="left")
        # One attribution over every message, shared by both tables: each booking goes to one message.
        outcomes = message_outcomes(messages, bookings, as_of=as_of, window_days=window_days)
        judged: dict[str, Any] = {"as_of": as_of, "window_days": window_days, "judged_only": True, "outcomes": outcomes}
        by_campaign = campaign_results(messages, bookings, **judged)
        wake = campaign_wake_up(messages, bookings, as_of=as_of, judged_only=True)
        by_campaign["wake_up_rate"] = by_campaign["campaign_id"].map(wake)
        by_campaign = meta.merge(by_campaign, on="campaign_id", how="inner")
        comparable = comparable_variant_messages(messages, as_of=as_of, window_days=window_days)
        by_variant = campaign_results(
            comparable, bookings, by=("campaign_id", "timing", "segment", "variant"), **judged
        )
        timing = timing_script_table(by_variant) if len(by_variant) else pd.DataFrame()
        # Judged here, so the page never loads scipy's statistics just to show a kept verdict.
        return {
            "by_campaign": by_campaign,
            "by_variant": by_variant,
            "timing": timing,
            "verdicts": ab_verdicts(by_variant),
            "meta": meta,
        }

    return remembered(
        _engine,
        scope,
        "campaign_results",
        store_ids,
        {"as_of": as_of, "window_days": window_days},
        ver,
        compute,
        revision=2,
    )  # 1: verdicts added; 2: incremental ROI columns


def results(
    engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date, window_days: int = 7
) -> dict[str, pd.DataFrame]:
    """Results per campaign, per variant and the timing × script table, over the messages whose
    ``window_days`` window closed by as-of (the rest are counted as pending)."""
    return _results(engine, str(engine.url), scope, store_ids, as_of, window_days, version(engine))


@st.cache_data(ttl=60, show_spinner=False)
def _tasks(_engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], ver: Version) -> pd.DataFrame:
    with session_scope(_engine) as session:
        return campaign_repo.list_tasks(session, scope=scope, store_ids=list(store_ids))


def tasks(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Follow-up tasks of the picked stores."""
    return _tasks(engine, str(engine.url), scope, store_ids, version(engine))


@st.cache_data(ttl=3600, show_spinner=False)
def _task_summary(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], as_of: date, ver: Version
) -> dict[str, Any]:
    def compute() -> dict[str, Any]:
        frame = tasks(_engine, scope, store_ids)
        frame = frame.assign(created_at=pd.to_datetime(frame["created_at"]))
        rate = task_completion_rate(frame, as_of=as_of, period_days=30)
        complaints = frame.loc[frame["kind"].eq("complaint_recovery")]
        recovery = (
            recovery_comparison(complaints, data.bookings(_engine, scope, store_ids), as_of=as_of)
            if len(complaints)
            else pd.DataFrame()
        )
        return {"completion": rate, "recovery": recovery}

    return remembered(_engine, scope, "task_summary", store_ids, {"as_of": as_of}, ver, compute)


def task_summary(engine: Engine, scope: Scope, store_ids: tuple[int, ...], as_of: date) -> dict[str, Any]:
    """Task completion rate (core.kpi) and how complainers came back, recovered or not
    (core.campaigns.results.recovery_comparison); kept per data/outbox version and day."""
    return _task_summary(engine, str(engine.url), scope, store_ids, as_of, version(engine))


def clear() -> None:
    _campaigns.clear()
    _results.clear()
    _tasks.clear()
    _task_summary.clear()
    data.clear_versions()


def write(engine: Engine, action: str, **kwargs: Any) -> Any:
    """Run one ``db.campaigns`` write (create_campaign, approve_campaign, …) and clear caches."""
    function = {
        "create": campaign_repo.create_campaign,
        "update": campaign_repo.update_campaign,
        "submit": campaign_repo.submit_for_approval,
        "approve": campaign_repo.approve_campaign,
        "status": campaign_repo.set_campaign_status,
        "task": campaign_repo.update_task_status,
    }[action]
    with session_scope(engine) as session:
        result = function(session, **kwargs)
        result_id = getattr(result, "id", None)
    clear()
    return result_id
