"""Write prepared booking and member imports into the database, all or nothing.

The pure half (reading, mapping, parsing, validation) lives in :mod:`core.importing`; this
module resolves the prepared rows against what the database already holds and writes them:

* stores by code (or name), services by name, staff by name within a store, customers by
  external id, pets by owner + name — existing rows are read in bulk, missing ones are created
  with :func:`db.bulk.bulk_insert` and ids are attached with pandas merges (no per-row ORM
  objects);
* bookings whose dedupe key is already in the database are skipped and counted as duplicates,
  so importing the same file twice adds nothing — unless the export now tells a newer outcome
  (``booked`` → ``completed``, a new time, a corrected amount): then the stored booking is
  updated and counted as updated;
* every accepted row is written in ONE transaction. When anything fails, the transaction is
  rolled back, the :class:`~db.models.ImportBatch` is recorded as ``failed`` in a separate
  transaction and the reject report is still written.

* a new installation needs no setup: on a database without stores, rows without a store go
  to one store created for them (see :func:`import_bookings`); an import that accepts no row
  at all rolls back (a store created for it too) and reports ``status == "rejected"``;
* imports wait a bounded time (``LOCK_WAIT_SECONDS``) for another writer — SQLite's write lock,
  a PostgreSQL advisory lock that serialises imports so concurrent imports of the same rows
  count duplicates — then fail with ``BUSY_MESSAGE``;
* a value longer than its column rejects the row (``_COLUMN_LIMITS``), never cut.

Counts always add up: ``read = imported + updated + duplicates + rejected``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, any_, bindparam, func, inspect, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core import localtime
from core.columns import BOOKING_STATUSES
from core.importing import (
    BOOKING_FIELDS,
    CUSTOMER_FIELDS,
    REJECT_COLUMNS,
    ImportOptions,
    PreparedImport,
    RawTable,
    StatusVocabulary,
    merge_mapping,
    parse_mapping_args,
    prepare_bookings,
    prepare_customers,
    read_table,
    reject_report_csv,
    suggest_mapping,
)
from core.scope import Scope
from db.bulk import begin_explicitly, bulk_insert
from db.dialect import is_postgres, is_sqlite
from db.models import (
    AppSetting,
    Booking,
    Customer,
    ImportBatch,
    ImportMapping,
    Pet,
    Service,
    Staff,
    Store,
    utcnow,
)
from db.repo import record_audit

KINDS: Final = ("bookings", "customers")
STATUS_VOCABULARY_KEY: Final = "status_vocabulary"
IN_CHUNK: Final = 5_000  # keys per IN (...) lookup: well under SQLite's variable limit
PG_ANY_CHUNK: Final = 100_000  # keys per "= ANY(array)" lookup on PostgreSQL
WRITE_CHUNK: Final = 100_000  # rows formatted at a time by bulk_insert (progress granularity)
INDEX_REBUILD_ROWS: Final = 50_000  # larger imports into a smaller table rebuild indexes (and PG FKs) after the load
COUNTRY_DEFAULTS: Final = {
    "TW": {"timezone": "Asia/Taipei", "currency": "TWD", "country": "TW"},
    "CN": {"timezone": "Asia/Shanghai", "currency": "CNY", "country": "CN"},
}
# Column lengths (db.models): a longer value rejects the row with the limit named, never cut.
_COLUMN_LIMITS: Final = {
    "booking_id": 64,
    "customer_id": 64,
    "email": 200,
    "line_id": 64,
    "customer_name": 120,
    "phone_raw": 40,
    "pet_name": 80,
    "pet_breed": 80,
    "pet_species": 16,
    "service": 120,
    "staff": 120,
    "channel": 16,
}
STORE_CODE_LIMIT: Final = 32
#: Code of the store created for the first import into an empty database when no ``--store``
#: names it; the owner renames the store in the app.
DEFAULT_STORE_CODE: Final = "MAIN"
DEFAULT_STORE_NAME: Final = "Main store"
#: Seconds an import waits for another writer (SQLite write lock, PostgreSQL import lock)
#: before giving up with ``BUSY_MESSAGE``.
LOCK_WAIT_SECONDS: Final = 30.0
BUSY_MESSAGE: Final = "another import or job is writing; try again"
# Key of the PostgreSQL advisory lock that serialises imports: two imports of the same rows
# would otherwise both find them new and the later commit would fail on the unique key.
_PG_IMPORT_LOCK: Final = 727_001
_SQLITE_BUSY_MS: Final = 30_000  # the engine's default busy timeout (db.engine), restored after an import

Progress = Callable[[float, str], None]


class _DryRunDone(Exception):
    """Raised at the end of a dry run so the transaction rolls back."""


class _NothingToAdd(Exception):
    """Raised when every row was rejected, so nothing (not even a created store) is kept."""


class InjectedFailure(RuntimeError):
    """Raised by the ``fail_after_rows`` test hook to simulate a database error mid-import."""


@dataclass(frozen=True)
class ImportResult:
    """What an import did.

    Attributes
    ----------
    kind
        ``bookings`` or ``customers``.
    status
        ``done``, ``failed`` (nothing written), ``rejected`` (every row was rejected: nothing
        written) or ``dry_run`` (nothing written).
    read
        Non-blank data rows in the source.
    imported
        New rows written (bookings, or new members for a member list).
    duplicates
        Rows skipped as duplicates: of an earlier row in the file, of a row already in the
        database, or (member lists) of a member already holding exactly these values.
    rejected
        Rows refused with a reason (listed in the reject report).
    updated
        Existing rows brought up to date: members whose fields changed, or bookings exported
        again with a new outcome, time or amount.
    reject_report
        Path of the reject report CSV, ``None`` when nothing was rejected.
    batch_id
        The :class:`~db.models.ImportBatch` id (``None`` for a dry run).
    error
        Why the import failed, when ``status == "failed"``.
    created
        New reference rows: ``stores``, ``services``, ``staff``, ``customers``, ``pets``.
    needs_dayfirst
        Some rows were rejected because their dates read both day-first and month-first.
    watermark
        Largest watermark value read (live database sources).
    created_store
        ``{"code", "name"}`` of the store created for rows without a store on a database that
        had none (``None`` otherwise).
    rejects
        The reject rows (``row_number``, ``field``, ``value``, ``reason``), for showing the
        reasons grouped and in the user's language.
    """

    kind: str
    status: str
    read: int
    imported: int
    duplicates: int
    rejected: int
    updated: int = 0
    reject_report: str | None = None
    batch_id: int | None = None
    error: str | None = None
    created: dict[str, int] = field(default_factory=dict)
    needs_dayfirst: bool = False
    watermark: str | None = None
    created_store: dict[str, str] | None = None
    rejects: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    def summary(self) -> dict[str, Any]:
        """The CLI's JSON object (DESIGN.md) plus a few extras."""
        out: dict[str, Any] = {
            "read": self.read,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "reject_report": self.reject_report,
        }
        out["updated"] = self.updated
        out.update({"status": self.status, "batch_id": self.batch_id, "created": self.created})
        if self.needs_dayfirst:
            out["needs_dayfirst"] = True
        if self.watermark is not None:
            out["watermark"] = self.watermark
        if self.created_store is not None:
            out["created_store"] = self.created_store
        if self.error:
            out["error"] = self.error
        return out


