"""Unit tests of the pure import parsing/validation in `core.importing` (RELIABILITY 7, 9-12, 14)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import struct

import openpyxl
import pandas as pd
import pytest

from core.importing import (
    ACCEPTED_BOOKING_COLUMNS,
    ImportFileError,
    ImportOptions,
    StatusVocabulary,
    all_rejected_message,
    neutralise_cell,
    neutralise_frame,
    parse_amounts,
    parse_booleans,
    parse_dates,
    parse_mapping_args,
    parse_phones,
    parse_statuses,
    parse_times,
    prepare_bookings,
    prepare_customers,
    read_table,
    reject_report_csv,
    suggest_mapping,
)

# --------------------------------------------------------------------------------- fixtures

# Header cells carry stray spaces on purpose: they must come out trimmed.
SALON_HEADER = ["會員編號", " 姓名", "手機 ", "預約日期", "時間", "服務項目", "美容師", "金額", "狀態", "門市", "備註"]
SALON_ROWS = [
    [
        "A001",
        "王小明",
        "0912-345-678",
        "113/05/01",
        "下午 03:30",
        "洗剪吹",
        "Amy",
        "NT$1,200",
        "完成",
        "TP01",
        "VIP",
    ],  # line 2
    ["A002", "陳美麗", "912345678", "113年5月2日", "10:00", "染髮", "Bob", "800元", "已預約", "TP01", ""],  # 3
    ["A003", "林大同", "8.86912E+11", "113/05/03", "10:00", "剪髮", "Amy", "500", "完成", "TP01", ""],  # 4 bad phone
    ["A004", "張三", "0912345679", "113/02/30", "11:00", "剪髮", "Amy", "500", "完成", "TP01", ""],  # 5 bad date
    ["A005", "李四", "0912345670", "2024-05-04", "15:30", "洗剪吹", "Amy", "1200", "候補", "TP01", ""],  # 6 bad status
    [
        "A001",
        "王小明",
        "0912-345-678",
        "113/05/01",
        "下午 03:30",
        "洗剪吹",
        "Amy",
        "NT$1,200",
        "完成",
        "TP01",
        "again",
    ],  # 7 dup of 2
    ["A006", "周杰", "+886 912 345 671", "2024/5/6", "3:30 PM", "護髮", "", "$ 600", "取消", "", "生日客"],  # 8
]


def to_csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue()


def salon_bytes(encoding: str) -> bytes:
    return to_csv(SALON_HEADER, SALON_ROWS).encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def biff2_xls_bytes(rows: list[list[object]], codepage: int = 950) -> bytes:
    """A minimal Excel 2.x (BIFF2) workbook; xlwt is not available to write BIFF8."""

    def record(opcode: int, payload: bytes) -> bytes:
        return struct.pack("<HH", opcode, len(payload)) + payload

    body = record(0x0009, struct.pack("<HH", 0x0002, 0x0010)) + record(0x0042, struct.pack("<H", codepage))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cell = struct.pack("<HH", r, c) + b"\x00\x00\x00"
            if isinstance(value, float):
                body += record(0x0003, cell + struct.pack("<d", value))
            else:
                text = str(value).encode(f"cp{codepage}")
                body += record(0x0004, cell + bytes([len(text)]) + text)
    return body + record(0x000A, b"")


@pytest.fixture(scope="module")
def salon() -> pd.DataFrame:
    return read_table(salon_bytes("cp950"), "預約.csv").frame


# ---------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("encoding", ["cp950", "gb18030", "utf-8-sig", "utf-8"])
def test_read_table_detects_encoding_and_cleans_headers(encoding: str) -> None:
    table = read_table(salon_bytes(encoding), "bookings.csv")
    assert table.encoding == encoding
    assert table.delimiter == ","
    assert list(table.frame.columns) == [h.strip() for h in SALON_HEADER]
    assert table.frame.index.tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert table.frame.loc[2, "姓名"] == "王小明"


def test_same_data_in_three_encodings_gives_identical_imports() -> None:
    results = []
    for encoding in ("cp950", "gb18030", "utf-8-sig"):
        frame = read_table(salon_bytes(encoding), "bookings.csv").frame
        results.append((frame, prepare_bookings(frame, suggest_mapping(list(frame.columns)))))
    (frame0, first), *others = results
    for frame, prepared in others:
        pd.testing.assert_frame_equal(frame, frame0)
        pd.testing.assert_frame_equal(prepared.accepted, first.accepted)
        pd.testing.assert_frame_equal(prepared.rejects, first.rejects)


def test_simplified_gb18030_file() -> None:
    text = to_csv(
        ["会员编号", "预约日期", "金额", "状态", "手机"],
        [["C01", "2024年5月1日", "¥1,200.50", "已完成", "13812345678"]],
    )
    table = read_table(text.encode("gb18030"), "订单.csv")
    assert table.encoding == "gb18030"
    prepared = prepare_bookings(
        table.frame, suggest_mapping(list(table.frame.columns)), options=ImportOptions(default_country="CN")
    )
    row = prepared.accepted.iloc[0]
    assert (row.customer_id, row.scheduled_at, row.amount, row.status, row.phone) == (
        "C01",
        pd.Timestamp("2024-05-01"),
        1200.5,
        "completed",
        "+8613812345678",
    )


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        # English headers give no hint, and these bytes decode under both Big5 and GB18030.
        ("customer_id,name,date,service\nA1,王小明,2024-05-01,洗剪吹\nA2,陳美麗,2024-05-02,染髮護髮\n", "cp950"),
        ("id,name\n1,張偉\n2,王芳\n3,李娜\n", "cp950"),
        ("id,service\n1,剪髮\n2,燙髮\n", "cp950"),
        ("id,name\n1,张伟\n2,王芳\n3,李娜\n", "gb18030"),
        ("id,service\n1,剪发\n2,烫发\n", "gb18030"),
        ("customer_id,name\nA1,李丽\nA2,染发护发\n", "gb18030"),
    ],
)
def test_big5_gb18030_tiebreak(text: str, encoding: str) -> None:
    table = read_table(text.encode(encoding), "x.csv")
    assert table.encoding == encoding
    assert table.frame.iloc[0, 1] == text.splitlines()[1].split(",")[1]


def test_utf16_excel_unicode_text() -> None:
    table = read_table("會員編號\t日期\r\nA1\t2024-05-01\r\n".encode("utf-16"), "export.txt")
    assert (table.encoding, table.delimiter, list(table.frame.columns)) == ("utf-16", "\t", ["會員編號", "日期"])


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiter_sniffing(delimiter: str) -> None:
    text = to_csv(["id", "date", "note"], [["1", "2024-05-01", "a, b; c"], ["2", "2024-05-02", ""]], delimiter)
    table = read_table(text.encode(), "x.txt")
    assert table.delimiter == delimiter
    assert table.frame.shape == (2, 3)
    assert table.frame.iloc[0, 2] == "a, b; c"


def test_cells_are_raw_strings_and_blank_lines_keep_line_numbers() -> None:
    text = "id,phone,amount\r\n001,0912345678,1200\r\n\r\n002,,\r\n"
    frame = read_table(text.encode(), "x.csv").frame
    assert frame.index.tolist() == [2, 4]
    assert frame.loc[2].tolist() == ["001", "0912345678", "1200"]
    assert frame.loc[4].tolist() == ["002", "", ""]


def test_ragged_rows_keep_extra_cells() -> None:
    frame = read_table(b"id,date\n1,2024-05-01,surprise\n2,2024-05-02\n", "x.csv").frame
    assert list(frame.columns) == ["id", "date", "column_3"]
    assert frame["column_3"].tolist() == ["surprise", ""]


def test_xlsx_first_non_empty_sheet_with_title_row() -> None:
    data = xlsx_bytes(
        {
            "空白": [],
            "預約": [
                ["預約報表 2024/05"],
                ["會員編號", "預約日期", "手機", "金額", None],
                ["00123", dt.datetime(2024, 5, 1, 15, 30), 912345678, 1200.5, None],
                ["A2", "113/05/02", "0912345678", 800, None],
            ],
        }
    )
    table = read_table(data, "export.xlsx")
    assert (table.sheet, table.encoding, table.delimiter, table.header_row) == ("預約", None, None, 2)
    assert list(table.frame.columns) == ["會員編號", "預約日期", "手機", "金額"]
    assert table.frame.index.tolist() == [3, 4]
    assert table.frame.loc[3].tolist() == ["00123", "2024-05-01 15:30:00", "912345678", "1200.5"]
    prepared = prepare_bookings(table.frame, suggest_mapping(list(table.frame.columns)))
    assert prepared.accepted["scheduled_at"].tolist() == [pd.Timestamp("2024-05-01 15:30"), pd.Timestamp("2024-05-02")]
    assert prepared.accepted["phone"].tolist() == ["+886912345678"] * 2


def test_xlsx_renamed_csv_is_still_read() -> None:
    data = xlsx_bytes({"S": [["id", "date"], ["1", "2024-05-01"]]})
    assert read_table(data, "export.csv").sheet == "S"


def test_xls_biff_workbook() -> None:
    data = biff2_xls_bytes([["會員編號", "預約日期", "金額"], ["A001", "113/05/01", 1200.0]])
    table = read_table(data, "old.xls")
    assert list(table.frame.columns) == ["會員編號", "預約日期", "金額"]
    assert table.frame.loc[2].tolist() == ["A001", "113/05/01", "1200"]


@pytest.mark.parametrize(
    ("data", "filename", "max_bytes", "message"),
    [
        (b"", "a.csv", 1000, "is empty"),
        (b" \r\n\r\n", "a.csv", 1000, "is empty"),
        (b"\xef\xbb\xbf", "a.csv", 1000, "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "photo.csv", 1000, "binary data"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "tool.csv", 1000, "binary data"),
        (b"a,b\n\x80\xff\x80\xff,1\n", "a.csv", 1000, "could not be read as text"),
        (b"id,date\r\n", "a.csv", 1000, "header row but no data rows"),
        (b"id,date\r\n\r\n,\r\n", "a.csv", 1000, "header row but no data rows"),
        (b"id,date\n" + b"1,2024-05-01\n" * 100, "a.csv", 500, "larger than the"),
        (b"id,date\n1,2\n", "a.xlsx", 1000, "not a valid workbook"),
        (b"PK\x03\x04garbage", "a.xlsx", 1000, "could not be opened as an Excel workbook"),
    ],
)
def test_unusable_files_are_refused(data: bytes, filename: str, max_bytes: int, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        read_table(data, filename, max_bytes=max_bytes)


# ---------------------------------------------------------------------------------- mapping


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("會員編號", "customer_id"),
        ("会员编号", "customer_id"),
        ("Member No.", "customer_id"),
        ("Customer ID", "customer_id"),
        ("customer_id", "customer_id"),
        ("CUSTOMER-ID", "customer_id"),
        ("預約日期", "date"),
        ("预约日期", "date"),
        ("日期", "date"),
        ("Date", "date"),
        ("時間", "time"),
        ("时间", "time"),
        ("time", "time"),
        ("金額", "amount"),
        ("金额", "amount"),
        ("消費金額", "amount"),
        ("Total", "amount"),
        ("金額(元)", "amount"),
        ("狀態", "status"),
        ("状态", "status"),
        ("Status", "status"),
        ("手機", "phone"),
        ("手机", "phone"),
        ("電話", "phone"),
        ("Phone", "phone"),
        ("寵物名", "pet_name"),
        ("宠物名", "pet_name"),
        ("Pet", "pet_name"),
        ("服務項目", "service"),
        ("服务项目", "service"),
        ("Service", "service"),
        ("美容師", "staff"),
        ("设计师", "staff"),
        ("Stylist", "staff"),
        ("staff", "staff"),
        ("門市", "store"),
        ("门店", "store"),
        ("分店", "store"),
        ("Store", "store"),
        ("指定", "designated"),
        ("加購", "addon_amount"),
        ("加购", "addon_amount"),
        ("預約編號", "booking_id"),
        ("订单号", "booking_id"),
        ("Booking ID", "booking_id"),
        ("建立時間", "created_at"),
        ("创建时间", "created_at"),
        ("Created", "created_at"),
        ("來源", "channel"),
        ("渠道", "channel"),
        ("生日", "birthday"),
        ("Email", "email"),
        ("E-mail", "email"),
        ("LINE ID", "line_id"),
        ("姓名", "customer_name"),
        ("品種", "pet_breed"),
        ("數量", "quantity"),
        ("  會員編號　", "customer_id"),
    ],
)
def test_suggest_mapping_synonyms(header: str, field: str) -> None:
    assert suggest_mapping([header]) == {field: header}


def test_suggest_mapping_date_and_time_columns() -> None:
    assert suggest_mapping(["預約日期", "預約時間"]) == {"date": "預約日期", "time": "預約時間"}
    # A lone 預約時間 usually holds date-times: it serves as the required date column.
    assert suggest_mapping(["會員編號", "預約時間"]) == {"customer_id": "會員編號", "date": "預約時間"}
    assert suggest_mapping(["隨便", "x"]) == {}


def test_parse_mapping_args() -> None:
    headers = ["訂單號", "客人", "日期"]
    assert parse_mapping_args(["booking_id=訂單號", "customer_id = 客人"], headers) == {
        "booking_id": "訂單號",
        "customer_id": "客人",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bookingid=訂單號"], "unknown field 'bookingid'"),
        (["date=預約日"], "column '預約日' is not in the file; columns are: 訂單號, 客人, 日期"),
        (["date"], "expects FIELD=COLUMN"),
        (["date=日期", "date=日期"], "given twice"),
    ],
)
def test_parse_mapping_args_errors(args: list[str], message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        parse_mapping_args(args, ["訂單號", "客人", "日期"])


# ----------------------------------------------------------------------------------- values

MAY_FIRST = pd.Timestamp("2024-05-01")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01", MAY_FIRST),
        ("2024/5/1", MAY_FIRST),
        ("2024.05.01", MAY_FIRST),
        ("113/05/01", MAY_FIRST),
        ("113.5.1", MAY_FIRST),
        ("113-05-01", MAY_FIRST),
        ("113年5月1日", MAY_FIRST),
        ("民國113年5月1日", MAY_FIRST),
        ("2024年5月1日", MAY_FIRST),
        ("45413", MAY_FIRST),
        ("20240501", MAY_FIRST),
        ("1-May-2024", MAY_FIRST),
        ("２０２４／５／１", MAY_FIRST),
        ("2024-05-01 14:30", pd.Timestamp("2024-05-01 14:30")),
        ("2024-05-01T14:30:15", pd.Timestamp("2024-05-01 14:30:15")),
        ("113/05/01 下午 03:30", pd.Timestamp("2024-05-01 15:30")),
        ("45413.75", pd.Timestamp("2024-05-01 18:00")),
        ("13/05/2024", pd.Timestamp("2024-05-13")),
        ("05/13/2024", pd.Timestamp("2024-05-13")),
        ("05/05/2024", pd.Timestamp("2024-05-05")),
        ("", pd.NaT),
    ],
)
def test_parse_dates(raw: str, expected: pd.Timestamp) -> None:
    parsed = parse_dates(pd.Series([raw]))
    assert parsed.errors.iloc[0] is None
    value = parsed.values.iloc[0]
    assert (pd.isna(value) and pd.isna(expected)) or value == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("113/02/30", "date '113/02/30' does not exist (2024-02 has 29 days)"),
        ("2023-02-29", "date '2023-02-29' does not exist (2023-02 has 28 days)"),
        ("2024/13/01", "date '2024/13/01' does not exist (month 13 is not 1-12)"),
        ("next tuesday", "'next tuesday' is not a date"),
        ("05/01/2024", "date '05/01/2024' is ambiguous (day/month or month/day); choose the dayfirst option"),
    ],
)
def test_parse_dates_rejects_with_reason(raw: str, reason: str) -> None:
    parsed = parse_dates(pd.Series([raw]))
    assert pd.isna(parsed.values.iloc[0])
    assert parsed.errors.iloc[0].startswith(reason)


@pytest.mark.parametrize(("dayfirst", "expected"), [(True, "2024-01-05"), (False, "2024-05-01")])
def test_dayfirst_resolves_ambiguity(dayfirst: bool, expected: str) -> None:
    parsed = parse_dates(pd.Series(["05/01/2024"]), dayfirst=dayfirst)
    assert parsed.errors.iloc[0] is None
    assert parsed.values.iloc[0] == pd.Timestamp(expected)


def test_offset_date_times_keep_wall_clock_or_convert() -> None:
    raw = pd.Series(["2024-05-01T06:30:00Z"])
    assert parse_dates(raw).values.iloc[0] == pd.Timestamp("2024-05-01 06:30")
    assert parse_dates(raw, timezone="Asia/Taipei").values.iloc[0] == pd.Timestamp("2024-05-01 14:30")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("下午 03:30", "15:30"),
        ("上午10:00", "10:00"),
        ("15:30", "15:30"),
        ("3:30 PM", "15:30"),
        ("3:30 pm", "15:30"),
        ("12:00 AM", "00:00"),
        ("12:00 PM", "12:00"),
        ("下午3點半", "15:30"),
        ("中午12點", "12:00"),
        ("晚上 7:15", "19:15"),
        ("下午 15:30", "15:30"),
        ("15:30:00", "15:30"),
        ("1530", "15:30"),
        ("0.645833333333333", "15:30"),
        ("10時30分", "10:30"),
    ],
)
def test_parse_times(raw: str, expected: str) -> None:
    parsed = parse_times(pd.Series([raw]))
    assert parsed.errors.iloc[0] is None
    assert parsed.values.iloc[0] == pd.Timedelta(f"{expected}:00")


@pytest.mark.parametrize("raw", ["上午 15:00", "25:00", "15", "soon", "10:75"])
def test_parse_times_rejects(raw: str) -> None:
    parsed = parse_times(pd.Series([raw]))
    assert pd.isna(parsed.values.iloc[0])
    assert raw in parsed.errors.iloc[0]


@pytest.mark.parametrize(
    ("raw", "expected", "error"),
    [
        ("NT$1,200", 1200.0, None),
        ("¥1,200.50", 1200.5, None),
        ("1,200元", 1200.0, None),
        ("$ 1200", 1200.0, None),
        ("RMB 300", 300.0, None),
        ("NTD 99", 99.0, None),
        ("￥88", 88.0, None),
        ("１，２００", 1200.0, None),
        ("", 0.0, None),
        ("0", 0.0, None),
        ("abc", None, "amount 'abc' is not a number"),
        ("-100", None, "amount '-100' is negative"),
        ("(100)", None, "amount '(100)' is negative"),
    ],
)
def test_parse_amounts(raw: str, expected: float | None, error: str | None) -> None:
    parsed = parse_amounts(pd.Series([raw]))
    assert parsed.errors.iloc[0] == error
    if error is None:
        assert parsed.values.iloc[0] == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected", "error"),
    [
        ("912345678", "TW", "+886912345678", None),
        ("0912-345-678", "TW", "+886912345678", None),
        ("0912345678", "TW", "+886912345678", None),
        ("+886 912 345 678", "TW", "+886912345678", None),
        ("886912345678", "TW", "+886912345678", None),
        ("912345678.0", "TW", "+886912345678", None),
        ("8.86912345678E+11", "TW", "+886912345678", None),
        ("(02) 2345-6789", "TW", "+886223456789", None),
        ("13812345678", "CN", "+8613812345678", None),
        ("+86 138 1234 5678", "TW", "+8613812345678", None),
        ("8.86912E+11", "TW", None, "phone '8.86912E+11' was turned into scientific notation by Excel and lost digits"),
        ("13812345678", "TW", None, "phone '13812345678' is not a valid TW phone number"),
        ("12345", "TW", None, "phone '12345' is not a valid TW phone number"),
        ("", "TW", None, None),
    ],
)
def test_parse_phones(raw: str, country: str, expected: str | None, error: str | None) -> None:
    parsed = parse_phones(pd.Series([raw]), country)
    assert parsed.values.iloc[0] == expected
    if error is None:
        assert parsed.errors.iloc[0] is None
    else:
        assert parsed.errors.iloc[0].startswith(error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("完成", "completed"),
        ("已完成", "completed"),
        ("到店", "completed"),
        ("已到店", "completed"),
        ("Completed", "completed"),
        ("done", "completed"),
        ("Checked In", "completed"),
        ("", "completed"),
        ("取消", "cancelled"),
        ("已取消", "cancelled"),
        ("Canceled", "cancelled"),
        ("cancelled", "cancelled"),
        ("未到", "no_show"),
        ("爽約", "no_show"),
        ("未到店", "no_show"),
        ("no show", "no_show"),
        ("No-Show", "no_show"),
        ("改期", "rescheduled"),
        ("已改期", "rescheduled"),
        ("rescheduled", "rescheduled"),
        ("已預約", "booked"),
        ("已预约", "booked"),
        ("預約中", "booked"),
        ("booked", "booked"),
        ("Confirmed", "booked"),
        ("scheduled", "booked"),
        ("no_show", "no_show"),
    ],
)
def test_parse_statuses(raw: str, expected: str) -> None:
    parsed = parse_statuses(pd.Series([raw]))
    assert (parsed.values.iloc[0], parsed.errors.iloc[0]) == (expected, None)


def test_status_outside_vocabulary_and_extension() -> None:
    parsed = parse_statuses(pd.Series(["候補"]))
    assert parsed.errors.iloc[0] == "status '候補' is not in the vocabulary; add it on the Data page and re-import"
    extended = StatusVocabulary.default().with_words({"候補": "booked"})
    assert parse_statuses(pd.Series(["候補"]), extended).values.iloc[0] == "booked"
    with pytest.raises(ValueError, match="unknown target status"):
        StatusVocabulary({"x": "gone"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("n", False),
        ("TRUE", True),
        ("false", False),
        ("1", True),
        ("0", False),
        ("指定", True),
        ("不指定", False),
        ("", False),
    ],
)
def test_parse_booleans(raw: str, expected: bool) -> None:
    parsed = parse_booleans(pd.Series([raw]))
    assert (bool(parsed.values.iloc[0]), parsed.errors.iloc[0]) == (expected, None)


def test_parse_booleans_rejects_unknown_word() -> None:
    assert parse_booleans(pd.Series(["也許"])).errors.iloc[0].startswith("'也許' is not a yes/no value")


# ------------------------------------------------------------------------------- prepare


def test_prepare_bookings_exact_counts_and_rejects(salon: pd.DataFrame) -> None:
    prepared = prepare_bookings(salon, suggest_mapping(list(salon.columns)), options=ImportOptions(default_store="HQ"))
    assert prepared.counts == {"read": 7, "accepted": 3, "duplicates_in_file": 1, "rejected": 3, "blank_rows": 0}
    assert list(prepared.accepted.columns) == list(ACCEPTED_BOOKING_COLUMNS)
    assert prepared.accepted["row_number"].tolist() == [2, 3, 8]
    rejects = prepared.rejects
    assert rejects[["row_number", "field", "value"]].values.tolist() == [
        [4, "phone", "8.86912E+11"],
        [5, "date", "113/02/30"],
        [6, "status", "候補"],
        [7, "row", prepared.accepted.loc[0, "dedupe_key"]],
    ]
    assert rejects.loc[1, "reason"] == "date '113/02/30' does not exist (2024-02 has 29 days)"
    assert rejects.loc[2, "reason"] == "status '候補' is not in the vocabulary; add it on the Data page and re-import"
    assert rejects.loc[3, "reason"] == "duplicate of row 2"


def test_prepare_bookings_typed_values(salon: pd.DataFrame) -> None:
    accepted = prepare_bookings(
        salon, suggest_mapping(list(salon.columns)), options=ImportOptions(default_store="HQ")
    ).accepted
    first, second, third = (accepted.iloc[i] for i in range(3))
    assert first.scheduled_at == pd.Timestamp("2024-05-01 15:30")
    assert second.scheduled_at == pd.Timestamp("2024-05-02 10:00")
    assert third.scheduled_at == pd.Timestamp("2024-05-06 15:30")
    assert accepted["amount"].tolist() == [1200.0, 800.0, 600.0]
    assert accepted["addon_amount"].tolist() == [0.0, 0.0, 0.0]
    assert accepted["status"].tolist() == ["completed", "booked", "cancelled"]
    assert accepted["phone"].tolist() == ["+886912345678", "+886912345678", "+886912345671"]
    assert accepted["phone_raw"].tolist() == ["0912-345-678", "912345678", "+886 912 345 671"]
    assert accepted["store"].tolist() == ["TP01", "TP01", "HQ"]
    assert accepted["staff"].tolist() == ["Amy", "Bob", None]
    assert accepted["designated"].tolist() == [False, False, False]
    assert [json.loads(a) for a in accepted["attributes"]] == [{"備註": "VIP"}, {}, {"備註": "生日客"}]
    assert accepted["scheduled_at"].dtype == "datetime64[ns]"
    assert accepted["dedupe_key"].str.startswith("h:").all()


def test_roc_chinese_and_iso_dates_give_same_booking_key() -> None:
    frame = pd.DataFrame({"會員編號": ["A1", "A1", "A1"], "日期": ["113/05/01", "113年5月1日", "2024-05-01"]})
    prepared = prepare_bookings(frame, {"customer_id": "會員編號", "date": "日期"})
    assert prepared.counts["accepted"] == 1
    assert prepared.counts["duplicates_in_file"] == 2
    assert prepared.rejects["reason"].tolist() == ["duplicate of row 2", "duplicate of row 2"]
    assert prepared.rejects["row_number"].tolist() == [3, 4]


def test_booking_id_is_the_dedupe_key() -> None:
    frame = pd.DataFrame(
        {
            "訂單號": ["B1", "B2", "B1", ""],
            "客人": ["A", "B", "C", "D"],
            "日期": ["2024-05-01", "2024-05-01", "2024-05-02", "2024-05-03"],
        }
    )
    mapping = parse_mapping_args(["booking_id=訂單號", "customer_id=客人", "date=日期"], list(frame.columns))
    prepared = prepare_bookings(frame, mapping)
    assert prepared.accepted["dedupe_key"].tolist()[:2] == ["B1", "B2"]
    assert prepared.accepted["booking_id"].tolist()[:2] == ["B1", "B2"]
    assert prepared.accepted["booking_id"].iloc[2] is None
    assert prepared.rejects.values.tolist() == [[4, "booking_id", "B1", "duplicate of row 2"]]


def test_reimport_gives_identical_keys(salon: pd.DataFrame) -> None:
    mapping = suggest_mapping(list(salon.columns))
    once = prepare_bookings(salon, mapping).accepted["dedupe_key"]
    again = prepare_bookings(read_table(salon_bytes("utf-8-sig"), "b.csv").frame, mapping).accepted["dedupe_key"]
    assert once.tolist() == again.tolist()


def test_ambiguous_dates_are_flagged_then_resolved() -> None:
    frame = pd.DataFrame({"id": ["A", "B"], "date": ["05/01/2024", "13/01/2024"]})
    mapping = {"customer_id": "id", "date": "date"}
    prepared = prepare_bookings(frame, mapping)
    assert prepared.needs_dayfirst and prepared.ambiguous_dates == 1
    assert prepared.counts["accepted"] == 1
    assert "choose the dayfirst option" in prepared.rejects.loc[0, "reason"]
    resolved = prepare_bookings(frame, mapping, options=ImportOptions(dayfirst=True))
    assert resolved.accepted["scheduled_at"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-13")]
    only_ambiguous = prepare_bookings(frame.iloc[:1], mapping)
    assert only_ambiguous.all_rejected
    assert "ambiguous date" in all_rejected_message(only_ambiguous)


def test_one_row_with_several_problems_is_one_rejected_row() -> None:
    frame = pd.DataFrame({"id": ["", "B"], "date": ["", "2024-05-01"], "amount": ["x", "1"], "指定": ["也許", "是"]})
    prepared = prepare_bookings(frame, {"customer_id": "id", "date": "date", "amount": "amount", "designated": "指定"})
    assert prepared.counts["rejected"] == 1
    assert sorted(prepared.rejects["field"]) == ["amount", "customer_id", "date", "designated"]
    assert set(prepared.rejects["row_number"]) == {2}
    assert prepared.accepted["designated"].tolist() == [True]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"customer_id": "id"}, "no date column found; map one with --map date=COLUMN"),
        ({"date": "date"}, "no customer_id column found; map one with --map customer_id=COLUMN"),
        ({"customer_id": "id", "date": "nope"}, "mapped column\\(s\\) not in the file: date=nope"),
        ({"customer_id": "id", "date": "date", "color": "id"}, "unknown field\\(s\\) color"),
    ],
)
def test_prepare_bookings_unusable_mapping(mapping: dict[str, str], message: str) -> None:
    frame = pd.DataFrame({"id": ["A"], "date": ["2024-05-01"]})
    with pytest.raises(ImportFileError, match=message):
        prepare_bookings(frame, mapping)


def test_every_row_rejected_is_returned_with_its_reasons() -> None:
    frame = pd.DataFrame({"id": ["A", "B"], "date": ["113/02/30", "not a date"]})
    prepared = prepare_bookings(frame, {"customer_id": "id", "date": "date"})
    assert prepared.all_rejected and prepared.read == 2 and prepared.rejected == 2
    assert len(prepared.rejects) == 2
    assert "every one of the 2 booking rows was rejected" in all_rejected_message(prepared)


def test_prepare_customers() -> None:
    text = to_csv(
        ["會員編號", "姓名", "手機", "生日", "簡訊同意", "LINE同意", "標籤", "入會日期", "喜好"],
        [
            ["M1", "王小明", "0912345678", "70/05/01", "是", "否", "VIP、常客", "2020-01-05", "安靜"],
            ["M2", "陳美麗", "", "1990年3月4日", "", "Y", "", "109/02/03", ""],
            ["M3", "林", "8.86912E+11", "", "", "", "", "", ""],
            ["M1", "王小明", "0912345678", "", "", "", "", "", ""],
        ],
    )
    table = read_table(text.encode("cp950"), "members.csv")
    mapping = suggest_mapping(
        list(table.frame.columns),
        fields=[
            "customer_id",
            "customer_name",
            "phone",
            "birthday",
            "consent_sms",
            "consent_line",
            "tags",
            "joined_on",
        ],
    )
    assert mapping["consent_sms"] == "簡訊同意" and mapping["joined_on"] == "入會日期"
    prepared = prepare_customers(table.frame, mapping)
    assert prepared.counts == {"read": 4, "accepted": 2, "duplicates_in_file": 1, "rejected": 1, "blank_rows": 0}
    accepted = prepared.accepted
    assert accepted["birthday"].tolist() == [pd.Timestamp("1981-05-01"), pd.Timestamp("1990-03-04")]
    assert accepted["joined_on"].tolist() == [pd.Timestamp("2020-01-05"), pd.Timestamp("2020-02-03")]
    assert accepted["consent_sms"].tolist() == [True, pd.NA]
    assert accepted["consent_line"].tolist() == [False, True]
    assert accepted["consent_email"].isna().all()
    assert [json.loads(t) for t in accepted["tags"]] == [["VIP", "常客"], []]
    assert json.loads(accepted.loc[0, "attributes"]) == {"喜好": "安靜"}
    assert prepared.rejects["reason"].tolist()[-1] == "duplicate of row 2"


# ------------------------------------------------------------------------------ safe CSV


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+886912345678", "'+886912345678"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("王小明", "王小明"),
        ("", ""),
        (12, 12),
        (None, None),
    ],
)
def test_neutralise_cell(value: object, expected: object) -> None:
    assert neutralise_cell(value) == expected


def test_neutralise_frame_includes_headers() -> None:
    safe = neutralise_frame(pd.DataFrame({"=x": ["=1+1", "ok"]}))
    assert list(safe.columns) == ["'=x"] and safe["'=x"].tolist() == ["'=1+1", "ok"]


def test_reject_report_csv_is_excel_safe() -> None:
    rejects = pd.DataFrame(
        {
            "row_number": [2, 3],
            "field": ["customer_name", "phone"],
            "value": ['=HYPERLINK("http://evil","click")', "+886912345678"],
            "reason": ["名字太長", "phone '+886912345678' is not valid"],
        }
    )
    data = reject_report_csv(rejects)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["row_number", "field", "value", "reason"],
        ["2", "customer_name", '\'=HYPERLINK("http://evil","click")', "名字太長"],
        ["3", "phone", "'+886912345678", "phone '+886912345678' is not valid"],
    ]


def test_reject_report_from_prepared_import(salon: pd.DataFrame) -> None:
    prepared = prepare_bookings(salon, suggest_mapping(list(salon.columns)))
    rows = list(csv.reader(io.StringIO(reject_report_csv(prepared.rejects).decode("utf-8-sig"))))
    assert len(rows) == 1 + len(prepared.rejects) == 5
