"""Resolution of prepared rows against the database: bulk lookups, length checks, services, staff, customers and pets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from core.scope import Scope
from db.bulk import bulk_insert
from db.dialect import is_postgres
from db.importer.batch import _Run
from db.importer.limits import _COLUMN_LIMITS, IN_CHUNK, PG_ANY_CHUNK, WRITE_CHUNK
from db.importer.result import InjectedFailure, Progress
from db.models import (
    Customer,
    Pet,
    Service,
    Staff,
)


def _in_chunks(connection: Connection, columns: Sequence[Any], key: Any, values: Sequence[Any]) -> pd.DataFrame:
    """Rows of ``columns`` whose ``key`` is in ``values`` (looked up ``IN_CHUNK`` at a time)."""
    frames = []
    names = [c.key for c in columns]
    unique = list(dict.fromkeys(v for v in values if v is not None))
    postgres = is_postgres(connection)
    # PostgreSQL takes the keys as one array parameter (= ANY): no giant IN lists to render.
    size = PG_ANY_CHUNK if postgres else IN_CHUNK
    for start in range(0, len(unique), size):
        part = unique[start : start + size]
        if postgres:
            condition = key == any_(bindparam("keys", value=[_plain(v) for v in part], type_=ARRAY(key.type)))
        else:
            condition = key.in_(part)
        rows = connection.execute(select(*columns).where(condition)).all()
        if rows:
            frames.append(_frame(rows, names))
    if not frames:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    return pd.concat(frames, ignore_index=True)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _model_defaults(model: type, frame: pd.DataFrame) -> pd.DataFrame:
    """Fill the NOT NULL columns ``frame`` lacks with the model's Python-side defaults."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        if name in frame.columns or name == "id" or name not in table.c or table.c[name].nullable:
            continue
        if info.default_factory is not None:
            # One object for every row: the frame only goes to bulk_insert, which reads it (and
            # encodes a shared JSON default once instead of once per row).
            value = info.default_factory()  # type: ignore[call-arg]
            frame[name] = [value] * len(frame) if isinstance(value, (list, dict)) else value
        else:
            frame[name] = info.default
    return frame


