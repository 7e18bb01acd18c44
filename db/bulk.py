"""Bulk loading of DataFrames into tables: COPY on PostgreSQL, executemany on SQLite.

No per-row ORM objects: a million bookings go in as one stream. Callers pass a connection
inside their own transaction, so a failure anywhere leaves the database as it was.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Date, DateTime, Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.types import JSON

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _column_kinds(table: Table, columns: Sequence[str]) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for name in columns:
        column_type = table.c[name].type
        impl = getattr(column_type, "impl", column_type)
        if isinstance(impl, JSON) or isinstance(column_type, JSON):
            kinds[name] = "json"
        elif isinstance(impl, DateTime):
            kinds[name] = "datetime"
        elif isinstance(impl, Date):
            kinds[name] = "date"
        elif isinstance(impl, Boolean):
            kinds[name] = "bool"
        else:
            kinds[name] = "other"
    return kinds


def _as_utc(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series)
    if getattr(values.dt, "tz", None) is None:
        return values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC")


def _json_cell(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return json.dumps(value, ensure_ascii=False, default=str)


def _prepare(frame: pd.DataFrame, kinds: dict[str, str], dialect: str) -> pd.DataFrame:
    """Convert each column to the text/number form the driver's bulk path expects."""
    out = pd.DataFrame(index=frame.index)
    for name, kind in kinds.items():
        column = frame[name]
        if kind == "datetime":
            utc = _as_utc(column)
            if dialect == "postgresql":
                out[name] = utc.dt.strftime("%Y-%m-%d %H:%M:%S.%f+00:00").astype(object)
            else:
                out[name] = utc.dt.strftime(SQLITE_DATETIME_FORMAT).astype(object)
            out.loc[utc.isna(), name] = None
        elif kind == "date":
            dates = pd.to_datetime(column)
            out[name] = dates.dt.strftime("%Y-%m-%d").astype(object)
            out.loc[dates.isna(), name] = None
        elif kind == "json":
            out[name] = column.map(_json_cell).astype(object)
        elif kind == "bool":
            if dialect == "postgresql":
                out[name] = column.map(lambda v: None if pd.isna(v) else ("t" if v else "f")).astype(object)
            else:
                out[name] = column.map(lambda v: None if pd.isna(v) else int(bool(v))).astype(object)
        else:
            values = column.astype(object)
            out[name] = values.where(pd.notna(column), None)
    return out


def _with_defaults(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Add the table's Python-side defaults for NOT NULL columns the frame leaves out."""
    additions: dict[str, object] = {}
    for column in table.columns:
        if column.name in frame.columns or column.primary_key or column.default is None:
            continue
        default = column.default.arg  # type: ignore[attr-defined]
        if callable(default):
            # Per-row factories (now, empty list) give the same value for a bulk load.
            try:
                default = default(None)
            except TypeError:
                default = default()
        additions[column.name] = default
    if not additions:
        return frame
    frame = frame.copy()
    for name, value in additions.items():
        frame[name] = [value] * len(frame) if isinstance(value, (list, dict)) else value
    return frame


def bulk_insert(connection: Connection, table: Table, frame: pd.DataFrame, *, chunk_rows: int = 200_000) -> int:
    """Insert every row of ``frame`` into ``table`` and return the number of rows written.

    Parameters
    ----------
    connection
        An open connection inside the caller's transaction.
    table
        The target table; ``frame`` columns must be a subset of its columns.
    frame
        Rows to insert. Datetimes may be naive (taken as UTC) or aware.
    """
    if frame.empty:
        return 0
    frame = _with_defaults(table, frame)
    columns = list(frame.columns)
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    kinds = _column_kinds(table, columns)
    dialect = connection.dialect.name
    quoted = ", ".join(f'"{c}"' for c in columns)
    # Quoted empty fields of nullable columns are NULLs; NOT NULL text columns keep ''.
    nullable = [f'"{c}"' for c in columns if table.c[c].nullable]
    force_null = f", FORCE_NULL ({', '.join(nullable)})" if nullable else ""
    copy_sql = f'COPY "{table.name}" ({quoted}) FROM STDIN WITH (FORMAT csv{force_null})'
    written = 0
    for start in range(0, len(frame), chunk_rows):
        part = _prepare(frame.iloc[start : start + chunk_rows], kinds, dialect)
        if dialect == "postgresql":
            buffer = io.StringIO()
            # Quoting every non-null text keeps '' distinct from NULL (an unquoted empty field).
            part.to_csv(buffer, header=False, index=False, quoting=csv.QUOTE_NONNUMERIC, na_rep="")
            raw = connection.connection.driver_connection
            with raw.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(copy_sql) as copy:
                    copy.write(buffer.getvalue())
        else:
            placeholders = ", ".join("?" for _ in columns)
            rows = list(part.itertuples(index=False, name=None))
            connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})', rows)
        written += len(part)
    return written


def reset_sequences(connection: Connection, tables: Sequence[Table]) -> None:
    """After inserting explicit ids on PostgreSQL, move each id sequence past the largest id."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        if "id" not in table.c:
            continue
        largest = select(func.coalesce(func.max(table.c.id), 0)).scalar_subquery()
        connection.execute(select(func.setval(func.pg_get_serial_sequence(table.name, "id"), largest + 1, False)))
