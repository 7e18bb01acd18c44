"""db/scoping.py: the one store-scope filter, on SQLite and PostgreSQL.

Three stores' audit entries plus one chain-wide entry (no store): the helper must return all of
them unfiltered, none for an empty scope, exactly the listed stores for a set, and the chain-wide
entry as well only when asked to.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import AuditLog
from db.scoping import scoped


@pytest.fixture
def entries(engine: Engine) -> Engine:
    with Session(engine) as session:
        for actor, store in (("a", 1), ("b", 2), ("c", 3), ("chain", None)):
            session.add(AuditLog(actor=actor, action="test", store_id=store))
        session.commit()
    return engine


@pytest.mark.parametrize(
    ("stores", "chain_wide", "expected"),
    [
        (None, False, ["a", "b", "c", "chain"]),
        (None, True, ["a", "b", "c", "chain"]),
        (frozenset(), False, []),
        (frozenset(), True, ["chain"]),
        (frozenset({3, 1}), False, ["a", "c"]),
        ([2], True, ["b", "chain"]),
        ({99}, False, []),
    ],
)
def test_scoped_keeps_exactly_the_rows_of_the_allowed_stores(entries: Engine, stores, chain_wide, expected) -> None:
    with Session(entries) as session:
        statement = scoped(select(AuditLog.actor), AuditLog.store_id, stores, chain_wide=chain_wide)
        assert sorted(session.scalars(statement)) == expected