# ------------------------------------------------------------------------------ preparation


def fields_for(kind: str) -> tuple[str, ...]:
    """Canonical field names of an import kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; use one of {', '.join(KINDS)}")
    return tuple(BOOKING_FIELDS if kind == "bookings" else CUSTOMER_FIELDS)


def resolve_mapping(
    headers: Sequence[str],
    *,
    kind: str,
    saved: Mapping[str, str] | None = None,
    map_args: Iterable[str] = (),
) -> dict[str, str]:
    """Suggested mapping, overridden by a saved mapping (columns still present), then by ``--map``.

    Raises
    ------
    ImportFileError
        A malformed ``--map`` argument or one naming a column not in the file.
    """
    fields = fields_for(kind)
    mapping = suggest_mapping(list(headers), fields)
    if saved:
        usable = {f: c for f, c in saved.items() if f in fields and c in headers}
        mapping = merge_mapping(mapping, usable)
    explicit = parse_mapping_args(list(map_args), list(headers), fields)
    return merge_mapping(mapping, explicit)


def prepare(
    kind: str, raw: RawTable | pd.DataFrame, mapping: Mapping[str, str], options: ImportOptions
) -> PreparedImport:
    """Run :func:`core.importing.prepare_bookings` or ``prepare_customers`` for ``kind``."""
    if kind == "bookings":
        return prepare_bookings(raw, mapping, options=options)
    fields_for(kind)
    return prepare_customers(raw, mapping, options)


def write_reject_report(rejects: pd.DataFrame, *, kind: str, directory: str | Path) -> str | None:
    """Write ``rejects`` as an Excel-safe CSV under the folder ``directory``; ``None`` when empty."""
    if rejects is None or rejects.empty:
        return None
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"rejects-{kind}-{stamp}-{uuid.uuid4().hex[:8]}.csv"
    path.write_bytes(reject_report_csv(rejects))
    return str(path)


# --------------------------------------------------------------------------- saved settings


def load_status_vocabulary(session: Session) -> StatusVocabulary:
    """The built-in vocabulary plus the shop's own words (AppSetting ``status_vocabulary``)."""
    return StatusVocabulary.default().with_words(custom_status_words(session))


def custom_status_words(session: Session) -> dict[str, str]:
    """The shop's own status words ``{word: canonical status}``."""
    row = session.get(AppSetting, (STATUS_VOCABULARY_KEY, 0))
    value = row.value if row is not None and isinstance(row.value, dict) else {}
    return {str(k): str(v) for k, v in value.items() if v in BOOKING_STATUSES}


