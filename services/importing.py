"""Importing a file: options, saved mappings, preparing rows, writing them, the status words, history.

The Data page and ``import bookings|customers`` both run through here (``services/sources.py``
does the same for registered databases), so a file imports the same way from either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from core.importing import ImportOptions, PreparedImport, RawTable, read_table
from core.scope import Scope
from db import importer
from db.engine import session_scope

KINDS = importer.KINDS
BUSY_MESSAGE = importer.BUSY_MESSAGE
ImportResult = importer.ImportResult
Progress = importer.Progress
fields_for = importer.fields_for


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
        dict(mapping)
        if mapping is not None
        else importer.resolve_mapping(headers, kind=kind, saved=saved, map_args=map_args)
    )
    prepared = importer.prepare(kind, table, final, options)
    return FileImport(kind=kind, table=table, mapping=final, prepared=prepared)


def import_prepared(engine: Engine, *, prepared_file: FileImport, scope: Scope, **kwargs: Any) -> ImportResult:
    """Write a :class:`FileImport` with ``importer.import_bookings`` or ``importer.import_customers``."""
    writer = importer.import_bookings if prepared_file.kind == "bookings" else importer.import_customers
    return writer(engine, prepared=prepared_file.prepared, scope=scope, **kwargs)


def import_options(
    engine: Engine, *, country: str, dayfirst: bool | None = None, default_store: str | None = None
) -> ImportOptions:
    """How to read the file: the shop's own status words, the phone country, the date order."""
    with session_scope(engine) as session:
        vocabulary = importer.load_status_vocabulary(session)
    return ImportOptions(default_country=country, dayfirst=dayfirst, statuses=vocabulary, default_store=default_store)


def saved_sources(engine: Engine, *, kind: str) -> list[str]:
    """Names with a saved mapping for ``kind``, most recently used first."""
    with session_scope(engine) as session:
        return importer.list_sources(session, kind=kind)


def saved_mapping(engine: Engine, *, source: str, kind: str) -> dict[str, str] | None:
    """The mapping saved under ``source`` (None when there is none)."""
    with session_scope(engine) as session:
        return importer.saved_mapping(session, source=source, kind=kind)


def suggest_mapping(
    headers: Sequence[str], *, kind: str, saved: Mapping[str, str] | None = None, map_args: Iterable[str] = ()
) -> dict[str, str]:
    """The suggested mapping, overridden by a saved one, then by explicit ``FIELD=COLUMN`` pairs."""
    return importer.resolve_mapping(headers, kind=kind, saved=saved, map_args=map_args)


def prepare_rows(
    kind: str, table: RawTable | pd.DataFrame, mapping: Mapping[str, str], options: ImportOptions
) -> PreparedImport:
    """Validate and convert the mapped rows (raises ImportFileError when the file cannot be used)."""
    return importer.prepare(kind, table, mapping, options)


def write_rows(
    engine: Engine,
    scope: Scope,
    *,
    kind: str,
    prepared: PreparedImport,
    reject_dir: str | Path,
    source: str = "",
    filename: str = "",
    create_stores: bool = False,
    country: str = "TW",
    dry_run: bool = False,
    progress: Progress | None = None,
    save_mapping: Mapping[str, str] | None = None,
    **options: Any,
) -> ImportResult:
    """Write prepared rows in one transaction; after a real import, save ``save_mapping`` under ``source``.

    The reject report goes under ``reject_dir`` (the application passes ``Settings.reject_report_dir``).
    """
    writer = importer.import_bookings if kind == "bookings" else importer.import_customers
    result = writer(
        engine,
        prepared=prepared,
        scope=scope,
        source=source,
        filename=filename,
        reject_dir=reject_dir,
        create_stores=create_stores,
        country=country,
        dry_run=dry_run,
        progress=progress,
        **options,
    )
    if result.status == "done" and save_mapping is not None and source.strip():
        with session_scope(engine) as session:
            importer.save_mapping(session, scope=scope, source=source.strip(), kind=kind, mapping=save_mapping)
    return result


def read_file(
    data: bytes,
    filename: str,
    *,
    kind: str,
    options: ImportOptions,
    max_bytes: int,
    saved: Mapping[str, str] | None = None,
    map_args: Iterable[str] = (),
) -> FileImport:
    """Read, map and prepare a whole file of at most ``max_bytes`` (the command line's path)."""
    return read_and_prepare(
        data, filename, kind=kind, options=options, saved=saved, map_args=map_args, max_bytes=max_bytes
    )


def status_words(engine: Engine) -> dict[str, str]:
    """The shop's own status words ``{word: status}``."""
    with session_scope(engine) as session:
        return importer.custom_status_words(session)


def save_status_words(engine: Engine, scope: Scope, *, words: Mapping[str, str]) -> dict[str, str]:
    """Replace the shop's own status words (validated, audited)."""
    with session_scope(engine) as session:
        return importer.save_status_words(session, scope=scope, words=words)


def import_history(engine: Engine, scope: Scope, *, limit: int = 20) -> pd.DataFrame:
    """The latest import batches the actor may see."""
    with session_scope(engine) as session:
        return importer.recent_batches(session, scope=scope, limit=limit)
