"""Sign-in, cookies and the signed-in user's scope: the only module that reads auth state.

streamlit-authenticator signs, sets and deletes the re-login cookie (a JWT with the username and
expiry); passwords are bcrypt hashes in the database. On top of the library this module adds
what a shared chain database needs: lockout after repeated failures, disabled users, and
cookies that stop working after logout or a password change (``sessions_valid_after``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from sqlalchemy.engine import Engine

from core.scope import Scope
from dashboard.i18n import translate
from dashboard.settings import Settings
from db.engine import session_scope
from db.users import attempt_login, invalidate_sessions, scope_for, session_still_valid

COOKIE_NAME = "revisit_auth"
STATE_USER = "auth.username"
STATE_ISSUED = "auth.issued_at"
STATE_NOTICE = "auth.notice"
STATE_COOKIE = "auth.cookie"  # (token, expires) the browser should hold while signed in
STATE_FORGET = "auth.forget_cookie"  # after logout: delete the browser's cookie
#: Clock difference tolerated between the app server that issued a cookie and the one reading it.
CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    username: str
    scope: Scope


def decode_cookie(token: str, *, key: str) -> dict[str, Any] | None:
    """The payload of a re-login cookie, or None when the signature or format is wrong."""
    try:
        payload = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    if not isinstance(payload, dict) or "username" not in payload or "exp_date" not in payload:
        return None
    return payload


def cookie_issued_at(payload: dict[str, Any], *, expiry_days: float) -> datetime:
    """When the cookie was issued: the library stores only the expiry, so subtract the lifetime."""
    expires = datetime.fromtimestamp(float(payload["exp_date"]), tz=UTC)
    return expires - timedelta(days=expiry_days)


def cookie_username(
    token: str | None, *, key: str, expiry_days: float, engine: Engine, now: datetime | None = None
) -> str | None:
    """The user a cookie signs in, if its signature, expiry, user and issue time are all valid."""
    if not token:
        return None
    payload = decode_cookie(token, key=key)
    if payload is None:
        return None
    now = now or datetime.now(UTC)
    try:
        expires = float(payload["exp_date"])
    except (TypeError, ValueError):
        return None
    if not expires > now.timestamp():  # expired (or NaN)
        return None
    if expires > (now + timedelta(days=expiry_days) + CLOCK_SKEW).timestamp():
        return None  # claims to outlive the configured lifetime: not a cookie this app issued
    issued = cookie_issued_at(payload, expiry_days=expiry_days)
    with session_scope(engine) as session:
        if not session_still_valid(session, username=str(payload["username"]), issued_at=issued):
            return None
    return str(payload["username"])


def cookie_key(settings: Settings) -> str:
    """The key that signs cookies: REVISIT_COOKIE_KEY, or in demo mode this installation's random
    key (:func:`dashboard.demo_key.installation_demo_key`); RuntimeError when there is none."""
    if settings.uses_demo_key:
        from dashboard.demo_key import installation_demo_key

        try:
            demo_key = installation_demo_key(settings.data_dir)
        except OSError as exc:  # an unwritable data folder: the error page, not a traceback
            raise RuntimeError(f"cannot keep the demo cookie key in {settings.data_dir}: {exc}") from exc
        return settings.effective_cookie_key(demo_key=demo_key)
    return settings.effective_cookie_key()


def _authenticator(settings: Settings) -> stauth.Authenticate:
    # The library needs a credentials dict; passwords are checked against the database instead.
    return stauth.Authenticate(
        {"usernames": {}},
        COOKIE_NAME,
        cookie_key(settings),
        settings.cookie_expiry_days,
        auto_hash=False,
    )


def _login_form(settings: Settings, engine: Engine, locale: str) -> str | None:
    """Render the sign-in form; return the username once a sign-in succeeds."""
    holder = st.empty()
    with holder.container():
        username = _render_login_form(settings, engine, locale)
    if username is not None:
        holder.empty()
    return username


def _render_login_form(settings: Settings, engine: Engine, locale: str) -> str | None:
    st.title(translate("login.title", locale))
    notice = st.session_state.pop(STATE_NOTICE, None)
    if notice:
        st.info(translate(notice, locale))
    with st.form("login_form"):
        username = st.text_input(translate("login.username", locale), key="login.username")
        password = st.text_input(translate("login.password", locale), type="password", key="login.password")
        submitted = st.form_submit_button(translate("login.submit", locale))
    if settings.demo_mode:
        st.caption(translate("login.demo_hint", locale, password="revisit-demo"))
        st.caption("admin · manager · marketer · frontdesk")
    if not submitted:
        return None
    with session_scope(engine) as session:
        result = attempt_login(
            session,
            username=username.strip(),
            password=password,
            max_attempts=settings.lockout_attempts,
            lockout_minutes=settings.lockout_minutes,
        )
    if result.ok:
        st.session_state[STATE_USER] = username.strip()
        _issue_cookie(settings, username.strip())
        return username.strip()
    if result.reason == "locked" or result.locked_until is not None:
        # One generic message from the failure that locks the account on: it says nothing about
        # whether the password was right.
        st.error(translate("login.locked", locale, minutes=settings.lockout_minutes))
    else:
        st.error(translate("login.failed", locale))
    return None


def require_cookie_key(settings: Settings, locale: str) -> str:
    """The cookie key; without a usable one, a clear error page and the run stops (no traceback)."""
    try:
        return cookie_key(settings)
    except RuntimeError:
        st.title(translate("security.config_error_title", locale))
        st.error(translate("security.cookie_key_missing", locale))
        st.caption(translate("security.cookie_key_hint", locale))
        st.stop()
        raise  # st.stop() raises; this line keeps type checkers honest


def signed_in_user(settings: Settings, engine: Engine, locale: str) -> SignedIn | None:
    """The signed-in user for this browser session, rendering the login form when there is none.

    Refuses to run (error page) when the cookie key is missing or a placeholder outside demo mode.
    """
    key = require_cookie_key(settings, locale)
    username = st.session_state.get(STATE_USER)
    if username is None:
        token = st.context.cookies.get(COOKIE_NAME) if hasattr(st, "context") else None
        username = cookie_username(token, key=key, expiry_days=settings.cookie_expiry_days, engine=engine)
        if username is not None:
            payload = decode_cookie(token or "", key=key) or {}
            st.session_state[STATE_USER] = username
            st.session_state[STATE_ISSUED] = cookie_issued_at(payload, expiry_days=settings.cookie_expiry_days)
    if username is None:
        username = _login_form(settings, engine, locale)
        if username is None:
            _sync_cookie(settings)
            return None
    issued = st.session_state.get(STATE_ISSUED) or datetime.now(UTC)
    with session_scope(engine) as session:
        valid = session_still_valid(session, username=username, issued_at=issued)
        scope = scope_for(session, username=username) if valid else None
    if scope is None:
        # Disabled, password changed or logged out elsewhere: end this session too.
        _forget(settings)
        st.session_state[STATE_NOTICE] = "login.session_ended"
        _login_form(settings, engine, locale)
        _sync_cookie(settings)
        return None
    _sync_cookie(settings)
    return SignedIn(username=username, scope=scope)


def _issue_cookie(settings: Settings, username: str) -> None:
    """Sign the re-login cookie (the library's JWT format) and remember it for :func:`_sync_cookie`."""
    expires = datetime.now(UTC) + timedelta(days=settings.cookie_expiry_days)
    token = jwt.encode({"username": username, "exp_date": expires.timestamp()}, cookie_key(settings), algorithm="HS256")
    st.session_state[STATE_COOKIE] = (token, expires)
    st.session_state[STATE_ISSUED] = cookie_issued_at(
        {"exp_date": expires.timestamp()}, expiry_days=settings.cookie_expiry_days
    )
    st.session_state.pop(STATE_FORGET, None)


def _sync_cookie(settings: Settings) -> None:
    """Keep the browser's cookie in line with this session: set after sign-in, deleted after logout.

    The library's cookie manager is a component that acts when the browser renders it, so it is
    rendered on every run (same key and arguments: one hidden, stable element in the sidebar)
    rather than once inside the login form, which is cleared before the browser could run it.
    """
    cookie = st.session_state.get(STATE_COOKIE)
    if cookie is None and not st.session_state.get(STATE_FORGET):
        return
    try:
        with st.sidebar:
            manager = _authenticator(settings).cookie_controller.cookie_model.cookie_manager
            if cookie is not None:
                token, expires = cookie
                manager.set(
                    COOKIE_NAME, token, key="auth.cookie_set", expires_at=expires.astimezone().replace(tzinfo=None)
                )
            else:
                manager.delete(COOKIE_NAME, key="auth.cookie_delete")
    except Exception:  # noqa: BLE001 - no browser (AppTest) or no cookie to delete: the server side decides
        pass


def _forget(settings: Settings) -> None:
    for key in (STATE_USER, STATE_ISSUED, STATE_COOKIE, "username"):
        st.session_state.pop(key, None)
    st.session_state[STATE_FORGET] = True


def logout(settings: Settings, engine: Engine, username: str) -> None:
    """End every session of ``username`` (cookies issued before now are refused) and this one."""
    with session_scope(engine) as session:
        invalidate_sessions(session, username=username)
    _forget(settings)
