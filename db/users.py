"""Users, their store assignments, login bookkeeping (lockout) and session invalidation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import bcrypt
from sqlalchemy import delete, select
from sqlmodel import Session

from core.scope import ROLES, Scope
from db.models import User, UserStore, utcnow
from db.repo import record_audit


def hash_password(password: str) -> str:
    """bcrypt hash of ``password`` (never stored in clear)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=10)).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str  # ok | bad_credentials | locked | disabled
    locked_until: datetime | None = None


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def get_user(session: Session, *, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def user_store_ids(session: Session, *, user_id: int) -> frozenset[int]:
    return frozenset(session.scalars(select(UserStore.store_id).where(UserStore.user_id == user_id)))


def scope_for(session: Session, *, username: str) -> Scope | None:
    """The scope of an enabled user: chain admins see every store, others their assigned stores."""
    user = get_user(session, username=username)
    if user is None or user.disabled:
        return None
    stores = None if user.role == "chain_admin" else user_store_ids(session, user_id=user.id or 0)
    return Scope(actor=user.username, role=user.role, store_ids=stores)


def create_user(
    session: Session,
    *,
    actor: str,
    username: str,
    password: str,
    role: str,
    store_ids: list[int] | None = None,
    display_name: str = "",
    email: str = "",
    locale: str = "zh-TW",
) -> User:
    """Add a user with a hashed password and store assignments; audited."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password),
        role=role,
        locale=locale,
    )
    session.add(user)
    session.flush()
    for store_id in store_ids or []:
        session.add(UserStore(user_id=user.id, store_id=store_id))
    record_audit(session, actor=actor, action="user_create", entity="user", entity_id=username,
                 after={"role": role, "stores": store_ids or []})
    return user


def set_user_stores(session: Session, *, actor: str, username: str, store_ids: list[int]) -> None:
    user = get_user(session, username=username)
    if user is None:
        raise ValueError(f"no user {username!r}")
    before = sorted(user_store_ids(session, user_id=user.id or 0))
    session.execute(delete(UserStore).where(UserStore.user_id == user.id))
    for store_id in store_ids:
        session.add(UserStore(user_id=user.id, store_id=store_id))
    record_audit(session, actor=actor, action="user_stores", entity="user", entity_id=username,
                 before={"stores": before}, after={"stores": sorted(store_ids)})


def set_password(session: Session, *, actor: str, username: str, password: str) -> None:
    """Change a password; every cookie issued before now stops working."""
    user = get_user(session, username=username)
    if user is None:
        raise ValueError(f"no user {username!r}")
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    user.password_hash = hash_password(password)
    user.sessions_valid_after = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    record_audit(session, actor=actor, action="password_reset", entity="user", entity_id=username)


def set_disabled(session: Session, *, actor: str, username: str, disabled: bool) -> None:
    user = get_user(session, username=username)
    if user is None:
        raise ValueError(f"no user {username!r}")
    user.disabled = disabled
    user.sessions_valid_after = utcnow()
    record_audit(session, actor=actor, action="user_disable" if disabled else "user_enable",
                 entity="user", entity_id=username)


def invalidate_sessions(session: Session, *, username: str) -> None:
    """Logout: cookies issued before now are rejected from here on."""
    user = get_user(session, username=username)
    if user is not None:
        # One second of margin so a cookie issued in this same second cannot survive the logout.
        user.sessions_valid_after = utcnow() + timedelta(seconds=1)
        record_audit(session, actor=username, action="logout", entity="user", entity_id=username)


def attempt_login(
    session: Session,
    *,
    username: str,
    password: str,
    max_attempts: int,
    lockout_minutes: int,
    now: datetime | None = None,
) -> LoginResult:
    """Check a password with lockout bookkeeping; the caller shows one generic message for failures."""
    now = now or utcnow()
    user = get_user(session, username=username)
    if user is None:
        # Same cost as a real check, so timing does not reveal which usernames exist.
        check_password(password, "$2b$10$" + "a" * 53)
        return LoginResult(False, "bad_credentials")
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        record_audit(session, actor=username, action="login_locked", entity="user", entity_id=username)
        return LoginResult(False, "locked", locked_until)
    if not check_password(password, user.password_hash):
        user.failed_logins += 1
        if user.failed_logins >= max_attempts:
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            user.failed_logins = 0
        record_audit(session, actor=username, action="login_failed", entity="user", entity_id=username)
        return LoginResult(False, "bad_credentials", _aware(user.locked_until))
    if user.disabled:
        record_audit(session, actor=username, action="login_disabled", entity="user", entity_id=username)
        return LoginResult(False, "disabled")
    user.failed_logins = 0
    user.locked_until = None
    record_audit(session, actor=username, action="login", entity="user", entity_id=username)
    return LoginResult(True, "ok")


def session_still_valid(session: Session, *, username: str, issued_at: datetime) -> bool:
    """A cookie issued at ``issued_at`` is valid only for an enabled user and after the last invalidation."""
    user = get_user(session, username=username)
    if user is None or user.disabled:
        return False
    valid_after = _aware(user.sessions_valid_after) or utcnow()
    return _aware(issued_at) >= valid_after  # type: ignore[operator]


def list_users(session: Session) -> list[tuple[User, list[int]]]:
    users = list(session.scalars(select(User).order_by(User.username)))
    return [(user, sorted(user_store_ids(session, user_id=user.id or 0))) for user in users]
