"""The member-list writer: insert new members, fill and update existing ones within the caller's scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.importing import (
    PreparedImport,
)
from core.scope import Scope
from db.importer.batch import _execute, _Run
from db.importer.limits import DEFAULT_STORE_NAME, LOCK_WAIT_SECONDS
from db.importer.resolve import (
    _apply_updates,
    _fit,
    _in_chunks,
    _is_empty,
    _model_defaults,
    _reject_long_values,
    _write_chunks,
)
from db.importer.result import ImportResult, InjectedFailure, Progress
from db.importer.stores import _resolve_stores
from db.models import (
    Customer,
)


def import_customers(
    engine: Engine,
    *,
    prepared: PreparedImport,
    scope: Scope,
    source: str = "",
    filename: str = "",
    create_stores: bool = False,
    country: str = "TW",
    dry_run: bool = False,
    reject_dir: str | Path,
    fail_after_rows: int | None = None,
    progress: Progress | None = None,
    default_store_name: str = DEFAULT_STORE_NAME,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> ImportResult:
    """Upsert a prepared member list (columns ``ACCEPTED_CUSTOMER_COLUMNS``) in one transaction.

    New members are inserted; existing ones (same external id) get the file's non-empty values:
    name, phone, e-mail, LINE id, birthday, joined date, home store, tags (when the file lists
    any) and each consent flag that the file states (an empty consent cell leaves it as is).
    Members whose home store is outside the caller's scope are rejected, never overwritten.
    Parameters are as in :func:`import_bookings`.
    """
    scope.require("import")
    return _execute(
        engine,
        kind="customers",
        batch_kind="customers",
        prepared=prepared,
        scope=scope,
        source=source,
        filename=filename,
        dry_run=dry_run,
        watermark=None,
        reject_dir=reject_dir,
        progress=progress,
        write=lambda session, run, batch_id: _write_customers(
            session,
            run,
            scope=scope,
            create_stores=create_stores,
            country=country,
            fail_after_rows=fail_after_rows,
            progress=progress,
            default_store_name=default_store_name,
        ),
        lock_wait=lock_wait,
    )


_MEMBER_FIELDS: Final = (
    "name",
    "phone",
    "phone_raw",
    "email",
    "line_id",
    "birthday",
    "joined_on",
    "home_store_id",
    "consent_sms",
    "consent_line",
    "consent_email",
    "consent_wechat",
    "tags",
)


def _write_customers(
    session: Session,
    run: _Run,
    *,
    scope: Scope,
    create_stores: bool,
    country: str,
    fail_after_rows: int | None,
    progress: Progress | None,
    default_store_name: str = DEFAULT_STORE_NAME,
) -> int:
    connection = session.connection()
    if progress:
        progress(0.02, "resolve")
    _reject_long_values(run)
    run.rows["home_store_id"] = _resolve_stores(
        connection,
        run,
        scope=scope,
        create_stores=create_stores,
        country=country,
        required=scope.store_ids is not None,
        default_store_name=default_store_name,
    )
    if run.rows.empty:
        return 0
    rows = run.rows.rename(columns={"customer_name": "name", "customer_id": "external_id"})
    rows["tags"] = rows["tags"].map(lambda t: json.loads(t) if isinstance(t, str) else [])
    rows["attributes"] = rows["attributes"].map(lambda t: json.loads(t) if isinstance(t, str) else {})
    rows["name"] = _fit(rows["name"], 120)
    rows["phone_raw"] = _fit(rows["phone_raw"], 40)
    existing = _in_chunks(
        connection,
        [Customer.id, Customer.external_id, Customer.attributes, *(getattr(Customer, f) for f in _MEMBER_FIELDS)],
        Customer.external_id,
        list(rows["external_id"]),
    )
    by_id = {r["external_id"]: r for r in existing.to_dict("records")}
    # Another store's member is not ours to overwrite.
    foreign = rows["external_id"].map(
        lambda e: (
            e in by_id
            and not _is_empty(by_id[e]["home_store_id"])
            and not scope.allows_store(int(by_id[e]["home_store_id"]))
        )
    )
    run.reject(foreign, "customer_id", run.rows["customer_id"], "this member belongs to a store outside your scope")
    rows = rows.loc[run.rows.index]
    if progress:
        progress(0.3, "resolve")

    is_new = ~rows["external_id"].isin(set(by_id))
    new = rows.loc[is_new, ["external_id", *_MEMBER_FIELDS, "attributes"]].copy()
    new["name"] = new["name"].fillna("")
    for flag in ("consent_sms", "consent_line", "consent_email", "consent_wechat"):
        new[flag] = new[flag].astype("boolean").fillna(False).astype(bool)
    new = _model_defaults(Customer, new)
    imported = (
        _write_chunks(
            connection,
            Customer.__table__,
            new,
            fail_after_rows=fail_after_rows,  # type: ignore[arg-type]
            progress=progress,
            start=0.3,
        )
        if len(new)
        else 0
    )
    if fail_after_rows is not None and not len(new):
        raise InjectedFailure(f"injected failure after {fail_after_rows} rows")
    run.created["customers"] = imported

    updates = []
    for row in rows.loc[~is_new].to_dict("records"):
        current = by_id[row["external_id"]]
        values: dict[str, Any] = {}
        for name in _MEMBER_FIELDS:
            value = row[name]
            if name == "tags":
                if value and sorted(value) != sorted(current["tags"] or []):
                    values[name] = value
                continue
            if _is_empty(value):
                continue
            if name in ("birthday", "joined_on"):
                value = pd.Timestamp(value).date()
                old = None if _is_empty(current[name]) else pd.Timestamp(current[name]).date()
            elif name.startswith("consent_"):
                value = bool(value)
                old = None if _is_empty(current[name]) else bool(current[name])
            elif name == "home_store_id":
                value = int(value)
                old = None if _is_empty(current[name]) else int(current[name])
            else:
                old = current[name]
            if value != old:
                values[name] = value
        extra = {k: v for k, v in (row["attributes"] or {}).items() if (current["attributes"] or {}).get(k) != v}
        if extra:
            values["attributes"] = {**(current["attributes"] or {}), **extra}
        if values:
            updates.append((int(current["id"]), values))
    _apply_updates(connection, Customer.__table__, updates)  # type: ignore[arg-type]
    run.updated = len(updates)
    run.unchanged = int((~is_new).sum()) - len(updates)
    return imported
