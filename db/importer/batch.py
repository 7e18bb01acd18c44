"""The all-or-nothing machinery of one import: its transaction, the write lock, the batch row and the reject report."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core.importing import (
    REJECT_COLUMNS,
    PreparedImport,
    reject_report_csv,
)
from core.scope import Scope
from db.dialect import is_postgres, is_sqlite
from db.importer.limits import _PG_IMPORT_LOCK, _SQLITE_BUSY_MS, BUSY_MESSAGE, LOCK_WAIT_SECONDS
from db.importer.result import ImportResult, Progress, _DryRunDone, _NothingToAdd
from db.models import (
    ImportBatch,
    utcnow,
)
from db.repo import record_audit


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