def save_status_words(session: Session, *, scope: Scope, words: Mapping[str, str]) -> dict[str, str]:
    """Replace the shop's own status words (validated) and audit the change.

    Raises
    ------
    PermissionDenied
        The caller may not import.
    ValueError
        A word maps to an unknown status.
    """
    scope.require("import")
    cleaned = {str(w).strip(): str(s).strip() for w, s in words.items() if str(w).strip()}
    StatusVocabulary(cleaned)  # raises ValueError for an unknown target status
    row = session.get(AppSetting, (STATUS_VOCABULARY_KEY, 0))
    before = dict(row.value or {}) if row is not None else {}
    if row is None:
        row = AppSetting(key=STATUS_VOCABULARY_KEY, store_id=0)
    row.value = cleaned
    row.updated_by = scope.actor
    row.updated_at = utcnow()
    session.add(row)
    record_audit(
        session,
        actor=scope.actor,
        action="status_vocabulary.save",
        entity="app_setting",
        entity_id=STATUS_VOCABULARY_KEY,
        before=before,
        after=cleaned,
    )
    return cleaned


def saved_mapping(session: Session, *, source: str, kind: str) -> dict[str, str] | None:
    """The mapping saved for ``source`` and ``kind``, if any."""
    row = session.scalar(select(ImportMapping).where(ImportMapping.source == source, ImportMapping.kind == kind))
    return None if row is None else {str(k): str(v) for k, v in row.mapping.items()}


def list_sources(session: Session, *, kind: str) -> list[str]:
    """Names of the sources with a saved mapping for ``kind``, most recently used first."""
    statement = select(ImportMapping.source).where(ImportMapping.kind == kind).order_by(ImportMapping.updated_at.desc())
    return list(session.scalars(statement))


def save_mapping(session: Session, *, scope: Scope, source: str, kind: str, mapping: Mapping[str, str]) -> None:
    """Save (or replace) the column mapping of a source so the next import is one click."""
    scope.require("import")
    source = source.strip()[:120]
    if not source:
        raise ValueError("a mapping needs a source name")
    fields = fields_for(kind)
    cleaned = {f: str(c) for f, c in mapping.items() if f in fields and c}
    row = session.scalar(select(ImportMapping).where(ImportMapping.source == source, ImportMapping.kind == kind))
    if row is None:
        row = ImportMapping(source=source, kind=kind)
    row.mapping = cleaned
    row.updated_at = utcnow()
    session.add(row)


def last_watermark(session: Session, *, source: str) -> str | None:
    """Watermark of the last successful import of ``source`` (live database re-sync)."""
    statement = (
        select(ImportBatch.watermark)
        .where(ImportBatch.source == source, ImportBatch.status == "done", ImportBatch.watermark.is_not(None))
        .order_by(ImportBatch.id.desc())
        .limit(1)
    )
    return session.scalar(statement)


def recent_batches(session: Session, *, scope: Scope, limit: int = 20) -> pd.DataFrame:
    """The latest import batches (who, when, counts, status) for the import history table."""
    scope.require("import")
    statement = (
        select(
            ImportBatch.id,
            ImportBatch.kind,
            ImportBatch.source,
            ImportBatch.filename,
            ImportBatch.actor,
            ImportBatch.status,
            ImportBatch.read,
            ImportBatch.imported,
            ImportBatch.duplicates,
            ImportBatch.rejected,
            ImportBatch.started_at,
            ImportBatch.reject_report,
        )
        .order_by(ImportBatch.id.desc())
        .limit(limit)
    )
    if scope.store_ids is not None:
        # Store staff see their own imports only: batches carry no store.
        statement = statement.where(ImportBatch.actor == scope.actor)
    rows = session.execute(statement).all()
    columns = [
        "id",
        "kind",
        "source",
        "filename",
        "actor",
        "status",
        "read",
        "imported",
        "duplicates",
        "rejected",
        "started_at",
        "reject_report",
    ]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------------------ the writer


