"""Pure import checks: hostile files (RELIABILITY 26, 27, 30), reason codes, synonyms, look-alike columns."""

from __future__ import annotations

import pandas as pd
import pytest

from core.importing import (
    MAX_AMOUNT,
    ImportFileError,
    ImportOptions,
    group_reasons,
    grouped_summary,
    parse_amounts,
    prepare_bookings,
    read_table,
    reason_code,
    suggest_mapping,
    unmapped_lookalikes,
)
from core.importing.reasons import OTHER
from dashboard.i18n import translate
from dashboard.import_text import localised_rejects, reason_groups, reject_report_bytes
from tests.support import make_import_fixtures as fx


def test_field_over_the_csv_limit_is_a_clear_message() -> None:
    data = b"id,date,note\r\nA,2024-05-01," + b"x" * 200_000 + b"\r\n"
    with pytest.raises(ImportFileError, match="cell longer than 32,767 characters"):
        read_table(data, "huge.csv")


def test_field_over_the_cell_limit_but_under_the_csv_limit_is_refused_with_its_row() -> None:
    data = b"id,date,note\r\nA,2024-05-01,ok\r\nB,2024-05-02," + b"y" * 40_000 + b"\r\n"
    with pytest.raises(ImportFileError, match=r"\(row 3\)"):
        read_table(data, "long.csv")


def test_a_cell_at_the_limit_is_kept_whole() -> None:
    data = b"id,date,note\r\nA,2024-05-01," + b"z" * 32_767 + b"\r\n"
    assert len(read_table(data, "ok.csv").frame.loc[2, "note"]) == 32_767


@pytest.mark.parametrize(
    "data",
    [
        b"," * 1_000_000 + b"\r\n",  # a million-column header
        b"id,date\r\n" + b"1," * 1_000_000 + b"\r\n",  # a million-cell row
        b"\t".join(b"c%d" % i for i in range(1_001)) + b"\r\n" + b"1\t" * 1_001 + b"\r\n",  # 1,001 columns
    ],
)
def test_too_many_columns_are_refused(data: bytes) -> None:
    with pytest.raises(ImportFileError, match="more than 1,000 columns"):
        read_table(data, "wide.csv")


def test_large_file_arrow_path_also_enforces_the_cell_limit() -> None:
    rows = [f"M{i:05d},2024-05-01,note" for i in range(20_000)]
    rows[15_000] = "M15000,2024-05-01," + "q" * 33_000
    data = ("id,date,note\r\n" + "\r\n".join(rows) + "\r\n").encode()
    assert len(data) > 256 * 1024
    with pytest.raises(ImportFileError, match="longer than 32,767"):
        read_table(data, "big.csv")


def test_control_characters_reject_the_row_in_any_column_and_headers_are_cleaned() -> None:
    frame = pd.DataFrame(
        {
            "id": ["A", "B", "C", "D"],
            "date": ["2024-05-01"] * 4,
            "note\x07": ["fine", "bell\x07", "tab\tand\nnewline ok", "del\x7f"],
        }
    )
    table = read_table(frame.to_csv(index=False).encode(), "ctl.csv")
    assert list(table.frame.columns) == ["id", "date", "note"]
    prepared = prepare_bookings(table, {"customer_id": "id", "date": "date"})
    assert prepared.accepted["customer_id"].tolist() == ["A", "C"]
    assert prepared.rejects[["row_number", "field"]].values.tolist() == [[3, "note"], [5, "note"]]
    assert prepared.rejects["reason"].tolist() == [
        "contains a control character (U+0007) that cannot be stored",
        "contains a control character (U+007F) that cannot be stored",
    ]
    assert "\x07" not in "".join(prepared.rejects["value"])  # not even in the report


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("1e308", "above the limit of 10,000,000"),
        ("inf", "above the limit"),
        ("10000001", "above the limit"),
        ("10000000", None),
        ("NT$9,999,999", None),
    ],
)
def test_amount_cap(raw: str, error: str | None) -> None:
    parsed = parse_amounts(pd.Series([raw]))
    if error is None:
        assert parsed.errors.iloc[0] is None and parsed.values.iloc[0] <= MAX_AMOUNT
    else:
        assert error in parsed.errors.iloc[0]


