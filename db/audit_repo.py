"""Reading the audit log (logins, imports, rule changes, campaign approvals/sends, exports).

Writing stays in :func:`db.repo.record_audit`, inside the caller's transaction. Reading needs
``read_audit`` (chain admins and the system actor); entries tied to a store are filtered by the
caller's stores like every other read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import pandas as pd
from sqlalchemy import or_, select
from sqlmodel import Session

from core.scope import Scope
from db.models import AuditLog
from db.scoping import scoped

AUDIT_COLUMNS: Final = ("id", "at", "actor", "action", "entity", "entity_id", "store_id", "before", "after")
MAX_LIMIT: Final = 5000


def _utc(value: datetime | date, *, end_of_day: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    day = value + timedelta(days=1) if end_of_day else value
    return datetime.combine(day, time.min, tzinfo=UTC)


def _scoped(statement: Any, scope: Scope) -> Any:
    # A scoped reader sees only its stores' entries, never chain-wide ones (logins, user changes).
    return scoped(statement, AuditLog.store_id, scope.store_ids)


def list_audit(
    session: Session,
    *,
    scope: Scope,
    actions: list[str] | tuple[str, ...] | None = None,
    actor: str | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Audit entries, newest first, as a frame with :data:`AUDIT_COLUMNS` (``at`` in UTC).

    Parameters
    ----------
    scope
        The caller; needs ``read_audit`` (:class:`core.scope.PermissionDenied` otherwise).
    actions
        Keep only these actions (exact names, e.g. ``["login_failed", "export"]``); an action
        ending in ``*`` matches a prefix (``"import*"``).
    actor
        Keep only this actor's entries.
    since, until
        Inclusive bounds; a ``date`` means the whole UTC day (``until`` up to its end).
    limit
        At most this many rows (capped at ``MAX_LIMIT``).
    """
    scope.require("read_audit")
    statement = _scoped(select(AuditLog), scope)
    if actions:
        exact = [a for a in actions if not a.endswith("*")]
        prefixes = [a[:-1] for a in actions if a.endswith("*")]
        conditions = ([AuditLog.action.in_(exact)] if exact else []) + [
            AuditLog.action.startswith(p, autoescape=True) for p in prefixes
        ]
        statement = statement.where(or_(*conditions))
    if actor:
        statement = statement.where(AuditLog.actor == actor)
    if since is not None:
        statement = statement.where(AuditLog.at >= _utc(since))
    if until is not None:
        bound = _utc(until, end_of_day=True)
        statement = statement.where(AuditLog.at < bound if not isinstance(until, datetime) else AuditLog.at <= bound)
    statement = statement.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(max(1, min(int(limit), MAX_LIMIT)))
    rows = [
        (e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.store_id, e.before, e.after)
        for e in session.scalars(statement)
    ]
    frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="mixed")
    frame["store_id"] = frame["store_id"].astype("Int64")
    return frame


def audit_filters(session: Session, *, scope: Scope) -> tuple[list[str], list[str]]:
    """The distinct actions and actors in the log the caller may read (for filter widgets)."""
    scope.require("read_audit")
    actions = session.scalars(_scoped(select(AuditLog.action).distinct(), scope).order_by(AuditLog.action))
    actors = session.scalars(_scoped(select(AuditLog.actor).distinct(), scope).order_by(AuditLog.actor))
    return list(actions), list(actors)
