"""Store resolution: stores by code or name, the first store of a new installation, the fallback store of a scope."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from core.scope import Scope
from db.bulk import bulk_insert
from db.importer.batch import _Run
from db.importer.limits import COUNTRY_DEFAULTS, DEFAULT_STORE_CODE, DEFAULT_STORE_NAME, STORE_CODE_LIMIT
from db.importer.resolve import _in_chunks, _longer_than, _model_defaults
from db.models import (
    Store,
)


def _resolve_stores(
    connection: Connection,
    run: _Run,
    *,
    scope: Scope,
    create_stores: bool,
    country: str,
    required: bool,
    default_store_name: str = DEFAULT_STORE_NAME,
) -> pd.Series:
    """Attach ``store_id`` (Int64) to ``run.rows``; reject unknown or out-of-scope stores.

    On a database without stores (a new installation), rows without a store, and rows naming
    the chosen default store, go to one store created for them (see :func:`import_bookings`).
    """
    stores = pd.DataFrame(
        connection.execute(select(Store.id, Store.code, Store.name)).all(), columns=["id", "code", "name"]
    )
    too_long = _longer_than(run.rows["store"], STORE_CODE_LIMIT)
    run.reject(too_long, "store", run.rows["store"], f"store is longer than {STORE_CODE_LIMIT} characters")
    if stores.empty and scope.store_ids is None and len(run.rows):
        stores = _first_store(connection, run, country=country, required=required, name=default_store_name)
    lookup: dict[str, int] = {}
    for sid, _code, name in stores.itertuples(index=False, name=None):
        lookup.setdefault(str(name).casefold(), int(sid))
    for sid, code, _name in stores.itertuples(index=False, name=None):
        lookup[str(code).casefold()] = int(sid)  # codes win over names
    for sid, code, _ in stores.itertuples(index=False, name=None):
        lookup[str(code)] = int(sid)

    codes = run.rows["store"]
    wanted = [c for c in pd.unique(codes.dropna()) if c not in lookup and c.casefold() not in lookup]
    if wanted and create_stores and scope.store_ids is None:
        defaults = COUNTRY_DEFAULTS.get(country.upper(), COUNTRY_DEFAULTS["TW"])
        new = pd.DataFrame({"code": wanted, "name": wanted})
        new = new.drop_duplicates("code")
        for key, value in defaults.items():
            new[key] = value
        bulk_insert(connection, Store.__table__, _model_defaults(Store, new))  # type: ignore[arg-type]
        run.created["stores"] = run.created.get("stores", 0) + len(new)
        created = _in_chunks(connection, [Store.id, Store.code], Store.code, list(new["code"]))
        for sid, code in created.itertuples(index=False, name=None):
            lookup[str(code)] = int(sid)

    def find(code: object) -> int | None:
        if code is None or (isinstance(code, float) and np.isnan(code)):
            return None
        text = str(code)
        return lookup.get(text, lookup.get(text.casefold()))

    ids = codes.map({code: find(code) for code in pd.unique(codes.dropna())})
    missing_code = codes.isna()
    if missing_code.any():
        fallback = _fallback_store(scope, stores)
        if fallback is not None:
            ids = ids.where(~missing_code, fallback)
        elif required:
            reason = (
                "several stores: choose the store (--store CODE) or map a store column"
                if len(stores) > 1
                else "no store for this row: choose the store (--store CODE) or map a store column"
            )
            run.reject(missing_code, "store", codes, reason)
            ids = ids.loc[run.rows.index]
            codes = codes.loc[run.rows.index]
    unknown = codes.notna() & ids.isna()
    run.reject(
        unknown,
        "store",
        codes,
        [f"unknown store '{c}': create it first or allow creating stores" for c in codes[unknown]],
    )
    ids = ids.loc[run.rows.index]
    if scope.store_ids is not None:
        outside = ids.notna() & ~ids.map(lambda s: s is not None and not pd.isna(s) and int(s) in scope.store_ids)
        labels = run.rows["store"].loc[outside]
        run.reject(
            outside, "store", run.rows["store"], [f"store '{c}' is not one of your stores" for c in labels.fillna("?")]
        )
        ids = ids.loc[run.rows.index]
    return ids.astype("Int64")


def _first_store(connection: Connection, run: _Run, *, country: str, required: bool, name: str) -> pd.DataFrame:
    """Create the first store of an empty database for the rows that need it; return the stores.

    Its code is the chosen default store (``--store``) or ``DEFAULT_STORE_CODE``; it is created
    when rows name no store (bookings need one) or name the chosen default. Rows without a
    store then carry its code.
    """
    codes = run.rows["store"]
    default = run.default_store
    wanted_default = default is not None and bool((codes == default).any())
    if not ((required and codes.isna().any()) or wanted_default):
        return pd.DataFrame({"id": [], "code": [], "name": []})
    code = default if default is not None else DEFAULT_STORE_CODE
    if len(code) > STORE_CODE_LIMIT:
        return pd.DataFrame({"id": [], "code": [], "name": []})  # rows are rejected as too long / unknown
    label = code if default is not None else name
    new = pd.DataFrame({"code": [code], "name": [label[:120]]})
    for key, value in COUNTRY_DEFAULTS.get(country.upper(), COUNTRY_DEFAULTS["TW"]).items():
        new[key] = value
    bulk_insert(connection, Store.__table__, _model_defaults(Store, new))  # type: ignore[arg-type]
    run.created["stores"] = 1
    run.created_store = {"code": code, "name": label[:120]}
    run.rows["store"] = codes.where(codes.notna(), code)
    return pd.DataFrame(
        connection.execute(select(Store.id, Store.code, Store.name)).all(), columns=["id", "code", "name"]
    )


def _fallback_store(scope: Scope, stores: pd.DataFrame) -> int | None:
    """The store for rows that name none: the caller's only store, or the database's only store."""
    if scope.store_ids is not None and len(scope.store_ids) == 1:
        return next(iter(scope.store_ids))
    if len(stores) == 1 and scope.allows_store(int(stores["id"].iloc[0])):
        return int(stores["id"].iloc[0])
    return None
