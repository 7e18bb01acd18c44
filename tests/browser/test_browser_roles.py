"""Every role signs in to the demo chain in Chromium and opens every page it may see, in three languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.cli import DEMO_PASSWORD
from dashboard.navigation import pages_for
from demo.accounts import DEMO_ACCOUNTS
from tests.support.browser import assert_no_exception, browser_page, build_demo, sign_in, streamlit_server

pytestmark = pytest.mark.timeout(600)

LANGUAGE_LABELS = {"zh-TW": "繁體中文", "zh-CN": "简体中文", "en": "English"}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_demo(tmp_path_factory.mktemp("demo") / "demo.db", customers=600)


@pytest.mark.parametrize("username", sorted(DEMO_ACCOUNTS))
def test_role_visits_every_page(demo_url: str, username: str, tmp_path: Path) -> None:
    role = DEMO_ACCOUNTS[username][0]
    specs = pages_for(role)
    assert specs, f"{role} has no page"
    with streamlit_server(demo_url) as base, browser_page() as page:
        sign_in(page, base, username, DEMO_PASSWORD)
        page.locator("[data-testid='stSidebarNav']").wait_for(timeout=60_000)
        nav_links = page.locator("[data-testid='stSidebarNav'] a")
        assert nav_links.count() == len(specs)
        for index, spec in enumerate(specs):
            nav_links.nth(index).click()
            if index:  # the first page lives at the root URL
                page.wait_for_url(f"**/{spec.key}", timeout=30_000)
            page.locator("[data-testid='stMain']").wait_for()
            page.wait_for_timeout(1500)
            assert_no_exception(page)
            page.screenshot(path=str(tmp_path / f"{username}-{spec.key}.png"), full_page=True)


def test_language_switch_changes_the_menu(demo_url: str, tmp_path: Path) -> None:
    with streamlit_server(demo_url) as base, browser_page() as page:
        sign_in(page, base, "manager", DEMO_PASSWORD)
        page.locator("[data-testid='stSidebarNav']").wait_for(timeout=60_000)
        for locale, overview in (("en", "Overview"), ("zh-CN", "总览"), ("zh-TW", "總覽")):
            page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
            page.get_by_role("option", name=LANGUAGE_LABELS[locale]).click()
            page.get_by_text(overview).first.wait_for(timeout=30_000)
            assert_no_exception(page)
        page.screenshot(path=str(tmp_path / "zh-TW.png"), full_page=True)


def test_phone_sized_overview_is_usable(demo_url: str, tmp_path: Path) -> None:
    with streamlit_server(demo_url) as base, browser_page(viewport={"width": 390, "height": 844}) as page:
        sign_in(page, base, "manager", DEMO_PASSWORD)
        page.locator("[data-testid='stMetric']").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        assert_no_exception(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"page scrolls sideways at 390 px ({width} px wide)"
        page.screenshot(path=str(tmp_path / "phone-overview.png"), full_page=True)
