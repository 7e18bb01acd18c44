"""Sign-in hardening (RELIABILITY 1, 2, 5): forged/expired cookies, disabled users, logout, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from core.scope import Scope
from dashboard.auth import cookie_username
from dashboard.settings import Settings
from db.engine import session_scope
from db.users import (
    attempt_login,
    check_password,
    create_user,
    invalidate_sessions,
    list_users,
    set_disabled,
    set_password,
    set_user_stores,
)
from tests.support.factories import PASSWORD, small_world

KEY = "k" * 40
EXPIRY_DAYS = 1.0
ADMIN = Scope(actor="admin", role="chain_admin", store_ids=None)


def make_cookie(username: str, *, issued: datetime, key: str = KEY) -> str:
    expires = issued + timedelta(days=EXPIRY_DAYS)
    return jwt.encode({"username": username, "exp_date": expires.timestamp()}, key, algorithm="HS256")


def read(engine, token: str, *, now: datetime | None = None) -> str | None:
    return cookie_username(token, key=KEY, expiry_days=EXPIRY_DAYS, engine=engine, now=now)


def test_valid_cookie_signs_in(engine) -> None:
    small_world(engine)
    assert read(engine, make_cookie("mgr_a", issued=datetime.now(UTC))) == "mgr_a"


def test_cookie_signed_with_another_key_is_rejected(engine) -> None:
    small_world(engine)
    forged = make_cookie("admin", issued=datetime.now(UTC), key="x" * 40)
    assert read(engine, forged) is None
    assert read(engine, "not-a-jwt") is None


def test_expired_cookie_is_rejected(engine) -> None:
    small_world(engine)
    old = make_cookie("mgr_a", issued=datetime.now(UTC) - timedelta(days=2))
    assert read(engine, old) is None


def test_disabled_user_cookie_is_rejected(engine) -> None:
    small_world(engine)
    token = make_cookie("mgr_a", issued=datetime.now(UTC))
    with session_scope(engine) as session:
        set_disabled(session, scope=ADMIN, username="mgr_a", disabled=True)
    assert read(engine, token) is None


def test_cookie_replayed_after_logout_or_password_change_is_rejected(engine) -> None:
    small_world(engine)
    token = make_cookie("mgr_a", issued=datetime.now(UTC) - timedelta(minutes=5))
    with session_scope(engine) as session:
        invalidate_sessions(session, username="mgr_a")
    assert read(engine, token) is None
    token_b = make_cookie("mkt_a", issued=datetime.now(UTC) - timedelta(minutes=5))
    with session_scope(engine) as session:
        set_password(session, scope=ADMIN, username="mkt_a", password="another-pass-1")
    assert read(engine, token_b) is None
    # A cookie issued after the change works.
    fresh = make_cookie("mkt_a", issued=datetime.now(UTC) + timedelta(seconds=2))
    assert read(engine, fresh) == "mkt_a"


def test_lockout_after_repeated_failures_leaves_other_users_alone(engine) -> None:
    small_world(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for _ in range(3):
            result = attempt_login(
                session, username="mgr_a", password="wrong", max_attempts=3, lockout_minutes=15, now=now
            )
            assert not result.ok
        locked = attempt_login(
            session, username="mgr_a", password=PASSWORD, max_attempts=3, lockout_minutes=15, now=now
        )
        other = attempt_login(session, username="mkt_a", password=PASSWORD, max_attempts=3, lockout_minutes=15, now=now)
        later = attempt_login(
            session,
            username="mgr_a",
            password=PASSWORD,
            max_attempts=3,
            lockout_minutes=15,
            now=now + timedelta(minutes=16),
        )
    assert locked.reason == "locked" and not locked.ok
    assert other.ok
    assert later.ok


def test_unknown_and_disabled_users_cannot_sign_in(engine) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        assert (
            attempt_login(session, username="ghost", password=PASSWORD, max_attempts=3, lockout_minutes=15).reason
            == "bad_credentials"
        )
        set_disabled(session, scope=ADMIN, username="desk_b", disabled=True)
        assert not attempt_login(session, username="desk_b", password=PASSWORD, max_attempts=3, lockout_minutes=15).ok


def test_missing_cookie_key_refused_outside_demo_mode() -> None:
    with pytest.raises(RuntimeError, match="REVISIT_COOKIE_KEY"):
        Settings.from_env({"REVISIT_COOKIE_KEY": "changethis"}).effective_cookie_key()
    # Demo mode has no built-in key: it needs this installation's random one (tests/db/test_login_security.py).
    with pytest.raises(RuntimeError, match="demo key"):
        Settings.from_env({"REVISIT_DEMO_MODE": "1"}).effective_cookie_key()
    assert Settings.from_env({"REVISIT_COOKIE_KEY": KEY}).effective_cookie_key() == KEY


# --- user administration is checked in db/, whoever calls it ------------------------------------

USER_WRITES = {
    "create_user": lambda s, scope: create_user(
        s, scope=scope, username="newbie", password="long-enough-1", role="front_desk"
    ),
    "set_password": lambda s, scope: set_password(s, scope=scope, username="desk_b", password="long-enough-1"),
    "set_disabled": lambda s, scope: set_disabled(s, scope=scope, username="desk_b", disabled=True),
    "set_user_stores": lambda s, scope: set_user_stores(s, scope=scope, username="desk_b", store_ids=[]),
    "list_users": lambda s, scope: list_users(s, scope=scope),
}


@pytest.mark.parametrize("function", sorted(USER_WRITES))
@pytest.mark.parametrize("username", ["mgr_a", "mkt_a", "desk_b"])
def test_user_functions_refuse_roles_without_manage_users_and_write_nothing(engine, function, username) -> None:
    from sqlalchemy import func, select

    from core.scope import PermissionDenied
    from db.models import AuditLog, User
    from db.users import scope_for

    small_world(engine)
    with session_scope(engine) as session:
        scope = scope_for(session, username=username)
        before = (session.scalar(select(func.count(AuditLog.id))), session.scalar(select(func.count(User.id))))
    with pytest.raises(PermissionDenied):
        with session_scope(engine) as session:
            USER_WRITES[function](session, scope)
    with session_scope(engine) as session:
        after = (session.scalar(select(func.count(AuditLog.id))), session.scalar(select(func.count(User.id))))
        desk = session.scalar(select(User).where(User.username == "desk_b"))
    assert after == before
    assert not desk.disabled and check_password(PASSWORD, desk.password_hash)


@pytest.mark.parametrize("function", sorted(USER_WRITES))
def test_chain_admin_may_manage_users_and_is_named_in_the_audit(engine, function) -> None:
    from sqlalchemy import select

    from db.models import AuditLog

    small_world(engine)
    with session_scope(engine) as session:
        USER_WRITES[function](session, ADMIN)
    with session_scope(engine) as session:
        actors = set(
            session.scalars(
                select(AuditLog.actor).where(AuditLog.action.like("user%") | (AuditLog.action == "password_reset"))
            )
        )
    assert "admin" in actors or function == "list_users"


def test_create_user_validates_input(engine) -> None:
    small_world(engine)
    bad = [
        {"username": "x", "password": "long-enough-1", "role": "marketer"},
        {"username": "<img src=x>", "password": "long-enough-1", "role": "marketer"},
        {"username": "ok_name", "password": "short", "role": "marketer"},
        {"username": "ok_name", "password": "p" * 73, "role": "marketer"},
        {"username": "ok_name", "password": "long-enough-1", "role": "owner"},
        {"username": "mgr_a", "password": "long-enough-1", "role": "marketer"},
        {"username": "ok_name", "password": "long-enough-1", "role": "marketer", "store_ids": [999]},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            with session_scope(engine) as session:
                create_user(session, scope=ADMIN, **kwargs)


def test_admin_cannot_disable_own_account(engine) -> None:
    small_world(engine)
    with pytest.raises(ValueError, match="own account"):
        with session_scope(engine) as session:
            set_disabled(session, scope=ADMIN, username="admin", disabled=True)


# --- through the app (AppTest) --------------------------------------------------------------------


def _login(app, username: str, password: str):  # type: ignore[no-untyped-def]
    app.text_input(key="login.username").input(username)
    app.text_input(key="login.password").input(password)
    app.button[0].click().run()
    return app


def test_lockout_through_the_login_form_leaves_other_users_alone(sqlite_engine, monkeypatch) -> None:
    from dashboard import settings
    from tests.support.apptest_helpers import run_as, texts, use_database

    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_LOCKOUT_ATTEMPTS", "3")
    settings.load_settings.cache_clear()
    app = run_as(None)
    for attempt in range(1, 4):
        _login(app, "mgr_a", f"wrong-{attempt}")
        assert not app.exception
        if attempt < 3:
            assert "Wrong username or password" in texts(app)
    assert "Too many failed sign-ins. Try again in 15 minutes." in texts(app)
    _login(app, "mgr_a", PASSWORD)  # the right password does not help while locked, nor reveal itself
    assert "Too many failed sign-ins" in texts(app) and "Signed in as" not in texts(app)
    other = _login(run_as(None), "mkt_a", PASSWORD)
    assert not other.exception and "Signed in as mkt_a" in texts(other)


def test_disabled_user_cannot_sign_in_through_the_form(sqlite_engine, monkeypatch) -> None:
    from tests.support.apptest_helpers import run_as, texts, use_database

    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    with session_scope(sqlite_engine) as session:
        set_disabled(session, scope=ADMIN, username="mgr_a", disabled=True)
    app = _login(run_as(None), "mgr_a", PASSWORD)
    assert "Wrong username or password" in texts(app) and "Signed in as" not in texts(app)


def test_disabling_ends_an_open_session(sqlite_engine, monkeypatch) -> None:
    from tests.support.apptest_helpers import run_as, texts, use_database

    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a")
    assert "Signed in as mgr_a" in texts(app)
    with session_scope(sqlite_engine) as session:
        set_disabled(session, scope=ADMIN, username="mgr_a", disabled=True)
    app.run()
    assert "Signed in as" not in texts(app) and "Your session has ended" in texts(app)


def test_logout_button_invalidates_the_session(sqlite_engine, monkeypatch) -> None:
    from tests.support.apptest_helpers import run_as, texts, use_database

    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    issued = datetime.now(UTC) - timedelta(seconds=5)
    token = make_cookie("mgr_a", issued=issued)
    app = run_as("mgr_a")
    app.button(key="ui.logout").click().run()
    assert not app.exception and "Sign in to Revisit" in texts(app)
    assert read(sqlite_engine, token) is None  # a cookie from before the logout no longer signs in


def test_missing_cookie_key_shows_an_error_page_not_a_traceback(sqlite_engine, monkeypatch) -> None:
    from dashboard import settings
    from tests.support.apptest_helpers import run_as, texts, use_database

    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_DEMO_MODE", "0")
    monkeypatch.setenv("REVISIT_COOKIE_KEY", "changethis")
    settings.load_settings.cache_clear()
    app = run_as(None)
    assert not app.exception
    assert "Revisit is not configured yet" in texts(app)
    assert "REVISIT_COOKIE_KEY" in texts(app)
    assert len(app.text_input) == 0  # no login form without a key
