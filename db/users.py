"""Users, their store assignments, login bookkeeping (lockout) and session invalidation.

Every write (create, password reset, disable/enable, store assignment) and the user list take the
caller's :class:`core.scope.Scope` and require ``manage_users``, whatever page or command calls
them; a refused call raises :class:`core.scope.PermissionDenied` before anything is written.
The audit entry's ``actor`` is ``scope.actor``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Final

import bcrypt
from sqlalchemy import delete, select
from sqlmodel import Session

from core.scope import ROLES, Scope
from db.models import AuditLog, Store, User, UserStore, utcnow
from db.repo import record_audit

# Usernames are shown in menus, audit entries and messages: keep them to a plain, safe alphabet.
USERNAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_BYTES: Final = 72  # bcrypt ignores (bcrypt 5 refuses) anything longer
LOCALES: Final = ("zh-TW", "zh-CN", "en")


def hash_password(password: str) -> str:
    """bcrypt hash of ``password`` (never stored in clear)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=10)).decode("ascii")


@cache
def _dummy_hash() -> str:
    """A real bcrypt hash of a random password, made once per process at the cost of real hashes.

    An unknown username is checked against it, so the answer costs one bcrypt round like a real
    check (an invalid hash would fail at once and tell a timing attacker the name is unknown).
    """
    return hash_password(secrets.token_hex(16))


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
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password can have at most {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)")


def _check_stores(session: Session, store_ids: list[int]) -> list[int]:
    wanted = sorted(set(int(s) for s in store_ids))
    if wanted:
        known = set(session.scalars(select(Store.id).where(Store.id.in_(wanted))))
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise ValueError(f"unknown store id(s): {unknown}")
    return wanted


def _require_user(session: Session, username: str) -> User:
    user = get_user(session, username=username)
    if user is None:
        raise ValueError(f"no user {username!r}")
    return user


def create_user(
    session: Session,
    *,
    scope: Scope,
    username: str,
    password: str,
    role: str,
    store_ids: list[int] | None = None,
    display_name: str = "",
    email: str = "",
    locale: str = "zh-TW",
) -> User:
    """Add a user with a bcrypt-hashed password and store assignments; audited.

    Parameters
    ----------
    scope
        The caller; needs ``manage_users`` (:class:`PermissionDenied` otherwise, nothing written).
    username
        2–64 characters of ``A-Z a-z 0-9 _ . @ -``, unique.
    password
        At least ``MIN_PASSWORD_LENGTH`` characters; only its hash is stored.
    role
        One of :data:`core.scope.ROLES`.
    store_ids
        Stores the user may see (ignored for reads by chain admins, who see every store).

    Raises
    ------
    ValueError
        Invalid username, role, password, locale or store id, or the username is taken.
    """
    scope.require("manage_users")
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise ValueError("a username has 2-64 characters: letters, digits, _ . @ -")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}; choose one of {', '.join(LOCALES)}")
    _check_password(password)
    if get_user(session, username=username) is not None:
        raise ValueError(f"the username {username!r} is already taken")
    stores = _check_stores(session, list(store_ids or []))
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        email=email.strip(),
        password_hash=hash_password(password),
        role=role,
        locale=locale,
    )
    session.add(user)
    session.flush()
    for store_id in stores:
        session.add(UserStore(user_id=user.id, store_id=store_id))
    record_audit(
        session,
        actor=scope.actor,
        action="user_create",
        entity="user",
        entity_id=username,
        after={"role": role, "stores": stores},
    )
    return user


def set_user_stores(session: Session, *, scope: Scope, username: str, store_ids: list[int]) -> None:
    """Replace the stores assigned to ``username``; audited with before/after. Needs ``manage_users``."""
    scope.require("manage_users")
    user = _require_user(session, username)
    stores = _check_stores(session, list(store_ids))
    before = sorted(user_store_ids(session, user_id=user.id or 0))
    session.execute(delete(UserStore).where(UserStore.user_id == user.id))
    for store_id in stores:
        session.add(UserStore(user_id=user.id, store_id=store_id))
    record_audit(
        session,
        actor=scope.actor,
        action="user_stores",
        entity="user",
        entity_id=username,
        before={"stores": before},
        after={"stores": stores},
    )


