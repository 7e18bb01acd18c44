"""Registered SQL sources: the rows only; who may register or read them is decided in services."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from db.models import SqlSource, Store, utcnow


def get_source(session: Session, *, name: str) -> SqlSource | None:
    """The source registered under ``name`` (exact), or None."""
    return session.scalars(select(SqlSource).where(SqlSource.name == name)).first()


def all_sources(session: Session) -> list[SqlSource]:
    """Every registered source, by name (callers filter by the actor's stores)."""
    return list(session.scalars(select(SqlSource).order_by(SqlSource.name)))


def save_source(session: Session, *, source: SqlSource) -> SqlSource:
    """Insert ``source`` or replace the one with the same name (same id kept)."""
    existing = get_source(session, name=source.name)
    if existing is None:
        session.add(source)
        session.flush()
        return source
    for field in (
        "backend",
        "shown_url",
        "secret",
        "table_name",
        "query",
        "watermark_column",
        "kind",
        "allowed_tables",
        "store_ids",
        "created_by",
    ):
        setattr(existing, field, getattr(source, field))
    existing.updated_at = utcnow()
    session.add(existing)
    session.flush()
    return existing


def delete_source(session: Session, *, name: str) -> bool:
    """Remove the source named ``name``; False when there was none."""
    existing = get_source(session, name=name)
    if existing is None:
        return False
    session.delete(existing)
    session.flush()
    return True


def store_ids_by_code(session: Session, *, codes: list[str]) -> dict[str, int]:
    """Store ids for the given codes (unknown codes are absent from the result)."""
    if not codes:
        return {}
    rows = session.execute(select(Store.code, Store.id).where(Store.code.in_(codes)))
    return {code: store_id for code, store_id in rows}