class _Run:
    """State of one import: the rows still accepted, extra rejects and created counts."""

    def __init__(self, prepared: PreparedImport) -> None:
        self.rows = prepared.accepted.copy()
        self.extra_rejects: list[pd.DataFrame] = []
        self.created: dict[str, int] = {}
        self.db_duplicates = 0
        self.unchanged = 0
        self.updated = 0
        self.created_store: dict[str, str] | None = None
        self.default_store = prepared.default_store

    def reject(self, mask: pd.Series, field_name: str, values: pd.Series, reasons: Sequence[str] | str) -> None:
        """Move the rows under ``mask`` to the rejects with a reason each."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        count = int(mask.sum())
        reason_list = [reasons] * count if isinstance(reasons, str) else list(reasons)
        self.extra_rejects.append(
            pd.DataFrame(
                {
                    "row_number": self.rows.loc[mask, "row_number"].to_numpy(),
                    "field": field_name,
                    "value": [
                        "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values[mask]
                    ],
                    "reason": reason_list,
                }
            )
        )
        self.rows = self.rows.loc[~mask]

    def all_rejects(self, prepared: PreparedImport) -> pd.DataFrame:
        parts = [prepared.rejects, *self.extra_rejects]
        parts = [p for p in parts if p is not None and len(p)]
        if not parts:
            return prepared.rejects
        combined = pd.concat(parts, ignore_index=True)
        return combined.sort_values("row_number", kind="stable")[list(REJECT_COLUMNS)].reset_index(drop=True)

    @property
    def extra_rejected(self) -> int:
        return int(sum(len(p["row_number"].unique()) for p in self.extra_rejects))


def import_bookings(
    engine: Engine,
    *,
    prepared: PreparedImport,
    scope: Scope,
    source: str = "",
    filename: str = "",
    create_stores: bool = False,
    country: str = "TW",
    dry_run: bool = False,
    watermark: str | None = None,
    batch_kind: str = "bookings",
    reject_dir: str | Path,
    fail_after_rows: int | None = None,
    progress: Progress | None = None,
    default_store_name: str = DEFAULT_STORE_NAME,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> ImportResult:
    """Write prepared bookings (columns ``ACCEPTED_BOOKING_COLUMNS``) in one transaction.

    Parameters
    ----------
    engine
        The target database.
    prepared
        Output of :func:`core.importing.prepare_bookings`.
    scope
        The importing user: needs the ``import`` permission; rows for stores outside the scope
        are rejected with a reason.
    source, filename
        Recorded on the import batch (``source`` also keys the live-database watermark).
    create_stores
        Create stores for unknown store codes (chain-wide scopes only); otherwise such rows are
        rejected naming the code. A database without any store needs no flag: rows without a
        store go to one store created for them, coded ``prepared.default_store`` (the CLI's
        ``--store``) or ``DEFAULT_STORE_CODE`` and named ``default_store_name``.
    country
        ``TW`` or ``CN``: time zone and currency of created stores.
    dry_run
        Do everything, report the counts, then roll back: nothing is written to the database
        (the reject report is still written).
    watermark
        Largest watermark value read from a live database, stored on the batch.
    batch_kind
        Recorded as the batch kind (``bookings`` or ``sql``).
    reject_dir
        Folder of the reject report (the application passes ``Settings.reject_report_dir``).
    fail_after_rows
        Test hook: raise :class:`InjectedFailure` after writing this many bookings.
    progress
        Called with ``(fraction done, stage)``; stages are ``resolve``, ``write``, ``done``,
        ``failed``.
    default_store_name
        Name of the store created on a database that has none (the owner renames it later).
    lock_wait
        Seconds to wait for another writer before failing with ``BUSY_MESSAGE``.

    Returns
    -------
    ImportResult
        ``status`` is ``done``, ``dry_run``, ``rejected`` (every row refused) or ``failed``
        (database unchanged).

    Raises
    ------
    PermissionDenied
        The caller's role may not import (nothing is written, not even a batch).
    """
    scope.require("import")
    return _execute(
        engine,
        kind="bookings",
        batch_kind=batch_kind,
        prepared=prepared,
        scope=scope,
        source=source,
        filename=filename,
        dry_run=dry_run,
        watermark=watermark,
        reject_dir=reject_dir,
        progress=progress,
        write=lambda session, run, batch_id: _write_bookings(
            session,
            run,
            scope=scope,
            batch_id=batch_id,
            create_stores=create_stores,
            country=country,
            fail_after_rows=fail_after_rows,
            progress=progress,
            default_store_name=default_store_name,
        ),
        lock_wait=lock_wait,
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


def _execute(
    engine: Engine,
    *,
    kind: str,
    batch_kind: str,
    prepared: PreparedImport,
    scope: Scope,
    source: str,
    filename: str,
    dry_run: bool,
    watermark: str | None,
    reject_dir: str | Path,
    progress: Progress | None,
    write: Callable[[Session, _Run, int | None], int],
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> ImportResult:
    run = _Run(prepared)
    report_path: str | None = None
    report_written = False

    def write_report() -> str | None:
        nonlocal report_written, report_path
        if not report_written:
            report_path = write_reject_report(run.all_rejects(prepared), kind=kind, directory=reject_dir)
            report_written = True
        return report_path

    def counts(imported: int) -> dict[str, int]:
        return {
            "read": prepared.read,
            "imported": imported,
            "duplicates": prepared.duplicates_in_file + run.db_duplicates + run.unchanged,
            "rejected": prepared.rejected + run.extra_rejected,
        }

    batch_id: int | None = None
    figures = counts(0)
    try:
        with Session(engine, expire_on_commit=False) as session:
            with session.begin():
                _take_write_lock(session.connection(), lock_wait)
                batch: ImportBatch | None = None
                if not dry_run:
                    batch = ImportBatch(
                        kind=batch_kind,
                        source=source[:200],
                        filename=filename[:300],
                        actor=scope.actor[:64],
                        status="running",
                    )
                    session.add(batch)
                    session.flush()
                    batch_id = batch.id
                imported = write(session, run, batch_id)
                path = write_report()
                figures = counts(imported)
                if figures["rejected"] and not (imported or run.updated or run.db_duplicates or run.unchanged):
                    raise _NothingToAdd  # no row was accepted: rejected, or repeating a rejected row
                if dry_run:
                    raise _DryRunDone
                assert batch is not None
                batch.status = "done"
                batch.read, batch.imported = figures["read"], figures["imported"]
                batch.duplicates, batch.rejected = figures["duplicates"], figures["rejected"]
                batch.reject_report = path
                batch.watermark = watermark
                batch.finished_at = utcnow()
                record_audit(
                    session,
                    actor=scope.actor,
                    action=f"import.{kind}",
                    entity="import_batch",
                    entity_id=batch_id,
                    store_id=_single_store(scope),
                    after={
                        **figures,
                        "updated": run.updated,
                        "created": run.created,
                        "source": source,
                        "filename": filename,
                    },
                )
    except _DryRunDone:
        pass  # the transaction was rolled back: a dry run writes nothing
    except _NothingToAdd:
        # Every row was refused: roll back (a store created for them too) and say so.
        figures = counts(0)
        rejected_id = None
        if not dry_run:
            rejected_id = _record_failure(
                engine,
                kind=batch_kind,
                source=source,
                filename=filename,
                scope=scope,
                figures=figures,
                report=write_report(),
                error="every row was rejected",
                status="rejected",
                lock_wait=lock_wait,
            )
        if progress:
            progress(1.0, "failed")
        return ImportResult(
            kind=kind,
            status="rejected",
            read=figures["read"],
            imported=0,
            duplicates=figures["duplicates"],
            rejected=figures["rejected"],
            reject_report=write_report(),
            batch_id=rejected_id,
            error="every row was rejected",
            needs_dayfirst=prepared.needs_dayfirst,
            rejects=run.all_rejects(prepared),
        )
    except Exception as exc:  # noqa: BLE001 - any failure: roll back, record, report
        path = write_report()
        figures = counts(0)
        error = BUSY_MESSAGE if _is_busy(exc) else f"{type(exc).__name__}: {exc}"[:2000]
        if progress:
            progress(1.0, "failed")
        failed_id = None
        if not dry_run:
            failed_id = _record_failure(
                engine,
                kind=batch_kind,
                source=source,
                filename=filename,
                scope=scope,
                figures=figures,
                report=path,
                error=error,
                lock_wait=lock_wait,
            )
        return ImportResult(
            kind=kind,
            status="failed",
            read=figures["read"],
            imported=0,
            duplicates=prepared.duplicates_in_file,
            rejected=figures["rejected"],
            reject_report=path,
            batch_id=failed_id,
            error=error,
            needs_dayfirst=prepared.needs_dayfirst,
            rejects=run.all_rejects(prepared),
        )
    if progress:
        progress(1.0, "done")
    return ImportResult(
        kind=kind,
        status="dry_run" if dry_run else "done",
        read=figures["read"],
        imported=figures["imported"],
        duplicates=figures["duplicates"],
        rejected=figures["rejected"],
        updated=run.updated,
        reject_report=path,
        batch_id=None if dry_run else batch_id,
        created=dict(run.created),
        needs_dayfirst=prepared.needs_dayfirst,
        watermark=watermark,
        created_store=run.created_store,
        rejects=run.all_rejects(prepared),
    )


def _take_write_lock(connection: Connection, wait: float) -> None:
    """Wait at most ``wait`` seconds for the right to write, before anything is read.

    SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock now (a deferred transaction
    would read, then fail to upgrade when another writer holds the lock), waiting through
    ``busy_timeout``. PostgreSQL: a transaction-scoped advisory lock serialises imports, so a
    second import of the same rows waits for the first to commit and then counts them as
    duplicates instead of failing on the unique key. Either raises an ``OperationalError``
    recognised by :func:`_is_busy` when the wait runs out.
    """
    if is_sqlite(connection):
        if connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            return
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {max(int(wait * 1000), 0)}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            # Only the lock is waited for; the pooled connection keeps the engine's timeout.
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
    elif is_postgres(connection):
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {max(int(wait * 1000), 1)}")
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_IMPORT_LOCK})
        connection.exec_driver_sql("SET LOCAL lock_timeout = 0")


def _is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` means another writer held the database longer than the import waits."""
    for error in (exc, getattr(exc, "orig", None), exc.__cause__):
        if error is None:
            continue
        if getattr(error, "sqlstate", None) == "55P03":  # PostgreSQL lock_not_available
            return True
        text_ = str(error).lower()
        if "database is locked" in text_ or "lock timeout" in text_:
            return True
    return False