def set_password(session: Session, *, scope: Scope, username: str, password: str) -> None:
    """Reset a password (needs ``manage_users``); every cookie issued before now stops working."""
    scope.require("manage_users")
    user = _require_user(session, username)
    _check_password(password)
    user.password_hash = hash_password(password)
    user.sessions_valid_after = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    record_audit(session, actor=scope.actor, action="password_reset", entity="user", entity_id=username)


def set_disabled(session: Session, *, scope: Scope, username: str, disabled: bool) -> None:
    """Disable (every session ends at once) or re-enable a user; needs ``manage_users``.

    A chain admin cannot disable their own account, so the chain never locks itself out by a slip.
    """
    scope.require("manage_users")
    user = _require_user(session, username)
    if disabled and username == scope.actor:
        raise ValueError("you cannot disable your own account")
    before = user.disabled
    user.disabled = disabled
    user.sessions_valid_after = utcnow()
    if not disabled:
        user.failed_logins = 0
        user.locked_until = None
    record_audit(
        session,
        actor=scope.actor,
        action="user_disable" if disabled else "user_enable",
        entity="user",
        entity_id=username,
        before={"disabled": before},
        after={"disabled": disabled},
    )


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
    """Check a password with lockout bookkeeping; the caller shows one generic message for failures.

    An unknown username gets exactly what a known one with a wrong password gets: the same
    result, one bcrypt check (against :func:`_dummy_hash`) and the same lockout after
    ``max_attempts`` failures within ``lockout_minutes`` (counted from its ``login_failed``
    audit entries), so neither the message nor the timing tells which usernames exist.
    """
    now = now or utcnow()
    user = get_user(session, username=username)
    if user is None:
        return _attempt_unknown(
            session,
            username=username[:64],
            password=password,
            max_attempts=max_attempts,
            lockout_minutes=lockout_minutes,
            now=now,
        )
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


def _attempt_unknown(
    session: Session, *, username: str, password: str, max_attempts: int, lockout_minutes: int, now: datetime
) -> LoginResult:
    """A sign-in with a username nobody has: always refused, counted and locked like a real user."""
    window = timedelta(minutes=lockout_minutes)

    def failures() -> list[datetime]:
        return [
            _aware(at)
            for at in session.scalars(  # type: ignore[misc]
                select(AuditLog.at)
                .where(
                    AuditLog.action == "login_failed",
                    AuditLog.actor == username,
                    AuditLog.at > now - window,
                    AuditLog.at <= now,
                )
                .order_by(AuditLog.at)
            )
        ]

    recent = failures()
    if len(recent) >= max_attempts:
        record_audit(session, actor=username, action="login_locked", entity="user", entity_id=username)
        # Locked until enough of those failures have left the window.
        return LoginResult(False, "locked", recent[-max_attempts] + window)  # type: ignore[operator]
    check_password(password, _dummy_hash())
    session.add(AuditLog(at=now, actor=username, action="login_failed", entity="user", entity_id=username))
    session.flush()
    if len(recent) + 1 >= max_attempts:
        return LoginResult(False, "bad_credentials", now + window)
    return LoginResult(False, "bad_credentials")


def session_still_valid(session: Session, *, username: str, issued_at: datetime) -> bool:
    """A cookie issued at ``issued_at`` is valid only for an enabled user and after the last invalidation."""
    user = get_user(session, username=username)
    if user is None or user.disabled:
        return False
    valid_after = _aware(user.sessions_valid_after) or utcnow()
    return _aware(issued_at) >= valid_after  # type: ignore[operator]


def list_users(session: Session, *, scope: Scope) -> list[tuple[User, list[int]]]:
    """Every user with their assigned store ids, by username; needs ``manage_users``.

    Password hashes stay on the returned objects: callers display chosen fields only.
    """
    scope.require("manage_users")
    users = list(session.scalars(select(User).order_by(User.username)))
    return [(user, sorted(user_store_ids(session, user_id=user.id or 0))) for user in users]


def enabled_scopes(session: Session) -> list[Scope]:
    """The scope of every enabled user, by username (the worker precomputes what each sees first)."""
    names = session.scalars(select(User.username).where(User.disabled.is_(False)).order_by(User.username))
    return [scope for name in list(names) if (scope := scope_for(session, username=name)) is not None]
