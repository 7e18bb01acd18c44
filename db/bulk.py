"""Bulk loading of DataFrames into tables: COPY on PostgreSQL, executemany on SQLite.

No per-row ORM objects: a million bookings go in as one stream. Callers pass a connection
inside their own transaction, so a failure anywhere leaves the database as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Boolean, Date, DateTime, Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.types import JSON

from db.dialect import POSTGRESQL, dialect_name, is_postgres, is_sqlite

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_FIRST_US = np.datetime64("0001-01-01T00:00:00", "us")
_PAST_LAST_US = np.datetime64("9999-12-31T23:59:59.999999", "us")


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


def _iso_utc_codes(utc: pd.Series, suffix: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes into distinct texts ``YYYY-MM-DD HH:MM:SS.ffffff`` + ``suffix`` (``None`` for NaT).

    Same text as ``strftime(SQLITE_DATETIME_FORMAT)``: NumPy renders the ISO form in C, the
    ``T`` separator is swapped for a space in the fixed-width buffer. Bookings share few
    distinct instants (days × opening hours), so each one is formatted once.
    """
    naive = utc.dt.tz_convert("UTC").dt.tz_localize(None) if utc.dt.tz is not None else utc
    codes, distinct = pd.factorize(naive.to_numpy(dtype="datetime64[us]").view("int64"))
    values = distinct.view("datetime64[us]")
    missing = np.isnat(values)
    filled = np.where(missing, np.datetime64(0, "us"), values)
    if len(filled) and (filled.min() < _FIRST_US or filled.max() > _PAST_LAST_US):
        # Years outside 1-9999 do not fit the fixed-width text: keep the slow, exact path.
        formatted = pd.Series(values).dt.strftime(SQLITE_DATETIME_FORMAT + suffix).to_numpy(dtype=object)
    else:
        text = np.datetime_as_string(filled, unit="us").astype("U26")
        chars = text.view("U1").reshape(len(text), 26).copy()
        chars[:, 10] = " "
        formatted = chars.view("U26").ravel()
        if suffix:
            formatted = np.char.add(formatted, suffix)
        formatted = formatted.astype(object)
    formatted[missing] = None
    return codes, formatted


