"""``privacy`` subcommands of the CLI.

- ``python -m dashboard.cli privacy anonymise EXTERNAL_ID [--as USER]``: erase a customer's
  personal data (bookings and KPIs stay); prints one JSON object. Acts as the named user (their
  role needs ``anonymise`` and the customer's store must be theirs) or as the system actor.
  Exit code 2 with a message when the customer is not in scope or the role may not anonymise.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_anonymise(args: argparse.Namespace) -> int:
    """Anonymise one customer by external id and print the result as JSON."""
    from core.scope import PermissionDenied
    from dashboard.cli.common import CliError, command_scope, open_engine
    from db.engine import session_scope
    from db.privacy import CustomerNotFound, anonymise_customer, find_customer_id

    engine = open_engine()
    scope = command_scope(engine, args.actor, "privacy anonymise")
    try:
        with session_scope(engine) as session:
            customer_id = find_customer_id(session, scope=scope, external_id=args.external_id)
            result = anonymise_customer(session, scope=scope, customer_id=customer_id)
    except PermissionDenied as exc:
        raise CliError(str(exc)) from exc
    except CustomerNotFound as exc:
        raise CliError(f"customer {args.external_id!r}: {exc}") from exc
    print(
        json.dumps(
            {
                "customer_id": result.customer_id,
                "external_id": result.external_id,
                "anonymized_at": result.anonymized_at.isoformat(),
                "already": result.already,
            }
        )
    )
    return 0


def register(subparsers: Any) -> None:
    """Add the ``privacy`` command group to the CLI's subparsers."""
    group = subparsers.add_parser("privacy", help="privacy actions: anonymise a customer")
    commands = group.add_subparsers(dest="privacy_command", required=True)
    anonymise = commands.add_parser("anonymise", help="erase a customer's personal data; KPIs unchanged")
    anonymise.add_argument("external_id", metavar="EXTERNAL_ID", help="the customer id as imported")
    # Also accepted after the command; SUPPRESS keeps a global `--as` given before it.
    anonymise.add_argument(
        "--as", dest="actor", default=argparse.SUPPRESS, help="act as this user (their role and store scope apply)"
    )
    anonymise.set_defaults(handler=cmd_anonymise)
