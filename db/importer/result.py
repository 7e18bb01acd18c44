"""What an import did (:class:`ImportResult`), its errors and progress callback, and the row counts it compares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.models import (
    Booking,
    Customer,
    Pet,
    Service,
    Staff,
    Store,
)

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


def booking_counts(engine: Engine) -> dict[str, int]:
    """Row counts of the tables an import writes (tests and the bench compare them)."""

    counts = {}
    with engine.connect() as connection:
        for model in (Store, Service, Staff, Customer, Pet, Booking):
            table = model.__table__  # type: ignore[attr-defined]
            counts[table.name] = int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
    return counts
