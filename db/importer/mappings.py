"""Column mappings (suggested, saved, per source), the status vocabulary and the import history reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core.columns import BOOKING_STATUSES
from core.importing import (
    BOOKING_FIELDS,
    CUSTOMER_FIELDS,
    ImportOptions,
    PreparedImport,
    RawTable,
    StatusVocabulary,
    merge_mapping,
    parse_mapping_args,
    prepare_bookings,
    prepare_customers,
    suggest_mapping,
)
from core.scope import Scope
from db.importer.limits import KINDS, STATUS_VOCABULARY_KEY
from db.models import (
    AppSetting,
    ImportBatch,
    ImportMapping,
    utcnow,
)
from db.repo import record_audit


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
