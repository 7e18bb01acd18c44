"""Alembic environment: the engine comes from the caller (db.migrate) or ``alembic -x url=URL``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from db.dialect import is_sqlite
from db.engine import make_engine
from db.migrate import include_object

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        url = context.get_x_argument(as_dictionary=True).get("url")
        if not url:
            raise SystemExit("name the database: alembic -x url=DATABASE_URL ...")
        engine = make_engine(url)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite(connection),
            compare_type=True,
            include_object=include_object,
        )
        context.run_migrations()


run_migrations_online()
