"""The campaign worker: evaluate → outbox → claim → send via channels → mark.

One :meth:`CampaignWorker.tick` is idempotent and crash-safe:

1. **Evaluate** every active campaign's audience and trigger for the store-local day and write
   outbox rows *insert-if-absent* on the (campaign, customer, occurrence) dedupe key —
   suppressed (with the reason), holdout, or queued with the rendered body and send time.
2. **Send**: claim due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), re-check opt-out and
   consent (the channel is never called for an opted-out customer), quiet hours in the store's
   time zone, the frequency cap and the benefit budget, then call the channel with the dedupe
   key as the provider's retry key and mark the outcome. A crash after the provider accepted
   but before the mark leaves the claim to time out; the retry reuses the key and the provider
   answers "already accepted" → delivered once (RELIABILITY 17, 21).
3. **Tasks**: complaints open a recovery task (idempotent key per feedback).

``python -m dashboard.cli worker`` runs ticks on an APScheduler ``BlockingScheduler`` in its own
process, separate from Streamlit.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from core import loyalty
from core.campaigns.audience import AudienceSpec, audience_frame, filter_audience
from core.campaigns.outbox import CampaignPlan, StoreInfo, TickCounts, add_reasons, plan_outbox
from core.campaigns.sending_rules import backoff_seconds, defer_quiet_hours, in_quiet_hours
from core.campaigns.templates import booking_link, unsubscribe_link
from core.campaigns.triggers import TriggerInputs, evaluate_trigger, latest_cron_fire, tolerance
from core.scope import Scope
from dashboard.channels import (
    Channel,
    ChannelConfigError,
    OutboundMessage,
    SendOutcome,
    SendResult,
    StaffTaskChannel,
    build_channel,
)
from dashboard.settings import Settings, load_settings
from db import campaign_repo as crepo
from db import loyalty_repo, repo
from db.engine import session_scope
from services.scoring import score_customers_for, snapshot_job

log = logging.getLogger("revisit.worker")
UTC = UTC
DAILY = "daily"


def _default_worker_id() -> str:
    return f"{socket.gethostname()[:24]}:{os.getpid()}"


@dataclass
class WorkerOptions:
    """Knobs of the worker (defaults suit the demo; claim timeout comes from Settings)."""

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


class CampaignWorker:
    """Runs ticks against one database. Channels come from ``Settings.channel_config`` via
    :func:`dashboard.channels.build_channel`, or from ``channels`` (tests)."""

    def __init__(self, engine: Engine, *, settings: Settings | None = None, options: WorkerOptions | None = None,
                 channels: Mapping[str, Channel] | None = None) -> None:
        self.engine = engine
        self.settings = settings or load_settings()
        self.options = options or WorkerOptions()
        if self.options.claim_timeout_seconds is None:
            self.options.claim_timeout_seconds = int(self.settings.worker_claim_timeout_seconds)
        self._overrides = dict(channels or {})
        self._channels: dict[str, Channel | None] = {}
        self.scope = Scope.system("worker")
        #: Fault injection for tests: called after the provider answered, before the mark.
        self.after_send: Callable[[crepo.ClaimedMessage, SendResult], None] | None = None
        self._warmed: tuple[object, ...] | None = None  # fingerprint of the last complete warm-up

    # ------------------------------------------------------------------------- channels
    def channel(self, name: str) -> Channel | None:
        """The channel client, or None when it has no credentials (messages then wait, flagged)."""
        if name in self._overrides:
            return self._overrides[name]
        if name not in self._channels:
            if name == "task":
                self._channels[name] = StaffTaskChannel(self._create_task)
            else:
                try:
                    self._channels[name] = build_channel(name, self.settings.channel_config)
                except ChannelConfigError:
                    self._channels[name] = None
        return self._channels[name]

    def _create_task(self, message: OutboundMessage) -> int:
        with session_scope(self.engine) as session:
            return crepo.create_message_task(session, message_id=int(message.message_id),
                                             due_on=self._task_due.get(int(message.message_id), date.today()))

    def close(self) -> None:
        for channel in self._channels.values():
            if channel is not None:
                channel.close()

    # ------------------------------------------------------------------------- the tick
    def tick(self, now: datetime | None = None) -> dict[str, Any]:
        """One idempotent pass: evaluate triggers into the outbox, open complaint tasks, send."""
        now = _aware(now or datetime.now(UTC))
        counts = TickCounts()
        self._task_due: dict[int, date] = {}
        self.evaluate(now, counts)
        self.open_complaint_tasks(now, counts)
        self.send_due(now, counts)
        return counts.as_dict()

    # ------------------------------------------------------------------------- evaluate
    def evaluate(self, now: datetime, counts: TickCounts) -> None:
        with session_scope(self.engine) as session:
            campaigns = crepo.active_campaigns(session)
            facts = crepo.store_facts(session)
        counts.campaigns = len(campaigns)
        if not campaigns or not facts:
            return
        default_tz = _majority_timezone(facts)
        world: dict[str, Any] = {}
        for campaign in campaigns:
            try:
                self._evaluate_campaign(campaign, now, facts, default_tz, world, counts)
            except Exception:  # noqa: BLE001 - one broken campaign must not stop the others
                log.exception("campaign %s evaluation failed", campaign.id)
                counts.reasons["evaluation_error"] = counts.reasons.get("evaluation_error", 0) + 1

    def _occurrence(self, campaign: Any, now_local: datetime) -> str | None:
        """The run occurrence of this tick: the local day for daily triggers, the fire for timed ones."""
        kind = campaign.trigger.get("kind")
        if kind == "recurring":
            lookback = timedelta(days=tolerance(campaign.trigger),
                                 hours=int(campaign.trigger.get("lookback_hours", 23)))
            fire = latest_cron_fire(str(campaign.trigger.get("cron", "")), now_local=now_local, lookback=lookback)
            return None if fire is None else "cron@" + fire.isoformat(timespec="minutes")
        if kind == "one_off":
            at = datetime.fromisoformat(str(campaign.trigger.get("at")))
            if not at <= now_local <= at + timedelta(days=tolerance(campaign.trigger)):
                return None
            return "once@" + at.isoformat(timespec="minutes")
        return now_local.date().isoformat()

    def _evaluate_campaign(self, campaign: Any, now: datetime, facts: dict[int, dict[str, Any]], default_tz: str,
                           world: dict[str, Any], counts: TickCounts) -> None:
        tz = facts[campaign.store_id]["timezone"] if campaign.store_id in facts else default_tz
        now_local = now.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        today = now_local.date()
        occurrence = self._occurrence(campaign, now_local)
        if occurrence is None:
            return
        with session_scope(self.engine) as session:
            if crepo.run_done(session, campaign_id=campaign.id, occurrence=occurrence):
                return
        counts.evaluated += 1
        frame = self.audience_world(world, today)
        spec = AudienceSpec.from_dict(campaign.audience)
        members = filter_audience(frame, spec)
        if campaign.store_id is not None:
            members = members.loc[members["home_store_id"].eq(campaign.store_id).fillna(False).to_numpy()]
        inputs = self._trigger_inputs(world, campaign.trigger.get("kind"), today, now)
        fired = evaluate_trigger(campaign.trigger, members, today=today, now_local=now_local, inputs=inputs)
        with session_scope(self.engine) as session:
            run_id = crepo.ensure_run(session, campaign_id=campaign.id, occurrence=occurrence, at=now)
        if fired.empty:
            with session_scope(self.engine) as session:
                crepo.finish_run(session, run_id=run_id, audience_size=len(members), at=now)
            return
        keys = [f"c{campaign.id}:u{int(c)}:{o}" for c, o in zip(fired["customer_id"], fired["occurrence"], strict=True)]
        tol = tolerance(campaign.trigger)
        cap = int(campaign.frequency_cap_days or 0)
        with session_scope(self.engine) as session:
            existing = crepo.existing_dedupe_keys(session, keys=keys)
            fired = fired.loc[[k not in existing for k in keys]].reset_index(drop=True)
            counts.duplicates += len(existing)
            ids = fired["customer_id"].astype(int).tolist()
            window = timedelta(days=cap + tol + 1)
            contacts = crepo.recent_contacts(session, customer_ids=ids, start=now - window, end=now + window)
            store_ids = sorted(int(s) for s in members["home_store_id"].dropna().unique())
            day_start = datetime.combine(today, datetime.min.time()).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
            booked = crepo.booked_counts(session, store_ids=store_ids, start=day_start,
                                         end=day_start + timedelta(days=tol + 2))
        if fired.empty:
            with session_scope(self.engine) as session:
                crepo.finish_run(session, run_id=run_id, audience_size=len(members), at=now)
            return
        contacts_local = pd.DataFrame({
            "customer_id": contacts["customer_id"],
            "day": _local_dates(contacts["at"], contacts["store_id"], facts, default_tz)})
        booked_local = _local_dates(booked["scheduled_at"], booked["store_id"], facts, default_tz)
        booked_per_day = {(int(s), d): int(n) for (s, d), n in
                          pd.DataFrame({"s": booked["store_id"], "d": booked_local}).groupby(["s", "d"]).size().items()}
        stores = {sid: StoreInfo(code=f["code"], name=f["name"], country=f["country"],
                                 daily_capacity=int(f["daily_capacity"] or 0)) for sid, f in facts.items()}
        plan = CampaignPlan(
            campaign_id=campaign.id, channel=campaign.channel,
            variants=CampaignPlan.variants_from_json(campaign.templates), holdout_pct=float(campaign.holdout_pct),
            frequency_cap_days=cap, send_hour=int(campaign.send_hour), quiet_start=int(campaign.quiet_start),
            quiet_end=int(campaign.quiet_end), tolerance_days=tol, booking_rate=self.options.booking_rate,
            booking_base_url=self.options.booking_base_url, unsubscribe_base_url=self.options.unsubscribe_base_url)
        extra = self._extra_values(world, campaign.trigger.get("kind"), fired)
        outbox = plan_outbox(fired, members, plan, today=today, stores=stores, contacts=contacts_local,
                             booked_per_day=booked_per_day, extra_values=extra)
        scheduled_utc = _to_utc(outbox["scheduled_local"], outbox["store_id"], facts, default_tz)
        created = datetime.now(UTC)
        rows = [
            {"campaign_id": campaign.id, "run_id": run_id, "customer_id": int(r.customer_id),
             "store_id": None if pd.isna(r.store_id) else int(r.store_id), "channel": r.channel,
             "variant": str(r.variant), "locale": r.locale, "dedupe_key": r.dedupe_key,
             "tracking_code": r.tracking_code, "status": r.status, "reason": r.reason, "body": r.body,
             "scheduled_for": when, "attempts": 0, "cost": 0.0, "created_at": created}
            for r, when in zip(outbox.itertuples(index=False), scheduled_utc, strict=True)
        ]
        with session_scope(self.engine) as session:
            inserted = crepo.insert_messages(session, rows=rows)
            crepo.finish_run(session, run_id=run_id, audience_size=len(members), at=now)
        counts.duplicates += len(rows) - inserted
        status = outbox["status"].value_counts()
        counts.queued += int(status.get("queued", 0))
        counts.holdout += int(status.get("holdout", 0))
        counts.suppressed += int(status.get("suppressed", 0))
        add_reasons(counts, outbox["reason"].tolist())

    def audience_world(self, world: dict[str, Any], today: date) -> pd.DataFrame:
        """Every customer's audience row as of the store-local ``today`` (``world`` holds what one
        tick loaded, so campaigns evaluated in the same tick share it)."""
        key = ("audience", today)
        if key not in world:
            with session_scope(self.engine) as session:
                if "bookings" not in world:
                    world["bookings"] = repo.load_bookings(session, scope=self.scope)
                    world["customers"] = repo.load_customers(session, scope=self.scope)
                    world["accounts"] = loyalty_repo.load_accounts(session, scope=self.scope)
                    world["pets"] = crepo.load_pets(session, scope=self.scope)
                    world["staff"] = crepo.staff_names(session)
            # The one scoring path (services.scoring): the same numbers as the pages and `score`.
            scores = score_customers_for(self.engine, self.scope, as_of=today, customers=world["customers"],
                                         bookings=world["bookings"])
            world[key] = audience_frame(scores, world["customers"], accounts=world["accounts"], pets=world["pets"],
                                        bookings=world["bookings"], staff_names=world["staff"])
        return world[key]

    def _trigger_inputs(self, world: dict[str, Any], kind: str | None, today: date, now: datetime) -> TriggerInputs:
        inputs = TriggerInputs()
        if kind == "points_expiring":
            if "points" not in world:
                with session_scope(self.engine) as session:
                    ledger = loyalty_repo.load_ledger(session, scope=self.scope)
                lots = loyalty.open_lots(ledger, as_of=pd.Timestamp(today)) if len(ledger) else pd.DataFrame()
                if len(lots):
                    lots = lots.loc[lots["expires_at"].notna() & lots["points_remaining"].gt(0)]
                    world["points"] = pd.DataFrame({
                        "customer_id": lots["customer_id"].astype(np.int64),
                        "expires_on": pd.to_datetime(lots["expires_at"]).dt.normalize(),
                        "points": lots["points_remaining"].astype(int)})
                else:
                    world["points"] = pd.DataFrame(columns=["customer_id", "expires_on", "points"])
            inputs.points_expiring = world["points"]
        elif kind == "tier_change":
            if "tiers" not in world:
                with session_scope(self.engine) as session:
                    world["tiers"] = crepo.tier_events(session, since=now - timedelta(days=30))
            inputs.tier_events = world["tiers"]
        elif kind == "plan_renewal":
            if "plans" not in world:
                with session_scope(self.engine) as session:
                    plans = loyalty_repo.load_plans(session, scope=self.scope)
                world["plans"] = plans.loc[plans["status"].eq("active"), ["customer_id", "plan_id", "ends_on"]]
            inputs.plans = world["plans"]
        return inputs

    def _extra_values(self, world: dict[str, Any], kind: str | None, fired: pd.DataFrame) -> dict[int, dict[str, Any]]:
        if kind != "points_expiring" or "points" not in world:
            return {}
        points = world["points"]
        first = points.sort_values("expires_on").groupby("customer_id").agg(
            points=("points", "sum"), expiry_date=("expires_on", "min"))
        wanted = set(fired["customer_id"].astype(int))
        return {int(c): {"points": int(r.points), "expiry_date": pd.Timestamp(r.expiry_date).date().isoformat()}
                for c, r in first.iterrows() if int(c) in wanted}

    # ------------------------------------------------------------------------- complaints
    def open_complaint_tasks(self, now: datetime, counts: TickCounts) -> None:
        with session_scope(self.engine) as session:
            facts = crepo.store_facts(session)
            today = {sid: now.astimezone(ZoneInfo(f["timezone"])).date() for sid, f in facts.items()}
            counts.tasks_opened += crepo.open_complaint_tasks(
                session, since=now - timedelta(days=self.options.complaint_lookback_days), until=now,
                today_by_store=today)

    # ------------------------------------------------------------------------- send
    def send_due(self, now: datetime, counts: TickCounts) -> None:
        with session_scope(self.engine) as session:
            used = sorted({c.channel for c in crepo.active_campaigns(session)})
        ready = [name for name in used if self.channel(name) is not None]
        missing = [name for name in used if name not in ready]
        if missing:
            with session_scope(self.engine) as session:
                counts.not_configured += crepo.mark_not_configured(session, channels=missing)
        for _ in range(self.options.max_batches):
            with session_scope(self.engine) as session:
                token, ids = crepo.claim_messages(
                    session, worker_id=self.options.worker_id, now=now, limit=self.options.batch_size,
                    claim_timeout_seconds=int(self.options.claim_timeout_seconds or 300), channels=ready)
            if not ids:
                return
            with session_scope(self.engine) as session:
                claimed = crepo.load_claimed(session, token=token)
            stopped_campaigns: set[int] = set()
            stopped_channels: set[str] = set()
            for message in claimed:
                if message.campaign_id in stopped_campaigns or message.channel in stopped_channels:
                    continue
                verdict = self._send_one(message, token, now, counts)
                if verdict == "pause":
                    stopped_campaigns.add(message.campaign_id)
                elif verdict == "throttle":
                    stopped_channels.add(message.channel)
            with session_scope(self.engine) as session:
                crepo.release_claims(session, token=token)
            if stopped_channels:
                ready = [name for name in ready if name not in stopped_channels]

    def _send_one(self, m: crepo.ClaimedMessage, token: str, now: datetime, counts: TickCounts) -> str:
        """Send one claimed row; returns ``ok``, ``pause`` (stop this campaign) or ``throttle``."""
        tz = ZoneInfo(m.timezone)
        local_now = now.astimezone(tz).replace(tzinfo=None)
        reason = _blocked(m)
        if reason is not None:
            with session_scope(self.engine) as session:
                crepo.mark_suppressed(session, message_id=m.id, token=token, reason=reason)
            counts.suppressed += 1
            add_reasons(counts, [reason])
            return "ok"
        if in_quiet_hours(local_now, quiet_start=m.quiet_start, quiet_end=m.quiet_end):
            until = defer_quiet_hours(local_now, quiet_start=m.quiet_start, quiet_end=m.quiet_end)
            with session_scope(self.engine) as session:
                crepo.defer_message(session, message_id=m.id, token=token,
                                    until=until.replace(tzinfo=tz).astimezone(UTC), reason="quiet_hours")
            counts.deferred += 1
            add_reasons(counts, ["quiet_hours"])
            return "ok"
        if m.frequency_cap_days > 0:
            with session_scope(self.engine) as session:
                last = crepo.last_sent_for(session, customer_id=m.customer_id, exclude_message_id=m.id)
            if last is not None:
                gap = abs((local_now.date() - _aware(last).astimezone(tz).date()).days)
                if gap < m.frequency_cap_days:
                    with session_scope(self.engine) as session:
                        crepo.mark_suppressed(session, message_id=m.id, token=token, reason="frequency_cap")
                    counts.suppressed += 1
                    add_reasons(counts, ["frequency_cap"])
                    return "ok"
        benefit = m.benefit_per_message
        if benefit > 0:
            with session_scope(self.engine) as session:
                ok = crepo.reserve_benefit_for_message(session, message_id=m.id, token=token,
                                                       campaign_id=m.campaign_id, amount=benefit)
                if not ok:
                    crepo.mark_suppressed(session, message_id=m.id, token=token, reason="budget_exhausted")
                    if crepo.pause_campaign_for(session, campaign_id=m.campaign_id, reason="budget_exhausted"):
                        counts.paused += 1
            if not ok:
                counts.suppressed += 1
                add_reasons(counts, ["budget_exhausted"])
                return "pause"
        channel = self.channel(m.channel)
        if channel is None:  # credentials vanished mid-run
            with session_scope(self.engine) as session:
                crepo.release_claims(session, token=token, message_ids=[m.id], reason="channel_not_configured")
            return "ok"
        self._task_due[m.id] = local_now.date()
        outbound = OutboundMessage(
            message_id=str(m.id), dedupe_key=m.dedupe_key, channel=m.channel, to=str(m.address.get(m.channel) or ""),
            body=m.body, locale=m.locale, subject=_subject(m.locale),
            link=booking_link(self.options.booking_base_url, m.store_code, m.tracking_code),
            unsubscribe_url=unsubscribe_link(self.options.unsubscribe_base_url, m.tracking_code),
            template_id=self.settings.channel_config.get("WECHAT_TEMPLATE_ID") or None,
            template_data={"first": m.body} if m.channel == "wechat" else {},
        )
        result = channel.send(outbound)
        if self.after_send is not None:
            self.after_send(m, result)
        return self._record(m, token, result, now, counts)

    def _record(self, m: crepo.ClaimedMessage, token: str, result: SendResult, now: datetime,
                counts: TickCounts) -> str:
        with session_scope(self.engine) as session:
            if result.outcome is SendOutcome.DELIVERED:
                crepo.mark_sent(session, message_id=m.id, token=token, at=now,
                                provider_message_id=result.provider_message_id, cost=m.cost_per_message)
                counts.sent += 1
                return "ok"
            crepo.refund_benefit_for_message(session, message_id=m.id, campaign_id=m.campaign_id,
                                             amount=m.benefit_per_message)
            if result.opted_out:
                crepo.record_opt_out(session, customer_id=m.customer_id, channel=m.channel, at=now)
            if result.outcome is SendOutcome.QUOTA_EXHAUSTED:
                crepo.release_claims(session, token=token, message_ids=[m.id], reason="campaign_paused")
                if crepo.pause_campaign_for(session, campaign_id=m.campaign_id,
                                            reason=f"quota_exhausted: {result.error or ''}"[:200]):
                    counts.paused += 1
                return "pause"
            if result.outcome is SendOutcome.RETRY:
                attempts = m.attempts + 1
                if attempts >= self.options.max_attempts:
                    crepo.mark_failed(session, message_id=m.id, token=token, error=result.error,
                                      reason="max_attempts")
                    counts.failed += 1
                    return "ok"
                delay = backoff_seconds(attempts, base=self.options.backoff_base_seconds,
                                        cap=self.options.backoff_max_seconds, retry_after=result.retry_after_seconds)
                crepo.mark_retry(session, message_id=m.id, token=token, next_attempt_at=now + timedelta(seconds=delay),
                                 error=result.error)
                counts.retried += 1
                return "throttle" if result.status_code == 429 else "ok"
            crepo.mark_failed(session, message_id=m.id, token=token, error=result.error,
                              reason="opted_out" if result.opted_out else "provider_error")
            counts.failed += 1
            return "ok"

    def nightly(self) -> None:
        """Daily score snapshot and loyalty jobs (earn, expiry, tiers) as of the last visit day."""
        from db.loyalty_repo import run_daily

        try:
            snapshot = snapshot_job(self.engine)
            log.info("snapshot %s", snapshot)
            log.info("loyalty %s", run_daily(self.engine, as_of=date.fromisoformat(snapshot["as_of"])))
        except Exception:  # noqa: BLE001 - keep the scheduler alive; tomorrow's run retries
            log.exception("nightly jobs failed")

    def warm_pages(self) -> list[dict[str, Any]]:
        """Precompute what each user sees first (``dashboard.warmup``). Skipped while bookings,
        loyalty, outbox and the users' views are as they were at the last complete run; otherwise
        only the stale results are recomputed (the rest are read back)."""
        from dashboard.warmup import default_views, fingerprint, warm

        try:
            views = default_views(self.engine)
            before = fingerprint(self.engine, views)
            if before == self._warmed:
                return []
            report = warm(self.engine, views)
        except Exception:  # noqa: BLE001 - keep the scheduler alive; pages compute on demand meanwhile
            log.exception("warming page results failed")
            return []
        if not any(row["error"] for row in report):
            self._warmed = before  # data that arrived during the run changes the next fingerprint
        slow = [row for row in report if row["seconds"] >= 1 or row["error"]]
        log.info("warmed %d page results (%s)", len(report), slow)
        return report

    # ------------------------------------------------------------------------- forever
    def run_forever(self) -> None:
        """Tick every ``Settings.worker_interval_seconds`` on a BlockingScheduler (one at a time)."""
        from apscheduler.schedulers.blocking import BlockingScheduler

        scheduler = BlockingScheduler(timezone="UTC")

        def job() -> None:
            try:
                log.info("tick %s", self.tick())
            except Exception:  # noqa: BLE001 - keep the scheduler alive; the next tick retries
                log.exception("tick failed")

        scheduler.add_job(job, "interval", seconds=int(self.settings.worker_interval_seconds), max_instances=1,
                          coalesce=True, next_run_time=datetime.now(UTC), id="campaign-tick")
        # Nightly jobs at 03:05 in Taipei/Shanghai (19:05 UTC); both are idempotent, so a restart
        # also runs them once at start-up to catch up.
        scheduler.add_job(self.nightly, "cron", hour=19, minute=5, max_instances=1, coalesce=True,
                          next_run_time=datetime.now(UTC), id="nightly")
        # Page results: every few minutes, so an import or the morning's first as-of day is ready
        # before anyone opens the app; unchanged results are only read back.
        scheduler.add_job(self.warm_pages, "interval", seconds=int(self.settings.warm_interval_seconds),
                          max_instances=1, coalesce=True, next_run_time=datetime.now(UTC) + timedelta(seconds=30),
                          id="warm-pages")
        try:
            scheduler.start()
        finally:
            self.close()


# ============================================================================ helpers
def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _subject(locale: str) -> str:
    return {"zh-TW": "來自店家的提醒", "zh-CN": "来自门店的提醒"}.get(locale, "A note from your salon")


def _blocked(m: crepo.ClaimedMessage) -> str | None:
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


def _local_dates(utc_values: pd.Series, store_ids: pd.Series, facts: dict[int, dict[str, Any]],
                 default_tz: str) -> pd.Series:
    if len(utc_values) == 0:
        return pd.Series([], dtype=object)
    timezones = {sid: f["timezone"] for sid, f in facts.items()}
    filled = store_ids.fillna(-1).astype(int)
    local = repo.to_local(utc_values, filled, {**timezones, -1: default_tz})
    return local.dt.date


def _to_utc(local_values: pd.Series, store_ids: pd.Series, facts: dict[int, dict[str, Any]],
            default_tz: str) -> list[datetime]:
    timezones = {sid: f["timezone"] for sid, f in facts.items()}
    filled = store_ids.fillna(-1).astype(int)
    utc = repo.to_utc(local_values, filled, {**timezones, -1: default_tz})
    now = datetime.now(UTC)
    return [now if pd.isna(value) else value.to_pydatetime() for value in utc]