def _iso_utc(utc: pd.Series, suffix: str) -> np.ndarray:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` + ``suffix`` per value (``None`` for NaT)."""
    codes, formatted = _iso_utc_codes(utc, suffix)
    return formatted[codes] if len(codes) else formatted[:0]


def _json_column(column: pd.Series) -> np.ndarray:
    """JSON text per cell, encoding each distinct object once (rows often share one dict)."""
    values = column.to_numpy(dtype=object)
    if not len(values):
        return values
    ids = np.fromiter(map(id, values), dtype=np.int64, count=len(values))
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    encoded = np.empty(len(first), dtype=object)
    encoded[:] = [_json_cell(values[i]) for i in first]
    return encoded[inverse.ravel()]


def _bool_column(column: pd.Series, dialect: str) -> np.ndarray:
    true, false = ("t", "f") if dialect == POSTGRESQL else (1, 0)
    if column.dtype == bool:
        return np.where(column.to_numpy(), true, false).astype(object)
    return column.map(lambda v: None if pd.isna(v) else (true if v else false)).to_numpy(dtype=object)


def _prepare(frame: pd.DataFrame, kinds: dict[str, str], dialect: str) -> pd.DataFrame:
    """Convert each column to the text/number form the driver's bulk path expects."""
    out: dict[str, np.ndarray] = {}
    for name, kind in kinds.items():
        column = frame[name]
        if kind == "datetime":
            out[name] = _iso_utc(_as_utc(column), "+00:00" if dialect == POSTGRESQL else "")
        elif kind == "date":
            dates = pd.to_datetime(column)
            if getattr(dates.dt, "tz", None) is not None:
                dates = dates.dt.tz_localize(None)
            days = dates.to_numpy(dtype="datetime64[D]")
            missing = np.isnat(days)
            filled = np.where(missing, np.datetime64(0, "D"), days)
            if len(filled) and (filled.min() < _FIRST_US or filled.max() > _PAST_LAST_US):
                text = dates.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)  # years outside 1-9999
            else:
                text = np.datetime_as_string(filled, unit="D").astype("U10")
            text = text.astype(object)
            text[missing] = None
            out[name] = text
        elif kind == "json":
            out[name] = _json_column(column)
        elif kind == "bool":
            out[name] = _bool_column(column, dialect)
        else:
            values = column.to_numpy(dtype=object)
            missing = pd.isna(column).to_numpy()
            if missing.any():
                values = values.copy()
                values[missing] = None
            out[name] = values
    return pd.DataFrame(out, index=frame.index, dtype=object) if out else pd.DataFrame(index=frame.index)


_COPY_BLOCK = 8 << 20  # bytes per copy.write call
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_cell(value: object) -> str:
    """One value in COPY text format (``\\N`` for NULL, backslash escapes in text)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).translate(_COPY_ESCAPES)


def _copy_text(part: pd.DataFrame, columns: Sequence[str], nullable: set[str]) -> str:
    """Rows of a prepared chunk as COPY text (tab-separated, one line per row).

    Each column is rendered once per distinct value, then the rows are joined in C. An empty
    string in a nullable column is written as NULL, as the CSV COPY with FORCE_NULL did.
    """
    rendered = []
    for name in columns:
        values = part[name].to_numpy(dtype=object)
        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError:  # unhashable cells (lists): render each one
            codes, uniques = np.arange(len(values)), values
        text = np.empty(len(uniques) + 1, dtype=object)
        text[:-1] = [_copy_cell(v) for v in uniques]
        text[-1] = "\\N"
        if name in nullable:
            text[text == ""] = "\\N"
        rendered.append((text[codes] if len(codes) else text[:0]).tolist())
    return "\n".join(map("\t".join, zip(*rendered, strict=True))) + "\n"


_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def _arrow_text(column: pd.Series, nullable: bool) -> pa.Array:
    """A text-like column as an Arrow dictionary array: each distinct value converted once.

    Missing cells become NULL, and so does ``""`` in a nullable column (as in the text format).
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int32)
        uniques = np.asarray(column.cat.categories, dtype=object)
    else:
        factorized, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=True)
        codes = factorized.astype(np.int32)
        uniques = np.asarray(uniques, dtype=object)
    dictionary = pa.array(uniques, from_pandas=True)
    missing = codes < 0
    if nullable and pa.types.is_string(dictionary.type):
        empty = np.flatnonzero(np.asarray(pc.equal(dictionary, "").fill_null(False)))
        if len(empty):
            missing |= np.isin(codes, empty)
    indices = pa.array(codes, mask=missing if missing.any() else None)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _arrow_column(column: pd.Series, kind: str, nullable: bool) -> pa.Array:
    """One column in the Arrow type whose CSV text PostgreSQL reads back as the same value."""
    if kind == "datetime":
        # Arrow's own timestamp-to-text is slow (~2 µs a cell): format distinct instants here.
        codes, formatted = _iso_utc_codes(_as_utc(column), "+00:00")
        return pa.DictionaryArray.from_arrays(
            pa.array(codes.astype(np.int32)), pa.array(formatted, type=pa.string(), from_pandas=True)
        )
    if kind == "date":
        dates = pd.to_datetime(column)
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
        return pa.array(dates.to_numpy(dtype="datetime64[D]"), type=pa.date32(), from_pandas=True)
    if kind == "json":
        return pa.array(_json_column(column), type=pa.string(), from_pandas=True)
    if kind == "bool":
        if column.dtype == bool:
            return pa.array(column.to_numpy(), type=pa.bool_())
        return pa.Array.from_pandas(column.astype("boolean"))
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return pa.Array.from_pandas(column)
    return _arrow_text(column, nullable)


def _copy_csv(part: pd.DataFrame, kinds: dict[str, str], nullable: set[str]) -> pa.Buffer | None:
    """Rows of a chunk as COPY CSV, built and written by Arrow in C++ (``None``: use the text path).

    Text is always quoted, so ``""`` is an empty string and an unquoted empty field is NULL —
    the same distinction the text format makes with ``\\N``.
    """
    try:
        arrays = [_arrow_column(part[name], kind, name in nullable) for name, kind in kinds.items()]
        table = pa.Table.from_arrays(arrays, names=list(kinds))
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, _CSV_OPTIONS)
    except (pa.ArrowException, TypeError, ValueError):
        return None  # mixed or unusual cell types: the per-value text path handles anything
    return sink.getvalue()


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


def begin_explicitly(connection: Connection) -> None:
    """Open the SQLite transaction now, so DDL that follows (DROP INDEX) rolls back with it.

    pysqlite begins its transaction only before INSERT/UPDATE/DELETE: a DROP INDEX issued first
    would commit on its own and survive a rollback. Other databases need nothing.
    """
    if is_sqlite(connection) and not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN")


def bulk_insert(
    connection: Connection,
    table: Table,
    frame: pd.DataFrame,
    *,
    chunk_rows: int = 200_000,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Insert every row of ``frame`` into ``table`` and return the number of rows written.

    Parameters
    ----------
    connection
        An open connection inside the caller's transaction.
    table
        The target table; ``frame`` columns must be a subset of its columns.
    frame
        Rows to insert. Datetimes may be naive (taken as UTC) or aware.
    chunk_rows
        Rows formatted at a time (bounds the memory of the formatted text).
    on_chunk
        Called with the number of rows handed to the database so far, after each chunk.
    """
    if frame.empty:
        return 0
    frame = _with_defaults(table, frame)
    columns = list(frame.columns)
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    kinds = _column_kinds(table, columns)
    dialect = dialect_name(connection)
    quoted = ", ".join(f'"{c}"' for c in columns)
    if dialect == POSTGRESQL:
        return _copy_frame(connection, table, frame, kinds, quoted, chunk_rows, on_chunk)
    written = 0
    placeholders = ", ".join("?" for _ in columns)
    for start in range(0, len(frame), chunk_rows):
        part = _prepare(frame.iloc[start : start + chunk_rows], kinds, dialect)
        rows = list(zip(*(part[c].to_numpy(dtype=object).tolist() for c in columns), strict=True))
        connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})', rows)
        written += len(part)
        if on_chunk:
            on_chunk(written)
    return written


def _copy_frame(
    connection: Connection,
    table: Table,
    frame: pd.DataFrame,
    kinds: dict[str, str],
    quoted: str,
    chunk_rows: int,
    on_chunk: Callable[[int], None] | None,
) -> int:
    """Stream ``frame`` to PostgreSQL in one COPY, formatting chunk N+1 while chunk N is sent.

    A queued writer hands each block to a psycopg worker thread (socket I/O without the GIL), so
    the server parses and stores one chunk on its own core while this thread builds the next
    one. Chunks go out as Arrow-written CSV; a chunk Arrow cannot represent (mixed cell types)
    goes out in COPY's text format, through a second COPY in the same transaction.
    """
    columns = list(kinds)
    nullable = {c for c in columns if table.c[c].nullable}
    raw = connection.connection.driver_connection
    written = 0
    pending_text: list[str] = []
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        csv_sql = f'COPY "{table.name}" ({quoted}) FROM STDIN WITH (FORMAT csv)'
        with cursor.copy(csv_sql, writer=QueuedLibpqWriter(cursor)) as copy:
            for start in range(0, len(frame), chunk_rows):
                part = frame.iloc[start : start + chunk_rows]
                payload = _copy_csv(part, kinds, nullable)
                if payload is None:
                    prepared = _prepare(part, kinds, "postgresql")
                    pending_text.append(_copy_text(prepared, columns, nullable))
                else:
                    view = memoryview(payload)
                    for begin in range(0, len(view), _COPY_BLOCK):
                        copy.write(view[begin : begin + _COPY_BLOCK])
                written += len(part)
                if on_chunk:
                    on_chunk(written)
        if pending_text:
            # COPY's text format: ``\\N`` is NULL, so '' stays an empty string.
            with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                for payload_text in pending_text:
                    for begin in range(0, len(payload_text), _COPY_BLOCK):
                        copy.write(payload_text[begin : begin + _COPY_BLOCK])
    return written


def reset_sequences(connection: Connection, tables: Sequence[Table]) -> None:
    """After inserting explicit ids on PostgreSQL, move each id sequence past the largest id."""
    if not is_postgres(connection):
        return
    for table in tables:
        if "id" not in table.c:
            continue
        largest = select(func.coalesce(func.max(table.c.id), 0)).scalar_subquery()
        connection.execute(select(func.setval(func.pg_get_serial_sequence(table.name, "id"), largest + 1, False)))
