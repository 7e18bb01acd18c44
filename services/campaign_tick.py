"""The campaign tick: one idempotent, crash-safe worker pass at ``now``.

:func:`run_tick` is what ``python -m dashboard.cli campaigns run-due`` and every scheduled tick of
``python -m dashboard.cli worker`` do:

1. **Evaluate** (:func:`evaluate_due`): every active campaign due at this occurrence (the
   store-local day, a cron fire or a one-off time) gets its audience (:func:`audience_world`, the
   one scoring path), its trigger (the extra facts a kind reads come from
   ``TRIGGER_REGISTRY[kind].inputs``) and outbox rows written *insert-if-absent* on the
   (campaign, customer, occurrence) dedupe key — suppressed (with the reason), holdout, or
   queued with the rendered body and send time.
2. **Tasks** (:func:`open_complaint_tasks`): complaints open a recovery task (one per feedback).
3. **Send** (:func:`send_due`): claim due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
   re-check opt-out and consent (the channel is never called for an opted-out customer), quiet
   hours in the store's time zone, the frequency cap and the benefit budget, then call the
   channel with the dedupe key as the provider's retry key and mark the outcome. A crash after
   the provider accepted but before the mark leaves the claim to time out; the retry reuses the
   key and the provider answers "already accepted" → delivered once (RELIABILITY 17, 21).

The channel clients live in the application shell; the caller passes them in as a
:class:`core.campaigns.delivery.ChannelDirectory`, so this module never imports them.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from core import loyalty
from core.campaigns.audience import AudienceSpec, audience_frame, filter_audience
from core.campaigns.delivery import ChannelDirectory, OutboundMessage, SendOutcome, SendResult
from core.campaigns.outbox import CampaignPlan, StoreInfo, TickCounts, add_reasons, plan_outbox
from core.campaigns.sending_rules import backoff_seconds, defer_quiet_hours, in_quiet_hours
from core.campaigns.templates import booking_link, unsubscribe_link
from core.campaigns.triggers import TRIGGER_REGISTRY, TriggerInputs, evaluate_trigger, latest_cron_fire, tolerance
from core.localtime import local_day, local_midnight_utc, local_time, local_to_utc, to_local, to_utc, zone
from core.scope import PermissionDenied, Scope
from db import campaigns as crepo
from db import loyalty as loyalty_repo
from db import repo
from db.engine import session_scope
from services.scoring import score_customers_for

log = logging.getLogger("revisit.worker")

#: Called after the provider answered, before the outcome is recorded (fault injection in tests).
AfterSend = Callable[[crepo.ClaimedMessage, SendResult], None]


def _default_worker_id() -> str:
    return f"{socket.gethostname()[:24]}:{os.getpid()}"


@dataclass
class TickOptions:
    """Knobs of a tick (defaults suit the demo; the worker fills the claim timeout from settings)."""

    worker_id: str = field(default_factory=_default_worker_id)
    batch_size: int = 200
    max_batches: int = 500
    max_attempts: int = 5
    backoff_base_seconds: float = 60.0
    backoff_max_seconds: float = 6 * 3600.0
    claim_timeout_seconds: int | None = None
    booking_base_url: str = "https://book.example"
    unsubscribe_base_url: str = "https://book.example"
    complaint_lookback_days: int = 30
    booking_rate: float = 0.3


def require_tick_permission(scope: Scope) -> None:
    """The tick sends for every store: only a chain-wide actor who may approve campaigns runs it."""
    scope.require("campaign_approve")
    scope.require("chain_rules")
    if scope.store_ids is not None:
        raise PermissionDenied(f"{scope.actor} ({scope.role}) may not run the chain-wide campaign tick")


def run_tick(
    engine: Engine,
    scope: Scope,
    *,
    now: datetime,
    channels: ChannelDirectory,
    options: TickOptions | None = None,
    wechat_template_id: str | None = None,
    task_due: dict[int, date] | None = None,
    after_send: AfterSend | None = None,
) -> dict[str, Any]:
    """One idempotent pass at ``now``: evaluate triggers into the outbox, open complaint tasks, send.

    Parameters
    ----------
    engine : Engine
        The database.
    scope : Scope
        The acting worker (:func:`require_tick_permission`); audiences are read through it.
    now : datetime
        The tick's instant (naive = UTC). Two ticks at the same ``now`` send nothing twice.
    channels : ChannelDirectory
        The channel clients by name (None for a channel without credentials).
    options : TickOptions, optional
        Batch sizes, retries, links.
    wechat_template_id : str, optional
        The WeChat template of every WeChat message.
    task_due : dict, optional
        Filled with each message's store-local day just before it is handed to its channel (the
        staff-task channel opens its task for that day).
    after_send : callable, optional
        Called after each provider answer, before the mark (tests inject crashes here).

    Returns
    -------
    dict
        :class:`core.campaigns.outbox.TickCounts` as a dict (the ``campaigns run-due`` JSON).
    """
    require_tick_permission(scope)
    options = options or TickOptions()
    now = aware(now)
    counts = TickCounts()
    evaluate_due(engine, scope, now=now, options=options, counts=counts)
    open_complaint_tasks(engine, scope, now=now, lookback_days=options.complaint_lookback_days, counts=counts)
    send_due(
        engine,
        scope,
        now=now,
        channels=channels,
        options=options,
        counts=counts,
        wechat_template_id=wechat_template_id,
        task_due=task_due if task_due is not None else {},
        after_send=after_send,
    )
    return counts.as_dict()


# ============================================================================ evaluate
def evaluate_due(engine: Engine, scope: Scope, *, now: datetime, options: TickOptions, counts: TickCounts) -> None:
    """Write the outbox rows of every active campaign due at ``now`` (insert-if-absent)."""
    require_tick_permission(scope)
    with session_scope(engine) as session:
        campaigns = crepo.active_campaigns(session)
        facts = crepo.store_facts(session)
    counts.campaigns = len(campaigns)
    if not campaigns or not facts:
        return
    default_tz = _majority_timezone(facts)
    world: dict[Any, Any] = {}
    for campaign in campaigns:
        try:
            _evaluate_campaign(
                engine,
                scope,
                campaign,
                now=now,
                facts=facts,
                default_tz=default_tz,
                world=world,
                options=options,
                counts=counts,
            )
        except Exception:  # noqa: BLE001 - one broken campaign must not stop the others
            log.exception("campaign %s evaluation failed", campaign.id)
            counts.reasons["evaluation_error"] = counts.reasons.get("evaluation_error", 0) + 1


def occurrence(campaign: Any, now_local: datetime) -> str | None:
    """The run occurrence of this tick: the local day for daily triggers, the fire for timed ones
    (None: a timed campaign not due now)."""
    kind = campaign.trigger.get("kind")
    if kind == "recurring":
        lookback = timedelta(days=tolerance(campaign.trigger), hours=int(campaign.trigger.get("lookback_hours", 23)))
        fire = latest_cron_fire(str(campaign.trigger.get("cron", "")), now_local=now_local, lookback=lookback)
        return None if fire is None else "cron@" + fire.isoformat(timespec="minutes")
    if kind == "one_off":
        at = datetime.fromisoformat(str(campaign.trigger.get("at")))
        if not at <= now_local <= at + timedelta(days=tolerance(campaign.trigger)):
            return None
        return "once@" + at.isoformat(timespec="minutes")
    return now_local.date().isoformat()


def _evaluate_campaign(
    engine: Engine,
    scope: Scope,
    campaign: Any,
    *,
    now: datetime,
    facts: dict[int, dict[str, Any]],
    default_tz: str,
    world: dict[Any, Any],
    options: TickOptions,
    counts: TickCounts,
) -> None:
    tz = facts[campaign.store_id]["timezone"] if campaign.store_id in facts else default_tz
    now_local = local_time(now, tz)
    today = now_local.date()
    run = occurrence(campaign, now_local)
    if run is None:
        return
    with session_scope(engine) as session:
        if crepo.run_done(session, campaign_id=campaign.id, occurrence=run):
            return
    counts.evaluated += 1
    frame = audience_world(engine, scope, world, today)
    spec = AudienceSpec.from_dict(campaign.audience)
    members = filter_audience(frame, spec)
    if campaign.store_id is not None:
        members = members.loc[members["home_store_id"].eq(campaign.store_id).fillna(False).to_numpy()]
    kind = campaign.trigger.get("kind")
    inputs = trigger_inputs(engine, scope, world, kind, today=today, now=now)
    fired = evaluate_trigger(campaign.trigger, members, today=today, now_local=now_local, inputs=inputs)
    with session_scope(engine) as session:
        run_id = crepo.ensure_run(session, campaign_id=campaign.id, occurrence=run, at=now)
    if fired.empty:
        with session_scope(engine) as session:
            crepo.finish_run(session, run_id=run_id, audience_size=len(members), at=now)
        return
    keys = [dedupe_key(campaign.id, c, o) for c, o in zip(fired["customer_id"], fired["occurrence"], strict=True)]
    tol = tolerance(campaign.trigger)
    cap = int(campaign.frequency_cap_days or 0)
    with session_scope(engine) as session:
        existing = crepo.existing_dedupe_keys(session, keys=keys)
        fired = fired.loc[[k not in existing for k in keys]].reset_index(drop=True)
        counts.duplicates += len(existing)
        ids = fired["customer_id"].astype(int).tolist()
        window = timedelta(days=cap + tol + 1)
        contacts = crepo.recent_contacts(session, customer_ids=ids, start=now - window, end=now + window)
        store_ids = sorted(int(s) for s in members["home_store_id"].dropna().unique())
        day_start = local_midnight_utc(today, tz)
        booked = crepo.booked_counts(
            session, store_ids=store_ids, start=day_start, end=day_start + timedelta(days=tol + 2)
        )
    if fired.empty:
        with session_scope(engine) as session:
            crepo.finish_run(session, run_id=run_id, audience_size=len(members), at=now)
        return
    contacts_local = pd.DataFrame(
        {
            "customer_id": contacts["customer_id"],
            "day": _local_dates(contacts["at"], contacts["store_id"], facts, default_tz),
        }
    )
    booked_local = _local_dates(booked["scheduled_at"], booked["store_id"], facts, default_tz)
    booked_per_day = {
        (int(s), d): int(n)
        for (s, d), n in pd.DataFrame({"s": booked["store_id"], "d": booked_local}).groupby(["s", "d"]).size().items()
    }
    stores = {
        sid: StoreInfo(
            code=f["code"], name=f["name"], country=f["country"], daily_capacity=int(f["daily_capacity"] or 0)
        )
        for sid, f in facts.items()
    }
    plan = CampaignPlan(
        campaign_id=campaign.id,
        channel=campaign.channel,
        variants=CampaignPlan.variants_from_json(campaign.templates),
        holdout_pct=float(campaign.holdout_pct),
        frequency_cap_days=cap,
        send_hour=int(campaign.send_hour),
        quiet_start=int(campaign.quiet_start),
        quiet_end=int(campaign.quiet_end),
        tolerance_days=tol,
        booking_rate=options.booking_rate,
        booking_base_url=options.booking_base_url,
        unsubscribe_base_url=options.unsubscribe_base_url,
    )
    extra = template_values(world, kind, fired)
    outbox = plan_outbox(
        fired,
        members,
        plan,
        today=today,
        stores=stores,
        contacts=contacts_local,
        booked_per_day=booked_per_day,
        extra_values=extra,
    )
    scheduled_utc = _to_utc(outbox["scheduled_local"], outbox["store_id"], facts, default_tz)
    created = datetime.now(UTC)
    rows = [
        {
            "campaign_id": campaign.id,
            "run_id": run_id,
            "customer_id": int(r.customer_id),
            "store_id": None if pd.isna(r.store_id) else int(r.store_id),
            "channel": r.channel,
            "variant": str(r.variant),
            "locale": r.locale,
            "dedupe_key": r.dedupe_key,
            "tracking_code": r.tracking_code,
            "status": r.status,
            "reason": r.reason,
            "body": r.body,
            "scheduled_for": when,
            "attempts": 0,
            "cost": 0.0,
            "created_at": created,
        }
        for r, when in zip(outbox.itertuples(index=False), scheduled_utc, strict=True)
    ]
    with session_scope(engine) as session:
        inserted = crepo.insert_messages(session, rows=rows)
        crepo.finish_run(session, run_id=run_id, audience_size=len(members), at=now)
    counts.duplicates += len(rows) - inserted
    status = outbox["status"].value_counts()
    counts.queued += int(status.get("queued", 0))
    counts.holdout += int(status.get("holdout", 0))
    counts.suppressed += int(status.get("suppressed", 0))
    add_reasons(counts, outbox["reason"].tolist())


def dedupe_key(campaign_id: int, customer_id: Any, occurrence_key: str) -> str:
    """The outbox dedupe key of one firing (the provider's retry key too): never change its form."""
    return f"c{campaign_id}:u{int(customer_id)}:{occurrence_key}"


def audience_world(engine: Engine, scope: Scope, world: dict[Any, Any], today: date) -> pd.DataFrame:
    """Every customer's audience row as of the store-local ``today`` (``world`` holds what one
    tick loaded, so campaigns evaluated in the same tick share it)."""
    key = ("audience", today)
    if key not in world:
        with session_scope(engine) as session:
            if "bookings" not in world:
                world["bookings"] = repo.load_bookings(session, scope=scope)
                world["customers"] = repo.load_customers(session, scope=scope)
                world["accounts"] = loyalty_repo.load_accounts(session, scope=scope)
                world["pets"] = crepo.load_pets(session, scope=scope)
                world["staff"] = crepo.staff_names(session)
        # The one scoring path (services.scoring): the same numbers as the pages and `score`.
        scores = score_customers_for(
            engine, scope, as_of=today, customers=world["customers"], bookings=world["bookings"]
        )
        world[key] = audience_frame(
            scores,
            world["customers"],
            accounts=world["accounts"],
            pets=world["pets"],
            bookings=world["bookings"],
            staff_names=world["staff"],
        )
    return world[key]


# ---------------------------------------------------------------------------- trigger inputs
def _points_expiring(engine: Engine, scope: Scope, today: date, now: datetime) -> pd.DataFrame:
    with session_scope(engine) as session:
        ledger = loyalty_repo.load_ledger(session, scope=scope)
    lots = loyalty.open_lots(ledger, as_of=pd.Timestamp(today)) if len(ledger) else pd.DataFrame()
    if not len(lots):
        return pd.DataFrame(columns=["customer_id", "expires_on", "points"])
    lots = lots.loc[lots["expires_at"].notna() & lots["points_remaining"].gt(0)]
    return pd.DataFrame(
        {
            "customer_id": lots["customer_id"].astype(np.int64),
            "expires_on": pd.to_datetime(lots["expires_at"]).dt.normalize(),
            "points": lots["points_remaining"].astype(int),
        }
    )


def _tier_events(engine: Engine, scope: Scope, today: date, now: datetime) -> pd.DataFrame:
    with session_scope(engine) as session:
        return crepo.tier_events(session, since=now - timedelta(days=30))


def _active_plans(engine: Engine, scope: Scope, today: date, now: datetime) -> pd.DataFrame:
    with session_scope(engine) as session:
        plans = loyalty_repo.load_plans(session, scope=scope)
    return plans.loc[plans["status"].eq("active"), ["customer_id", "plan_id", "ends_on"]]


#: How each extra fact a trigger kind names in ``TriggerKind.inputs`` is loaded (an attribute of
#: :class:`core.campaigns.triggers.TriggerInputs`); loaded once per tick, shared by its campaigns.
INPUT_LOADERS: dict[str, Callable[[Engine, Scope, date, datetime], pd.DataFrame]] = {
    "points_expiring": _points_expiring,
    "tier_events": _tier_events,
    "plans": _active_plans,
}


def trigger_inputs(
    engine: Engine, scope: Scope, world: dict[Any, Any], kind: str | None, *, today: date, now: datetime
) -> TriggerInputs:
    """The facts the trigger ``kind`` reads (``TRIGGER_REGISTRY[kind].inputs``), each loaded once
    per tick into ``world``."""
    inputs = TriggerInputs()
    spec = TRIGGER_REGISTRY.get(str(kind))
    for name in spec.inputs if spec is not None else ():
        key = ("input", name)
        if key not in world:
            world[key] = INPUT_LOADERS[name](engine, scope, today, now)
        setattr(inputs, name, world[key])
    return inputs


def template_values(world: dict[Any, Any], kind: str | None, fired: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Per fired customer, the template placeholders a kind's facts fill (points expiring: the
    points and the first expiry date)."""
    spec = TRIGGER_REGISTRY.get(str(kind))
    key = ("input", "points_expiring")
    if spec is None or "points_expiring" not in spec.inputs or key not in world:
        return {}
    points = world[key]
    first = (
        points.sort_values("expires_on")
        .groupby("customer_id")
        .agg(points=("points", "sum"), expiry_date=("expires_on", "min"))
    )
    wanted = set(fired["customer_id"].astype(int))
    return {
        int(c): {"points": int(r.points), "expiry_date": pd.Timestamp(r.expiry_date).date().isoformat()}
        for c, r in first.iterrows()
        if int(c) in wanted
    }


# ============================================================================ complaints
def open_complaint_tasks(
    engine: Engine, scope: Scope, *, now: datetime, lookback_days: int, counts: TickCounts
) -> None:
    """Open one recovery task per complaint of the last ``lookback_days`` (idempotent)."""
    require_tick_permission(scope)
    with session_scope(engine) as session:
        facts = crepo.store_facts(session)
        today = {sid: local_day(now, f["timezone"]) for sid, f in facts.items()}
        counts.tasks_opened += crepo.open_complaint_tasks(
            session, since=now - timedelta(days=lookback_days), until=now, today_by_store=today
        )


def create_message_task(engine: Engine, *, message_id: int, due_on: date) -> int:
    """The staff task of a task-channel message (the staff-task channel's callback); its id."""
    with session_scope(engine) as session:
        return crepo.create_message_task(session, message_id=message_id, due_on=due_on)


# ============================================================================ send
def send_due(
    engine: Engine,
    scope: Scope,
    *,
    now: datetime,
    channels: ChannelDirectory,
    options: TickOptions,
    counts: TickCounts,
    wechat_template_id: str | None = None,
    task_due: dict[int, date] | None = None,
    after_send: AfterSend | None = None,
) -> None:
    """Claim due outbox rows in batches and send them through ``channels``."""
    require_tick_permission(scope)
    task_due = task_due if task_due is not None else {}
    with session_scope(engine) as session:
        used = sorted({c.channel for c in crepo.active_campaigns(session)})
    ready = [name for name in used if channels.channel(name) is not None]
    missing = [name for name in used if name not in ready]
    if missing:
        with session_scope(engine) as session:
            counts.not_configured += crepo.mark_not_configured(session, channels=missing)
    sender = _Sender(
        engine,
        now=now,
        channels=channels,
        options=options,
        counts=counts,
        wechat_template_id=wechat_template_id,
        task_due=task_due,
        after_send=after_send,
    )
    for _ in range(options.max_batches):
        with session_scope(engine) as session:
            token, ids = crepo.claim_messages(
                session,
                worker_id=options.worker_id,
                now=now,
                limit=options.batch_size,
                claim_timeout_seconds=int(options.claim_timeout_seconds or 300),
                channels=ready,
            )
        if not ids:
            return
        with session_scope(engine) as session:
            claimed = crepo.load_claimed(session, token=token)
        stopped_campaigns: set[int] = set()
        stopped_channels: set[str] = set()
        for message in claimed:
            if message.campaign_id in stopped_campaigns or message.channel in stopped_channels:
                continue
            verdict = sender.send_one(message, token)
            if verdict == "pause":
                stopped_campaigns.add(message.campaign_id)
            elif verdict == "throttle":
                stopped_channels.add(message.channel)
        with session_scope(engine) as session:
            crepo.release_claims(session, token=token)
        if stopped_channels:
            ready = [name for name in ready if name not in stopped_channels]


@dataclass
class _Sender:
    """Sends one claimed row at a time for :func:`send_due`."""

    engine: Engine
    now: datetime
    channels: ChannelDirectory
    options: TickOptions
    counts: TickCounts
    wechat_template_id: str | None
    task_due: dict[int, date]
    after_send: AfterSend | None

    def _suppress(self, m: crepo.ClaimedMessage, token: str, reason: str) -> str:
        with session_scope(self.engine) as session:
            crepo.mark_suppressed(session, message_id=m.id, token=token, reason=reason)
        self.counts.suppressed += 1
        add_reasons(self.counts, [reason])
        return "ok"

    def send_one(self, m: crepo.ClaimedMessage, token: str) -> str:
        """Send one claimed row; returns ``ok``, ``pause`` (stop this campaign) or ``throttle``."""
        engine, now, counts = self.engine, self.now, self.counts
        tz = zone(m.timezone)
        local_now = local_time(now, tz)
        reason = blocked_reason(m)
        if reason is not None:
            return self._suppress(m, token, reason)
        if in_quiet_hours(local_now, quiet_start=m.quiet_start, quiet_end=m.quiet_end):
            until = defer_quiet_hours(local_now, quiet_start=m.quiet_start, quiet_end=m.quiet_end)
            with session_scope(engine) as session:
                crepo.defer_message(
                    session, message_id=m.id, token=token, until=local_to_utc(until, tz), reason="quiet_hours"
                )
            counts.deferred += 1
            add_reasons(counts, ["quiet_hours"])
            return "ok"
        if m.frequency_cap_days > 0:
            with session_scope(engine) as session:
                last = crepo.last_sent_for(session, customer_id=m.customer_id, exclude_message_id=m.id)
            if last is not None:
                gap = abs((local_now.date() - local_day(aware(last), tz)).days)
                if gap < m.frequency_cap_days:
                    return self._suppress(m, token, "frequency_cap")
        benefit = m.benefit_per_message
        if benefit > 0:
            with session_scope(engine) as session:
                ok = crepo.reserve_benefit_for_message(
                    session, message_id=m.id, token=token, campaign_id=m.campaign_id, amount=benefit
                )
                if not ok:
                    crepo.mark_suppressed(session, message_id=m.id, token=token, reason="budget_exhausted")
                    if crepo.pause_campaign_for(session, campaign_id=m.campaign_id, reason="budget_exhausted"):
                        counts.paused += 1
            if not ok:
                counts.suppressed += 1
                add_reasons(counts, ["budget_exhausted"])
                return "pause"
        channel = self.channels.channel(m.channel)
        if channel is None:  # credentials vanished mid-run
            with session_scope(engine) as session:
                crepo.release_claims(session, token=token, message_ids=[m.id], reason="channel_not_configured")
            return "ok"
        self.task_due[m.id] = local_now.date()
        outbound = OutboundMessage(
            message_id=str(m.id),
            dedupe_key=m.dedupe_key,
            channel=m.channel,
            to=str(m.address.get(m.channel) or ""),
            body=m.body,
            locale=m.locale,
            subject=_subject(m.locale),
            link=booking_link(self.options.booking_base_url, m.store_code, m.tracking_code),
            unsubscribe_url=unsubscribe_link(self.options.unsubscribe_base_url, m.tracking_code),
            template_id=self.wechat_template_id,
            template_data={"first": m.body} if m.channel == "wechat" else {},
        )
        result = channel.send(outbound)
        if self.after_send is not None:
            self.after_send(m, result)
        return self.record(m, token, result)

    def record(self, m: crepo.ClaimedMessage, token: str, result: SendResult) -> str:
        """Mark the provider's answer: sent, retry with backoff, failed, or pause the campaign."""
        now, counts, options = self.now, self.counts, self.options
        with session_scope(self.engine) as session:
            if result.outcome is SendOutcome.DELIVERED:
                crepo.mark_sent(
                    session,
                    message_id=m.id,
                    token=token,
                    at=now,
                    provider_message_id=result.provider_message_id,
                    cost=m.cost_per_message,
                )
                counts.sent += 1
                return "ok"
            crepo.refund_benefit_for_message(
                session, message_id=m.id, campaign_id=m.campaign_id, amount=m.benefit_per_message
            )
            if result.opted_out:
                crepo.record_opt_out(session, customer_id=m.customer_id, channel=m.channel, at=now)
            if result.outcome is SendOutcome.QUOTA_EXHAUSTED:
                crepo.release_claims(session, token=token, message_ids=[m.id], reason="campaign_paused")
                if crepo.pause_campaign_for(
                    session, campaign_id=m.campaign_id, reason=f"quota_exhausted: {result.error or ''}"[:200]
                ):
                    counts.paused += 1
                return "pause"
            if result.outcome is SendOutcome.RETRY:
                attempts = m.attempts + 1
                if attempts >= options.max_attempts:
                    crepo.mark_failed(session, message_id=m.id, token=token, error=result.error, reason="max_attempts")
                    counts.failed += 1
                    return "ok"
                delay = backoff_seconds(
                    attempts,
                    base=options.backoff_base_seconds,
                    cap=options.backoff_max_seconds,
                    retry_after=result.retry_after_seconds,
                )
                crepo.mark_retry(
                    session,
                    message_id=m.id,
                    token=token,
                    next_attempt_at=now + timedelta(seconds=delay),
                    error=result.error,
                )
                counts.retried += 1
                return "throttle" if result.status_code == 429 else "ok"
            crepo.mark_failed(
                session,
                message_id=m.id,
                token=token,
                error=result.error,
                reason="opted_out" if result.opted_out else "provider_error",
            )
            counts.failed += 1
            return "ok"


# ============================================================================ helpers
def aware(value: datetime) -> datetime:
    """``value`` with UTC attached when it has no offset."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _subject(locale: str) -> str:
    return {"zh-TW": "來自店家的提醒", "zh-CN": "来自门店的提醒"}.get(locale, "A note from your salon")


def blocked_reason(m: crepo.ClaimedMessage) -> str | None:
    """Send-time consent check: opted out, consent withdrawn, or no address → the reason."""
    if m.opted_out_at is not None:
        return "opted_out"
    if not m.consent.get(m.channel, False):
        return "no_consent"
    address = m.address.get(m.channel)
    if address is None or not str(address).strip():
        return "no_address"
    return None


def _majority_timezone(facts: dict[int, dict[str, Any]]) -> str:
    zones = pd.Series([f["timezone"] for f in facts.values()])
    return str(zones.mode().iloc[0]) if len(zones) else "Asia/Taipei"


def _local_dates(
    utc_values: pd.Series, store_ids: pd.Series, facts: dict[int, dict[str, Any]], default_tz: str
) -> pd.Series:
    if len(utc_values) == 0:
        return pd.Series([], dtype=object)
    timezones = {sid: f["timezone"] for sid, f in facts.items()}
    filled = store_ids.fillna(-1).astype(int)
    local = to_local(utc_values, filled, {**timezones, -1: default_tz})
    return local.dt.date


def _to_utc(
    local_values: pd.Series, store_ids: pd.Series, facts: dict[int, dict[str, Any]], default_tz: str
) -> list[datetime]:
    timezones = {sid: f["timezone"] for sid, f in facts.items()}
    filled = store_ids.fillna(-1).astype(int)
    utc = to_utc(local_values, filled, {**timezones, -1: default_tz})
    now = datetime.now(UTC)
    return [now if pd.isna(value) else value.to_pydatetime() for value in utc]
