"""Sign-in hardening (RELIABILITY 1, 2, 5): forged/expired cookies, disabled users, logout, lockout."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest

from core.config import Settings
from db.engine import session_scope
from db.users import attempt_login, invalidate_sessions, set_disabled, set_password
from dashboard.auth import cookie_username
from tests.factories import PASSWORD, small_world

KEY = "k" * 40
EXPIRY_DAYS = 1.0


def make_cookie(username: str, *, issued: datetime, key: str = KEY) -> str:
    expires = issued + timedelta(days=EXPIRY_DAYS)
    return jwt.encode({"username": username, "exp_date": expires.timestamp()}, key, algorithm="HS256")


def read(engine, token: str, *, now: datetime | None = None) -> str | None:
    return cookie_username(token, key=KEY, expiry_days=EXPIRY_DAYS, engine=engine, now=now)


def test_valid_cookie_signs_in(engine) -> None:
    small_world(engine)
    assert read(engine, make_cookie("mgr_a", issued=datetime.now(timezone.utc))) == "mgr_a"


def test_cookie_signed_with_another_key_is_rejected(engine) -> None:
    small_world(engine)
    forged = make_cookie("admin", issued=datetime.now(timezone.utc), key="x" * 40)
    assert read(engine, forged) is None
    assert read(engine, "not-a-jwt") is None


def test_expired_cookie_is_rejected(engine) -> None:
    small_world(engine)
    old = make_cookie("mgr_a", issued=datetime.now(timezone.utc) - timedelta(days=2))
    assert read(engine, old) is None


def test_disabled_user_cookie_is_rejected(engine) -> None:
    small_world(engine)
    token = make_cookie("mgr_a", issued=datetime.now(timezone.utc))
    with session_scope(engine) as session:
        set_disabled(session, actor="admin", username="mgr_a", disabled=True)
    assert read(engine, token) is None


def test_cookie_replayed_after_logout_or_password_change_is_rejected(engine) -> None:
    small_world(engine)
    token = make_cookie("mgr_a", issued=datetime.now(timezone.utc) - timedelta(minutes=5))
    with session_scope(engine) as session:
        invalidate_sessions(session, username="mgr_a")
    assert read(engine, token) is None
    token_b = make_cookie("mkt_a", issued=datetime.now(timezone.utc) - timedelta(minutes=5))
    with session_scope(engine) as session:
        set_password(session, actor="admin", username="mkt_a", password="another-pass-1")
    assert read(engine, token_b) is None
    # A cookie issued after the change works.
    fresh = make_cookie("mkt_a", issued=datetime.now(timezone.utc) + timedelta(seconds=2))
    assert read(engine, fresh) == "mkt_a"


def test_lockout_after_repeated_failures_leaves_other_users_alone(engine) -> None:
    small_world(engine)
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        for _ in range(3):
            result = attempt_login(session, username="mgr_a", password="wrong", max_attempts=3,
                                   lockout_minutes=15, now=now)
            assert not result.ok
        locked = attempt_login(session, username="mgr_a", password=PASSWORD, max_attempts=3,
                               lockout_minutes=15, now=now)
        other = attempt_login(session, username="mkt_a", password=PASSWORD, max_attempts=3,
                              lockout_minutes=15, now=now)
        later = attempt_login(session, username="mgr_a", password=PASSWORD, max_attempts=3,
                              lockout_minutes=15, now=now + timedelta(minutes=16))
    assert locked.reason == "locked" and not locked.ok
    assert other.ok
    assert later.ok


def test_unknown_and_disabled_users_cannot_sign_in(engine) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        assert attempt_login(session, username="ghost", password=PASSWORD, max_attempts=3,
                             lockout_minutes=15).reason == "bad_credentials"
        set_disabled(session, actor="admin", username="desk_b", disabled=True)
        assert not attempt_login(session, username="desk_b", password=PASSWORD, max_attempts=3,
                                 lockout_minutes=15).ok


def test_missing_cookie_key_refused_outside_demo_mode() -> None:
    with pytest.raises(RuntimeError, match="REVISIT_COOKIE_KEY"):
        Settings.from_env({"REVISIT_COOKIE_KEY": "changethis"}).effective_cookie_key()
    assert len(Settings.from_env({"REVISIT_DEMO_MODE": "1"}).effective_cookie_key()) >= 32
    assert Settings.from_env({"REVISIT_COOKIE_KEY": KEY}).effective_cookie_key() == KEY
