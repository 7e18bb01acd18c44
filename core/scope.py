"""Who is asking: the actor, their role and the stores they may see.

Repository functions take a :class:`Scope` and filter by it, so authorization holds wherever
data is read, whatever page or command asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ROLES: Final = ("chain_admin", "store_manager", "marketer", "front_desk")

# Everything a chain admin may do; the system actor (CLI scripts, the worker) may do the same.
_CHAIN_ADMIN: Final = frozenset(
    {
        "view",
        "import",
        "edit_rules",
        "manage_users",
        "export",
        "campaign_edit",
        "campaign_approve",
        "view_pii",
        "read_audit",
        "tasks",
        "chain_rules",
        "anonymise",
        "manage_sources",
    }
)

# What each role may do; pages and repository writes check these.
PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "chain_admin": _CHAIN_ADMIN,
    "store_manager": frozenset(
        {
            "view",
            "import",
            "edit_rules",
            "export",
            "campaign_edit",
            "campaign_approve",
            "view_pii",
            "tasks",
            "anonymise",
        }
    ),
    "marketer": frozenset({"view", "export", "campaign_edit"}),
    "front_desk": frozenset({"tasks", "view_customer", "view_pii"}),
    "system": _CHAIN_ADMIN,
}


class PermissionDenied(PermissionError):
    """Raised when an actor calls a function their role does not allow."""


@dataclass(frozen=True)
class Scope:
    """The caller: ``store_ids`` None means every store (chain admin or the system actor)."""

    actor: str
    role: str
    store_ids: frozenset[int] | None

    @classmethod
    def system(cls, actor: str = "system") -> Scope:
        """The explicit system actor used by the CLI and the worker."""
        return cls(actor=actor, role="system", store_ids=None)

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        """Raise :class:`PermissionDenied` unless the role has ``permission``."""
        if not self.can(permission):
            raise PermissionDenied(f"{self.actor} ({self.role}) may not {permission.replace('_', ' ')}")

    def allows_store(self, store_id: int | None) -> bool:
        return self.store_ids is None or (store_id is not None and store_id in self.store_ids)

    def narrow(self, store_ids: list[int] | tuple[int, ...] | None) -> frozenset[int] | None:
        """The stores to read: the requested ones intersected with the allowed ones."""
        if store_ids is None:
            return self.store_ids
        requested = frozenset(store_ids)
        return requested if self.store_ids is None else requested & self.store_ids

    @property
    def masks_pii(self) -> bool:
        """Marketers see masked phones, emails and names in tables and exports."""
        return not self.can("view_pii")
