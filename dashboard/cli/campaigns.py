"""``campaigns run-due | list | simulate-bookings``, ``worker`` and ``warm`` (DESIGN.md "Command line").

- ``campaigns run-due [--now DATETIME]``: one worker tick (idempotent); prints JSON counts.
- ``campaigns list --json``: per campaign id, name, status, messages queued / sent / failed /
  suppressed / holdout, conversions and conversion rate.
- ``campaigns simulate-bookings [--now DATETIME]``: **demo tool only** — customers who received
  a message (or sat in the holdout) book with a propensity, higher when sent, with the message's
  tracking code, so the results pages show real conversion and uplift. Never run it on real data.
- ``worker``: the long-running scheduler (APScheduler, every ``REVISIT_WORKER_INTERVAL`` s).
- ``warm``: the worker's page precompute, now (``dashboard.warmup``); prints JSON.

``--now`` takes an ISO date-time; without an offset it is read as UTC.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd


def _parse_now(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        from dashboard.cli.common import CliError

        raise CliError(f"--now must be an ISO date-time such as 2026-05-01T03:00:00+00:00, not {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _worker(args: argparse.Namespace, command: str) -> Any:
    from dashboard.cli.common import command_scope, open_engine
    from dashboard.settings import load_settings
    from dashboard.worker import CampaignWorker, WorkerOptions

    engine = open_engine()
    command_scope(engine, args.actor, command)  # the tick itself acts chain-wide, as the worker
    settings = load_settings()
    base_url = args.booking_base_url or settings.booking_base_url
    options = WorkerOptions(
        booking_base_url=base_url,
        unsubscribe_base_url=base_url,
        max_attempts=settings.worker_max_attempts,
        backoff_base_seconds=settings.worker_backoff_seconds,
    )
    return CampaignWorker(engine, settings=settings, options=options)


def cmd_warm(args: argparse.Namespace) -> int:
    """Precompute every user's first view now (after an import run from a script, say); prints
    one JSON object: results, seconds, and the failures by name."""
    from dashboard.cli.common import command_scope, open_engine
    from dashboard.warmup import warm

    engine = open_engine()
    command_scope(engine, args.actor, "warm")
    started = time.perf_counter()
    report = warm(engine)
    failures = {f"{row['name']}@{row['view']}": row["error"] for row in report if row["error"]}
    print(
        json.dumps(
            {"results": len(report), "seconds": round(time.perf_counter() - started, 1), "failures": failures},
            ensure_ascii=False,
        )
    )
    return 1 if failures else 0


def cmd_run_due(args: argparse.Namespace) -> int:
    worker = _worker(args, "campaigns run-due")
    try:
        counts = worker.tick(_parse_now(args.now))
    finally:
        worker.close()
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def campaign_list(engine: Any, *, scope: Any, as_of: date | None = None) -> list[dict[str, Any]]:
    """The rows ``campaigns list --json`` prints (also used by tests)."""
    from core.campaigns.results import campaign_results
    from db import campaigns as campaign_repo
    from db import repo
    from db.engine import session_scope

    with session_scope(engine) as session:
        campaigns = campaign_repo.list_campaigns(session, scope=scope)
        counts = campaign_repo.message_counts(session, scope=scope).set_index("campaign_id")
        messages = campaign_repo.load_messages(session, scope=scope)
        bookings = repo.load_bookings(session, scope=scope) if len(messages) else pd.DataFrame()
    if as_of is None:
        last = pd.to_datetime(messages["sent_at"]).max() if len(messages) else pd.NaT
        as_of = max(date.today(), last.date()) if pd.notna(last) else date.today()
    results = pd.DataFrame()
    if len(messages) and len(bookings):
        results = campaign_results(messages, bookings, as_of=as_of).set_index("campaign_id")
    rows = []
    for campaign in sorted(campaigns, key=lambda c: c.id):
        c = counts.loc[campaign.id] if campaign.id in counts.index else None
        r = results.loc[campaign.id] if campaign.id in results.index else None
        converted = int(r["converted"]) if r is not None else 0
        sent = int(c["sent"]) if c is not None else 0
        rows.append(
            {
                "id": campaign.id,
                "name": campaign.name,
                "status": campaign.status,
                "queued": int(c["queued"]) if c is not None else 0,
                "sent": sent,
                "failed": int(c["failed"]) if c is not None else 0,
                "suppressed": int(c["suppressed"]) if c is not None else 0,
                "holdout": int(c["holdout"]) if c is not None else 0,
                "conversions": converted,
                "conversion_rate": (converted / sent) if sent else None,
            }
        )
    return rows


def cmd_list(args: argparse.Namespace) -> int:
    from dashboard.cli.common import command_scope, open_engine

    engine = open_engine()
    rows = campaign_list(
        engine,
        scope=command_scope(engine, args.actor, "campaigns list"),
        as_of=date.fromisoformat(args.as_of) if args.as_of else None,
    )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            rate = "-" if row["conversion_rate"] is None else f"{row['conversion_rate']:.1%}"
            print(
                f"{row['id']:>4}  {row['status']:<16} sent {row['sent']:>6}  queued {row['queued']:>6}  "
                f"conv {rate:>6}  {row['name']}"
            )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from dashboard.cli.common import command_scope, open_engine
    from db.engine import session_scope
    from demo.replies import simulate_bookings

    engine = open_engine()
    command_scope(engine, args.actor, "campaigns simulate-bookings")
    with session_scope(engine) as session:
        result = simulate_bookings(session, now=_parse_now(args.now), seed=args.seed)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _worker(args, "worker").run_forever()
    return 0


def register(subparsers: Any) -> None:
    """Add ``campaigns`` and ``worker`` to the CLI."""
    campaigns = subparsers.add_parser("campaigns", help="campaign worker tick, list, demo bookings")
    sub = campaigns.add_subparsers(dest="campaigns_command", required=True)
    run_due = sub.add_parser("run-due", help="one worker tick (idempotent); prints JSON counts")
    run_due.add_argument("--now", default=None, help="ISO date-time of the tick (naive = UTC)")
    run_due.add_argument("--booking-base-url", default=None, help="default: REVISIT_BOOKING_BASE_URL")
    run_due.set_defaults(handler=cmd_run_due)
    listing = sub.add_parser("list", help="campaigns with message counts and conversions")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--as-of", default=None)
    listing.set_defaults(handler=cmd_list)
    simulate = sub.add_parser(
        "simulate-bookings", help="DEMO ONLY: messaged customers book with a propensity (with tracking codes)"
    )
    simulate.add_argument("--now", default=None)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.set_defaults(handler=cmd_simulate)
    worker = subparsers.add_parser("worker", help="the long-running campaign scheduler")
    worker.add_argument("--booking-base-url", default=None, help="default: REVISIT_BOOKING_BASE_URL")
    worker.set_defaults(handler=cmd_worker)
    warm = subparsers.add_parser(
        "warm", help="precompute what each user sees first (the worker does it every few minutes)"
    )
    warm.set_defaults(handler=cmd_warm)
