"""What every CLI command module shares: the error type, the engine, the caller's scope and the
one table of which permission each command needs (``docs/SECURITY.md`` shows it per role)."""

from __future__ import annotations

from typing import Final

from sqlalchemy.engine import Engine

from core.scope import Scope
from dashboard.settings import load_settings
from db.engine import get_engine, session_scope
from db.migrate import upgrade

#: Permissions (:data:`core.scope.PERMISSIONS`) each command needs, checked in this order before
#: the command reads or writes anything. Chain-wide jobs (the campaign tick, the warm-up, the demo
#: tools) act on every store at once, so they also need ``chain_rules`` (chain admin, system).
COMMAND_PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    "demo": ("import", "chain_rules"),
    "import bookings": ("import",),
    "import customers": ("import",),
    "import sql": ("import",),
    "score": ("view", "export"),
    "score --snapshot": ("view", "export", "import"),
    "kpi": ("view",),
    "campaigns list": ("view",),
    "campaigns run-due": ("campaign_approve", "chain_rules"),
    "campaigns simulate-bookings": ("import", "chain_rules"),
    "worker": ("campaign_approve", "chain_rules"),
    "warm": ("view", "chain_rules"),
    "loyalty recalc": ("edit_rules",),
    "loyalty reconcile": ("view",),
    "privacy anonymise": ("anonymise",),
    "users add": ("manage_users",),
    "users set-password": ("manage_users",),
    "sources add": ("manage_sources",),
    "sources list": ("import",),
    "sources remove": ("manage_sources",),
    "members duplicates": ("import",),
    "members merge": ("import",),
    "members undo": ("import",),
}


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def open_engine() -> Engine:
    """The configured database, migrated to the latest schema."""
    engine = get_engine(load_settings().database_url)
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


def require(scope: Scope, command: str) -> None:
    """Refuse ``command`` (a key of :data:`COMMAND_PERMISSIONS`) unless ``scope`` has every
    permission it needs; the error names the first missing permission."""
    for permission in COMMAND_PERMISSIONS[command]:
        if not scope.can(permission):
            raise CliError(
                f"permission denied: {scope.actor} ({scope.role}) may not {permission.replace('_', ' ')}; "
                f"`{command}` needs the {permission!r} permission"
            )


def command_scope(engine: Engine, username: str | None, command: str) -> Scope:
    """The caller's scope, already checked against what ``command`` needs."""
    scope = resolve_scope(engine, username)
    require(scope, command)
    return scope
