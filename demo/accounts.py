"""Demo accounts (one per role) and starter settings for a freshly generated demo chain."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from core.scope import Scope
from db.models import Store
from db.users import create_user, get_user

# username -> (role, store codes; None = every store through the chain-admin role)
DEMO_ACCOUNTS: dict[str, tuple[str, tuple[str, ...] | None, str]] = {
    "admin": ("chain_admin", None, "總部 王經理"),
    "manager": ("store_manager", ("TPE01",), "信義店 林店長"),
    "marketer": ("marketer", ("TPE01", "TPE02", "TXG01"), "行銷 陳小姐"),
    "frontdesk": ("front_desk", ("TPE01",), "櫃台 張小姐"),
}


def seed_demo_accounts(session: Session, *, password: str) -> dict[str, int]:
    """Create the demo logins (skipping any that exist) and return how many were added."""
    codes = {store.code: store.id for store in session.scalars(select(Store))}
    added = 0
    for username, (role, store_codes, display_name) in DEMO_ACCOUNTS.items():
        if get_user(session, username=username) is not None:
            continue
        store_ids = [codes[c] for c in store_codes or () if c in codes]
        if store_codes and not store_ids:
            store_ids = [min(codes.values())] if codes else []
        create_user(
            session,
            scope=Scope.system("demo"),
            username=username,
            password=password,
            role=role,
            store_ids=store_ids,
            display_name=display_name,
        )
        added += 1
    return {"users": added}
