"""``loyalty`` subcommands of the CLI: the daily jobs and the ledger check.

- ``python -m dashboard.cli loyalty recalc [--as-of DATE]``: earn + referral bonuses + expiry +
  tier recalculation + ambassador tags (all idempotent); prints one JSON object of counts.
- ``python -m dashboard.cli loyalty reconcile``: prints the mismatches between stored balances
  and the ledger as JSON; exit code 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any


def _as_of(engine: Any, scope: Any, value: str | None) -> date:
    from db import repo
    from db.engine import session_scope

    if value:
        return date.fromisoformat(value)
    with session_scope(engine) as session:
        last = repo.latest_booking_day(session, scope=scope)
    return min(last, date.today()) if last else date.today()


def cmd_recalc(args: argparse.Namespace) -> int:
    """Run the daily loyalty jobs for one day and print the counts."""
    from dashboard.cli.common import command_scope, open_engine
    from db import loyalty as loyalty_repo

    engine = open_engine()
    scope = command_scope(engine, args.actor, "loyalty recalc")
    day = _as_of(engine, scope, args.as_of)
    counts = loyalty_repo.run_daily(engine, as_of=day, scope=scope)
    print(json.dumps({"as_of": day.isoformat(), **counts}, ensure_ascii=False))
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Print balance/ledger mismatches as JSON; exit 1 when any."""
    from dashboard.cli.common import command_scope, open_engine
    from db import loyalty as loyalty_repo
    from db.engine import session_scope

    engine = open_engine()
    scope = command_scope(engine, args.actor, "loyalty reconcile")
    with session_scope(engine) as session:
        problems = loyalty_repo.reconcile(session, scope=scope)
    rows = [
        {k: (None if v is None or v != v else (int(v) if k != "issue" else v)) for k, v in row.items()}
        for row in problems.astype(object).to_dict(orient="records")
    ]
    print(json.dumps({"mismatches": len(rows), "rows": rows}, ensure_ascii=False, default=str))
    return 1 if rows else 0


def register(subparsers: Any) -> None:
    """Add the ``loyalty`` command group to the CLI's subparsers."""
    group = subparsers.add_parser("loyalty", help="loyalty jobs: points, expiry, tiers, ledger check")
    commands = group.add_subparsers(dest="loyalty_command", required=True)
    recalc = commands.add_parser("recalc", help="earn + expiry + tiers for a day (idempotent); prints JSON counts")
    recalc.add_argument("--as-of", default=None, help="day to run for (default: the last booking day)")
    recalc.set_defaults(handler=cmd_recalc)
    reconcile = commands.add_parser("reconcile", help="print balance/ledger mismatches as JSON; exit 1 if any")
    reconcile.set_defaults(handler=cmd_reconcile)
