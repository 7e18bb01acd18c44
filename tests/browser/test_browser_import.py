"""A new owner's first import through the Data page in zh-TW, in Debian's Chromium.

An empty installation (one chain admin, no store), a Big5 grooming export without a store
column: the mapping speaks Chinese, the import creates the store, the reasons are grouped in
Chinese with counts, and choosing a refused file leaves no stale summary on screen.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest

from core.scope import Scope
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.users import create_user
from tests.support import make_import_fixtures as fx
from tests.support.browser import assert_no_exception, browser_page, settle, sign_in, streamlit_server

pytestmark = pytest.mark.timeout(600)
PASSWORD = "first-run-owner-9"


def _empty_installation(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        create_user(
            session, scope=Scope.system("test"), username="owner", password=PASSWORD, role="chain_admin", locale="zh-TW"
        )
    engine.dispose()
    return url


def _query(url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
        return con.execute(sql).fetchall()


def test_first_import_in_zh_tw_through_the_data_page(tmp_path: Path) -> None:
    url = _empty_installation(tmp_path / "new.db")
    export = tmp_path / "美容預約匯出.csv"
    export.write_bytes(fx.groom_big5_csv())
    broken = tmp_path / "壞掉的檔案.csv"
    broken.write_bytes(fx.binary_file())
    env = {
        "REVISIT_REJECT_DIR": str(tmp_path / "rejects"),
        "REVISIT_DEMO_MODE": "0",
        "REVISIT_COOKIE_KEY": secrets.token_urlsafe(32),
    }
    with streamlit_server(url, extra_env=env, log_path=tmp_path / "server.log") as base, browser_page() as page:
        sign_in(page, base, "owner", PASSWORD)
        # No store yet: the app opens straight on the Data page (its only page).
        page.get_by_role("heading", name="資料匯入").first.wait_for(timeout=60_000)
        settle(page)
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(export))
        page.get_by_text("欄位對應").first.wait_for(timeout=60_000)
        settle(page)
        body = page.inner_text("body")
        for label in ("會員/客戶編號(必填)", "日期(必填)", "客人姓名", "加購金額", "預約編號", "寵物名字"):
            assert label in body, label
        for internal in ("customer_id", "addon_amount", "booking_id", "pet_name"):
            assert internal not in body, internal
        assert "目前還沒有門市" in body
        assert_no_exception(page)

        page.get_by_role("button", name="開始匯入", exact=True).click()
        page.get_by_text("匯入完成,新增 5 筆。").wait_for(timeout=120_000)
        settle(page)
        page.get_by_text("退回原因").first.wait_for(timeout=30_000)
        table = page.locator("[data-testid='stTable']").last.inner_text()
        for text in (
            "原因",
            "列數",
            "日期不存在(例如 2 月 30 日)",
            "金額超過上限 10,000,000",
            "與檔案中較早的一列重複",
        ):
            assert text in table, text
        assert "does not exist" not in table and "duplicate of row" not in table
        assert "已建立門市「我的門市」" in page.inner_text("body")
        assert_no_exception(page)
        page.screenshot(path=str(tmp_path / "first-import.png"), full_page=True)
        assert _query(url, "select code, name from store") == [("MAIN", "我的門市")]
        assert _query(url, "select count(*) from booking") == [(5,)]
        assert sorted(_query(url, "select name from customer")) == [("林小姐",), ("王小美",), ("陳大文",)]

        # A new, unusable file: its own message, and the previous green summary is gone.
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(broken))
        page.get_by_text("無法使用這個檔案:這不是文字檔").first.wait_for(timeout=60_000)
        settle(page)
        body = page.inner_text("body")
        assert "匯入完成" not in body and "退回原因" not in body
        assert_no_exception(page)
        assert _query(url, "select count(*) from booking") == [(5,)]
