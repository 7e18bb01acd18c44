"""Accounts (chain admins, ``manage_users``): list, create, disable/enable, reset passwords, assign stores.

Each function is one transaction; the repository checks the permission and audits the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from core.scope import Scope
from db import repo, users
from db.engine import session_scope
from db.models import Store, User

MIN_PASSWORD_LENGTH = users.MIN_PASSWORD_LENGTH


@dataclass(frozen=True)
class Accounts:
    """Every account with its stores, and the stores the admin may assign."""

    accounts: list[tuple[User, list[int]]]
    stores: list[Store]


def list_accounts(engine: Engine, scope: Scope) -> Accounts:
    """Accounts and assignable stores (raises PermissionDenied without ``manage_users``)."""
    with session_scope(engine) as session:
        return Accounts(accounts=users.list_users(session, scope=scope), stores=repo.list_stores(session, scope=scope))


def create_account(
    engine: Engine,
    scope: Scope,
    *,
    username: str,
    password: str,
    role: str,
    store_ids: list[int],
    display_name: str = "",
    email: str = "",
    locale: str = "zh-TW",
) -> None:
    """Create an account (ValueError names what is wrong with a field)."""
    with session_scope(engine) as session:
        users.create_user(
            session,
            scope=scope,
            username=username,
            password=password,
            role=role,
            store_ids=store_ids,
            display_name=display_name,
            email=email,
            locale=locale,
        )


def set_account_disabled(engine: Engine, scope: Scope, *, username: str, disabled: bool) -> None:
    """Disable or enable an account; its cookies stop working either way."""
    with session_scope(engine) as session:
        users.set_disabled(session, scope=scope, username=username, disabled=disabled)


def reset_password(engine: Engine, scope: Scope, *, username: str, password: str) -> None:
    """Set a new password; cookies issued before it stop working."""
    with session_scope(engine) as session:
        users.set_password(session, scope=scope, username=username, password=password)


def assign_stores(engine: Engine, scope: Scope, *, username: str, store_ids: list[int]) -> None:
    """Replace the stores an account may see."""
    with session_scope(engine) as session:
        users.set_user_stores(session, scope=scope, username=username, store_ids=store_ids)
