"""Duplicate members page: candidates in words, merge and undo, for managers only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from dashboard.navigation import pages_for
from db.engine import session_scope
from db.models import AuditLog, Customer, MemberMerge
from tests.db.test_member_merge import two_store_world
from tests.support.apptest_helpers import run_as, texts, use_database

PAGE = "../pages/duplicates.py"
SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


def _everything(app) -> str:  # type: ignore[no-untyped-def]
    parts = [texts(app)]
    for frame in app.dataframe:
        parts += [str(c) for c in frame.value.columns] + [frame.value.to_string()]
    for kind in ("selectbox", "radio"):
        for widget in getattr(app, kind):
            parts += [str(widget.label)] + [str(o) for o in widget.options]
    parts += [b.label for b in app.button]
    return "\n".join(parts)


def test_manager_sees_the_pair_in_words_merges_and_undoes_in_zh_tw(sqlite_engine, monkeypatch) -> None:
    ids = two_store_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr12", page=PAGE, locale="zh-TW")
    assert not app.exception
    shown = _everything(app)
    assert "重複會員" in shown
    table = app.dataframe[0].value
    assert list(table.iloc[0]) == ["80%", "A-1 · 王小美", "S1", 1, "B-7 · 王小美", "S2", 1, "手機號碼相同、姓名相同"]
    assert SNAKE.findall(shown) == []
    assert "None" not in shown and "nan" not in shown and "{" not in shown

    app.button(key="dup.merge").click().run()
    assert not app.exception
    assert "已將 B-7 合併到 A-1(移動 1 筆預約)。" in texts(app)
    assert "目前沒有可能重複的會員。" in texts(app)
    with session_scope(sqlite_engine) as session:
        assert session.get(Customer, ids["b"]).merged_into_id == ids["a"]
        assert session.scalars(select(AuditLog.actor).where(AuditLog.action == "member.merge")).one() == "mgr12"
    assert SNAKE.findall(_everything(app)) == []

    app.button(key="dup.undo").click().run()
    assert not app.exception
    assert "已復原:A-1 與 B-7 恢復為兩位會員。" in texts(app)
    assert list(app.dataframe[0].value.iloc[0])[1] == "A-1 · 王小美"  # the pair is proposed again
    with session_scope(sqlite_engine) as session:
        assert session.get(Customer, ids["b"]).merged_into_id is None
        assert session.scalar(select(func.count(MemberMerge.id)).where(MemberMerge.undone_at.is_not(None))) == 1
    assert SNAKE.findall(_everything(app)) == []


def test_keeping_the_second_member_merges_the_other_way(sqlite_engine, monkeypatch) -> None:
    ids = two_store_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=PAGE)
    app.radio(key="dup.keep.0").set_value(ids["b"]).run()
    app.button(key="dup.merge").click().run()
    assert not app.exception
    assert "Merged A-1 into B-7 (1 booking(s) moved)." in texts(app)
    with session_scope(sqlite_engine) as session:
        assert session.get(Customer, ids["a"]).merged_into_id == ids["b"]


def test_a_single_store_manager_sees_no_pair_across_stores(sqlite_engine, monkeypatch) -> None:
    two_store_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr1", page=PAGE)
    assert not app.exception
    shown = _everything(app)
    assert "No probable duplicates right now." in shown
    assert "B-7" not in shown and "S2" not in shown


@pytest.mark.parametrize("role", ["marketer", "front_desk"])
def test_page_absent_for_roles_without_import(role) -> None:
    assert "duplicates" not in [p.key for p in pages_for(role)]
    assert "duplicates" in [p.key for p in pages_for("store_manager")]


def test_marketer_cannot_reach_the_page(sqlite_engine, monkeypatch) -> None:
    two_store_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mkt")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)
