"""Read bookings from a shop's own live database, read-only, for incremental re-sync.

The source is a PostgreSQL or MySQL URL (SQLite too, for tests and single-store setups) plus a
table name or a SELECT query. The read happens in a read-only transaction (PostgreSQL and MySQL:
``SET TRANSACTION READ ONLY``; SQLite: ``PRAGMA query_only``) and anything but a single SELECT
is refused before it is sent. Rows come back as text cells, like an uploaded file, so they go
through the same mapping and validation pipeline.
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import re
from typing import Any, Final

import pandas as pd
from sqlalchemy import bindparam, literal_column, select, text
from sqlalchemy import table as sql_table
from sqlalchemy.engine import make_url
from sqlalchemy.types import NullType

from db.engine import make_engine

_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_FORBIDDEN: Final = re.compile(
    r"\b(insert|update|delete|merge|upsert|drop|alter|create|truncate|grant|revoke|copy|into|vacuum|attach|"
    r"detach|pragma|lock|call|exec|execute|load_file|outfile|dumpfile|set)\b",
    re.IGNORECASE,
)
_COMMENTS: Final = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_SUPPORTED: Final = ("postgresql", "postgres", "mysql", "mariadb", "sqlite")


class SqlSourceError(ValueError):
    """The source URL, table or query cannot be used; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise_source_url(url: str) -> str:
    """Pick the installed drivers: psycopg 3 for PostgreSQL, PyMySQL for MySQL/MariaDB."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's URL
        raise SqlSourceError(f"'{url}' is not a database URL (e.g. postgresql://user@host/db)") from exc
    backend = parsed.get_backend_name()
    if backend not in _SUPPORTED:
        raise SqlSourceError(f"unsupported database '{backend}': use a PostgreSQL or MySQL URL")
    if backend in ("mysql", "mariadb") and "+" not in parsed.drivername:
        parsed = parsed.set(drivername=f"{backend}+pymysql")
    if backend in ("postgresql", "postgres") and "+" not in parsed.drivername:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def source_name(url: str, *, table: str | None = None, query: str | None = None) -> str:
    """A stable name for the source (password hidden), keying its saved mapping and watermark."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        shown = "invalid-url"
    what = table if table else "query:" + hashlib.sha256((query or "").encode("utf-8")).hexdigest()[:10]
    return f"{shown}#{what}"[:200]


def check_select(query: str) -> str:
    """Return ``query`` without a trailing semicolon if it is one read-only SELECT; else raise.

    Raises
    ------
    SqlSourceError
        Several statements, not a SELECT/WITH query, or a writing keyword.
    """
    body = query.strip().rstrip(";").strip()
    bare = _COMMENTS.sub(" ", body)
    without_strings = re.sub(r"'(?:[^']|'')*'", "''", bare)
    if not body:
        raise SqlSourceError("the query is empty")
    if ";" in without_strings:
        raise SqlSourceError("only one SELECT statement is allowed (remove the ';')")
    if not re.match(r"^\s*(select|with)\b", without_strings, re.IGNORECASE):
        raise SqlSourceError("only SELECT queries are allowed")
    found = _FORBIDDEN.search(without_strings)
    if found:
        raise SqlSourceError(f"only read-only SELECT queries are allowed ('{found.group(1)}' is not)")
    return body


def _identifier(name: str, what: str) -> str:
    if not _IDENTIFIER.match(name):
        raise SqlSourceError(f"'{name}' is not a valid {what} name")
    return name


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


def read_sql_source(
    *,
    url: str,
    table: str | None = None,
    query: str | None = None,
    watermark_column: str | None = None,
    since: str | None = None,
    limit: int | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Read a table or SELECT query from a live database as text cells.

    Parameters
    ----------
    url
        PostgreSQL, MySQL (or SQLite) SQLAlchemy URL.
    table, query
        Exactly one: a table (``name`` or ``schema.name``) or a single SELECT query.
    watermark_column
        A column that grows with new or changed rows; rows are ordered by it.
    since
        Read only rows whose watermark is at or after this value (rows at the same value are
        read again and skipped by the dedupe keys, so none is missed).
    limit
        Read at most this many rows (a preview).

    Returns
    -------
    (frame, watermark)
        All cells as ``str`` ("" for NULL); ``watermark`` is the largest watermark value read
        (or ``since`` when nothing new was found).

    Raises
    ------
    SqlSourceError
        Bad URL/table/query, or the database refused the read (the message says why).
    """
    if (table is None) == (query is None):
        raise SqlSourceError("give either a table or a query")
    source_url = normalise_source_url(url)
    if table is not None:
        parts = [_identifier(p, "table") for p in table.split(".")]
        if len(parts) > 2:
            raise SqlSourceError(f"'{table}' is not a valid table name")
        source = sql_table(parts[-1], schema=parts[0] if len(parts) == 2 else None).alias("revisit_src")
    else:
        source = text(check_select(query or "")).columns().subquery("revisit_src")
    statement = select(literal_column("*")).select_from(source)
    if watermark_column:
        _identifier(watermark_column, "column")
        mark = literal_column("revisit_src." + _quote(source_url, watermark_column))
        if since is not None:
            # Untyped: the database compares the text with the column's own type.
            statement = statement.where(mark >= bindparam("revisit_since", since, type_=NullType()))
        statement = statement.order_by(mark)
    if limit is not None:
        statement = statement.limit(limit)

    engine = make_engine(source_url)
    try:
        with engine.connect() as connection:
            dialect = connection.dialect.name
            if dialect in ("postgresql", "mysql", "mariadb"):
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            elif dialect == "sqlite":
                connection.exec_driver_sql("PRAGMA query_only = ON")
            try:
                result = connection.execute(statement)
                names = list(result.keys())
                rows = result.all()
            finally:
                connection.rollback()
                if dialect == "sqlite":
                    connection.exec_driver_sql("PRAGMA query_only = OFF")
    except SqlSourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - the source's own error, shown to the user
        message = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise SqlSourceError(f"the database refused the read: {message}") from exc
    finally:
        engine.dispose()

    frame = pd.DataFrame([[_cell(v) for v in row] for row in rows], columns=names, dtype=object)
    if frame.empty:
        frame = pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    watermark = since
    if watermark_column and len(rows):
        if watermark_column not in names:
            raise SqlSourceError(f"the watermark column '{watermark_column}' is not in the result")
        position = names.index(watermark_column)
        values = [row[position] for row in rows if row[position] is not None]
        if values:
            watermark = _cell(max(values))[:64]
    return frame, watermark


def _quote(url: str, name: str) -> str:
    """Quote an identifier for the source's dialect (validated before, never user SQL)."""
    backend = make_url(url).get_backend_name()
    return f"`{name}`" if backend in ("mysql", "mariadb") else f'"{name}"'
