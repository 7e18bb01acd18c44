"""Read bookings from a shop's own database: read-only, bounded, one statement.

Only a registered source reaches this module (services/sources.py decides who may use which
source and which URLs are acceptable). Here the read itself is made safe in depth:

- the table name or query was checked by :func:`core.sources.check_select` (a parser, not regular
  expressions) before it is wrapped as a subquery;
- PostgreSQL sessions open with ``default_transaction_read_only``, a statement timeout and a lock
  timeout, and the statement always carries a bound parameter (the row cap), so psycopg sends it
  through the extended protocol where a second statement is a syntax error;
- MySQL sessions are read-only with a statement time limit; PyMySQL refuses several statements;
- SQLite sources are opened with a ``mode=ro`` URI (a missing file is never created), with
  ``query_only`` on and an authorizer that allows reading only;
- rows and bytes are capped while they stream.

The real guarantee is still the read-only database user (docs/SQL_SOURCES.md).
"""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import pandas as pd
from sqlalchemy import bindparam, event, inspect, literal_column, select, text
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.types import Integer, NullType

from core.sources import CheckedQuery, SourceQueryError, check_identifier, check_table_name
from db.dialect import dialect_name, is_sqlite
from db.engine import make_source_engine

SUPPORTED_BACKENDS: Final = ("postgresql", "mysql", "mariadb", "sqlite")
#: Tables whose presence together marks a Revisit database (never a source).
REVISIT_MARKER_TABLES: Final = ("app_user", "alembic_version")
FETCH_BATCH: Final = 2_000
# SQLite authorizer actions a read needs; everything else (writes, ATTACH, PRAGMA, …) is denied.
_SQLITE_READ_ACTIONS: Final = frozenset(
    {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_FUNCTION,
        sqlite3.SQLITE_RECURSIVE,
    }
)
_SQLITE_DENIED_FUNCTIONS: Final = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})


class SqlSourceError(ValueError):
    """The source cannot be read; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on one read: rows, bytes of cell text and seconds per statement."""

    max_rows: int = 500_000
    max_bytes: int = 512 * 1024 * 1024
    timeout_seconds: int = 60


def parse_source_url(url: str) -> URL:
    """The URL with the installed driver chosen (psycopg 3, PyMySQL); raise on anything else."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's URL
        raise SqlSourceError("this is not a database URL (e.g. postgresql://reader@db.example/shop)") from exc
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in SUPPORTED_BACKENDS:
        raise SqlSourceError(f"unsupported database '{backend}': use a PostgreSQL, MySQL or SQLite source")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend in ("mysql", "mariadb"):
        return parsed.set(drivername=f"{backend}+pymysql")
    return parsed.set(drivername="sqlite")


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
    if action not in _SQLITE_READ_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _SQLITE_DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def sqlite_source_path(url: URL) -> Path:
    """The file of a SQLite source URL (absolute); raise for memory databases and odd URLs."""
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise SqlSourceError("a SQLite source must be a database file given by its full path")
    return Path(database)


def open_read_only(url: URL, limits: ReadLimits) -> Engine:
    """An engine whose every connection is read-only and time-limited (no pool kept)."""
    backend = url.get_backend_name()
    timeout_ms = int(limits.timeout_seconds * 1000)
    if backend == "postgresql":
        options = (
            f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms} "
            f"-c lock_timeout={min(timeout_ms, 10_000)} -c idle_in_transaction_session_timeout={timeout_ms}"
        )
        return make_source_engine(url, connect_args={"options": options, "connect_timeout": 10})
    if backend in ("mysql", "mariadb"):
        engine = make_source_engine(
            url,
            connect_args={
                "connect_timeout": 10,
                "read_timeout": limits.timeout_seconds + 5,
                "init_command": "SET SESSION TRANSACTION READ ONLY",
            },
        )

        @event.listens_for(engine, "connect")
        def _mysql_limits(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            for statement in (
                f"SET SESSION max_execution_time = {timeout_ms}",  # MySQL
                f"SET SESSION max_statement_time = {limits.timeout_seconds}",
            ):  # MariaDB
                try:
                    cursor.execute(statement)
                except Exception:  # noqa: BLE001 - each server knows only one of the two names
                    pass
            cursor.close()

        return engine
    path = sqlite_source_path(url)
    if not path.is_file():
        raise SqlSourceError(f"the SQLite source file {path.name} does not exist")
    uri = f"file:{quote(str(path))}?mode=ro"
    engine = make_source_engine(
        url, creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=limits.timeout_seconds)
    )

    @event.listens_for(engine, "connect")
    def _sqlite_read_only(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA query_only = ON")
        dbapi_connection.set_authorizer(_sqlite_authorizer)

    return engine


@contextmanager
def read_only_connection(url: URL, limits: ReadLimits) -> Iterator[Connection]:
    """A connection inside a read-only transaction that is always rolled back."""
    engine = open_read_only(url, limits)
    try:
        with engine.connect() as connection:
            if dialect_name(connection) in ("postgresql", "mysql", "mariadb"):
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield connection
            finally:
                connection.rollback()
    finally:
        engine.dispose()


def is_revisit_database(connection: Connection) -> bool:
    """Whether the source looks like a Revisit database (its users, its migrations)."""
    if is_sqlite(connection):
        # PRAGMA (what the inspector uses on SQLite) is denied by the read-only authorizer.
        names = set(connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
        return all(name in names for name in REVISIT_MARKER_TABLES)
    inspector = inspect(connection)
    return all(inspector.has_table(name) for name in REVISIT_MARKER_TABLES)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _quote(backend: str, name: str) -> str:
    """Quote a checked identifier for the source's dialect (never user SQL)."""
    return f"`{name}`" if backend in ("mysql", "mariadb") else f'"{name}"'


