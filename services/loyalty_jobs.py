"""The nightly loyalty jobs (earn, referral bonuses, expiry, tiers, ambassador tags), as one use case.

The worker runs :func:`run_nightly` after the daily score snapshot; every job is idempotent, so a
restart that runs it again writes nothing twice.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from core.scope import PermissionDenied, Scope
from db.loyalty import run_daily


def require_jobs_permission(scope: Scope) -> None:
    """The jobs write every store's ledger and tiers: a chain-wide actor with the chain's rules."""
    scope.require("chain_rules")
    if scope.store_ids is not None:
        raise PermissionDenied(f"{scope.actor} ({scope.role}) may not run the chain-wide loyalty jobs")


def run_nightly(engine: Engine, scope: Scope, *, as_of: date) -> dict[str, int]:
    """Bring points and tiers up to ``as_of`` (:func:`db.loyalty.run_daily`).

    Returns
    -------
    dict
        Counts: ``earned``, ``referral_credits``, ``expired_entries``, ``expired_points``,
        ``tier_upgrades``, ``tier_downgrades``, ``ambassadors_tagged``.
    """
    require_jobs_permission(scope)
    return run_daily(engine, as_of=as_of)