def _longer_than(values: pd.Series, limit: int) -> pd.Series:
    """Boolean mask of the ``str`` cells longer than ``limit`` (each distinct cell measured once)."""
    if isinstance(values.dtype, pd.StringDtype):
        # Text columns from the reader: lengths in code points, computed column-wise.
        return (values.str.len() > limit).fillna(False).astype(bool)
    try:
        # All-text columns (ids are mostly distinct, so per-distinct work saves nothing): Arrow
        # measures code points in C. Any non-text cell falls back to the per-value check below.
        lengths = pc.utf8_length(pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
        return pd.Series(np.asarray(pc.greater(lengths, limit).fill_null(False)), index=values.index)
    except (pa.ArrowException, TypeError):
        pass
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    long_unique = np.array([isinstance(v, str) and len(v) > limit for v in uniques] + [False], dtype=bool)
    return pd.Series(long_unique[codes], index=values.index)


def _fit(values: pd.Series, limit: int) -> pd.Series:
    """Cut free text to the column length (PostgreSQL refuses longer values)."""
    text = values.astype(object)
    too_long = _longer_than(text, limit)
    if too_long.any():
        text = text.where(~too_long, text[too_long].map(lambda v: v[:limit]))
    return text


def _cut(values: pd.Series, limit: int) -> pd.Series:
    """``v[:limit]`` for ``str`` cells, ``None`` for anything else (per distinct value)."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    cut = np.empty(len(uniques) + 1, dtype=object)
    cut[:] = [v[:limit] if isinstance(v, str) else None for v in uniques] + [None]
    return pd.Series(cut[codes], index=values.index, dtype=object)


def _reject_long_values(run: _Run) -> None:
    """Reject rows whose value exceeds its column (``_COLUMN_LIMITS``): never cut silently."""
    for name, limit in _COLUMN_LIMITS.items():
        if name in run.rows.columns:
            values = run.rows[name]
            field_name = "phone" if name == "phone_raw" else name
            run.reject(
                _longer_than(values, limit), field_name, values, f"{field_name} is longer than {limit} characters"
            )


def _resolve_services(connection: Connection, run: _Run) -> None:
    names = _cut(run.rows["service"], 120)
    run.rows["service"] = names
    distinct = list(pd.unique(names.dropna()))
    existing = _in_chunks(connection, [Service.id, Service.name], Service.name, distinct)
    missing = sorted(set(distinct) - set(existing["name"]))
    if missing:
        new = _model_defaults(Service, pd.DataFrame({"name": missing, "category": "other"}))
        bulk_insert(connection, Service.__table__, new)  # type: ignore[arg-type]
        run.created["services"] = len(missing)
        existing = pd.concat([existing, _in_chunks(connection, [Service.id, Service.name], Service.name, missing)])
    run.rows["service_id"] = names.map(dict(zip(existing["name"], existing["id"], strict=True))).astype("Int64")


def _resolve_staff(connection: Connection, run: _Run) -> None:
    names = _cut(run.rows["staff"], 120)
    pairs = pd.DataFrame({"store_id": run.rows["store_id"], "name": names}).dropna().drop_duplicates()
    if pairs.empty:
        run.rows["staff_id"] = pd.Series(pd.NA, index=run.rows.index, dtype="Int64")
        return
    stores = [int(s) for s in pairs["store_id"].unique()]
    existing = _in_chunks(connection, [Staff.id, Staff.store_id, Staff.name], Staff.store_id, stores)
    existing = (
        existing.astype({"store_id": "Int64", "name": object}).sort_values("id").drop_duplicates(["store_id", "name"])
    )
    pairs = pairs.astype({"store_id": "Int64", "name": object})
    merged = pairs.merge(existing, on=["store_id", "name"], how="left")
    missing = merged.loc[merged["id"].isna(), ["store_id", "name"]]
    if len(missing):
        bulk_insert(connection, Staff.__table__, _model_defaults(Staff, missing.astype({"store_id": "int64"})))  # type: ignore[arg-type]
        run.created["staff"] = len(missing)
        existing = _in_chunks(connection, [Staff.id, Staff.store_id, Staff.name], Staff.store_id, stores)
        existing = existing.sort_values("id").drop_duplicates(["store_id", "name"])
    keyed = pd.DataFrame({"store_id": run.rows["store_id"].astype("Int64"), "name": names}, index=run.rows.index)
    existing = existing.astype({"store_id": "Int64"})
    joined = keyed.reset_index().merge(existing, on=["store_id", "name"], how="left").set_index("index")
    run.rows["staff_id"] = joined["id"].reindex(run.rows.index).astype("Int64")


_FILLABLE: Final = ("name", "phone", "phone_raw", "email", "line_id", "birthday")


def _customer_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per external id with the first non-empty value of each member field."""
    columns = {
        "customer_name": "name",
        "phone": "phone",
        "phone_raw": "phone_raw",
        "email": "email",
        "line_id": "line_id",
        "birthday": "birthday",
    }
    frame = rows[["customer_id", *columns, "store_id", "scheduled_at"]].rename(columns=columns)
    grouped = frame.groupby("customer_id", sort=False)
    first = grouped[[*columns.values(), "store_id"]].first()
    first["joined_on"] = grouped["scheduled_at"].min().dt.normalize()
    return first.reset_index().rename(columns={"customer_id": "external_id"})


def _resolve_customers(connection: Connection, run: _Run, *, scope: Scope) -> None:
    people = _customer_frame(run.rows)
    columns = [Customer.id, Customer.external_id, Customer.home_store_id, *(getattr(Customer, f) for f in _FILLABLE)]
    existing = _rows_by_key(connection, columns, Customer.external_id, people["external_id"])
    new = people.loc[~people["external_id"].isin(existing["external_id"])].copy() if len(existing) else people.copy()
    if len(new):
        new["name"] = _fit(new["name"].fillna(""), 120)
        new["phone_raw"] = _fit(new["phone_raw"], 40)
        new["home_store_id"] = new.pop("store_id").astype("Int64")
        new = _model_defaults(Customer, new)
        # New ids come after every id visible now (SQLite rowids, a PostgreSQL sequence), so one
        # range scan finds them; the external id filter drops rows other imports committed meanwhile.
        last = connection.execute(select(func.coalesce(func.max(Customer.id), 0))).scalar_one()
        bulk_insert(connection, Customer.__table__, new)  # type: ignore[arg-type]
        run.created["customers"] = len(new)
        added = _frame(
            connection.execute(select(Customer.id, Customer.external_id).where(Customer.id > last)).all(),
            ["id", "external_id"],
        )
        added = added.loc[added["external_id"].isin(new["external_id"])]
        ids = dict(zip(added["external_id"], added["id"], strict=True))
    else:
        ids = {}
    ids.update(zip(existing["external_id"], existing["id"], strict=True))
    from db.merge_repo import redirect_merged  # here: keeps this module's import block as it is

    ids = redirect_merged(connection, ids)  # a merged card's new bookings belong to its member
    _fill_empty_fields(connection, people, existing, scope=scope)
    run.rows["customer_pk"] = run.rows["customer_id"].map(ids).astype("int64")


def _rows_by_key(connection: Connection, columns: Sequence[Any], key: Any, values: pd.Series) -> pd.DataFrame:
    """Rows whose ``key`` is among ``values``: nothing read from an empty table, one scan of a
    table smaller than the lookup, the chunked ``IN``/``ANY`` lookup otherwise."""
    names = [c.key for c in columns]
    held = int(connection.execute(select(func.count()).select_from(key.table)).scalar() or 0)
    if held == 0:
        return _frame([], names)
    if held < len(values):
        every = _frame(connection.execute(select(*columns)).all(), names)
        return every.loc[every[key.key].isin(set(values.dropna()))].reset_index(drop=True)
    return _in_chunks(connection, columns, key, list(values))


def _frame(rows: Sequence[Any], names: Sequence[str]) -> pd.DataFrame:
    """Result rows as a frame, built from column lists (pandas inspects Row objects one by one)."""
    if not rows:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    return pd.DataFrame(dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)), columns=list(names))


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, (list, dict)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _fill_empty_fields(connection: Connection, people: pd.DataFrame, existing: pd.DataFrame, *, scope: Scope) -> None:
    """Existing members are never overwritten, but their empty fields take the file's values."""
    if existing.empty:
        return
    merged = existing.merge(people, on="external_id", suffixes=("", "_new"))
    updates = []
    for row in merged.to_dict("records"):
        home = row["home_store_id"]
        if not _is_empty(home) and not scope.allows_store(int(home)):
            continue  # another store's member: not ours to edit
        values = {}
        for name in _FILLABLE:
            if _is_empty(row[name]) and not _is_empty(row[f"{name}_new"]):
                value = row[f"{name}_new"]
                if name == "birthday":
                    value = pd.Timestamp(value).date()
                elif name == "name":
                    value = str(value)[:120]
                elif name == "phone_raw":
                    value = str(value)[:40]
                values[name] = value
        if values:
            updates.append((int(row["id"]), values))
    _apply_updates(connection, Customer.__table__, updates)  # type: ignore[arg-type]


