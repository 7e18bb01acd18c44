"""``python -m dashboard.cli import …``: bookings and member files, and live SQL sources.

Prints ONE JSON object ``{"read", "imported", "duplicates", "rejected", "reject_report", …}``
(DESIGN.md "Command line"). Exit codes: 0 imported (possibly with rejects), 1 the database
write failed (nothing committed; the batch is recorded as failed), 2 the file or the arguments
cannot be used at all (message on stderr, nothing changed).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.importing import ImportFileError, ImportOptions
from core.scope import PermissionDenied


def register(subparsers: Any) -> None:
    """Add the ``import`` command (bookings | customers | sql) to the CLI."""
    command = subparsers.add_parser("import", help="import bookings or members from a file or a database")
    kinds = command.add_subparsers(dest="import_kind", required=True)
    for kind, help_text in (("bookings", "import a booking log (CSV, XLSX, XLS)"),
                            ("customers", "import a member list (CSV, XLSX, XLS)")):
        sub = kinds.add_parser(kind, help=help_text)
        sub.add_argument("file", help="CSV/TSV/TXT/XLSX/XLS file")
        _common(sub)
        sub.set_defaults(handler=cmd_import_file, kind=kind)
    sql = kinds.add_parser("sql", help="import from a shop database a chain admin registered (`sources add`)")
    sql.add_argument("source_name", metavar="SOURCE", help="name of a registered source (see `sources list`)")
    what = sql.add_mutually_exclusive_group()
    what.add_argument("--table", help="read this table instead of the registered one (within its allowed tables)")
    what.add_argument("--query", help="read this SELECT instead (within the source's allowed tables)")
    sql.add_argument("--watermark", default=None, metavar="COLUMN",
                     help="column that grows with every new or changed row (default: the registered one); "
                          "re-syncs read only rows at or after the last value imported")
    sql.add_argument("--full", action="store_true", help="ignore the saved watermark and read everything")
    sql.add_argument("--kind", choices=("bookings", "customers"), default=None,
                     help="what the rows are (default: the registered kind)")
    _common(sql)
    sql.set_defaults(handler=cmd_import_sql)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                        help="map a canonical field to a column (repeatable); overrides the suggestion")
    parser.add_argument("--store", default=None, metavar="CODE", help="store for rows without a store column/value")
    parser.add_argument("--dry-run", action="store_true", help="check and count only; write nothing to the database")
    parser.add_argument("--country", choices=("TW", "CN"), default=None,
                        help="country for phone numbers without a country code (default: REVISIT_DEFAULT_COUNTRY)")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True, default=None,
                       help="read dates like 05/01/2024 as day/month/year")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="read dates like 05/01/2024 as month/day/year")
    parser.add_argument("--source", default=None, metavar="NAME",
                        help="use the mapping saved for this source, and save the mapping used after a successful import")
    parser.add_argument("--create-stores", action="store_true", help="create stores for unknown store codes")


def _options(args: argparse.Namespace, engine: Any) -> ImportOptions:
    from core.config import load_settings
    from db.engine import session_scope
    from db.importer import load_status_vocabulary

    with session_scope(engine) as session:
        vocabulary = load_status_vocabulary(session)
    country = args.country or load_settings().default_country
    return ImportOptions(default_country=country, dayfirst=args.dayfirst, statuses=vocabulary,
                         default_store=args.store)


def _finish(result: Any, *, engine: Any, args: argparse.Namespace, scope: Any, mapping: dict[str, str]) -> int:
    from db.engine import session_scope
    from db.importer import save_mapping

    if result.status == "done" and args.source:
        with session_scope(engine) as session:
            save_mapping(session, scope=scope, source=args.source, kind=args.kind, mapping=mapping)
    print(json.dumps(result.summary(), ensure_ascii=False))
    if result.needs_dayfirst:
        print("note: some dates are ambiguous (e.g. 05/01/2024); re-run with --dayfirst or --monthfirst",
              file=sys.stderr)
    if result.status == "failed":
        print(f"error: the import failed and nothing was written: {result.error}", file=sys.stderr)
        return 1
    return 0


def cmd_import_file(args: argparse.Namespace) -> int:
    """Import a bookings or members file."""
    from dashboard.cli_common import CliError, open_engine, resolve_scope
    from db.engine import session_scope
    from db.importer import import_prepared, read_and_prepare, saved_mapping

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{args.file}: no such file")
    engine = open_engine()
    scope = resolve_scope(engine, args.actor)
    saved = None
    if args.source:
        with session_scope(engine) as session:
            saved = saved_mapping(session, source=args.source, kind=args.kind)
    try:
        scope.require("import")
        prepared = read_and_prepare(path.read_bytes(), path.name, kind=args.kind, options=_options(args, engine),
                                    saved=saved, map_args=args.map)
        result = import_prepared(engine, prepared_file=prepared, scope=scope, source=args.source or "",
                                 filename=path.name, create_stores=args.create_stores,
                                 country=args.country or "TW", dry_run=args.dry_run)
    except ImportFileError as exc:
        raise CliError(exc.message) from exc
    except PermissionDenied as exc:
        raise CliError(str(exc)) from exc
    return _finish(result, engine=engine, args=args, scope=scope, mapping=prepared.mapping)


def cmd_import_sql(args: argparse.Namespace) -> int:
    """Import from a registered source (incremental by watermark), for the actor's stores only."""
    from core.config import load_settings
    from dashboard.cli_common import CliError, open_engine, resolve_scope
    from dashboard.source_policy import source_policy
    from services.sources import SourceError, import_source, looks_like_url

    if looks_like_url(args.source_name):
        raise CliError("`import sql` takes the name of a registered source, not a URL: a chain admin registers "
                       "the database once with `sources add NAME --url …` (see docs/SQL_SOURCES.md)")
    engine = open_engine()
    scope = resolve_scope(engine, args.actor)
    settings = load_settings()
    options = ImportOptions(default_country=args.country or settings.default_country, dayfirst=args.dayfirst,
                            default_store=args.store)
    try:
        synced = import_source(engine, scope, name=args.source_name, policy=source_policy(settings), options=options,
                               map_args=args.map, table=args.table, query=args.query,
                               watermark_column=args.watermark, full=args.full, kind=args.kind,
                               create_stores=args.create_stores, dry_run=args.dry_run)
    except SourceError as exc:
        raise CliError(exc.message) from exc
    except ImportFileError as exc:
        raise CliError(exc.message) from exc
    except PermissionDenied as exc:
        raise CliError(f"{exc} (importing needs the import permission)") from exc
    if synced.result is None:
        print(json.dumps({"read": 0, "imported": 0, "duplicates": 0, "rejected": 0, "reject_report": None,
                          "status": "done", "watermark": synced.since}, ensure_ascii=False))
        return 0
    # The service saved the mapping under the source's name already.
    args.source = None
    return _finish(synced.result, engine=engine, args=args, scope=scope, mapping=synced.mapping)
