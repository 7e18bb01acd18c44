"""db/dialect.py answers "which backend?" the same for an Engine, a Connection and a Session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.dialect import dialect_insert, dialect_name, is_postgres, is_sqlite
from db.models import Store


def test_every_kind_of_bind_gives_the_backend_of_its_url(engine: Engine) -> None:
    backend = engine.url.get_backend_name()  # "sqlite" or "postgresql", from the URL itself
    with engine.connect() as connection, Session(engine) as session:
        for bind in (engine, connection, session):
            assert dialect_name(bind) == backend
            assert is_postgres(bind) is (backend == "postgresql")
            assert is_sqlite(bind) is (backend == "sqlite")


def test_dialect_insert_skips_a_conflicting_row_on_either_backend(engine: Engine) -> None:
    with Session(engine) as session:
        for name in ("first", "second"):
            row = {
                "code": "S1",
                "name": name,
                "city": "",
                "timezone": "UTC",
                "kind": "beauty_salon",
                "currency": "TWD",
                "country": "TW",
                "daily_capacity": 10,
            }
            session.execute(
                dialect_insert(session, Store).values(**row).on_conflict_do_nothing(index_elements=["code"])
            )
        session.commit()
        assert session.execute(select(Store.name)).scalars().all() == ["first"]