def test_whitespace_separated_file_like_cdnow() -> None:
    data = b" customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n 00002 19970112  5   77.00\n"
    table = read_table(data, "CDNOW_master.txt")
    assert list(table.frame.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert table.frame["customer_id"].tolist() == ["00001", "00002"]  # leading zeros kept


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("飼主", "customer_name"),
        ("飼主姓名", "customer_name"),
        ("客戶姓名", "customer_name"),
        ("顧客名稱", "customer_name"),
        ("会员姓名", "customer_name"),
        ("宠物名", "pet_name"),
        ("毛孩名字", "pet_name"),
        ("服務項目", "service"),
        ("项目", "service"),
        ("設計師", "staff"),
        ("美甲師", "staff"),
        ("美容師", "staff"),
        ("门店", "store"),
        ("飼主編號", "customer_id"),
    ],
)
def test_owner_and_pet_shop_headers(header: str, field: str) -> None:
    assert suggest_mapping([header]) == {field: header}


def test_groom_export_maps_without_help() -> None:
    mapping = suggest_mapping(fx.GROOM_HEADER)
    assert mapping["customer_name"] == "飼主姓名" and mapping["customer_id"] == "飼主編號"
    assert mapping["pet_name"] == "毛孩名字" and mapping["time"] == "時段" and "store" not in mapping


def test_unmapped_name_and_phone_columns_are_flagged() -> None:
    headers = ["會員編號", "日期", "聯絡人姓名", "毛孩名字", "手機號碼"]
    assert unmapped_lookalikes(headers, {"customer_id": "會員編號", "date": "日期"}) == {
        "customer_name": ["聯絡人姓名"],
        "phone": ["手機號碼"],
        "pet_name": ["毛孩名字"],
    }
    assert (
        unmapped_lookalikes(
            headers,
            {
                "customer_id": "會員編號",
                "date": "日期",
                "customer_name": "聯絡人姓名",
                "phone": "手機號碼",
                "pet_name": "毛孩名字",
            },
        )
        == {}
    )