def build_read_statement(
    *,
    backend: str,
    table: str | None,
    query: CheckedQuery | None,
    watermark_column: str | None,
    since: str | None,
    row_cap: int,
) -> Any:
    """``SELECT * FROM (<table or query>) AS revisit_src [WHERE mark >= :since] [ORDER BY mark] LIMIT :cap``.

    The cap is always a bound parameter, so the statement is never sent as a simple query.
    """
    if (table is None) == (query is None):
        raise SqlSourceError("give either a table or a query")
    if table is not None:
        schema, name = check_table_name(table)
        source = sql_table(name, schema=schema).alias("revisit_src")
    else:
        assert query is not None
        source = text(query.sql).columns().subquery("revisit_src")
    statement = select(literal_column("*")).select_from(source)
    if watermark_column:
        check_identifier(watermark_column, what="column")
        mark = literal_column("revisit_src." + _quote(backend, watermark_column))
        if since is not None:
            # Untyped: the database compares the text with the column's own type.
            statement = statement.where(mark >= bindparam("revisit_since", since, type_=NullType()))
        statement = statement.order_by(mark)
    return statement.limit(bindparam("revisit_row_cap", row_cap, type_=Integer(), literal_execute=False))


def read_rows(
    *,
    url: URL,
    table: str | None = None,
    query: CheckedQuery | None = None,
    watermark_column: str | None = None,
    since: str | None = None,
    limits: ReadLimits = ReadLimits(),
    preview_rows: int | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Read a table or a checked query from a source as text cells.

    Parameters
    ----------
    url
        A URL from :func:`parse_source_url` (already accepted by the source policy).
    table, query
        Exactly one: a table (``name`` or ``schema.name``) or a query checked by
        :func:`core.sources.check_select`.
    watermark_column, since
        Read rows whose watermark is at or after ``since``, ordered by it (rows at the same value
        are read again and skipped by the dedupe keys, so none is missed).
    limits
        Row, byte and time caps; a read that would pass the row or byte cap is refused whole.
    preview_rows
        Read at most this many rows and do not enforce the row cap (a preview).

    Returns
    -------
    (frame, watermark)
        All cells as ``str`` ("" for NULL); ``watermark`` is the largest watermark read (or
        ``since`` when nothing new came).

    Raises
    ------
    SqlSourceError
        The source refused, timed out, is a Revisit database, or the read passed a cap.
    SourceQueryError
        A bad table or column name.
    """
    backend = url.get_backend_name()
    row_cap = preview_rows if preview_rows is not None else limits.max_rows + 1
    statement = build_read_statement(
        backend=backend, table=table, query=query, watermark_column=watermark_column, since=since, row_cap=row_cap
    )
    names: list[str] = []
    cells: list[list[str]] = []
    marks: list[Any] = []
    try:
        with read_only_connection(url, limits) as connection:
            if is_revisit_database(connection):
                raise SqlSourceError("this database is a Revisit database, not a shop's booking system")
            result = connection.execution_options(stream_results=True).execute(statement)
            names = list(result.keys())
            mark_at = names.index(watermark_column) if watermark_column in names else None
            if watermark_column and mark_at is None:
                raise SqlSourceError(f"the watermark column '{watermark_column}' is not in the result")
            size = 0
            for batch in iter(lambda: result.fetchmany(FETCH_BATCH), []):
                for row in batch:
                    converted = [_cell(v) for v in row]
                    size += sum(len(c) for c in converted)
                    cells.append(converted)
                    if mark_at is not None and row[mark_at] is not None:
                        marks.append(row[mark_at])
                if preview_rows is None and len(cells) > limits.max_rows:
                    raise SqlSourceError(
                        f"the source returned more than {limits.max_rows:,} rows: narrow the query or read "
                        "in steps with a watermark column"
                    )
                if size > limits.max_bytes:
                    raise SqlSourceError(
                        f"the source returned more than {limits.max_bytes // (1024 * 1024):,} MB of text: "
                        "narrow the query"
                    )
            result.close()
    except (SqlSourceError, SourceQueryError):
        raise
    except Exception as exc:  # noqa: BLE001 - the source's own error, shown without a traceback
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        message = detail[0] if detail else type(exc).__name__
        raise SqlSourceError(f"the database refused the read: {message}") from exc
    frame = (
        pd.DataFrame(cells, columns=names, dtype=object)
        if cells
        else pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    )
    watermark = since
    if marks:
        watermark = _cell(max(marks))[:64]
    return frame, watermark
