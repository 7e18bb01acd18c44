"""Campaign persistence: campaigns and approval, the outbox (insert-if-absent, claims, status
transitions), opt-outs, follow-up tasks and the frames results pages read.

Guarantees the worker relies on:

- **Idempotent outbox**: :func:`insert_messages` is ``INSERT … ON CONFLICT DO NOTHING`` on the
  unique dedupe key (PostgreSQL and SQLite dialect inserts), so two ticks — or a tick re-run
  after a crash — never create a second row for the same (campaign, customer, occurrence).
- **Claims**: :func:`claim_messages` takes due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` on
  PostgreSQL (several workers), and an atomic ``UPDATE … WHERE claimed_by IS NULL`` on SQLite
  (one writer). A claim older than the timeout is taken again (RELIABILITY 21).
- **Fenced transitions**: every ``mark_*`` updates only a row still held by the caller's claim
  token and still ``queued``, so a worker that lost its claim cannot overwrite a newer outcome.

Every function is keyword-only after the session; functions called from pages take a
:class:`core.scope.Scope` and filter by it.

Modules: :mod:`~db.campaigns.campaigns` (campaigns, approval, budget, runs),
:mod:`~db.campaigns.outbox` (inserts, claims, status transitions), :mod:`~db.campaigns.optouts`,
:mod:`~db.campaigns.tasks`, :mod:`~db.campaigns.reads` (frames for results pages).
"""

from __future__ import annotations

from db.campaigns.campaigns import (
    active_campaigns,
    approve_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    pause_campaign_for,
    refund_benefit,
    refund_benefit_for_message,
    reserve_benefit,
    reserve_benefit_for_message,
    run_done,
    set_campaign_status,
    submit_for_approval,
    update_campaign,
)
from db.campaigns.common import CONSENT_COLUMNS, EDITABLE_STATUSES, MESSAGE_FRAME_COLUMNS, STOP_WORDS
from db.campaigns.optouts import handle_inbound_reply, opt_out_by_tracking_code, record_opt_out
from db.campaigns.outbox import (
    ClaimedMessage,
    booked_counts,
    claim_messages,
    defer_message,
    ensure_run,
    existing_dedupe_keys,
    finish_run,
    insert_messages,
    last_sent_for,
    load_claimed,
    mark_failed,
    mark_not_configured,
    mark_retry,
    mark_sent,
    mark_suppressed,
    recent_contacts,
    release_claims,
)
from db.campaigns.reads import (
    load_messages,
    load_pets,
    message_counts,
    outbox_version,
    staff_names,
    store_facts,
    tier_events,
)
from db.campaigns.tasks import create_message_task, list_tasks, open_complaint_tasks, update_task_status

__all__ = [
    "CONSENT_COLUMNS",
    "ClaimedMessage",
    "EDITABLE_STATUSES",
    "MESSAGE_FRAME_COLUMNS",
    "STOP_WORDS",
    "active_campaigns",
    "approve_campaign",
    "booked_counts",
    "claim_messages",
    "create_campaign",
    "create_message_task",
    "defer_message",
    "ensure_run",
    "existing_dedupe_keys",
    "finish_run",
    "get_campaign",
    "handle_inbound_reply",
    "insert_messages",
    "last_sent_for",
    "list_campaigns",
    "list_tasks",
    "load_claimed",
    "load_messages",
    "load_pets",
    "mark_failed",
    "mark_not_configured",
    "mark_retry",
    "mark_sent",
    "mark_suppressed",
    "message_counts",
    "open_complaint_tasks",
    "opt_out_by_tracking_code",
    "outbox_version",
    "pause_campaign_for",
    "recent_contacts",
    "record_opt_out",
    "refund_benefit",
    "refund_benefit_for_message",
    "release_claims",
    "reserve_benefit",
    "reserve_benefit_for_message",
    "run_done",
    "set_campaign_status",
    "staff_names",
    "store_facts",
    "submit_for_approval",
    "tier_events",
    "update_campaign",
    "update_task_status",
]
