"""The fast write paths of large imports, on SQLite and PostgreSQL: no row lost or doubled.

* a large import into a smaller table drops the secondary indexes (PostgreSQL: and the foreign
  keys), loads, and puts them back — same rows, same schema, and all of it rolled back on failure;
* bulk COPY streams every chunk of a frame through one COPY in Arrow-written CSV, falling back to
  the text format for chunks Arrow cannot represent — the rows read back equal the text path's.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, MetaData, String, Table, inspect, select
from sqlalchemy.exc import IntegrityError

from core.importing import DEFAULT_MAX_BYTES, ImportOptions
from core.scope import Scope
from db import bulk, importer
from db.importer import bookings as importer_bookings
from db.models import Booking
from services import importing
from tests.support.factories import small_world

SYSTEM = Scope.system("test")


def _booking_csv(rows: int, *, start: int = 1) -> bytes:
    numbers = np.arange(start, start + rows)
    frame = pd.DataFrame(
        {
            "預約編號": [f"R{n}" for n in numbers],
            "會員編號": [f"M{n % 37}" for n in numbers],
            "姓名": ["王小美"] * rows,
            "預約日期": [f"113/05/{1 + n % 28:02d}" for n in numbers],
            "時間": ["10:30"] * rows,
            "服務項目": [["剪髮", "染髮", "護髮"][n % 3] for n in numbers],
            "美容師": [["Amy", "小芳"][n % 2] for n in numbers],
            "金額": ["NT$1200"] * rows,
            "狀態": ["完成"] * rows,
            "門市": [["A01", "B01"][n % 2] for n in numbers],
            "備註": [["", "VIP", "tab\there"][n % 3] for n in numbers],
        }
    )
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False, encoding="utf-8-sig")
    return buffer.getvalue()


def _import(engine, data: bytes, tmp_path: Path, **kwargs) -> importer.ImportResult:
    prepared = importing.read_and_prepare(
        data, "big.csv", kind="bookings", options=ImportOptions(), max_bytes=DEFAULT_MAX_BYTES, reject_dir=tmp_path
    )
    return importing.import_prepared(engine, prepared_file=prepared, scope=SYSTEM, reject_dir=tmp_path, **kwargs)


def _schema(engine) -> tuple[list, list]:
    """Foreign keys, indexes and unique constraints of booking, as comparable lists."""
    inspector = inspect(engine)
    keys = sorted(
        (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
        for fk in inspector.get_foreign_keys("booking")
    )
    indexes = sorted(
        (ix["name"], tuple(ix["column_names"]), bool(ix["unique"])) for ix in inspector.get_indexes("booking")
    )
    unique = sorted((uc["name"] or "", tuple(uc["column_names"])) for uc in inspector.get_unique_constraints("booking"))
    assert unique or any(ix[2] for ix in indexes), "the dedupe key must stay unique"
    return keys, indexes + unique


@pytest.fixture
def large_path(monkeypatch) -> list[int]:
    """Lower the threshold so a few hundred rows take the large-import path; record each use."""
    monkeypatch.setattr(importer_bookings, "INDEX_REBUILD_ROWS", 50)
    used: list[int] = []
    real = importer_bookings._indexes_set_aside

    def spy(connection, table, rows):
        used.append(rows)
        return real(connection, table, rows)

    monkeypatch.setattr(importer_bookings, "_indexes_set_aside", spy)
    return used


def test_large_import_loads_every_row_once_and_keeps_the_schema(engine, tmp_path, large_path) -> None:
    small_world(engine)
    schema = _schema(engine)
    before = importer.booking_counts(engine)
    first = _import(engine, _booking_csv(400), tmp_path)
    assert first.status == "done" and first.imported == 400 and large_path == [400]
    assert importer.booking_counts(engine)["booking"] == before["booking"] + 400
    assert _schema(engine) == schema
    with engine.connect() as connection:
        keys = connection.execute(select(Booking.dedupe_key)).scalars().all()
        notes = connection.execute(select(Booking.attributes).where(Booking.external_id == "R5")).scalar_one()
    assert len(keys) == len(set(keys))
    assert notes == {"備註": "tab\there"}
    # Re-import: every row is a duplicate, nothing added (the table is now larger than the file).
    again = _import(engine, _booking_csv(400), tmp_path)
    assert again.imported == 0 and again.duplicates == 400
    assert importer.booking_counts(engine)["booking"] == before["booking"] + 400
    # A dry run of a larger file whose members, stores and staff all exist: the index drop is
    # the transaction's first write and must be rolled back with it.
    dry = _import(engine, _booking_csv(1000), tmp_path, dry_run=True)
    assert dry.status == "dry_run" and dry.imported == 600 and large_path[-1] == 600
    assert _schema(engine) == schema
    # A larger file overlapping the first one: only its new rows go in.
    more = _import(engine, _booking_csv(1000), tmp_path)
    assert more.imported == 600 and more.duplicates == 400 and large_path[-1] == 600
    assert importer.booking_counts(engine)["booking"] == before["booking"] + 1000
    assert _schema(engine) == schema


def test_large_import_failure_rolls_back_rows_and_schema(engine, tmp_path, large_path) -> None:
    small_world(engine)
    schema = _schema(engine)
    before = importer.booking_counts(engine)
    result = _import(engine, _booking_csv(400), tmp_path, fail_after_rows=250)
    assert result.status == "failed" and "injected failure" in (result.error or "") and large_path == [400]
    assert importer.booking_counts(engine) == before
    assert _schema(engine) == schema
    assert _import(engine, _booking_csv(400), tmp_path).imported == 400


@pytest.mark.parametrize(
    ("keys", "second_customer"),
    [
        (["x|1", "x|2"], 987654),  # a dangling customer id: the re-added foreign key refuses it
        (["x|1", "x|1"], None),  # a repeated dedupe key: the rebuilt unique constraint refuses it
    ],
    ids=["dangling-foreign-key", "duplicate-key"],
)
def test_a_bad_row_still_fails_the_load_without_per_row_checks(engine, keys, second_customer) -> None:
    """Loading without per-row checks must not let a bad row in: the checks re-added after the
    load refuse it, and the whole load and the schema roll back."""
    ids = small_world(engine)
    schema = _schema(engine)
    rows = pd.DataFrame(
        {
            "dedupe_key": keys,
            "store_id": [ids["store_a"]] * 2,
            "customer_id": [ids["a1"], second_customer or ids["a1"]],
            "scheduled_at": pd.to_datetime(["2026-01-01 10:00", "2026-01-02 10:00"]),
            "status": ["completed"] * 2,
        }
    )
    table = Booking.__table__
    with pytest.raises(IntegrityError):
        with engine.begin() as connection, importer_bookings._indexes_set_aside(connection, table, 10**6):
            bulk.bulk_insert(connection, table, rows)
    assert _schema(engine) == schema
    assert importer.booking_counts(engine)["booking"] == 5


def _probe_table() -> tuple[MetaData, Table]:
    metadata = MetaData()
    table = Table(
        "bulk_probe",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("text_null", String, nullable=True),
        Column("text_req", String, nullable=False),
        Column("number", Float),
        Column("count", Integer),
        Column("flag", Boolean),
        Column("day", Date),
        Column("at", DateTime(timezone=True)),
        Column("extra", JSON),
    )
    return metadata, table


def _probe_frame(rows: int) -> pd.DataFrame:
    texts = ["a", "", None, 'q"uote', "tab\there", "new\nline", "back\\slash", "\\.", "中文"]
    required = [t if t is not None else "none" for t in texts]
    at = pd.to_datetime(["2024-05-01 10:00:00.123456", None, "1999-12-31 23:59:59"] * 3, format="ISO8601")
    base = pd.DataFrame(
        {
            "text_null": texts,
            "text_req": required,
            "number": [0.1 + 0.2, 1200.0, np.nan, 1e20, -1.5, 5, 6, 7, 8],
            "count": pd.array([1, None, 3, 4, 5, 6, 7, 8, 9], dtype="Int64"),
            "flag": [True, False, None, True, True, True, False, False, True],
            "day": pd.to_datetime(["2024-05-01", None, "1999-12-31"] * 3),
            "at": at,
            "extra": [{"a": 1}, None, {"x": "中"}, [1, 2], {}, {"q": 'x"'}, None, None, None],
        }
    )
    return pd.concat([base] * (rows // len(base) + 1), ignore_index=True).iloc[:rows].reset_index(drop=True)


def test_copy_csv_reads_back_like_the_text_path(pg_url, monkeypatch) -> None:
    from db.engine import make_engine

    engine = make_engine(pg_url)
    metadata, table = _probe_table()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        frame = _probe_frame(9)
        with engine.begin() as connection:
            assert bulk.bulk_insert(connection, table, frame) == 9
        monkeypatch.setattr(bulk, "_copy_csv", lambda *args, **kwargs: None)  # force the text format
        with engine.begin() as connection:
            assert bulk.bulk_insert(connection, table, frame) == 9
        with engine.connect() as connection:
            rows = [tuple(r)[1:] for r in connection.execute(select(table).order_by(table.c.id)).all()]
        assert rows[:9] == rows[9:]
        assert rows[1][:2] == (None, "") and rows[2][0] is None  # '' is NULL only where nullable
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_chunked_writes_lose_and_double_nothing(engine, monkeypatch) -> None:
    """Many chunks through one pipelined COPY (PostgreSQL) or executemany calls (SQLite),
    with some chunks falling back to the text format mid-stream."""
    metadata, table = _probe_table()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    real = bulk._copy_csv
    calls = {"n": 0}

    def sometimes_text(*args, **kwargs):
        calls["n"] += 1
        return None if calls["n"] % 3 == 0 else real(*args, **kwargs)

    monkeypatch.setattr(bulk, "_copy_csv", sometimes_text)
    try:
        frame = _probe_frame(100)
        frame["count"] = pd.array(np.arange(100), dtype="Int64")
        with engine.begin() as connection:
            assert bulk.bulk_insert(connection, table, frame, chunk_rows=7) == 100
        with engine.connect() as connection:
            counts = sorted(connection.execute(select(table.c.count)).scalars().all())
        assert counts == list(range(100))
    finally:
        metadata.drop_all(engine)
