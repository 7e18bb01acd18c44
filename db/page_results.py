"""Computed page figures kept in the database (:class:`db.models.PageResult`).

A page's figures for one set of stores are written once per data version — by the worker ahead
of time, or by the first page run that computes them — so a server started this morning reads a
few kilobytes instead of recomputing from every booking. Reads are scoped: the stores of the key
are the requested ones narrowed to the caller's, so a manager can only ever read figures computed
from their own stores' data.

Payloads are encoded by :func:`encode` — JSON for the structure, Arrow IPC for frames — and never
pickled, so a row in this table cannot run code when read. Only the value types listed in
:func:`encode` are accepted; anything else raises :class:`UnstorableResult` and the caller keeps
the value in memory only.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import delete, select
from sqlmodel import Session

from core.kpi import KpiValue
from core.loyalty.plans import PlanChurn
from core.models.forecast import ForecastEvaluation, ForecastResult
from core.overview import Headline
from core.scope import Scope
from db.dialect import dialect_insert
from db.models import PageResult

FORMAT = b"RVPR1"
#: What :func:`load_result` returns when nothing usable is kept (a kept result may itself be None).
NOT_KEPT: Any = object()
#: Dataclasses a payload may hold, by name (decoding builds only these).
_DATACLASSES: dict[str, type] = {}


class UnstorableResult(TypeError):
    """A value :func:`encode` cannot store (kept in memory only)."""


def storable(cls: type) -> type:
    """Register a (frozen) dataclass so page results holding it can be stored and read back."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    _DATACLASSES[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


for _kept_type in (Headline, KpiValue, PlanChurn, ForecastEvaluation, ForecastResult):
    storable(_kept_type)


