"""Safe output (RELIABILITY 3, 14): masking tables, formula neutralising in CSV and XLSX, export
permission and audit, display masking per role."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.export import (
    mask_birthday,
    mask_email,
    mask_frame,
    mask_identifier,
    mask_name,
    mask_phone,
    require_access,
    rows_in_scope,
    to_csv_bytes,
    to_xlsx_bytes,
)
from core.scope import PermissionDenied, Scope
from dashboard.exports import display_frame, export_frame
from db import repo
from db.engine import session_scope
from db.models import AuditLog
from db.users import scope_for
from tests.support.factories import small_world

ADMIN = Scope(actor="admin", role="chain_admin", store_ids=None)
MARKETER_A = Scope(actor="mkt_a", role="marketer", store_ids=frozenset({1}))
DESK = Scope(actor="desk_b", role="front_desk", store_ids=frozenset({2}))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+886912345678", "+886912***678"),
        ("+8613812345678", "+86138***678"),
        ("+85291234567", "+852912***567"),
        ("0912-345-678", "0912***678"),
        ("12345", "***"),
        ("+8861234", "+886***"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_phone(value, expected) -> None:
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("wang@gmail.com", "w***@gmail.com"),
        ("a@b.tw", "a***@b.tw"),
        ("first.last+tag@example.com.tw", "f***@example.com.tw"),
        ("not-an-email", "n***"),
        (None, None),
    ],
)
def test_mask_email(value, expected) -> None:
    assert mask_email(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("王小美", "王*美"),
        ("歐陽小美", "歐**美"),
        ("王美", "王*"),
        ("王", "*"),
        ("Amy", "A*y"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_name(value, expected) -> None:
    assert mask_name(value) == expected


def test_mask_identifiers_and_birthday() -> None:
    assert mask_identifier("U1234abcd") == "U1***"
    assert mask_identifier("abc") == "***"
    assert mask_birthday(date(1990, 5, 1)) == "--05-01"
    assert mask_birthday(pd.Timestamp("1988-12-31")) == "--12-31"
    assert mask_birthday(None) is None


def test_mask_frame_masks_known_columns_only_and_copies() -> None:
    frame = pd.DataFrame(
        {
            "name": ["王小美"],
            "phone": ["+886912345678"],
            "email": ["wang@gmail.com"],
            "amount": [1200.0],
            "segment": ["Champions"],
        }
    )
    masked = mask_frame(frame)
    assert masked.iloc[0].to_dict() == {
        "name": "王*美",
        "phone": "+886912***678",
        "email": "w***@gmail.com",
        "amount": 1200.0,
        "segment": "Champions",
    }
    assert frame.loc[0, "name"] == "王小美"  # input untouched


def test_display_frame_masks_for_marketers_only() -> None:
    frame = pd.DataFrame({"name": ["王小美"], "phone": ["+886912345678"], "home_store_id": [1]})
    assert display_frame(frame, MARKETER_A).loc[0, "phone"] == "+886912***678"
    assert display_frame(frame, ADMIN).loc[0, "phone"] == "+886912345678"
    assert display_frame(frame, DESK).empty  # store 1 is not the front desk's store


def test_rows_in_scope_drops_other_stores() -> None:
    frame = pd.DataFrame({"store_id": [1, 2, 1], "x": ["a", "b", "c"]})
    assert list(rows_in_scope(frame, MARKETER_A)["x"]) == ["a", "c"]
    assert len(rows_in_scope(frame, ADMIN)) == 3


def test_require_access_checks_permission_and_stores() -> None:
    require_access(MARKETER_A, "export", store_ids=[1])
    with pytest.raises(PermissionDenied):
        require_access(DESK, "export")
    with pytest.raises(PermissionDenied):
        require_access(MARKETER_A, "export", store_ids=[1, 2])


DANGEROUS = ['=HYPERLINK("http://evil","click")', "+SUM(1,2)", "-2+3", "@cmd", "\tx", "\rx", "＝1+1"]


def test_csv_neutralises_formulas_and_keeps_phones_as_text() -> None:
    frame = pd.DataFrame({"note": DANGEROUS, "phone": ["+886912345678"] * len(DANGEROUS)})
    text = to_csv_bytes(frame).decode("utf-8-sig")
    reread = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert all(v.startswith("'") for v in reread["note"])
    assert set(reread["phone"]) == {"'+886912345678"}
    assert "\n=" not in text and ",=" not in text


def test_xlsx_cells_are_strings_never_formulas() -> None:
    frame = pd.DataFrame(
        {
            "note": DANGEROUS,
            "phone": ["+886912345678"] * len(DANGEROUS),
            "amount": [1.5] * len(DANGEROUS),
            "when": [pd.Timestamp("2026-01-02 03:04", tz="UTC")] * len(DANGEROUS),
        }
    )
    workbook = load_workbook(io.BytesIO(to_xlsx_bytes(frame)))
    sheet = workbook.active
    rows = list(sheet.iter_rows(min_row=2))
    assert [c.value for c in sheet[1]] == ["note", "phone", "amount", "when"]
    for row in rows:
        note, phone, amount, _when = row
        assert note.data_type == "s" and phone.data_type == "s"
        assert phone.value == "+886912345678"
        assert amount.data_type == "n"
    assert rows[0][0].value.startswith("=HYPERLINK")  # kept as inert text, not a formula
    assert rows[0][0].quotePrefix


def test_export_as_marketer_is_masked_neutralised_and_audited(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        scope = scope_for(session, username="mkt_a")
        customers = repo.load_customers(session, scope=scope)
    customers.loc[customers.index[0], "tags"] = ['=HYPERLINK("http://evil")']
    assert scope is not None
    payload = export_frame(customers, scope=scope, kind="customers", fmt="csv", engine=engine)
    text = payload.decode("utf-8-sig")
    assert "+886912345678" not in text and "+886912***678" in text
    assert "王*美" in text and "王小美" not in text
    assert "'=HYPERLINK" in text
    assert "B-1" not in text
    with session_scope(engine) as session:
        entry = session.scalar(select(AuditLog).where(AuditLog.action == "export"))
    assert entry is not None and entry.actor == "mkt_a" and entry.store_id == ids["store_a"]
    assert entry.after["rows"] == 2 and entry.after["masked"] is True and entry.after["kind"] == "customers"


def test_export_xlsx_as_manager_keeps_personal_data(engine) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        scope = scope_for(session, username="mgr_a")
        customers = repo.load_customers(session, scope=scope)
    payload = export_frame(customers, scope=scope, kind="customers", fmt="xlsx", engine=engine)
    sheet = load_workbook(io.BytesIO(payload)).active
    header = [c.value for c in sheet[1]]
    phones = [row[header.index("phone")].value for row in sheet.iter_rows(min_row=2)]
    assert phones == ["+886912345678", "+886922333444"]


def test_export_drops_rows_of_other_stores_even_if_handed_them(engine) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        everything = repo.load_bookings(session, scope=Scope.system())
        scope = scope_for(session, username="mgr_a")
    assert scope is not None
    payload = export_frame(everything, scope=scope, kind="bookings", engine=engine)
    lines = payload.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 4  # header + store A's four bookings


def test_role_without_export_gets_permission_denied_and_nothing_is_written(engine) -> None:
    small_world(engine)
    with session_scope(engine) as session:
        desk = scope_for(session, username="desk_b")
        customers = repo.load_customers(session, scope=Scope.system())
        before = session.scalar(select(func.count(AuditLog.id)))
    assert desk is not None
    with pytest.raises(PermissionDenied):
        export_frame(customers, scope=desk, kind="customers", engine=engine)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(AuditLog.id))) == before


def test_unknown_format_refused_without_audit(engine) -> None:
    small_world(engine)
    with pytest.raises(ValueError, match="format"):
        export_frame(pd.DataFrame({"a": [1]}), scope=ADMIN, kind="x", fmt="pdf", engine=engine)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "export")) == 0
