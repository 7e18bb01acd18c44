"""``python -m dashboard.cli import …``: bookings and member files, and live SQL sources.

Prints ONE JSON object ``{"read", "imported", "duplicates", "rejected", "reject_report", …}``
(DESIGN.md "Command line"; additions: ``updated``, ``status``, ``batch_id``, ``created`` and,
when the first store of an empty database was created for the rows, ``created_store``).

Exit codes:

* 0 — imported (possibly with some rows rejected, or every row a duplicate);
* 1 — the database write failed, or another import or job held the database longer than
  ``--wait`` seconds (nothing committed; the batch is recorded as failed);
* 2 — the file or the arguments cannot be used at all (message on stderr, nothing changed,
  no JSON);
* 3 — every row was rejected: nothing written, the JSON object still printed (``status``
  ``rejected``), the most common reasons listed on stderr grouped with their row counts
  ("33 rows: no store …") and the reject report kept.

Warnings (ambiguous dates, a name or phone column left unmapped) go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.importing import ImportFileError, ImportOptions, grouped_summary, unmapped_lookalikes
from core.scope import PermissionDenied

EXIT_DB_FAILED = 1
EXIT_ALL_REJECTED = 3


def register(subparsers: Any) -> None:
    """Add the ``import`` command (bookings | customers | sql) to the CLI."""
    command = subparsers.add_parser("import", help="import bookings or members from a file or a database")
    kinds = command.add_subparsers(dest="import_kind", required=True)
    for kind, help_text in (
        ("bookings", "import a booking log (CSV, XLSX, XLS)"),
        ("customers", "import a member list (CSV, XLSX, XLS)"),
    ):
        sub = kinds.add_parser(kind, help=help_text)
        sub.add_argument("file", help="CSV/TSV/TXT/XLSX/XLS file")
        _common(sub)
        sub.set_defaults(handler=cmd_import_file, kind=kind)
    sql = kinds.add_parser("sql", help="import from a shop database a chain admin registered (`sources add`)")
    sql.add_argument("source_name", metavar="SOURCE", help="name of a registered source (see `sources list`)")
    what = sql.add_mutually_exclusive_group()
    what.add_argument("--table", help="read this table instead of the registered one (within its allowed tables)")
    what.add_argument("--query", help="read this SELECT instead (within the source's allowed tables)")
    sql.add_argument(
        "--watermark",
        default=None,
        metavar="COLUMN",
        help="column that grows with every new or changed row (default: the registered one); "
        "re-syncs read only rows at or after the last value imported",
    )
    sql.add_argument("--full", action="store_true", help="ignore the saved watermark and read everything")
    sql.add_argument(
        "--kind",
        choices=("bookings", "customers"),
        default=None,
        help="what the rows are (default: the registered kind)",
    )
    _common(sql)
    sql.set_defaults(handler=cmd_import_sql)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="map a canonical field to a column (repeatable); overrides the suggestion",
    )
    parser.add_argument("--store", default=None, metavar="CODE", help="store for rows without a store column/value")
    parser.add_argument("--dry-run", action="store_true", help="check and count only; write nothing to the database")
    parser.add_argument(
        "--country",
        choices=("TW", "CN"),
        default=None,
        help="country for phone numbers without a country code (default: REVISIT_DEFAULT_COUNTRY)",
    )
    order = parser.add_mutually_exclusive_group()
    order.add_argument(
        "--dayfirst",
        dest="dayfirst",
        action="store_const",
        const=True,
        default=None,
        help="read dates like 05/01/2024 as day/month/year",
    )
    order.add_argument(
        "--monthfirst",
        dest="dayfirst",
        action="store_const",
        const=False,
        help="read dates like 05/01/2024 as month/day/year",
    )
    parser.add_argument(
        "--source",
        default=None,
        metavar="NAME",
        help="use the mapping saved for this source, and save the mapping used after a successful import",
    )
    parser.add_argument("--create-stores", action="store_true", help="create stores for unknown store codes")
    parser.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for another import or job that is writing (default 30)",
    )


def _options(args: argparse.Namespace, engine: Any) -> ImportOptions:
    from dashboard.settings import load_settings
    from services.importing import import_options

    return import_options(
        engine,
        country=args.country or load_settings().default_country,
        dayfirst=args.dayfirst,
        default_store=args.store,
    )


def _note_duplicates(engine: Any, scope: Any) -> None:
    """After an import, say how many member pairs look like one person (same phone, LINE id, email)."""
    from services.members import find_duplicates

    if not scope.can("import"):
        return
    pairs = len(find_duplicates(engine, scope))
    if pairs:
        print(
            f"note: {pairs} pairs of members may be the same person (same phone, LINE id or email); "
            "review them with `members duplicates`",
            file=sys.stderr,
        )


def _finish(result: Any, *, engine: Any = None, scope: Any = None) -> int:
    print(json.dumps(result.summary(), ensure_ascii=False))
    if engine is not None and result.status == "done" and result.imported + result.updated:
        _note_duplicates(engine, scope)
    if result.created_store:
        print(
            f"note: created store {result.created_store['code']} ({result.created_store['name']}) for the "
            "rows without a store; rename it in the app",
            file=sys.stderr,
        )
    if result.needs_dayfirst:
        print(
            "note: some dates are ambiguous (e.g. 05/01/2024); re-run with --dayfirst or --monthfirst", file=sys.stderr
        )
    if result.status == "failed":
        print(f"error: the import failed and nothing was written: {result.error}", file=sys.stderr)
        return EXIT_DB_FAILED
    if result.status == "rejected":
        print(f"error: every one of the {result.read} rows was rejected; nothing was written", file=sys.stderr)
        for line in grouped_summary(result.rejects):
            print(f"  {line}", file=sys.stderr)
        if result.reject_report:
            print(f"reject report: {result.reject_report}", file=sys.stderr)
        return EXIT_ALL_REJECTED
    return 0


def _warn_unmapped(headers: list[str], mapping: dict[str, str], kind: str) -> None:
    from services.importing import fields_for

    for field_name, columns in unmapped_lookalikes(headers, mapping, fields_for(kind)).items():
        listed = ", ".join(f"'{c}'" for c in columns)
        print(
            f"warning: no column is mapped to {field_name}, but {listed} looks like one; "
            f"add --map {field_name}=COLUMN to import it",
            file=sys.stderr,
        )


def cmd_import_file(args: argparse.Namespace) -> int:
    """Import a bookings or members file."""
    from dashboard.cli.common import CliError, command_scope, open_engine
    from dashboard.settings import load_settings
    from services.importing import read_file, saved_mapping, write_rows

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{args.file}: no such file")
    engine = open_engine()
    scope = command_scope(engine, args.actor, f"import {args.import_kind}")
    saved = None
    if args.source:
        saved = saved_mapping(engine, source=args.source, kind=args.kind)
    try:
        scope.require("import")
        settings = load_settings()
        prepared = read_file(
            path.read_bytes(),
            path.name,
            kind=args.kind,
            options=_options(args, engine),
            max_bytes=settings.max_upload_mb * 1024 * 1024,
            saved=saved,
            map_args=args.map,
        )
        _warn_unmapped(list(prepared.table.frame.columns), prepared.mapping, args.kind)
        wait = {} if args.wait is None else {"lock_wait": max(args.wait, 0.0)}
        result = write_rows(
            engine,
            scope,
            kind=args.kind,
            prepared=prepared.prepared,
            source=args.source or "",
            filename=path.name,
            create_stores=args.create_stores,
            reject_dir=settings.reject_report_dir,
            country=args.country or settings.default_country,
            dry_run=args.dry_run,
            save_mapping=prepared.mapping,
            **wait,
        )
    except ImportFileError as exc:
        raise CliError(exc.message) from exc
    except PermissionDenied as exc:
        raise CliError(str(exc)) from exc
    return _finish(result, engine=engine, scope=scope)


def cmd_import_sql(args: argparse.Namespace) -> int:
    """Import from a registered source (incremental by watermark), for the actor's stores only."""
    from dashboard.cli.common import CliError, command_scope, open_engine
    from dashboard.settings import load_settings
    from dashboard.source_policy import source_policy
    from services.sources import SourceError, import_source, looks_like_url

    if looks_like_url(args.source_name):
        raise CliError(
            "`import sql` takes the name of a registered source, not a URL: a chain admin registers "
            "the database once with `sources add NAME --url …` (see docs/SQL_SOURCES.md)"
        )
    engine = open_engine()
    scope = command_scope(engine, args.actor, f"import {args.import_kind}")
    settings = load_settings()
    options = ImportOptions(
        default_country=args.country or settings.default_country, dayfirst=args.dayfirst, default_store=args.store
    )
    try:
        synced = import_source(
            engine,
            scope,
            name=args.source_name,
            policy=source_policy(settings),
            options=options,
            reject_dir=settings.reject_report_dir,
            map_args=args.map,
            table=args.table,
            query=args.query,
            watermark_column=args.watermark,
            full=args.full,
            kind=args.kind,
            create_stores=args.create_stores,
            dry_run=args.dry_run,
        )
    except SourceError as exc:
        raise CliError(exc.message) from exc
    except ImportFileError as exc:
        raise CliError(exc.message) from exc
    except PermissionDenied as exc:
        raise CliError(f"{exc} (importing needs the import permission)") from exc
    if synced.result is None:
        print(
            json.dumps(
                {
                    "read": 0,
                    "imported": 0,
                    "duplicates": 0,
                    "rejected": 0,
                    "reject_report": None,
                    "status": "done",
                    "watermark": synced.since,
                },
                ensure_ascii=False,
            )
        )
        return 0
    return _finish(synced.result, engine=engine, scope=scope)
