"""db.importer on SQLite and PostgreSQL: exact counts, re-imports, all-or-nothing, scoping (RELIABILITY 7, 9-13)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from core.importing import DEFAULT_MAX_BYTES, ImportFileError, ImportOptions
from core.scope import PermissionDenied, Scope
from db import importer
from db.engine import make_engine, session_scope
from db.importer import resolve as importer_resolve
from db.models import AuditLog, Booking, Customer, ImportBatch, Pet
from db.users import scope_for
from services import importing
from tests.support import make_import_fixtures as fx
from tests.support.factories import small_world

SYSTEM = Scope.system("test")


def _run(
    engine,
    data: bytes,
    name: str,
    tmp_path: Path,
    *,
    kind: str = "bookings",
    scope: Scope = SYSTEM,
    country: str = "TW",
    store: str | None = None,
    **kwargs,
) -> importer.ImportResult:
    options = ImportOptions(default_country=country, default_store=store)
    prepared = importing.read_and_prepare(
        data, name, kind=kind, options=options, max_bytes=DEFAULT_MAX_BYTES, reject_dir=tmp_path
    )
    return importing.import_prepared(engine, prepared_file=prepared, scope=scope, reject_dir=tmp_path, **kwargs)


def _counts(result: importer.ImportResult) -> dict[str, int]:
    return {
        "read": result.read,
        "imported": result.imported,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
    }


@pytest.mark.parametrize(
    ("build", "name", "country", "expected", "reimport_dups"),
    [
        (fx.big5_csv, "big5.csv", "TW", fx.BIG5_COUNTS, 6),
        (fx.gbk_csv, "gbk.csv", "CN", fx.GBK_COUNTS, 4),
        (fx.xlsx_file, "pets.xlsx", "TW", fx.XLSX_COUNTS, 3),
    ],
)
def test_fixture_counts_and_reimport_adds_nothing(
    engine, tmp_path, build, name, country, expected, reimport_dups
) -> None:
    small_world(engine)
    before = importer.booking_counts(engine)
    first = _run(engine, build(), name, tmp_path, country=country, store="A01")
    assert first.status == "done"
    assert _counts(first) == expected
    after = importer.booking_counts(engine)
    assert after["booking"] == before["booking"] + expected["imported"]
    if expected["rejected"]:
        report = pd.read_csv(first.reject_report, encoding="utf-8-sig")
        assert report["row_number"].nunique() >= expected["rejected"]
    second = _run(engine, build(), name, tmp_path, country=country, store="A01")
    assert second.imported == 0 and second.duplicates == reimport_dups
    assert importer.booking_counts(engine) == after


def test_big5_rows_are_typed_and_linked(engine, tmp_path) -> None:
    ids = small_world(engine)
    result = _run(engine, fx.big5_csv(), "big5.csv", tmp_path)
    assert result.created == {"services": 4, "staff": 2, "customers": 3}
    with session_scope(engine) as session:
        booking = session.scalar(select(Booking).where(Booking.external_id == "R001"))
        customer = session.scalar(select(Customer).where(Customer.external_id == "N-1"))
        existing = session.scalar(select(Customer).where(Customer.external_id == "A-1"))
        batch = session.get(ImportBatch, result.batch_id)
        audit = session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "import.bookings"))
    assert booking.customer_id == ids["a1"] and booking.store_id == ids["store_a"]
    # 113/05/01 10:00 in Taipei is 02:00 UTC.
    assert pd.Timestamp(booking.scheduled_at).tz_convert(None) == pd.Timestamp("2024-05-01 02:00")
    assert booking.amount == 1200 and booking.status == "completed" and booking.attributes == {"備註": "VIP"}
    assert booking.import_batch_id == result.batch_id
    assert customer.phone == "+886912345678" and customer.phone_raw == "912345678" and customer.name == "陳美麗"
    assert customer.home_store_id == ids["store_a"]
    assert existing.name == "王小美"  # existing member not overwritten
    assert (batch.status, batch.read, batch.imported, batch.duplicates, batch.rejected) == ("done", 9, 5, 1, 3)
    assert audit == 1


def test_xlsx_pets_created_per_owner(engine, tmp_path) -> None:
    small_world(engine)
    _run(engine, fx.xlsx_file(), "pets.xlsx", tmp_path, store="A01")
    with session_scope(engine) as session:
        pets = session.execute(select(Pet.name, Pet.breed)).all()
        linked = session.scalar(select(func.count(Booking.id)).where(Booking.pet_id.is_not(None)))
    assert sorted(pets) == [("Lucky", "柯基"), ("Lucky", "貴賓"), ("Mimi", "柴犬")]
    assert linked == 3


def test_failure_mid_import_changes_nothing(engine, tmp_path) -> None:
    small_world(engine)
    before = importer.booking_counts(engine)
    result = _run(engine, fx.big5_csv(), "big5.csv", tmp_path, fail_after_rows=2)
    assert result.status == "failed" and "injected failure" in (result.error or "")
    assert importer.booking_counts(engine) == before
    assert result.reject_report is not None and Path(result.reject_report).exists()
    with session_scope(engine) as session:
        batches = session.execute(select(ImportBatch.status, ImportBatch.imported, ImportBatch.reject_report)).all()
    assert batches == [("failed", 0, result.reject_report)]
    # The same file then imports normally.
    assert _run(engine, fx.big5_csv(), "big5.csv", tmp_path).imported == 5


def test_database_error_from_bulk_insert_rolls_back(engine, tmp_path, monkeypatch) -> None:
    small_world(engine)
    before = importer.booking_counts(engine)
    real = importer_resolve.bulk_insert

    def failing(connection, table, frame, **kwargs):
        if table.name == "booking":
            connection.execute(text("SELECT * FROM no_such_table"))
        return real(connection, table, frame, **kwargs)

    monkeypatch.setattr(importer_resolve, "bulk_insert", failing)  # the booking writes
    result = _run(engine, fx.big5_csv(), "big5.csv", tmp_path)
    assert result.status == "failed"
    assert importer.booking_counts(engine) == before  # customers, services, staff rolled back too


def test_dry_run_writes_nothing(engine, tmp_path) -> None:
    small_world(engine)
    before = importer.booking_counts(engine)
    result = _run(engine, fx.big5_csv(), "big5.csv", tmp_path, dry_run=True)
    assert result.status == "dry_run" and _counts(result) == fx.BIG5_COUNTS
    assert importer.booking_counts(engine) == before
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(ImportBatch.id))) == 0


def test_store_manager_cannot_import_into_another_store(engine, tmp_path) -> None:
    small_world(engine)
    rows = [["X1", "A-1", "2024-05-01", "A01"], ["X2", "B-1", "2024-05-01", "B01"], ["X3", "A-2", "2024-05-02", ""]]
    data = fx._csv(["預約編號", "會員編號", "預約日期", "門市"], rows).encode()
    with session_scope(engine) as session:
        manager = scope_for(session, username="mgr_a")
        marketer = scope_for(session, username="mkt_a")
    result = _run(engine, data, "mixed.csv", tmp_path, scope=manager)
    assert _counts(result) == {"read": 3, "imported": 2, "duplicates": 0, "rejected": 1}
    report = pd.read_csv(result.reject_report, encoding="utf-8-sig")
    assert report["reason"].tolist() == ["store 'B01' is not one of your stores"]
    with pytest.raises(PermissionDenied):
        _run(engine, data, "mixed.csv", tmp_path, scope=marketer)


def test_unknown_store_rejected_unless_created(engine, tmp_path) -> None:
    small_world(engine)
    data = fx._csv(["會員編號", "預約日期", "門市"], [["A-1", "2024-05-01", "ZZ9"]]).encode()
    prepared = importing.read_and_prepare(
        data, "z.csv", kind="bookings", options=ImportOptions(), max_bytes=DEFAULT_MAX_BYTES, reject_dir=tmp_path
    )
    refused = importing.import_prepared(engine, prepared_file=prepared, scope=SYSTEM, reject_dir=tmp_path)
    assert (refused.imported, refused.rejected) == (0, 1)
    assert "unknown store 'ZZ9'" in pd.read_csv(refused.reject_report, encoding="utf-8-sig")["reason"][0]
    created = importing.import_prepared(
        engine, prepared_file=prepared, scope=SYSTEM, reject_dir=tmp_path, create_stores=True
    )
    assert (created.imported, created.created.get("stores")) == (1, 1)


def test_member_list_upsert(engine, tmp_path) -> None:
    small_world(engine)
    first = _run(engine, fx.members_csv(), "members.csv", tmp_path, kind="customers")
    assert {**_counts(first), "updated": first.updated} == fx.MEMBERS_COUNTS
    with session_scope(engine) as session:
        a1 = session.scalar(select(Customer).where(Customer.external_id == "A-1"))
        m1 = session.scalar(select(Customer).where(Customer.external_id == "M-1"))
        m2 = session.scalar(select(Customer).where(Customer.external_id == "M-2"))
    assert a1.consent_sms is True and a1.tags == ["VIP", "常客"] and str(a1.birthday) == "1990-01-02"
    assert a1.consent_line is False  # not in the file: left as it was
    assert m1.consent_sms is False and m1.phone == "+886955123456" and str(m1.birthday) == "1988-03-04"
    assert m2.tags == ["新客"] and m2.phone is None
    again = _run(engine, fx.members_csv(), "members.csv", tmp_path, kind="customers")
    assert (again.imported, again.updated, again.duplicates, again.rejected) == (0, 0, 3, 1)


def test_unusable_files_change_nothing(engine, tmp_path) -> None:
    small_world(engine)
    before = importer.booking_counts(engine)
    for data, name, message in [
        (fx.empty_file(), "empty.csv", "empty"),
        (fx.binary_file(), "x.csv", "binary"),
        (b"a,b\n1,2\n", "big.csv", "larger"),
    ]:
        with pytest.raises(ImportFileError, match=message):
            importing.read_and_prepare(
                data,
                name,
                kind="bookings",
                options=ImportOptions(),
                max_bytes=5 if message == "larger" else DEFAULT_MAX_BYTES,
            )
    assert importer.booking_counts(engine) == before


def test_same_data_in_three_encodings_imports_identically(engine, tmp_path) -> None:
    small_world(engine)
    text_data = fx._csv(fx.HEADER, fx.BIG5_ROWS)
    first = _run(engine, text_data.encode("cp950"), "a.csv", tmp_path)
    for encoding in ("gb18030", "utf-8-sig"):
        other = _run(engine, text_data.encode(encoding), "b.csv", tmp_path)
        assert (other.imported, other.duplicates, other.rejected) == (0, first.imported + 1, 3)


def test_saved_mapping_and_status_vocabulary(engine, tmp_path) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        importer.save_mapping(
            session, scope=SYSTEM, source="POS", kind="bookings", mapping={"customer_id": "客號", "date": "日"}
        )
        importer.save_status_words(session, scope=SYSTEM, words={"候補": "booked"})
    with session_scope(engine) as session:
        saved = importer.saved_mapping(session, source="POS", kind="bookings")
        vocabulary = importer.load_status_vocabulary(session)
        assert importer.list_sources(session, kind="bookings") == ["POS"]
    data = fx._csv(["客號", "日", "狀態"], [["A-1", "2024-05-01", "候補"]]).encode()
    prepared = importing.read_and_prepare(
        data,
        "p.csv",
        kind="bookings",
        saved=saved,
        reject_dir=tmp_path,
        max_bytes=DEFAULT_MAX_BYTES,
        options=ImportOptions(statuses=vocabulary, default_store="A01"),
    )
    assert prepared.mapping["customer_id"] == "客號"
    assert prepared.prepared.accepted["status"].tolist() == ["booked"]
    with pytest.raises(ValueError):
        with session_scope(engine) as session:
            importer.save_status_words(session, scope=SYSTEM, words={"x": "nonsense"})


def test_sql_source_incremental_resync(engine, tmp_path) -> None:
    from core.sources import SourceQueryError, check_select
    from db.sql_source import parse_source_url, read_rows

    small_world(engine)
    source_url = f"sqlite:///{tmp_path / 'pos.db'}"
    pos = make_engine(source_url)
    with pos.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE visits (order_no TEXT, member_no TEXT, visit_at TEXT, total REAL, "
                "status TEXT, updated_at TEXT)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO visits VALUES ('P1','A-1','2024-05-01 10:00',1200,'完成','2024-05-02'),"
                "('P2','Q-1','2024-05-03 11:00',800,'取消','2024-05-04')"
            )
        )
    name = "pos"

    def sync() -> importer.ImportResult:
        with session_scope(engine) as session:
            since = importer.last_watermark(session, source=name)
        frame, mark = read_rows(
            url=parse_source_url(source_url), table="visits", watermark_column="updated_at", since=since
        )
        mapping = importer.resolve_mapping(
            list(frame.columns),
            kind="bookings",
            map_args=["booking_id=order_no", "customer_id=member_no", "date=visit_at", "amount=total", "status=status"],
        )
        prepared = importer.prepare("bookings", frame, mapping, ImportOptions(default_store="A01"))
        return importer.import_bookings(
            engine, prepared=prepared, scope=SYSTEM, source=name, watermark=mark, batch_kind="sql", reject_dir=tmp_path
        )

    first = sync()
    assert (first.read, first.imported, first.watermark) == (2, 2, "2024-05-04")
    with pos.begin() as connection:
        connection.execute(text("INSERT INTO visits VALUES ('P3','A-1','2024-06-01 10:00',500,'完成','2024-06-02')"))
    second = sync()
    # Rows at the last watermark are read again and skipped as duplicates: nothing is missed.
    assert (second.read, second.imported, second.duplicates, second.watermark) == (2, 1, 1, "2024-06-02")
    with pytest.raises(SourceQueryError, match="SELECT"):
        check_select("DELETE FROM visits", dialect="sqlite")
    with pytest.raises(SourceQueryError):
        check_select("SELECT 1; DROP TABLE visits", dialect="sqlite")
    with pos.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM visits")).scalar() == 3
    pos.dispose()


def _export(*rows: str) -> bytes:
    return ("預約編號,會員編號,姓名,日期,時間,服務,金額,狀態\n" + "\n".join(rows) + "\n").encode("utf-8-sig")


def test_a_newer_export_updates_outcome_time_and_amount(engine, tmp_path) -> None:
    """Yesterday's export said 已預約; today's says the visit happened (or moved, or was cancelled):
    the stored bookings follow, nothing is added, and an older export cannot undo an outcome."""
    small_world(engine)
    yesterday = _export(
        "U1,A-1,王小美,2026-11-30,10:00,剪髮,900,已預約",
        "U2,A-1,王小美,2026-12-01,10:00,剪髮,900,已預約",
        "U3,A-1,王小美,2026-12-02,10:00,染髮,2800,已預約",
    )
    first = _run(engine, yesterday, "pos-1130.csv", tmp_path, store="A01")
    assert first.imported == 3
    today = _export(
        'U1,A-1,王小美,2026-11-30,10:00,剪髮,"1,100",完成',  # done, with an add-on price
        "U2,A-1,王小美,2026-12-04,15:00,剪髮,900,已預約",  # moved to another day
        "U3,A-1,王小美,2026-12-02,10:00,染髮,2800,取消",
    )
    second = _run(engine, today, "pos-1201.csv", tmp_path, store="A01")
    assert (second.imported, second.updated, second.duplicates, second.rejected) == (0, 3, 0, 0)
    assert second.summary()["updated"] == 3

    def stored() -> dict[str, tuple]:
        with session_scope(engine) as session:
            rows = session.execute(
                select(Booking.external_id, Booking.status, Booking.amount, Booking.scheduled_at).where(
                    Booking.external_id.in_(["U1", "U2", "U3"])
                )
            ).all()
        return {
            e: (s, a, pd.Timestamp(t).tz_convert(None) if pd.Timestamp(t).tzinfo else pd.Timestamp(t))
            for e, s, a, t in rows
        }

    after_today = stored()
    assert after_today["U1"][:2] == ("completed", 1100)
    assert after_today["U2"][2] == pd.Timestamp("2026-12-04 07:00")  # 15:00 in Taipei
    assert after_today["U3"][0] == "cancelled"

    again = _run(engine, yesterday, "pos-1130.csv", tmp_path, store="A01")  # the old file, once more
    assert (again.imported, again.updated) == (0, 1)  # only U2's time moves back; outcomes stay
    final = stored()
    assert final["U1"][:2] == ("completed", 1100) and final["U3"][0] == "cancelled"
    assert _run(engine, yesterday, "pos-1130.csv", tmp_path, store="A01").updated == 0  # re-running is safe
