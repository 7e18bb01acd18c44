"""End to end in Debian's Chromium: a store manager opens Segments, then Customer 360."""

from __future__ import annotations

import pytest

from tests.support.browser import browser_page, sign_in, streamlit_server
from tests.support.factories import PASSWORD, small_world

pytestmark = pytest.mark.timeout(180)


def test_manager_opens_segments_and_customer_360(sqlite_engine, tmp_path) -> None:
    small_world(sqlite_engine)
    with streamlit_server(str(sqlite_engine.url)) as base, browser_page() as page:
        sign_in(page, base, "mgr_a", PASSWORD)
        page.get_by_text("顧客數").first.wait_for(timeout=30_000)
        page.get_by_role("link", name="客群分析").first.click()
        page.get_by_text("客群與建議行動").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(tmp_path / "segments.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator(".js-plotly-plot").count() >= 2
        body = page.inner_text("body")
        assert "B01" not in body

        page.get_by_role("link", name="顧客 360").first.click()
        search = page.get_by_label("搜尋姓名、電話或會員編號")
        search.wait_for(timeout=30_000)
        search.fill("A-2")
        search.press("Enter")
        page.get_by_text("到店時間軸").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(tmp_path / "customer_360.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        assert "<img src=x onerror=alert(1)>" in page.inner_text("body")  # shown as text
        assert page.locator("img[src='x']").count() == 0
