"""Small import fixtures with hand-checked counts (built at test time; run as a script to write them out).

``python tests/make_import_fixtures.py`` writes every fixture into ``tests/fixtures/``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

HEADER = [
    "預約編號",
    "會員編號",
    "姓名",
    "手機",
    "預約日期",
    "時間",
    "服務項目",
    "美容師",
    "金額",
    "狀態",
    "門市",
    "備註",
]

# Big5 (cp950) booking log with ROC dates for store A01: read 9, imported 5, duplicates 1, rejected 3.
BIG5_ROWS = [
    ["R001", "A-1", "王小美", "0912-345-678", "113/05/01", "10:00", "洗剪吹", "Amy", "NT$1,200", "完成", "A01", "VIP"],
    ["R002", "N-1", "陳美麗", "912345678", "113年5月2日", "11:30", "染髮", "Bob", "800元", "已預約", "A01", ""],
    ["R003", "N-2", "林大同", "0922-333-444", "2024-05-03", "15:00", "剪髮", "Amy", "500", "完成", "A01", ""],
    ["R004", "N-2", "林大同", "0922-333-444", "113/05/20", "15:00", "剪髮", "", "500", "未到", "A01", ""],
    ["R005", "N-3", "張三", "+886 933 111 222", "113/06/01", "09:30", "護髮", "Bob", "$ 600", "取消", "A01", ""],
    [
        "R001",
        "A-1",
        "王小美",
        "0912-345-678",
        "113/05/01",
        "10:00",
        "洗剪吹",
        "Amy",
        "NT$1,200",
        "完成",
        "A01",
        "again",
    ],
    ["R006", "N-4", "李四", "0912345670", "113/02/30", "10:00", "剪髮", "Amy", "500", "完成", "A01", ""],
    ["R007", "N-5", "周杰", "8.86912E+11", "113/05/03", "10:00", "剪髮", "Amy", "500", "完成", "A01", ""],
    ["R008", "N-6", "吳六", "0912345671", "113/05/04", "10:00", "剪髮", "Amy", "500", "候補", "A01", ""],
]
BIG5_COUNTS = {"read": 9, "imported": 5, "duplicates": 1, "rejected": 3}

# GB18030/GBK member-style booking log for store B01 without booking ids: a repeated row is a duplicate.
GBK_HEADER = ["会员编号", "姓名", "手机号", "预约日期", "服务项目", "金额", "状态", "门店"]
GBK_ROWS = [
    ["B-1", "李四", "13812345678", "2024-05-01 10:00", "洗剪吹", "300元", "已完成", "B01"],
    ["C-9", "赵六", "13912345678", "2024-05-02 14:00", "染发", "500元", "已完成", "B01"],
    ["C-9", "赵六", "13912345678", "2024-05-09 14:00", "护发", "200元", "取消", "B01"],
    ["C-9", "赵六", "13912345678", "2024-05-02 14:00", "染发", "500元", "已完成", "B01"],
]
GBK_COUNTS = {"read": 4, "imported": 3, "duplicates": 1, "rejected": 0}

# Excel workbook (pet grooming) for store A01: one amount is not a number.
XLSX_HEADER = ["預約編號", "會員編號", "姓名", "寵物名", "品種", "預約日期", "服務項目", "金額", "狀態"]
XLSX_ROWS = [
    ["G1", "P-1", "黃小姐", "Lucky", "貴賓", "2024-05-01 10:00", "寵物洗澡", 800, "完成"],
    ["G2", "P-1", "黃小姐", "Mimi", "柴犬", "2024-05-01 11:00", "寵物美容", 1500, "完成"],
    ["G3", "P-2", "吳先生", "Lucky", "柯基", "2024-05-02 10:00", "寵物洗澡", 900, "完成"],
    ["G4", "P-3", "鄭先生", "Coco", "", "2024-05-03 10:00", "寵物洗澡", "abc", "完成"],
]
XLSX_COUNTS = {"read": 4, "imported": 3, "duplicates": 0, "rejected": 1}

MEMBERS_HEADER = ["會員編號", "姓名", "手機", "生日", "簡訊同意", "標籤", "門市"]
MEMBERS_ROWS = [
    ["A-1", "王小美", "0912345678", "1990-01-02", "是", "VIP、常客", "A01"],  # existing: updated
    ["M-1", "新會員", "0955123456", "1988/3/4", "否", "", "A01"],
    ["M-2", "另一位", "", "", "", "新客", "A01"],
    ["M-3", "壞電話", "12345", "", "", "", "A01"],
]
MEMBERS_COUNTS = {"read": 4, "imported": 2, "updated": 1, "duplicates": 0, "rejected": 1}


# A grooming shop's Big5 export as a new owner has it: no store column, ROC dates, NT$ amounts,
# 上午/下午 times, 完成/取消/未到, owner (飼主) and pet (毛孩) headers. Counted by hand:
# 8 data rows; row 6 repeats row 3 (duplicate); row 5 has 113/02/30 (no such day) and row 8 an
# amount of 1e308 (over the cap): rejected 2; imported 5 (rows 2, 3, 4, 7, 9 of the file).
GROOM_HEADER = [
    "單號",
    "飼主編號",
    "飼主姓名",
    "聯絡電話",
    "毛孩名字",
    "品種",
    "服務項目",
    "美容師",
    "日期",
    "時段",
    "金額",
    "狀態",
]
GROOM_ROWS = [
    [
        "G001",
        "C01",
        "王小美",
        "0912-345-678",
        "豆豆",
        "貴賓",
        "洗澡",
        "阿美",
        "113/05/01",
        "上午 10:00",
        "NT$1,200",
        "完成",
    ],
    [
        "G002",
        "C02",
        "陳大文",
        "0922-333-444",
        "阿福",
        "柴犬",
        "美容",
        "小林",
        "113/05/02",
        "下午 03:30",
        "NT$1,500",
        "完成",
    ],
    [
        "G003",
        "C01",
        "王小美",
        "0912-345-678",
        "豆豆",
        "貴賓",
        "洗澡",
        "阿美",
        "113/06/01",
        "下午 02:00",
        "NT$1,200",
        "取消",
    ],
    [
        "G009",
        "C02",
        "陳大文",
        "0922-333-444",
        "阿福",
        "柴犬",
        "洗澡",
        "小林",
        "113/02/30",
        "上午 09:00",
        "NT$900",
        "完成",
    ],
    [
        "G002",
        "C02",
        "陳大文",
        "0922-333-444",
        "阿福",
        "柴犬",
        "美容",
        "小林",
        "113/05/02",
        "下午 03:30",
        "NT$1,500",
        "完成",
    ],
    [
        "G004",
        "C03",
        "林小姐",
        "0933-111-222",
        "咪咪",
        "米克斯",
        "洗澡",
        "小林",
        "113/06/03",
        "上午 11:00",
        "NT$800",
        "未到",
    ],
    [
        "G007",
        "C05",
        "張先生",
        "0955-666-777",
        "Lucky",
        "柯基",
        "美容",
        "阿美",
        "113/07/01",
        "下午 04:30",
        "1e308",
        "完成",
    ],
    [
        "G008",
        "C03",
        "林小姐",
        "0933-111-222",
        "咪咪",
        "米克斯",
        "洗澡",
        "小林",
        "113/07/05",
        "下午 01:00",
        "NT$800",
        "完成",
    ],
]
GROOM_COUNTS = {"read": 8, "imported": 5, "duplicates": 1, "rejected": 2}


def groom_big5_csv() -> bytes:
    return _csv(GROOM_HEADER, GROOM_ROWS).encode("cp950")


def _csv(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue()


def big5_csv() -> bytes:
    return _csv(HEADER, BIG5_ROWS).encode("cp950")


def gbk_csv() -> bytes:
    return _csv(GBK_HEADER, GBK_ROWS).encode("gbk")


def xlsx_file() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(XLSX_HEADER)
    for row in XLSX_ROWS:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def members_csv() -> bytes:
    return _csv(MEMBERS_HEADER, MEMBERS_ROWS).encode("utf-8-sig")


def empty_file() -> bytes:
    return b""


def binary_file() -> bytes:
    return b"\x00\x01\x02\x03PNG\x00\x00" * 64


FIXTURES = {
    "bookings_big5_roc.csv": big5_csv,
    "bookings_gbk.csv": gbk_csv,
    "bookings_pets.xlsx": xlsx_file,
    "members.csv": members_csv,
    "empty.csv": empty_file,
    "binary.csv": binary_file,
    "groom_big5.csv": lambda: groom_big5_csv(),
}


def write_all(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, build in FIXTURES.items():
        paths[name] = folder / name
        paths[name].write_bytes(build())
    return paths


if __name__ == "__main__":
    for path in write_all(Path(__file__).resolve().parent / "fixtures").values():
        print(path)
