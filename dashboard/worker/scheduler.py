"""The campaign worker: the real channels wired into the tick, and the scheduler that runs it.

What one tick does (evaluate → outbox → claim → send → mark, idempotent and crash-safe) is the use
case :func:`services.campaign_tick.run_tick`; this module only builds the channel clients from
settings, and ``python -m dashboard.cli worker`` runs ticks, the nightly jobs and the page warm-up
on an APScheduler ``BlockingScheduler`` in its own process, separate from Streamlit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from core.scope import Scope
from dashboard.channels import (
    Channel,
    ChannelConfigError,
    OutboundMessage,
    StaffTaskChannel,
    build_channel,
)
from dashboard.settings import Settings, load_settings
from services import campaign_tick, loyalty_jobs
from services.campaign_tick import AfterSend, TickOptions
from services.scoring import snapshot_job

log = logging.getLogger("revisit.worker")

#: The worker's knobs are the tick's (kept under this name for the CLI, the bench and the tests).
WorkerOptions = TickOptions


class CampaignWorker:
    """Runs ticks against one database. Channels come from ``Settings.channel_config`` via
    :func:`dashboard.channels.build_channel`, or from ``channels`` (tests)."""

    def __init__(
        self,
        engine: Engine,
        *,
        settings: Settings | None = None,
        options: WorkerOptions | None = None,
        channels: Mapping[str, Channel] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or load_settings()
        self.options = options or WorkerOptions()
        if self.options.claim_timeout_seconds is None:
            self.options.claim_timeout_seconds = int(self.settings.worker_claim_timeout_seconds)
        self._overrides = dict(channels or {})
        self._channels: dict[str, Channel | None] = {}
        self.scope = Scope.system("worker")
        #: Fault injection for tests: called after the provider answered, before the mark.
        self.after_send: AfterSend | None = None
        self._task_due: dict[int, date] = {}
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
        message_id = int(message.message_id)
        return campaign_tick.create_message_task(
            self.engine, message_id=message_id, due_on=self._task_due.get(message_id, date.today())
        )

    def close(self) -> None:
        for channel in self._channels.values():
            if channel is not None:
                channel.close()

    # ------------------------------------------------------------------------- the tick
    def tick(self, now: datetime | None = None) -> dict[str, Any]:
        """One idempotent pass (:func:`services.campaign_tick.run_tick`) through this worker's channels."""
        self._task_due = {}
        return campaign_tick.run_tick(
            self.engine,
            self.scope,
            now=now or datetime.now(UTC),
            channels=self,
            options=self.options,
            wechat_template_id=self.settings.channel_config.get("WECHAT_TEMPLATE_ID") or None,
            task_due=self._task_due,
            after_send=self.after_send,
        )

    def audience_world(self, world: dict[Any, Any], today: date) -> pd.DataFrame:
        """Every customer's audience row as of ``today`` (:func:`services.campaign_tick.audience_world`)."""
        return campaign_tick.audience_world(self.engine, self.scope, world, today)

    # ------------------------------------------------------------------------- nightly
    def nightly(self) -> None:
        """Daily score snapshot and loyalty jobs (earn, expiry, tiers) as of the last visit day."""
        try:
            snapshot = snapshot_job(self.engine)
            log.info("snapshot %s", snapshot)
            log.info(
                "loyalty %s",
                loyalty_jobs.run_nightly(self.engine, self.scope, as_of=date.fromisoformat(snapshot["as_of"])),
            )
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

        scheduler.add_job(
            job,
            "interval",
            seconds=int(self.settings.worker_interval_seconds),
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
            id="campaign-tick",
        )
        # Nightly jobs at 03:05 in Taipei/Shanghai (19:05 UTC); both are idempotent, so a restart
        # also runs them once at start-up to catch up.
        scheduler.add_job(
            self.nightly,
            "cron",
            hour=19,
            minute=5,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
            id="nightly",
        )
        # Page results: every few minutes, so an import or the morning's first as-of day is ready
        # before anyone opens the app; unchanged results are only read back.
        scheduler.add_job(
            self.warm_pages,
            "interval",
            seconds=int(self.settings.warm_interval_seconds),
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC) + timedelta(seconds=30),
            id="warm-pages",
        )
        try:
            scheduler.start()
        finally:
            self.close()
