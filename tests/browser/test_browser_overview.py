"""End to end in Debian's Chromium: sign in and see the Overview render without an exception."""

from __future__ import annotations

import pytest

from tests.support.browser import browser_page, sign_in, streamlit_server
from tests.support.factories import PASSWORD, small_world

pytestmark = pytest.mark.timeout(180)


def test_manager_signs_in_and_sees_overview(sqlite_engine, tmp_path) -> None:
    small_world(sqlite_engine)
    with streamlit_server(str(sqlite_engine.url)) as base, browser_page() as page:
        sign_in(page, base, "mgr_a", PASSWORD)
        page.get_by_text("顧客數").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        body = page.inner_text("body")
        assert "NT$2,000" in body
        assert "B01" not in body  # the other store is not offered
