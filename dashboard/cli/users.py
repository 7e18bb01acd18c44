"""``users`` subcommands: the first chain admin of a new installation, and password resets.

- ``python -m dashboard.cli users add USERNAME --role ROLE [--store CODE ...] --password-stdin``
- ``python -m dashboard.cli users set-password USERNAME --password-stdin``

Passwords are read from standard input (never from the command line, where `ps` and shell
history would keep them). Acts as the system actor unless ``--as`` names a chain admin.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _password(args: argparse.Namespace) -> str:
    from dashboard.cli.common import CliError

    if not args.password_stdin:
        raise CliError("pass the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("no password on standard input")
    return password


def cmd_add(args: argparse.Namespace) -> int:
    """Create a user with a bcrypt-hashed password and store assignments."""
    from sqlalchemy import select

    from core.scope import PermissionDenied
    from dashboard.cli.common import CliError, command_scope, open_engine
    from db.engine import session_scope
    from db.models import Store
    from db.users import create_user

    engine = open_engine()
    scope = command_scope(engine, args.actor, "users add")
    password = _password(args)
    try:
        with session_scope(engine) as session:
            codes = {store.code: store.id for store in session.scalars(select(Store))}
            unknown = [code for code in args.store if code not in codes]
            if unknown:
                raise CliError(f"unknown store code(s): {', '.join(unknown)}")
            user = create_user(
                session,
                scope=scope,
                username=args.username,
                password=password,
                role=args.role,
                store_ids=[codes[c] for c in args.store],
                display_name=args.name or args.username,
            )
            result = {"username": user.username, "role": user.role, "stores": args.store}
    except (PermissionDenied, ValueError) as exc:
        raise CliError(str(exc)) from exc
    print(json.dumps(result, ensure_ascii=False))
    return 0


def cmd_set_password(args: argparse.Namespace) -> int:
    """Reset a password; every session of that user ends."""
    from core.scope import PermissionDenied
    from dashboard.cli.common import CliError, command_scope, open_engine
    from db.engine import session_scope
    from db.users import set_password

    engine = open_engine()
    scope = command_scope(engine, args.actor, "users set-password")
    password = _password(args)
    try:
        with session_scope(engine) as session:
            set_password(session, scope=scope, username=args.username, password=password)
    except (PermissionDenied, ValueError) as exc:
        raise CliError(str(exc)) from exc
    print(json.dumps({"username": args.username, "password_reset": True}))
    return 0


def register(subparsers: Any) -> None:
    """Add the ``users`` command group."""
    group = subparsers.add_parser("users", help="add users, reset passwords")
    commands = group.add_subparsers(dest="users_command", required=True)
    add = commands.add_parser("add", help="add a user (e.g. the first chain admin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("chain_admin", "store_manager", "marketer", "front_desk"))
    add.add_argument("--store", action="append", default=[], metavar="CODE", help="assign a store (repeatable)")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(handler=cmd_add)
    reset = commands.add_parser("set-password", help="reset a password (ends the user's sessions)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    reset.set_defaults(handler=cmd_set_password)