def _apply_updates(connection: Connection, table: Table, updates: list[tuple[int, dict[str, Any]]]) -> None:
    """Run ``UPDATE … WHERE id = :id`` per row, grouped by the set of columns changed."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, values in updates:
        groups.setdefault(tuple(sorted(values)), []).append({"_id": row_id, **{f"_{k}": v for k, v in values.items()}})
    for columns, params in groups.items():
        statement = update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(f"_{c}") for c in columns})
        connection.execute(statement, params)


def _resolve_pets(connection: Connection, run: _Run) -> None:
    names = _cut(run.rows["pet_name"], 80)
    frame = pd.DataFrame(
        {
            "customer_id": run.rows["customer_pk"],
            "name": names,
            "species": run.rows["pet_species"],
            "breed": run.rows["pet_breed"],
        }
    )
    pets = (
        frame.dropna(subset=["name"])
        .groupby(["customer_id", "name"], sort=False)[["species", "breed"]]
        .first()
        .reset_index()
    )
    if pets.empty:
        run.rows["pet_id"] = pd.Series(pd.NA, index=run.rows.index, dtype="Int64")
        return
    owners = [int(c) for c in pets["customer_id"].unique()]
    existing = _in_chunks(connection, [Pet.id, Pet.customer_id, Pet.name], Pet.customer_id, owners)
    existing = existing.astype({"customer_id": "int64", "name": object})
    pets = pets.astype({"customer_id": "int64", "name": object})
    merged = pets.merge(existing, on=["customer_id", "name"], how="left")
    missing = merged.loc[merged["id"].isna(), ["customer_id", "name", "species", "breed"]].copy()
    if len(missing):
        missing["species"] = _fit(missing["species"].where(missing["species"].notna(), "dog"), 16)
        missing["breed"] = _fit(missing["breed"].fillna(""), 80)
        bulk_insert(connection, Pet.__table__, _model_defaults(Pet, missing))  # type: ignore[arg-type]
        run.created["pets"] = len(missing)
        existing = _in_chunks(connection, [Pet.id, Pet.customer_id, Pet.name], Pet.customer_id, owners)
        existing = existing.astype({"customer_id": "int64", "name": object})
    keyed = frame[["customer_id", "name"]].reset_index()
    joined = keyed.merge(existing, on=["customer_id", "name"], how="left").set_index("index")
    run.rows["pet_id"] = joined["id"].reindex(run.rows.index).astype("Int64")


def _attributes(rows: pd.DataFrame) -> pd.Series:
    """Unmapped columns (JSON text from core) as objects, plus a quantity above one.

    Each distinct JSON text is decoded once; rows sharing a text share one (read-only) object.
    """
    codes, uniques = pd.factorize(rows["attributes"].astype(object), use_na_sentinel=True)
    decoded = np.empty(len(uniques) + 1, dtype=object)
    decoded[:] = [None if text in ("{}", "") else json.loads(text) for text in uniques] + [None]
    out = decoded[codes] if len(codes) else decoded[:0]
    quantity = rows["quantity"].to_numpy()
    for position in np.flatnonzero(quantity != 1):
        out[position] = {**(out[position] or {}), "quantity": int(quantity[position])}
    return pd.Series(out, index=rows.index, dtype=object)


def _write_chunks(
    connection: Connection,
    table: Table,
    frame: pd.DataFrame,
    *,
    fail_after_rows: int | None,
    progress: Progress | None,
    start: float = 0.3,
) -> int:
    """Write ``frame`` in one :func:`bulk_insert` call (one pipelined COPY on PostgreSQL)."""
    total = max(len(frame), 1)

    def report(written: int) -> None:
        if progress:
            progress(start + (1 - start) * 0.95 * written / total, "write")

    if fail_after_rows is not None:
        bulk_insert(connection, table, frame.iloc[:fail_after_rows], chunk_rows=WRITE_CHUNK, on_chunk=report)
        raise InjectedFailure(f"injected failure after {fail_after_rows} rows")
    return bulk_insert(connection, table, frame, chunk_rows=WRITE_CHUNK, on_chunk=report)