def _record_failure(
    engine: Engine,
    *,
    kind: str,
    source: str,
    filename: str,
    scope: Scope,
    figures: dict[str, int],
    report: str | None,
    error: str,
    status: str = "failed",
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> int | None:
    """After the rollback: record the batch (failed or rejected) and an audit entry in their own transaction.

    Waits at most ``lock_wait`` seconds for a writer still holding the database; if it cannot
    write even then, the batch goes unrecorded (``None``) rather than raising a second error.
    """
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            _take_write_lock(session.connection(), lock_wait)
            batch = ImportBatch(
                kind=kind,
                source=source[:200],
                filename=filename[:300],
                actor=scope.actor[:64],
                status=status,
                read=figures["read"],
                imported=0,
                duplicates=figures["duplicates"],
                rejected=figures["rejected"],
                reject_report=report,
                error=error,
                finished_at=utcnow(),
            )
            session.add(batch)
            session.flush()
            record_audit(
                session,
                actor=scope.actor,
                action=f"import.{kind}.{status}",
                entity="import_batch",
                entity_id=batch.id,
                store_id=_single_store(scope),
                after={**figures, "error": error},
            )
            batch_id = batch.id
        return batch_id
    except Exception as exc:  # noqa: BLE001 - the import already failed; do not bury that under a second error
        if _is_busy(exc):
            return None
        raise


def _single_store(scope: Scope) -> int | None:
    if scope.store_ids is not None and len(scope.store_ids) == 1:
        return next(iter(scope.store_ids))
    return None


# ------------------------------------------------------------------------------ resolution


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


def _existing_booking_keys(connection: Connection, rows: pd.DataFrame) -> set[str]:
    """The dedupe keys among ``rows["db_key"]`` that the database already holds.

    Keys are store-qualified, so only bookings of the rows' stores can match: when those stores
    hold no bookings nothing is looked up, and when they hold fewer bookings than the file has
    rows their keys are read in one scan instead of a million-key ``IN``/``ANY`` lookup.
    """
    stores = [int(s) for s in pd.unique(rows["store_id"].dropna())]
    in_stores = Booking.store_id.in_(stores)  # type: ignore[attr-defined]
    held = int(connection.execute(select(func.count()).select_from(Booking).where(in_stores)).scalar() or 0)
    if held == 0:
        return set()
    if held < len(rows):
        keys = set(connection.execute(select(Booking.dedupe_key).where(in_stores)).scalars())
        return keys & set(rows["db_key"])
    found = _in_chunks(connection, [Booking.dedupe_key], Booking.dedupe_key, list(rows["db_key"]))
    return set(found["dedupe_key"])


def _write_bookings(
    session: Session,
    run: _Run,
    *,
    scope: Scope,
    batch_id: int | None,
    create_stores: bool,
    country: str,
    fail_after_rows: int | None,
    progress: Progress | None,
    default_store_name: str = DEFAULT_STORE_NAME,
) -> int:
    connection = session.connection()
    if is_sqlite(connection):
        # A bigger page cache for this connection keeps index updates of a large import in memory.
        connection.exec_driver_sql("PRAGMA cache_size=-262144")
    if progress:
        progress(0.02, "resolve")
    _reject_long_values(run)
    run.rows["store_id"] = _resolve_stores(
        connection,
        run,
        scope=scope,
        create_stores=create_stores,
        country=country,
        required=True,
        default_store_name=default_store_name,
    )
    if run.rows.empty:
        return 0
    # The key is store-qualified: two stores' systems may both number their bookings from 1.
    run.rows["db_key"] = run.rows["store_id"].astype("int64").astype(str) + "|" + run.rows["dedupe_key"].astype(str)
    already = run.rows["db_key"].isin(_existing_booking_keys(connection, run.rows))
    if already.any():
        run.updated = _update_known_bookings(connection, run.rows.loc[already])
    run.db_duplicates = int(already.sum()) - run.updated
    run.rows = run.rows.loc[~already]
    if progress:
        progress(0.1, "resolve")
    if run.rows.empty:
        return 0
    _resolve_services(connection, run)
    _resolve_staff(connection, run)
    if progress:
        progress(0.15, "resolve")
    _resolve_customers(connection, run, scope=scope)
    _resolve_pets(connection, run)
    if progress:
        progress(0.3, "resolve")

    rows = run.rows
    timezones = dict(connection.execute(select(Store.id, Store.timezone)).all())
    store_ids = rows["store_id"].astype("int64")
    out = pd.DataFrame(
        {
            "external_id": rows["booking_id"],
            "dedupe_key": rows["db_key"],
            "store_id": store_ids,
            "customer_id": rows["customer_pk"],
            "pet_id": rows["pet_id"],
            "service_id": rows["service_id"],
            "staff_id": rows["staff_id"],
            "designated": rows["designated"].astype(bool),
            "created_at": localtime.to_utc(rows["created_at"], store_ids, timezones),
            "scheduled_at": localtime.to_utc(rows["scheduled_at"], store_ids, timezones),
            "status": rows["status"],
            "amount": rows["amount"].astype(float),
            "addon_amount": rows["addon_amount"].astype(float),
            "channel": _fit(rows["channel"], 16),
            "deposit": 0.0,
            "import_batch_id": batch_id,
            "attributes": _attributes(rows),
        }
    )
    with _indexes_set_aside(connection, Booking.__table__, len(out)):  # type: ignore[arg-type]
        return _write_chunks(connection, Booking.__table__, out, fail_after_rows=fail_after_rows, progress=progress)  # type: ignore[arg-type]


#: A booking's outcome once known; an older export that still says ``booked`` never undoes it.
_RESOLVED_STATUSES: Final = frozenset({"completed", "cancelled", "no_show", "rescheduled"})


def _update_known_bookings(connection: Connection, rows: pd.DataFrame) -> int:
    """Bring bookings already imported up to date with a newer export of the same booking.

    A booking exported while ``booked`` comes back ``completed`` (or cancelled, rescheduled to a
    new time, its amount corrected): the stored row takes the new status, time and amounts. A
    stale export (``booked`` again for a booking whose outcome is known) changes nothing, so
    importing files in any order ends with the latest known outcome. Returns the rows changed.
    """
    stored = _in_chunks(
        connection,
        [Booking.id, Booking.dedupe_key, Booking.status, Booking.scheduled_at, Booking.amount, Booking.addon_amount],
        Booking.dedupe_key,
        list(rows["db_key"]),
    )
    if stored.empty:
        return 0
    timezones = dict(connection.execute(select(Store.id, Store.timezone)).all())
    store_ids = rows["store_id"].astype("int64")
    incoming = pd.DataFrame(
        {
            "dedupe_key": rows["db_key"].to_numpy(),
            "new_status": rows["status"].astype(str).to_numpy(),
            "new_at": pd.to_datetime(localtime.to_utc(rows["scheduled_at"], store_ids, timezones), utc=True).to_numpy(),
            "new_amount": rows["amount"].astype(float).to_numpy(),
            "new_addon": rows["addon_amount"].astype(float).to_numpy(),
        }
    )
    both = stored.merge(incoming, on="dedupe_key")
    old_at = pd.to_datetime(both["scheduled_at"], utc=True, format="mixed")
    changed = (
        both["status"].ne(both["new_status"])
        | old_at.ne(pd.to_datetime(both["new_at"], utc=True))
        | ~np.isclose(both["amount"].astype(float), both["new_amount"])
        | ~np.isclose(both["addon_amount"].astype(float), both["new_addon"])
    )
    stale = both["new_status"].eq("booked") & both["status"].isin(_RESOLVED_STATUSES)
    update_rows = both.loc[changed & ~stale]
    if update_rows.empty:
        return 0
    statement = (
        update(Booking)
        .where(Booking.id == bindparam("booking_pk"))
        .values(
            status=bindparam("new_status"),
            scheduled_at=bindparam("new_at"),
            amount=bindparam("new_amount"),
            addon_amount=bindparam("new_addon"),
        )
    )
    connection.execute(
        statement,
        [
            {
                "booking_pk": int(r.id),
                "new_status": r.new_status,
                "new_at": pd.Timestamp(r.new_at).to_pydatetime(),
                "new_amount": float(r.new_amount),
                "new_addon": float(r.new_addon),
            }
            for r in update_rows.itertuples(index=False)
        ],
    )
    return len(update_rows)


@contextmanager
def _indexes_set_aside(connection: Connection, table: Table, rows: int) -> Iterator[None]:
    """Drop the secondary indexes (PostgreSQL: and foreign keys) of ``table`` around a large insert.

    Building an index once after the load is much cheaper than updating it row by row. Only
    done for more than ``INDEX_REBUILD_ROWS`` rows and when the new rows outnumber those already
    in the table (rebuilding the index of a big table for a smaller import would cost more than
    it saves, and would hold the locks longer). The drop and re-create run in the import's own
    transaction, so a failure rolls them back with the rows. SQLite: the unique ``dedupe_key``
    index stays; dropping an index needs the write lock the import holds anyway. PostgreSQL:
    foreign keys and the unique constraint too, see :func:`_pg_checks_set_aside` for the locks.
    """
    if rows <= INDEX_REBUILD_ROWS or not (is_sqlite(connection) or is_postgres(connection)):
        yield
        return
    held = int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
    if is_postgres(connection):
        if held >= rows:
            yield
        else:
            with _pg_checks_set_aside(connection, table):
                yield
        return
    present = {ix["name"] for ix in inspect(connection).get_indexes(table.name)}
    aside = [index for index in table.indexes if index.name in present and not index.unique]
    if held >= rows or not aside:
        yield
        return
    # A dry run that creates no member or store has written nothing yet: keep the drop in its transaction.
    begin_explicitly(connection)
    for index in aside:
        index.drop(connection)
    yield
    for index in aside:
        index.create(connection)


# Foreign keys of the table, and its unique constraints that no foreign key points at; unique
# constraints first, so they are back before anything is checked against them.
_PG_CONSTRAINTS: Final = text(
    "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
    "WHERE c.conrelid = CAST(:table AS regclass) AND (c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS ("
    "SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid))) "
    "ORDER BY c.contype DESC, c.conname"
)
_PG_PLAIN_INDEXES: Final = text(
    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE i.indrelid = CAST(:table AS regclass) AND NOT i.indisunique AND NOT i.indisprimary ORDER BY c.relname"
)


@contextmanager
def _pg_checks_set_aside(connection: Connection, table: Table) -> Iterator[None]:
    """On PostgreSQL, load ``table`` without per-row foreign-key checks and index updates.

    Each row of a COPY into ``booking`` fires six foreign-key triggers and updates seven
    indexes; for a large load that is most of the server's time. Here the foreign keys, the
    unique ``dedupe_key`` constraint and the non-unique indexes are dropped, the rows loaded,
    then the unique constraint and the indexes built once (a sort each) and the foreign keys
    added back. ``ADD CONSTRAINT`` checks every row set-based (one anti-join per key, one
    uniqueness check), so a dangling id or a duplicate key still fails the import. Everything
    runs in the import's transaction, so a failure rolls the schema back with the rows.
    Definitions are read from the catalog (``pg_get_constraintdef`` / ``pg_get_indexdef``) and
    re-created verbatim, names included. The primary key stays.

    Lock: dropping a foreign key takes ``ACCESS EXCLUSIVE`` on ``booking`` and on each table it
    references (store, customer, pet, service, staff, importbatch) until commit, so readers of
    those tables wait for the import, and no other import can write bookings meanwhile (which
    is also why the unique constraint may be rebuilt instead of maintained). Callers only come
    here when the import holds more rows than the table (a first or catch-up load), where that
    wait is shorter than the per-row load would have taken.
    """
    name = table.name
    constraints = connection.execute(_PG_CONSTRAINTS, {"table": name}).all()
    indexes = connection.execute(_PG_PLAIN_INDEXES, {"table": name}).all()
    if constraints:
        drops = ", ".join(f'DROP CONSTRAINT "{constraint}"' for constraint, _ in constraints)
        connection.exec_driver_sql(f'ALTER TABLE "{name}" {drops}')
    for index, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{index}"')
    yield
    unique = [(c, d) for c, d in constraints if d.startswith("UNIQUE")]
    foreign = [(c, d) for c, d in constraints if not d.startswith("UNIQUE")]
    if unique:
        adds = ", ".join(f'ADD CONSTRAINT "{constraint}" {definition}' for constraint, definition in unique)
        connection.exec_driver_sql(f'ALTER TABLE "{name}" {adds}')
    for _, definition in indexes:
        connection.exec_driver_sql(definition)
    if foreign:
        adds = ", ".join(f'ADD CONSTRAINT "{constraint}" {definition}' for constraint, definition in foreign)
        connection.exec_driver_sql(f'ALTER TABLE "{name}" {adds}')


# ---------------------------------------------------------------------------------- members

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


# ------------------------------------------------------------------------------ whole files


@dataclass(frozen=True)
class FileImport:
    """A file read and prepared, ready to write (the Data page shows it before importing)."""

    kind: str
    table: RawTable
    mapping: dict[str, str]
    prepared: PreparedImport


def read_and_prepare(
    data: bytes,
    filename: str,
    *,
    kind: str,
    options: ImportOptions,
    saved: Mapping[str, str] | None = None,
    map_args: Iterable[str] = (),
    mapping: Mapping[str, str] | None = None,
    max_bytes: int,
    reject_dir: str | Path | None = None,
) -> FileImport:
    """Read, map and prepare an uploaded file (no database access).

    ``mapping`` (the user's final choice on the Data page) wins over ``saved`` and ``map_args``.
    ``max_bytes`` is the largest file accepted (the application passes ``Settings.max_upload_mb``).

    Raises
    ------
    ImportFileError
        The file cannot be used at all. A file whose every row is rejected is returned; the
        writer then reports ``status == "rejected"`` and keeps the reject report.
    """
    table = read_table(data, filename, max_bytes=max_bytes)
    headers = list(table.frame.columns)
    final = (
        dict(mapping) if mapping is not None else resolve_mapping(headers, kind=kind, saved=saved, map_args=map_args)
    )
    prepared = prepare(kind, table, final, options)
    return FileImport(kind=kind, table=table, mapping=final, prepared=prepared)


def import_prepared(engine: Engine, *, prepared_file: FileImport, scope: Scope, **kwargs: Any) -> ImportResult:
    """Write a :class:`FileImport` with :func:`import_bookings` or :func:`import_customers`."""
    writer = import_bookings if prepared_file.kind == "bookings" else import_customers
    return writer(engine, prepared=prepared_file.prepared, scope=scope, **kwargs)


def booking_counts(engine: Engine) -> dict[str, int]:
    """Row counts of the tables an import writes (tests and the bench compare them)."""
    from sqlalchemy import func

    counts = {}
    with engine.connect() as connection:
        for model in (Store, Service, Staff, Customer, Pet, Booking):
            table = model.__table__  # type: ignore[attr-defined]
            counts[table.name] = int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
    return counts
