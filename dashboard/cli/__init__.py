"""Command line of Revisit (DESIGN.md "Command line": a stable contract).

``python -m dashboard.cli COMMAND …``; ``DATABASE_URL`` selects the database. Commands act as
the explicit system actor unless ``--as USER`` names a user, whose store scope then applies and
whose role must have the permissions the command needs (``dashboard.cli.common.COMMAND_PERMISSIONS``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date

from dashboard.cli import analytics, campaigns, importing, loyalty, privacy, sources, users
from dashboard.cli.common import CliError, command_scope, open_engine
from db.engine import session_scope

DEMO_PASSWORD = "revisit-demo"
LARGE_DEMO_CUSTOMERS = 200_000
DEMO_REMINDER_PLAYBOOK = "stable_due_7"


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo chain (stores, customers, bookings, users, rules, campaigns)."""
    from db.customer_repo import seed_tag_dictionary
    from demo.accounts import seed_demo_accounts
    from demo.activity import seed_demo_followups, seed_demo_reviews
    from demo.campaigns import playbook_campaign, seed_playbook_campaigns
    from demo.load import database_is_empty, load_world
    from demo.loyalty import seed_loyalty
    from demo.world import iter_world_chunks
    from services.scoring import backfill_snapshots

    engine = open_engine()
    if args.actor:
        command_scope(engine, args.actor, "demo")
    with session_scope(engine) as session:
        empty = database_is_empty(session)
    if not empty:
        if args.if_empty:
            print(json.dumps({"skipped": True, "reason": "database already has data"}))
            return 0
        raise CliError(
            "the database already has data; the demo only builds into an empty database "
            "(use a new DATABASE_URL, or delete data/revisit.db for the default one)"
        )
    started = time.perf_counter()
    end_date = date.fromisoformat(args.end_date) if args.end_date else date.today()
    chunks = iter_world_chunks(n_stores=args.stores, n_customers=args.customers, seed=args.seed, end_date=end_date)
    # The playbook goes in first: the world's half year of "due in 7 days" reminders (with their
    # holdout and a known effect) are messages of its 7-days-before-due campaign.
    counts = {"campaigns": seed_playbook_campaigns(engine)["campaigns"]}
    with session_scope(engine) as session:
        reminder_campaign = playbook_campaign(session, key=DEMO_REMINDER_PLAYBOOK)
    counts.update(load_world(engine, chunks, reminder_campaign=reminder_campaign))
    # Wake-up contacts, their comebacks and worked follow-up tasks, before points and snapshots
    # read the visits: every KPI has data on a fresh demo (demo.activity).
    counts.update(seed_demo_followups(engine, end_date=end_date, seed=args.seed))
    with session_scope(engine) as session:
        seeded = seed_demo_accounts(session, password=DEMO_PASSWORD)
    counts.update(seeded)
    counts["tags"] = seed_tag_dictionary(engine)
    # Points history and six months of snapshots take minutes per 100,000 customers: a large demo
    # leaves them to the worker's first nightly run so the build itself stays within minutes.
    history = args.customers <= LARGE_DEMO_CUSTOMERS or args.full_history
    counts["loyalty"] = seed_loyalty(engine, run_jobs=history)
    if history:
        counts["snapshots"] = backfill_snapshots(engine, months=6)
        counts["model_reviews"] = seed_demo_reviews(engine, seed=args.seed)
    else:
        counts["deferred"] = "points ledger and score snapshots: the worker's nightly run builds them"
    counts["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard.cli", description=__doc__)
    parser.add_argument("--as", dest="actor", default=None, help="act as this user (their store scope applies)")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="build the demo database")
    demo.add_argument("--stores", type=int, default=4)
    demo.add_argument("--customers", type=int, default=5000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--end-date", default=None, help="last day of history (default: today)")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the database has data")
    demo.add_argument(
        "--full-history",
        action="store_true",
        help=f"also build the points ledger and snapshots above {LARGE_DEMO_CUSTOMERS:,} customers",
    )
    demo.set_defaults(handler=cmd_demo)
    for module in (importing, analytics, loyalty, campaigns, privacy, sources, users):
        module.register(commands)
    from dashboard.cli import members  # imported here so its registration is one hunk

    members.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
