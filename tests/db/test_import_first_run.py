"""A new installation's first import and hostile files, on SQLite and PostgreSQL.

RELIABILITY 26 (oversized field / too many columns), 27 (control bytes), 28 (locked SQLite),
29 (concurrent PostgreSQL imports), 30 (too long, implausible amount); TESTING rule 2 (an empty
database, a file without a store column). Expected values are counted by hand from the
fixtures in ``tests/make_import_fixtures.py``.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from core.importing import DEFAULT_MAX_BYTES, ImportFileError, ImportOptions
from core.scope import Scope
from db import importer
from db.engine import session_scope
from db.models import Booking, Customer, ImportBatch, Pet, Store
from services import importing
from tests.support import make_import_fixtures as fx
from tests.support.factories import small_world

SYSTEM = Scope.system("test")
ROOT = Path(__file__).resolve().parents[2]
GROOM_MAP = {"customer_id": "飼主編號", "date": "日期"}


def _run(
    engine,
    data: bytes,
    tmp_path: Path,
    *,
    name: str = "groom.csv",
    store: str | None = None,
    mapping: dict[str, str] | None = None,
    **kwargs,
) -> importer.ImportResult:
    options = ImportOptions(default_country="TW", default_store=store)
    map_args = [f"{k}={v}" for k, v in (mapping or {}).items()]
    prepared = importing.read_and_prepare(
        data,
        name,
        kind="bookings",
        options=options,
        map_args=map_args,
        max_bytes=DEFAULT_MAX_BYTES,
        reject_dir=tmp_path,
    )
    return importing.import_prepared(engine, prepared_file=prepared, scope=SYSTEM, reject_dir=tmp_path, **kwargs)


def _counts(result: importer.ImportResult) -> dict[str, int]:
    return {
        "read": result.read,
        "imported": result.imported,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
    }


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    lines = [",".join(header), *(",".join(r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


# ------------------------------------------------------------------------- the first import


def test_big5_without_store_column_into_an_empty_database(engine, tmp_path) -> None:
    assert importer.booking_counts(engine)["store"] == 0
    result = _run(engine, fx.groom_big5_csv(), tmp_path, mapping=GROOM_MAP, default_store_name="我的門市")
    assert result.status == "done"
    assert _counts(result) == fx.GROOM_COUNTS
    assert result.created_store == {"code": "MAIN", "name": "我的門市"}
    assert result.created == {"stores": 1, "services": 2, "staff": 2, "customers": 3, "pets": 3}
    with session_scope(engine) as session:
        stores = session.execute(select(Store.code, Store.name, Store.timezone)).all()
        people = dict(session.execute(select(Customer.external_id, Customer.name)).all())
        bookings = session.execute(
            select(Booking.external_id, Booking.status, Booking.amount, Booking.scheduled_at).order_by(
                Booking.external_id
            )
        ).all()
        pets = sorted(session.scalars(select(Pet.name)).all())
    assert stores == [("MAIN", "我的門市", "Asia/Taipei")]
    # 飼主姓名 was recognised: nobody is imported nameless.
    assert people == {"C01": "王小美", "C02": "陳大文", "C03": "林小姐"}
    assert pets == ["咪咪", "豆豆", "阿福"]
    assert [(b[0], b[1], b[2]) for b in bookings] == [
        ("G001", "completed", 1200.0),
        ("G002", "completed", 1500.0),
        ("G003", "cancelled", 1200.0),
        ("G004", "no_show", 800.0),
        ("G008", "completed", 800.0),
    ]
    # 下午 03:30 in Taipei is 07:30 UTC.
    g002 = pd.Timestamp(bookings[1][3])
    assert (g002.hour, g002.minute) == (7, 30)
    reasons = pd.read_csv(result.reject_report, encoding="utf-8-sig")
    assert reasons[["row_number", "field"]].values.tolist() == [[5, "date"], [6, "booking_id"], [8, "amount"]]
    # Importing again adds nothing and creates no second store.
    again = _run(engine, fx.groom_big5_csv(), tmp_path, mapping=GROOM_MAP)
    assert (again.imported, again.duplicates, again.rejected, again.created_store) == (0, 6, 2, None)
    assert importer.booking_counts(engine)["store"] == 1


def test_store_named_by_the_user_is_created_on_an_empty_database(engine, tmp_path) -> None:
    result = _run(engine, fx.groom_big5_csv(), tmp_path, mapping=GROOM_MAP, store="GROOM")
    assert result.status == "done" and result.imported == 5
    assert result.created_store == {"code": "GROOM", "name": "GROOM"}
    with session_scope(engine) as session:
        assert session.execute(select(Store.code)).scalars().all() == ["GROOM"]
        assert set(session.scalars(select(Booking.store_id)).all()) == {session.scalar(select(Store.id))}


def test_one_store_is_the_default_and_nothing_is_created(engine, tmp_path) -> None:
    with session_scope(engine) as session:
        session.add(Store(code="S1", name="Only"))
    result = _run(engine, fx.groom_big5_csv(), tmp_path, mapping=GROOM_MAP)
    assert result.status == "done" and result.imported == 5 and result.created_store is None
    assert importer.booking_counts(engine)["store"] == 1


def test_several_stores_and_no_store_chosen_is_an_error_that_writes_nothing(engine, tmp_path) -> None:
    small_world(engine)
    before = importer.booking_counts(engine)
    result = _run(engine, fx.groom_big5_csv(), tmp_path, mapping=GROOM_MAP)
    # 5 good rows lack a store, 2 are bad anyway, and the 8th repeats a refused row: nothing to add.
    assert result.status == "rejected"
    assert _counts(result) == {"read": 8, "imported": 0, "duplicates": 1, "rejected": 7}
    assert importer.booking_counts(engine) == before
    reasons = result.rejects.loc[result.rejects["field"] == "store", "reason"]
    assert len(reasons) == 5 and reasons.str.startswith("several stores: choose the store").all()


def test_every_row_bad_is_rejected_status_with_report_and_no_change(engine, tmp_path) -> None:
    data = _csv(["會員編號", "日期"], [["A", "113/02/30"], ["B", "not a date"], ["C", "2024-13-01"]])
    result = _run(engine, data, tmp_path, name="bad.csv")
    assert result.status == "rejected"
    assert _counts(result) == {"read": 3, "imported": 0, "duplicates": 0, "rejected": 3}
    assert importer.booking_counts(engine) == dict.fromkeys(importer.booking_counts(engine), 0)
    assert Path(result.reject_report).exists()
    with session_scope(engine) as session:
        assert session.execute(select(ImportBatch.status, ImportBatch.rejected)).all() == [("rejected", 3)]


def test_rows_that_fail_only_on_the_store_roll_back_the_created_store(engine, tmp_path) -> None:
    # Every row names an unknown store: the default store must not survive the failed import.
    data = _csv(["會員編號", "日期", "門市"], [["A", "2024-05-01", "X1"], ["B", "2024-05-02", "X2"]])
    result = _run(engine, data, tmp_path, name="stores.csv")
    assert result.status == "rejected" and result.rejected == 2
    assert importer.booking_counts(engine)["store"] == 0


# ------------------------------------------------------------------------------ hostile input


def test_nul_after_the_first_8kb_rejects_that_row_and_is_never_stored(engine, tmp_path) -> None:
    rows = [[f"M{i:04d}", f"客人{i:04d}", "2024-05-01"] for i in range(600)]
    rows[400][1] = "王\x00小美"
    rows[450][1] = "陳\x1b大文"
    data = _csv(["會員編號", "姓名", "日期"], rows)
    assert data.index(b"\x00") > 8192
    result = _run(engine, data, tmp_path, name="nul.csv")
    assert result.status == "done"
    assert _counts(result) == {"read": 600, "imported": 598, "duplicates": 0, "rejected": 2}
    assert result.rejects["row_number"].tolist() == [402, 452]
    assert result.rejects["reason"].str.startswith("contains a control character").all()
    with session_scope(engine) as session:
        names = session.scalars(select(Customer.name)).all()
    assert len(names) == 598 and not any(ch in n for n in names for ch in ("\x00", "\x1b"))


def test_long_values_are_rejected_never_cut(engine, tmp_path) -> None:
    exact, long = "名" * 120, "名" * 121
    data = _csv(
        ["會員編號", "姓名", "日期", "寵物名"],
        [["A", exact, "2024-05-01", "Lucky"], ["B", long, "2024-05-02", ""], ["C", "王", "2024-05-03", "狗" * 81]],
    )
    result = _run(engine, data, tmp_path, name="long.csv")
    assert _counts(result) == {"read": 3, "imported": 1, "duplicates": 0, "rejected": 2}
    assert result.rejects["reason"].tolist() == [
        "customer_name is longer than 120 characters",
        "pet_name is longer than 80 characters",
    ]
    with session_scope(engine) as session:
        assert session.execute(select(Customer.external_id, Customer.name)).all() == [("A", exact)]


def test_implausible_amount_is_rejected(engine, tmp_path) -> None:
    data = _csv(
        ["會員編號", "日期", "金額"],
        [["A", "2024-05-01", "1e308"], ["B", "2024-05-02", "10000000"], ["C", "2024-05-03", "10000001"]],
    )
    result = _run(engine, data, tmp_path, name="amounts.csv")
    assert _counts(result) == {"read": 3, "imported": 1, "duplicates": 0, "rejected": 2}
    with session_scope(engine) as session:
        assert session.scalars(select(Booking.amount)).all() == [10_000_000.0]


def test_huge_field_and_million_columns_refused_before_anything_is_written(engine, tmp_path) -> None:
    huge = b"id,date,note\r\nA,2024-05-01," + b"x" * 200_000 + b"\r\n"
    wide = b"," * 1_000_000 + b"\r\n" + b"1," * 1_000_000 + b"\r\n"
    for data, message in ((huge, "longer than 32,767 characters"), (wide, "more than 1,000 columns")):
        with pytest.raises(ImportFileError, match=message):
            _run(engine, data, tmp_path, name="hostile.csv")
    assert importer.booking_counts(engine) == dict.fromkeys(importer.booking_counts(engine), 0)


# ------------------------------------------------------------------------- other writers


def test_locked_sqlite_waits_then_fails_cleanly_and_records_the_batch(sqlite_engine, tmp_path) -> None:
    path = sqlite_engine.url.database
    holder = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    released = threading.Event()

    def progress(_fraction: float, stage: str) -> None:
        if stage == "failed" and not released.is_set():
            holder.execute("ROLLBACK")  # the other writer finishes once the import has given up
            released.set()

    try:
        result = _run(sqlite_engine, fx.groom_big5_csv(), tmp_path, mapping=GROOM_MAP, lock_wait=0.2, progress=progress)
    finally:
        if not released.is_set():
            holder.execute("ROLLBACK")
        holder.close()
    assert result.status == "failed" and result.error == importer.BUSY_MESSAGE
    assert importer.booking_counts(sqlite_engine) == dict.fromkeys(importer.booking_counts(sqlite_engine), 0)
    with session_scope(sqlite_engine) as session:
        assert session.execute(select(ImportBatch.status, ImportBatch.error)).all() == [
            ("failed", importer.BUSY_MESSAGE)
        ]
    # Once the other writer is done, the same file imports.
    assert _run(sqlite_engine, fx.groom_big5_csv(), tmp_path, mapping=GROOM_MAP).imported == 5


def test_two_processes_importing_the_same_file_on_postgresql(pg_url, tmp_path) -> None:
    from db.engine import make_engine
    from tests.conftest import clean_all_tables

    pg = make_engine(pg_url)
    clean_all_tables(pg)
    file = tmp_path / "groom.csv"
    file.write_bytes(fx.groom_big5_csv())
    env = {
        "DATABASE_URL": pg_url,
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
        "REVISIT_REJECT_DIR": str(tmp_path / "rejects"),
    }
    command = [
        sys.executable,
        "-m",
        "dashboard.cli",
        "import",
        "bookings",
        str(file),
        "--map",
        "customer_id=飼主編號",
        "--map",
        "date=日期",
        "--store",
        "GROOM",
    ]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    results = sorted((json.loads(out) for out, _ in outputs), key=lambda r: -r["imported"])
    assert [(r["imported"], r["duplicates"], r["rejected"]) for r in results] == [(5, 1, 2), (0, 6, 2)]
    counts = importer.booking_counts(pg)
    assert (counts["booking"], counts["customer"], counts["store"]) == (5, 3, 1)
    pg.dispose()
