"""Alembic environment: the engine comes from the caller (db.migrate) or DATABASE_URL."""
from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from db.dialect import is_sqlite
from db.engine import get_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or get_engine()
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite(connection),
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
