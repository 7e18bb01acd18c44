"""End to end in Chromium: lockout after repeated bad passwords; a cookie replayed after logout
does not sign in again (RELIABILITY 2, 5)."""

from __future__ import annotations

import pytest

from dashboard.auth import COOKIE_NAME
from tests.support.browser import browser_page, sign_in, streamlit_server
from tests.support.factories import PASSWORD, small_world

pytestmark = pytest.mark.timeout(240)


def _wait_for_login_form(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Password").or_(page.get_by_label("密碼")).first.wait_for(timeout=30_000)


def test_wrong_password_n_times_shows_the_lockout_message(sqlite_engine) -> None:
    small_world(sqlite_engine)
    with (
        streamlit_server(str(sqlite_engine.url), extra_env={"REVISIT_LOCKOUT_ATTEMPTS": "3"}) as base,
        browser_page() as page,
    ):
        for attempt in range(3):
            sign_in(page, base, "mgr_a", f"wrong-password-{attempt}")
            page.get_by_text("帳號或密碼不正確").or_(page.get_by_text("登入失敗次數過多")).first.wait_for(
                timeout=30_000
            )
        page.get_by_text("登入失敗次數過多").first.wait_for(timeout=30_000)
        # Now even the right password gets the same generic message, and no dashboard.
        sign_in(page, base, "mgr_a", PASSWORD)
        page.get_by_text("登入失敗次數過多").first.wait_for(timeout=30_000)
        assert page.get_by_text("顧客數").count() == 0
        # Another user is not affected.
        sign_in(page, base, "mkt_a", PASSWORD)
        page.get_by_text("顧客數").first.wait_for(timeout=30_000)


def test_logout_then_the_old_cookie_no_longer_signs_in(sqlite_engine) -> None:
    small_world(sqlite_engine)
    with streamlit_server(str(sqlite_engine.url)) as base, browser_page() as page:
        sign_in(page, base, "mgr_a", PASSWORD)
        page.get_by_text("顧客數").first.wait_for(timeout=30_000)
        context = page.context
        for _ in range(40):  # the cookie component sets it shortly after the first render
            cookies = [c for c in context.cookies() if c["name"] == COOKIE_NAME]
            if cookies:
                break
            page.wait_for_timeout(250)
        assert cookies, "sign-in did not set the re-login cookie"
        # The cookie alone signs in a fresh tab (so the replay below is a real test).
        fresh = context.new_page()
        fresh.goto(base)
        fresh.get_by_text("顧客數").first.wait_for(timeout=30_000)
        fresh.close()

        page.get_by_role("button", name="登出").click()
        _wait_for_login_form(page)
        context.add_cookies(cookies)  # replay the cookie captured before the logout
        page.reload()
        _wait_for_login_form(page)
        page.wait_for_timeout(1500)
        assert page.get_by_text("顧客數").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0


def test_marketer_typing_the_users_url_gets_no_users_page(sqlite_engine) -> None:
    small_world(sqlite_engine)
    with streamlit_server(str(sqlite_engine.url)) as base, browser_page() as page:
        sign_in(page, base, "mkt_a", PASSWORD)
        page.get_by_text("顧客數").first.wait_for(timeout=30_000)
        for _ in range(40):  # the re-login cookie lets the new URL open signed in
            if any(c["name"] == COOKIE_NAME for c in page.context.cookies()):
                break
            page.wait_for_timeout(250)
        for path in ("users", "audit"):
            page.goto(f"{base}/{path}")
            page.get_by_text("顧客數").first.wait_for(timeout=30_000)  # Streamlit falls back to the default page
            page.wait_for_timeout(1000)
            body = page.inner_text("body")
            assert "使用者管理" not in body and "帳號列表" not in body and "稽核紀錄" not in body
            assert page.locator("[data-testid='stException']").count() == 0
