"""Reading the audit log (``read_audit``): the filters it offers and the entries, scoped to the reader."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy.engine import Engine

from core.scope import Scope
from db import audit_repo
from db.engine import session_scope

AUDIT_COLUMNS = audit_repo.AUDIT_COLUMNS


def audit_filter_options(engine: Engine, scope: Scope) -> tuple[list[str], list[str]]:
    """(actions, actors) present in the entries the reader may see."""
    with session_scope(engine) as session:
        return audit_repo.audit_filters(session, scope=scope)


def audit_entries(
    engine: Engine,
    scope: Scope,
    *,
    actions: list[str] | None,
    actor: str | None,
    since: date,
    until: date,
    limit: int,
) -> pd.DataFrame:
    """Entries newest first with :data:`AUDIT_COLUMNS` (see :func:`db.audit_repo.list_audit`)."""
    with session_scope(engine) as session:
        return audit_repo.list_audit(
            session, scope=scope, actions=actions, actor=actor, since=since, until=until, limit=limit
        )
