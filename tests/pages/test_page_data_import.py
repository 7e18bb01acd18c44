"""AppTest of the Data import page: visible to managers only; mapping → import → summary flow."""

from __future__ import annotations

import re

from tests.support import make_import_fixtures as fx
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world


def test_page_renders_for_manager(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page="../pages/data_import.py")
    assert not app.exception
    assert "Data import" in texts(app)
    assert len(app.tabs) == 4


def test_page_absent_for_marketer(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    from dashboard.navigation import pages_for

    assert "data_import" not in [p.key for p in pages_for("marketer")]
    assert "data_import" in [p.key for p in pages_for("store_manager")]
    app = run_as("mkt_a")
    assert not app.exception
    assert "Data import" not in [str(getattr(n, "label", "")) for n in app.sidebar]


def test_injected_file_maps_imports_and_summarises(sqlite_engine, monkeypatch, tmp_path) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path))
    from dashboard import settings

    settings.load_settings.cache_clear()
    app = run_as("mgr_a", page="../pages/data_import.py")
    app.session_state["data_import.file"] = {"name": "big5.csv", "data": fx.big5_csv()}
    app.run()
    assert not app.exception
    # The suggested mapping is shown as one selectbox per field.
    assert app.selectbox(key="data_import.bookings.(new source).map.customer_id").value == "會員編號"
    assert app.selectbox(key="data_import.bookings.(new source).map.date").value == "預約日期"
    app.text_input(key="data_import.bookings.source").input("POS")
    app.button(key="data_import.run").click().run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Read"] == "9" and metrics["Imported"] == "5"
    assert metrics["Duplicates skipped"] == "1" and metrics["Rejected"] == "3"
    # The mapping was saved under the source name; a second import adds nothing.
    app.button(key="data_import.run").click().run()
    assert {m.label: m.value for m in app.metric}["Imported"] == "0"
    from db.engine import session_scope
    from db.importer import list_sources

    with session_scope(sqlite_engine) as session:
        assert list_sources(session, kind="bookings") == ["POS"]


def test_unusable_injected_file_shows_message(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page="../pages/data_import.py")
    app.session_state["data_import.file"] = {"name": "x.csv", "data": fx.binary_file()}
    app.run()
    assert not app.exception
    assert any("cannot be used" in str(e.value) for e in app.error)


# ------------------------------------------------------------- zh-TW, a new installation

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _empty_installation(engine) -> None:
    """Only a chain admin: no store, no booking (the owner's first run)."""
    from core.scope import Scope
    from db.engine import session_scope
    from db.users import create_user
    from tests.support.factories import PASSWORD

    with session_scope(engine) as session:
        create_user(session, scope=Scope.system("test"), username="owner", password=PASSWORD, role="chain_admin")


def _labels(app) -> list[str]:
    """Labels of the file tab's widgets and the summary (the database tab is another owner's:
    its example column "updated_at" is text the user types, not an internal name)."""
    widgets = [*app.selectbox, *app.radio, *app.checkbox, *app.text_input, *app.button]
    return [str(w.label) for w in widgets if not str(w.key or "").startswith("data_import.db.")] + [
        str(m.label) for m in app.metric
    ]


def test_zh_tw_mapping_shows_no_internal_field_names(sqlite_engine, monkeypatch) -> None:
    _empty_installation(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("owner", page="../pages/data_import.py", locale="zh-TW")
    app.session_state["data_import.file"] = {"name": "groom.csv", "data": fx.groom_big5_csv()}
    app.run()
    assert not app.exception
    labels = _labels(app)
    assert [label for label in labels if SNAKE.search(label)] == []
    assert "加購金額" in labels and "預約編號" in labels and "會員/客戶編號(必填)" in labels
    # Every mapping selectbox is labelled in Chinese, never with a canonical field name.
    from core.importing import BOOKING_FIELDS

    assert not set(BOOKING_FIELDS) & set(labels)
    # 飼主姓名 is recognised as the customer's name; the store to be created is announced.
    assert app.selectbox(key="data_import.bookings.(新的來源).map.customer_name").value == "飼主姓名"
    assert any("目前還沒有門市" in str(i.value) for i in app.info)


def test_zh_tw_import_into_empty_database_then_bad_file_clears_the_summary(
    sqlite_engine, monkeypatch, tmp_path
) -> None:
    _empty_installation(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path))
    from dashboard import settings

    settings.load_settings.cache_clear()
    app = run_as("owner", page="../pages/data_import.py", locale="zh-TW")
    app.session_state["data_import.file"] = {"name": "groom.csv", "data": fx.groom_big5_csv()}
    app.run()
    app.button(key="data_import.run").click().run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["讀取"], metrics["新增"], metrics["重複略過"], metrics["退回"]) == ("8", "5", "1", "2")
    assert any("我的門市" in str(i.value) for i in app.info)  # the created store, by its new name
    # Reasons grouped, in Chinese, with counts: one row each.
    grouped = app.table[-1].value
    assert list(grouped.columns) == ["原因", "欄位", "列數"]
    assert sorted(zip(grouped["原因"], grouped["欄位"], grouped["列數"], strict=True)) == sorted(
        [
            ("日期不存在(例如 2 月 30 日)", "日期", 1),
            ("金額超過上限 10,000,000", "金額", 1),
            ("與檔案中較早的一列重複", "預約編號", 1),
        ]
    )
    assert [label for label in _labels(app) if SNAKE.search(label)] == []
    history = next(d.value for d in app.dataframe if "匯入者" in d.value.columns)
    assert not [c for c in history.columns if SNAKE.search(str(c))]
    assert history[["類型", "狀態", "新增"]].values.tolist() == [["預約紀錄", "完成", 5]]
    # A new file replaces the old one: its summary is gone before anything is imported …
    app.session_state["data_import.file"] = {"name": "other.csv", "data": fx.big5_csv()}
    app.run()
    assert not app.exception
    assert not any(m.label == "新增" for m in app.metric)
    assert not any("匯入完成" in str(s.value) for s in app.success)
    # … and a refused file shows only its own message.
    app.session_state["data_import.file"] = {"name": "x.csv", "data": fx.binary_file()}
    app.run()
    assert not app.exception
    assert any("無法使用這個檔案:這不是文字檔" in str(e.value) for e in app.error)
    assert not any(m.label == "新增" for m in app.metric)
    assert not any("匯入完成" in str(s.value) for s in app.success)


def test_zh_tw_every_row_rejected_is_an_error_with_grouped_reasons(sqlite_engine, monkeypatch, tmp_path) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path))
    from dashboard import settings
    from db import importer

    settings.load_settings.cache_clear()
    before = importer.booking_counts(sqlite_engine)
    bad = "會員編號,日期,金額\r\nA,113/02/30,100\r\nB,2024-05-01,1e308\r\nC,113/02/31,200\r\n".encode("cp950")
    app = run_as("admin", page="../pages/data_import.py", locale="zh-TW")
    app.session_state["data_import.file"] = {"name": "bad.csv", "data": bad}
    app.run()
    app.button(key="data_import.run").click().run()
    assert not app.exception
    assert any("全部 3 列都被退回" in str(e.value) for e in app.error)
    assert not app.success
    grouped = app.table[-1].value
    assert grouped.values.tolist() == [
        ["日期不存在(例如 2 月 30 日)", "日期", 2],
        ["金額超過上限 10,000,000", "金額", 1],
    ]
    assert importer.booking_counts(sqlite_engine) == before
