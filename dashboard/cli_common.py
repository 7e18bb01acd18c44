"""What every CLI command module shares: the error type, the engine and the caller's scope."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from core.scope import Scope
from db.engine import get_engine, session_scope
from db.migrate import upgrade


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def open_engine() -> Engine:
    """The configured database, migrated to the latest schema."""
    engine = get_engine()
    upgrade(engine)
    return engine


def resolve_scope(engine: Engine, username: str | None) -> Scope:
    """The system actor, or the named user's scope (refused when unknown or disabled)."""
    if not username:
        return Scope.system("cli")
    from db.users import scope_for

    with session_scope(engine) as session:
        scope = scope_for(session, username=username)
    if scope is None:
        raise CliError(f"user {username!r} does not exist or is disabled")
    return scope