def _every_reason() -> pd.DataFrame:
    """A file built to trip every parser, plus the writer's own reasons."""
    frame = pd.DataFrame(
        {
            "id": ["A", "", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R"],
            "date": [
                "2024-05-01",
                "2024-05-01",
                "05/01/2024",
                "1970-01-01",
                "113/02/30",
                "2024-05-01 25:99",
                "whenever",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
                "2024-05-01",
            ],
            "time": ["", "", "", "", "", "", "", "上午 13:00", "", "", "", "", "", "", "", "", "", ""],
            "amount": ["", "", "", "", "", "", "", "", "abc", "-5", "1e308", "", "", "", "", "", "", ""],
            "qty": ["", "", "", "", "", "", "", "", "", "", "", "0.5", "", "", "", "", "", ""],
            "phone": ["", "", "", "", "", "", "", "", "", "", "", "", "8.86912E+11", "123", "", "", "", ""],
            "email": ["", "", "", "", "", "", "", "", "", "", "", "", "", "", "not-mail", "", "", ""],
            "status": ["", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "候補", "", ""],
            "designated": ["", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "也許", ""],
            "note": [""] * 17 + ["\x00"],
        }
    )
    mapping = {
        "customer_id": "id",
        "date": "date",
        "time": "time",
        "amount": "amount",
        "quantity": "qty",
        "phone": "phone",
        "email": "email",
        "status": "status",
        "designated": "designated",
    }
    prepared = prepare_bookings(frame, mapping, options=ImportOptions())
    writer = pd.DataFrame(
        {
            "row_number": [90, 91, 92, 93, 94, 95, 96],
            "field": "store",
            "value": "x",
            "reason": [
                "no store for this row: choose the store (--store CODE) or map a store column",
                "several stores: choose the store (--store CODE) or map a store column",
                "unknown store 'x': create it first or allow creating stores",
                "store 'x' is not one of your stores",
                "this member belongs to a store outside your scope",
                "customer_name is longer than 120 characters",
                "duplicate of row 2",
            ],
        }
    )
    return pd.concat([prepared.rejects, writer], ignore_index=True)


def test_every_reason_the_importer_gives_has_a_code_and_three_translations() -> None:
    rejects = _every_reason()
    codes = rejects["reason"].map(reason_code)
    assert OTHER not in set(codes), rejects.loc[codes == OTHER, "reason"].tolist()
    assert {
        "date_ambiguous",
        "date_out_of_range",
        "date_not_exist",
        "date_unreadable",
        "time_unreadable",
        "amount_unreadable",
        "amount_negative",
        "amount_too_large",
        "quantity_invalid",
        "phone_excel",
        "phone_invalid",
        "email_invalid",
        "status_unknown",
        "yes_no_invalid",
        "empty_required",
        "control_character",
        "no_store",
        "several_stores",
        "unknown_store",
        "store_outside_scope",
        "member_outside_scope",
        "too_long",
        "duplicate_in_file",
    } <= set(codes)
    for code in set(codes):
        texts = {loc: translate(f"data_import.reason.{code}", loc) for loc in ("zh-TW", "zh-CN", "en")}
        assert not any(t.startswith("data_import.") for t in texts.values())
        assert texts["zh-TW"] != texts["en"]


def test_reasons_grouped_with_row_counts_most_frequent_first() -> None:
    rejects = pd.DataFrame(
        {
            "row_number": [2, 3, 3, 4, 5],
            "field": ["store", "store", "date", "store", "amount"],
            "value": ["", "", "x", "", "1e308"],
            "reason": ["no store for this row: choose the store (--store CODE) or map a store column"] * 2
            + [
                "'x' is not a date Revisit can read (use e.g. 2024-05-01 or 113/05/01)",
                "no store for this row: choose the store (--store CODE) or map a store column",
                "amount '1e308' is above the limit of 10,000,000",
            ],
        }
    )
    groups = group_reasons(rejects)
    assert groups[["code", "rows", "field"]].values.tolist() == [
        ["no_store", 3, "store"],
        ["amount_too_large", 1, "amount"],
        ["date_unreadable", 1, "date"],
    ]
    assert grouped_summary(rejects)[0].startswith("3 rows: no store for this row")
    zh = reason_groups(lambda key, **p: translate(key, "zh-TW", **p), rejects)
    assert zh.values.tolist()[0] == ["沒有門市:請選擇門市或對應門市欄位", "門市", 3]


def test_localised_reject_report_is_formula_neutral_and_in_the_users_language() -> None:
    rejects = pd.DataFrame(
        {
            "row_number": [2],
            "field": ["customer_name"],
            "value": ['=HYPERLINK("http://x")'],
            "reason": ["customer_name is longer than 120 characters"],
        }
    )

    def t(key: str, **params: object) -> str:
        return translate(key, "zh-CN", **params)

    frame = localised_rejects(t, rejects)
    assert list(frame.columns) == ["行号", "字段", "内容", "原因"]
    assert frame.iloc[0].tolist() == [2, "客人姓名", '=HYPERLINK("http://x")', "内容超过字段长度上限"]
    text = reject_report_bytes(t, rejects).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "a.csv", "empty"),
        (b"\x00\x01PNG" * 64, "a.csv", "binary"),
        (b"id,date\r\n", "a.csv", "no_rows"),
        (b"x" * 2048, "a.csv", "too_large"),
        (b"id,date\r\n\x80\x80,\xff\xff\r\n", "a.csv", "undecodable"),
        (b"not a workbook", "a.xlsx", "bad_workbook"),
        (b"id,date,note\r\nA,2024-05-01," + b"x" * 200_000 + b"\r\n", "a.csv", "cell_too_long"),
        (b"," * 5_000 + b"\r\n", "a.csv", "too_wide"),
    ],
)
def test_file_errors_have_codes_and_translations(data: bytes, name: str, code: str) -> None:
    from core.importing import file_error_code
    from dashboard.import_text import file_error_text

    with pytest.raises(ImportFileError) as caught:
        read_table(data, name, max_bytes=1024 if code == "too_large" else 20 * 1024 * 1024)
    assert file_error_code(caught.value.message)[0] == code
    zh = file_error_text(lambda key, **p: translate(key, "zh-TW", **p), caught.value.message)
    assert zh == translate(f"data_import.file_error.{code}", "zh-TW", **file_error_code(caught.value.message)[1])
    assert not zh.startswith("data_import.") and name not in zh


def test_missing_required_column_names_the_field_in_chinese() -> None:
    from dashboard.import_text import file_error_text

    with pytest.raises(ImportFileError) as caught:
        prepare_bookings(pd.DataFrame({"id": ["A"]}), {"customer_id": "id"})
    assert (
        file_error_text(lambda key, **p: translate(key, "zh-TW", **p), caught.value.message)
        == "找不到「日期」欄位,請在欄位對應中選擇。"
    )
