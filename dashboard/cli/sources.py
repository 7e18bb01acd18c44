"""``python -m dashboard.cli sources …``: register, list and remove shop databases (chain admins).

Only a chain admin (or the system actor) registers a source; its URL is kept encrypted and never
printed again. ``import sql NAME`` then reads it by name.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.scope import PermissionDenied


def register(subparsers: Any) -> None:
    """Add the ``sources`` command (add | list | remove) to the CLI."""
    command = subparsers.add_parser("sources", help="shop databases registered for `import sql` (chain admins)")
    actions = command.add_subparsers(dest="sources_action", required=True)
    add = actions.add_parser("add", help="register or replace a source (the connection is tried once)")
    add.add_argument("name", help="the name users pick, e.g. pos-taipei")
    add.add_argument(
        "--url", required=True, help="URL of a read-only database user, e.g. postgresql://revisit_reader@db.example/pos"
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (kept out of shell history)",
    )
    what = add.add_mutually_exclusive_group(required=True)
    what.add_argument("--table", help="table (or schema.table) to read")
    what.add_argument("--query", help="a SELECT query to read")
    add.add_argument(
        "--watermark",
        metavar="COLUMN",
        default=None,
        help="column that grows with every new or changed row (e.g. updated_at)",
    )
    add.add_argument("--kind", choices=("bookings", "customers"), default="bookings")
    add.add_argument(
        "--allow-table",
        action="append",
        default=[],
        metavar="TABLE",
        help="a table managers may name in a query of their own (table, schema.table or schema.*)",
    )
    add.add_argument(
        "--store",
        action="append",
        default=[],
        metavar="CODE",
        help="a store this source feeds (repeatable; none: every store)",
    )
    add.set_defaults(handler=cmd_sources_add)
    listing = actions.add_parser("list", help="the sources you may read (no credentials)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_sources_list)
    remove = actions.add_parser("remove", help="unregister a source")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_sources_remove)


def _context(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from dashboard.cli.common import command_scope, open_engine
    from dashboard.settings import load_settings
    from dashboard.source_policy import source_policy

    engine = open_engine()
    return engine, command_scope(engine, args.actor, f"sources {args.sources_action}"), source_policy(load_settings())


def cmd_sources_add(args: argparse.Namespace) -> int:
    """Register a source after checking its URL, query and one read."""
    from sqlalchemy.engine import make_url

    from dashboard.cli.common import CliError
    from services.sources import SourceError, register_source

    engine, scope, policy = _context(args)
    url = args.url
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CliError("no password on standard input")
        try:
            url = make_url(url).set(password=password).render_as_string(hide_password=False)
        except Exception as exc:  # noqa: BLE001 - the user's URL
            raise CliError("the URL is not a database URL") from exc
    try:
        info = register_source(
            engine,
            scope,
            name=args.name,
            url=url,
            policy=policy,
            table=args.table,
            query=args.query,
            watermark_column=args.watermark,
            kind=args.kind,
            allowed_tables=args.allow_table,
            store_codes=args.store,
        )
    except PermissionDenied as exc:
        raise CliError(f"{exc} (registering a source needs the manage_sources permission: chain admins)") from exc
    except SourceError as exc:
        raise CliError(exc.message) from exc
    print(json.dumps({"registered": info.name, "url": info.shown_url}, ensure_ascii=False))
    return 0


def cmd_sources_list(args: argparse.Namespace) -> int:
    """List the sources the actor may read."""
    from dashboard.cli.common import CliError
    from db.engine import session_scope
    from db.repo import list_stores
    from services.sources import describe, list_sources

    engine, scope, _ = _context(args)
    try:
        infos = list_sources(engine, scope)
    except PermissionDenied as exc:
        raise CliError(str(exc)) from exc
    with session_scope(engine) as session:
        codes = {s.id: s.code for s in list_stores(session, scope=scope)}
    rows = [describe(info, codes) for info in infos]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['name']}\t{row['url']}\t{row['table'] or 'query'}\t{','.join(row['stores']) or 'all stores'}")
    return 0


def cmd_sources_remove(args: argparse.Namespace) -> int:
    """Unregister a source."""
    from dashboard.cli.common import CliError
    from services.sources import remove_source

    engine, scope, _ = _context(args)
    try:
        removed = remove_source(engine, scope, name=args.name)
    except PermissionDenied as exc:
        raise CliError(f"{exc} (removing a source needs the manage_sources permission: chain admins)") from exc
    if not removed:
        raise CliError(f"no registered source named '{args.name}'")
    print(json.dumps({"removed": args.name}))
    return 0
