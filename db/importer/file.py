"""Whole files: read, map and prepare an upload, then write it with the matching writer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from core.importing import (
    ImportOptions,
    PreparedImport,
    RawTable,
    read_table,
)
from core.scope import Scope
from db.importer.bookings import import_bookings
from db.importer.customers import import_customers
from db.importer.mappings import prepare, resolve_mapping
from db.importer.result import ImportResult


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
