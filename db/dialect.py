"""The one place that asks which database backend Revisit is talking to.

Revisit runs on SQLite (single-shop installs, tests) and PostgreSQL. A few statements differ per
backend (upserts, bulk loading, server-side aggregation); every such branch asks here, with an
Engine, a Connection or a Session, instead of spelling the dialect comparison itself.

(``db/sql_source.py`` branches on the backend of a shop's *source* database, which is a
different question and keeps its own names.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

Bind = Engine | Connection | Session

POSTGRESQL = "postgresql"
SQLITE = "sqlite"


def dialect_name(bind: Bind) -> str:
    """The SQLAlchemy dialect name (``"postgresql"``, ``"sqlite"``, ...) behind ``bind``.

    Parameters
    ----------
    bind
        An Engine, a Connection or a Session (its bound engine is asked).

    Returns
    -------
    str
        The dialect name.
    """
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def is_postgres(bind: Bind) -> bool:
    """Whether ``bind`` (Engine, Connection or Session) talks to PostgreSQL."""
    return dialect_name(bind) == POSTGRESQL


def is_sqlite(bind: Bind) -> bool:
    """Whether ``bind`` (Engine, Connection or Session) talks to SQLite."""
    return dialect_name(bind) == SQLITE


def dialect_insert(bind: Bind, table: Any) -> Any:
    """An ``INSERT`` for ``table`` that supports ``on_conflict_do_*`` on ``bind``'s backend."""
    return pg_insert(table) if is_postgres(bind) else sqlite_insert(table)