# ------------------------------------------------------------------------------------ codec
def _frame_bytes(frame: pd.DataFrame) -> tuple[bytes, list[str]]:
    """Arrow IPC of a frame; object columns holding dicts/lists travel as JSON text."""
    frame = frame.copy(deep=False)
    json_columns: list[str] = []
    for position, column in enumerate(frame.columns):
        values = frame.iloc[:, position]
        if values.dtype == object:
            sample = values.dropna()
            if len(sample) and sample.map(lambda v: isinstance(v, dict | list | tuple)).any():
                frame.isetitem(
                    position, values.map(lambda v: None if v is None else json.dumps(_tree(v), ensure_ascii=False))
                )
                json_columns.append(str(column))
    try:
        table = pa.Table.from_pandas(frame, preserve_index=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise UnstorableResult(f"frame not storable: {error}") from error
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue(), json_columns


def _frame_from(data: bytes, json_columns: list[str]) -> pd.DataFrame:
    table = pa.ipc.open_stream(data).read_all()
    frame = table.to_pandas()
    for position, column in enumerate(frame.columns):
        if str(column) in json_columns:
            frame.isetitem(
                position,
                frame.iloc[:, position]
                .astype(object)
                .map(lambda v: _untree(json.loads(v)) if isinstance(v, str) else None),
            )
    return frame


def _tree(value: Any, blobs: list[bytes] | None = None) -> Any:
    """A JSON-able tree of ``value`` (frames go to ``blobs`` and are referenced by position)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return {"$f": repr(number)} if number != number or number in (float("inf"), float("-inf")) else number
    if isinstance(value, pd.Timestamp | datetime):
        return {"$ts": pd.Timestamp(value).isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, list):
        return [_tree(item, blobs) for item in value]
    if isinstance(value, tuple):
        return {"$t": [_tree(item, blobs) for item in value]}
    if isinstance(value, frozenset | set):
        return {"$s": [_tree(item, blobs) for item in sorted(value, key=repr)]}
    if isinstance(value, dict):
        return {"$m": [[_tree(k, blobs), _tree(v, blobs)] for k, v in value.items()]}
    if isinstance(value, pd.DataFrame | pd.Series):
        if blobs is None:
            raise UnstorableResult("a frame inside a table cell")
        is_series = isinstance(value, pd.Series)
        frame = value.to_frame(name="__series__" if value.name is None else value.name) if is_series else value
        data, json_columns = _frame_bytes(frame)
        blobs.append(data)
        return {
            "$df": len(blobs) - 1,
            "json": json_columns,
            "series": is_series,
            "name": None if not is_series or value.name is None else _tree(value.name),
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = f"{type(value).__module__}.{type(value).__qualname__}"
        if name not in _DATACLASSES:
            raise UnstorableResult(f"{name} is not registered with db.page_results.storable")
        return {
            "$dc": name,
            "fields": {f.name: _tree(getattr(value, f.name), blobs) for f in dataclasses.fields(value)},
        }
    raise UnstorableResult(f"cannot store a {type(value).__name__}")


def _untree(node: Any, blobs: list[bytes] | None = None) -> Any:
    if isinstance(node, list):
        return [_untree(item, blobs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$f" in node:
        return float(node["$f"])
    if "$ts" in node:
        return pd.Timestamp(node["$ts"])
    if "$d" in node:
        return date.fromisoformat(node["$d"])
    if "$t" in node:
        return tuple(_untree(item, blobs) for item in node["$t"])
    if "$s" in node:
        return frozenset(_untree(item, blobs) for item in node["$s"])
    if "$m" in node:
        return {_untree(k, blobs): _untree(v, blobs) for k, v in node["$m"]}
    if "$df" in node:
        if blobs is None:
            raise ValueError("frame reference outside a payload")
        frame = _frame_from(blobs[node["$df"]], node["json"])
        if node["series"]:
            series = frame.iloc[:, 0]
            return series.rename(_untree(node["name"]))
        return frame
    if "$dc" in node:
        cls = _DATACLASSES.get(node["$dc"])
        if cls is None:
            raise ValueError(f"unknown stored type {node['$dc']}")
        return cls(**{k: _untree(v, blobs) for k, v in node["fields"].items()})
    raise ValueError(f"unknown stored node {sorted(node)}")


def encode(value: Any) -> bytes:
    """Bytes of a page result: None, bools, numbers, strings, dates, timestamps, lists, tuples,
    sets, dicts, DataFrames, Series and :func:`storable` dataclasses, nested freely."""
    blobs: list[bytes] = []
    header = json.dumps({"value": _tree(value, blobs), "blobs": [len(b) for b in blobs]}, ensure_ascii=False).encode()
    return b"".join([FORMAT, struct.pack(">I", len(header)), header, *blobs])


def decode(payload: bytes) -> Any:
    """The value :func:`encode` stored."""
    if not payload.startswith(FORMAT):
        raise ValueError("not a page result payload")
    offset = len(FORMAT)
    (length,) = struct.unpack(">I", payload[offset : offset + 4])
    offset += 4
    header = json.loads(payload[offset : offset + length])
    offset += length
    blobs = []
    for size in header["blobs"]:
        blobs.append(payload[offset : offset + size])
        offset += size
    return _untree(header["value"], blobs)


# ------------------------------------------------------------------------------- repository
def store_key(scope: Scope, store_ids: Iterable[int] | None) -> str | None:
    """The stores a result of ``store_ids`` covers for this caller ("1,2,5"); None when the
    caller may see none of them (nothing to read or keep)."""
    narrowed = scope.narrow(None if store_ids is None else tuple(store_ids))
    if narrowed is None:
        raise ValueError("page results need explicit stores")
    if not narrowed:
        return None
    return ",".join(str(s) for s in sorted(narrowed))


def params_key(params: dict[str, Any]) -> str:
    """A stable text of a result's parameters (as-of day, period…)."""
    return "|".join(f"{k}={v.isoformat() if isinstance(v, date) else v}" for k, v in sorted(params.items()))


def load_result(
    session: Session, *, scope: Scope, name: str, store_ids: Iterable[int], params: dict[str, Any], version: str
) -> Any:
    """The stored result for these stores (narrowed to the caller's) and parameters if it was
    computed at ``version``; :data:`NOT_KEPT` otherwise (or when it cannot be read back)."""
    stores = store_key(scope, store_ids)
    if stores is None:
        return NOT_KEPT
    row = session.execute(
        select(PageResult.payload, PageResult.version).where(
            PageResult.name == name, PageResult.stores == stores, PageResult.params == params_key(params)
        )
    ).first()
    if row is None or row.version != version:
        return NOT_KEPT
    try:
        return decode(row.payload)
    except (ValueError, KeyError, pa.ArrowException):
        return NOT_KEPT  # written by another release of the codec: recompute


def save_result(
    session: Session,
    *,
    scope: Scope,
    name: str,
    store_ids: Iterable[int],
    params: dict[str, Any],
    version: str,
    value: Any,
    compute_seconds: float = 0.0,
) -> bool:
    """Keep ``value`` for these stores and parameters at ``version`` (replacing an older one).

    Returns False (and keeps nothing) when the value holds a type :func:`encode` refuses."""
    stores = store_key(scope, store_ids)
    if stores is None:
        return False
    try:
        payload = encode(value)
    except UnstorableResult:
        return False
    row = {
        "name": name,
        "stores": stores,
        "params": params_key(params),
        "version": version,
        "payload": payload,
        "computed_at": datetime.now(UTC),
        "compute_seconds": float(compute_seconds),
    }
    statement = dialect_insert(session, PageResult).values(**row)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["name", "stores", "params"],
            set_={key: statement.excluded[key] for key in ("version", "payload", "computed_at", "compute_seconds")},
        )
    )
    return True


def result_versions(session: Session, *, names: Iterable[str] | None = None) -> pd.DataFrame:
    """What is kept: name, stores, params, version, computed_at, compute_seconds, size in bytes."""
    from sqlalchemy import func

    statement = select(
        PageResult.name,
        PageResult.stores,
        PageResult.params,
        PageResult.version,
        PageResult.computed_at,
        PageResult.compute_seconds,
        func.length(PageResult.payload).label("bytes"),
    )
    if names is not None:
        statement = statement.where(PageResult.name.in_(list(names)))
    rows = session.execute(statement.order_by(PageResult.name, PageResult.stores, PageResult.params)).all()
    return pd.DataFrame(
        rows, columns=["name", "stores", "params", "version", "computed_at", "compute_seconds", "bytes"]
    )


def prune_results(session: Session, *, keep_days: int = 7, now: datetime | None = None) -> int:
    """Drop results computed more than ``keep_days`` ago (past as-of days nobody opened since)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    return session.execute(delete(PageResult).where(PageResult.computed_at < cutoff)).rowcount or 0
