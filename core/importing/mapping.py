"""Map the columns of a shop's export onto Revisit's canonical field names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from .errors import ImportFileError
from .text import header_key, header_key_without_brackets

BOOKING_FIELDS: Final = (
    "booking_id",
    "customer_id",
    "customer_name",
    "phone",
    "email",
    "line_id",
    "birthday",
    "pet_name",
    "pet_species",
    "pet_breed",
    "store",
    "service",
    "staff",
    "designated",
    "status",
    "date",
    "time",
    "amount",
    "addon_amount",
    "quantity",
    "created_at",
    "channel",
)
CUSTOMER_FIELDS: Final = (
    "customer_id",
    "customer_name",
    "phone",
    "email",
    "line_id",
    "birthday",
    "store",
    "consent_sms",
    "consent_line",
    "consent_email",
    "consent_wechat",
    "tags",
    "joined_on",
)
ALL_FIELDS: Final = tuple(dict.fromkeys(BOOKING_FIELDS + CUSTOMER_FIELDS))

# Earlier synonyms are better matches. Traditional and Simplified spellings are folded to one
# key (see `text.fold`), so listing one script suffices; a few are listed in both for clarity.
SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "booking_id": (
        "booking id",
        "booking no",
        "booking number",
        "appointment id",
        "reservation id",
        "order id",
        "order no",
        "預約編號",
        "预约编号",
        "預約單號",
        "訂單編號",
        "訂單號",
        "订单号",
        "單號",
        "訂單",
        "预约号",
        "預約號碼",
        "流水號",
        "交易編號",
        "消費單號",
    ),
    "customer_id": (
        "customer id",
        "customer no",
        "customer number",
        "member id",
        "member no",
        "member number",
        "client id",
        "client no",
        "會員編號",
        "会员编号",
        "會員號",
        "會員號碼",
        "會員卡號",
        "會員id",
        "客戶編號",
        "客户编号",
        "客編",
        "顧客編號",
        "顧客id",
        "客戶id",
        "卡號",
        "會員代號",
        "客戶代號",
        "用户id",
        "用户编号",
        "飼主編號",
        "饲主编号",
        "飼主代號",
        "客戶代碼",
        "客户代码",
        "顧客代碼",
        "会员卡号",
        "owner id",
        "member",
        "customer",
    ),
    "customer_name": (
        "customer name",
        "member name",
        "client name",
        "name",
        "full name",
        "會員姓名",
        "会员姓名",
        "顧客姓名",
        "客戶姓名",
        "客户名称",
        "客戶名稱",
        "姓名",
        "會員名稱",
        "會員",
        "顧客",
        "客人",
        "名字",
        "联系人",
        "飼主姓名",
        "饲主姓名",
        "飼主",
        "饲主",
        "飼主名稱",
        "饲主名称",
        "主人姓名",
        "主人",
        "顧客名稱",
        "顾客名称",
        "會員名字",
        "客戶名字",
        "家長姓名",
        "毛孩家長",
        "owner name",
        "owner",
    ),
    "phone": (
        "phone",
        "mobile",
        "cell",
        "cellphone",
        "mobile phone",
        "phone number",
        "tel",
        "telephone",
        "手機",
        "手机",
        "手機號碼",
        "手机号",
        "手机号码",
        "電話",
        "电话",
        "聯絡電話",
        "联系电话",
        "行動電話",
        "手機號",
        "會員手機",
        "客戶電話",
        "連絡電話",
    ),
    "email": ("email", "e mail", "mail", "email address", "電子郵件", "电子邮箱", "郵箱", "信箱", "電郵"),
    "line_id": ("line id", "line", "lineid", "line帳號", "line账号", "line uid", "line user id"),
    "birthday": ("birthday", "birth date", "date of birth", "dob", "生日", "出生日期", "會員生日", "出生年月日"),
    "pet_name": (
        "pet name",
        "pet",
        "寵物名",
        "宠物名",
        "寵物名稱",
        "宠物名字",
        "寵物",
        "毛孩",
        "毛孩名字",
        "狗名",
        "貓名",
        "寵物姓名",
        "宠物姓名",
        "毛孩姓名",
        "毛孩名稱",
        "毛小孩",
        "寵物暱稱",
        "宠物昵称",
        "狗狗名字",
        "貓咪名字",
    ),
    "pet_species": ("pet species", "species", "pet type", "animal", "寵物種類", "宠物种类", "種類", "物种", "類別"),
    "pet_breed": ("pet breed", "breed", "品種", "品种", "寵物品種", "犬種", "貓種"),
    "store": (
        "store",
        "store code",
        "store name",
        "branch",
        "shop",
        "location",
        "outlet",
        "門市",
        "门店",
        "分店",
        "店家",
        "店別",
        "門店",
        "店名",
        "店鋪",
        "店铺",
        "分店名稱",
        "門市名稱",
        "服務門市",
        "門市代號",
        "门店编号",
        "門市編號",
        "店鋪名稱",
        "门店名称",
        "所屬門市",
        "所属门店",
    ),
    "service": (
        "service",
        "service name",
        "services",
        "item",
        "treatment",
        "menu",
        "服務項目",
        "服务项目",
        "服務",
        "项目",
        "項目",
        "療程",
        "服務名稱",
        "消費項目",
        "預約項目",
        "品項",
        "服務內容",
        "服务内容",
        "美容項目",
        "美甲項目",
        "套餐",
        "服務類型",
    ),
    "staff": (
        "staff",
        "stylist",
        "designer",
        "technician",
        "therapist",
        "groomer",
        "employee",
        "美容師",
        "美容师",
        "設計師",
        "设计师",
        "美甲師",
        "美睫師",
        "技師",
        "服務人員",
        "服务人员",
        "員工",
        "員工姓名",
        "老師",
        "服務設計師",
        "負責人",
        "美容師姓名",
        "美睫师",
        "美甲师",
        "技师",
        "服務美容師",
        "設計師姓名",
        "服务人员姓名",
        "店員",
    ),
    "designated": (
        "designated",
        "designated staff",
        "requested",
        "request",
        "指定",
        "是否指定",
        "指定設計師",
        "指定美容師",
        "指定技師",
        "指名",
    ),
    "status": ("status", "booking status", "state", "狀態", "状态", "預約狀態", "预约状态", "訂單狀態", "到店狀態"),
    "date": (
        "date",
        "booking date",
        "appointment date",
        "visit date",
        "service date",
        "scheduled at",
        "scheduled date",
        "start",
        "start time",
        "預約日期",
        "预约日期",
        "日期",
        "到店日期",
        "服務日期",
        "消費日期",
        "來店日期",
        "預約日",
        "visit time",
        "appointment time",
        "預約時間",
        "预约时间",
        "到店時間",
        "消費時間",
    ),
    "time": ("time", "start time", "時間", "时间", "預約時段", "時段", "到店時間", "預約時間", "開始時間", "開始時段"),
    "amount": (
        "amount",
        "total",
        "price",
        "revenue",
        "spend",
        "paid",
        "amount paid",
        "金額",
        "金额",
        "消費金額",
        "消费金额",
        "實收",
        "實收金額",
        "实收金额",
        "總金額",
        "总金额",
        "價格",
        "售價",
        "消費",
        "應收金額",
        "小計",
        "服務金額",
    ),
    "addon_amount": (
        "addon",
        "add on",
        "addon amount",
        "add on amount",
        "extras",
        "加購",
        "加购",
        "加購金額",
        "加购金额",
        "加價",
        "加值服務",
        "附加金額",
        "加購項目金額",
    ),
    "quantity": ("quantity", "qty", "count", "數量", "数量", "次數", "件數"),
    "created_at": (
        "created at",
        "created",
        "created time",
        "booked at",
        "booking time",
        "order time",
        "建立時間",
        "创建时间",
        "建立日期",
        "下單時間",
        "下单时间",
        "預約建立時間",
        "登記時間",
        "新增時間",
    ),
    "channel": (
        "channel",
        "source",
        "booking channel",
        "booking source",
        "來源",
        "来源",
        "渠道",
        "預約來源",
        "预约渠道",
        "預約管道",
        "管道",
        "通路",
    ),
    "consent_sms": ("consent sms", "sms consent", "sms opt in", "簡訊同意", "短信同意", "接收簡訊", "同意簡訊", "sms"),
    "consent_line": ("consent line", "line consent", "line opt in", "line同意", "接收line", "同意line"),
    "consent_email": (
        "consent email",
        "email consent",
        "email opt in",
        "郵件同意",
        "邮件同意",
        "接收郵件",
        "同意email",
    ),
    "consent_wechat": ("consent wechat", "wechat consent", "微信同意", "接收微信", "同意微信"),
    "tags": ("tags", "tag", "labels", "標籤", "标签", "會員標籤", "客戶標籤"),
    "joined_on": (
        "joined on",
        "joined",
        "join date",
        "signup date",
        "registered",
        "member since",
        "入會日期",
        "入会日期",
        "註冊日期",
        "注册日期",
        "加入日期",
        "建檔日期",
        "開卡日期",
        "建立日期",
        "created at",
        "created",
    ),
}

_HEADER_PRIORITY: Final = ("customer_id", "date")


def _index() -> dict[str, dict[str, int]]:
    """Header key → {field: rank}; a lower rank is a better match."""
    index: dict[str, dict[str, int]] = {}
    for field, words in SYNONYMS.items():
        for rank, word in enumerate(words):
            index.setdefault(header_key(word), {}).setdefault(field, rank)
    return index


_INDEX: Final = _index()


def _candidates(header: str) -> dict[str, int]:
    exact = _INDEX.get(header_key(header))
    if exact:
        return exact
    # "金額(元)" or "Amount (NT$)": a bracketed note should not stop a match, at a lower rank.
    loose = _INDEX.get(header_key_without_brackets(header), {})
    return {field: rank + 100 for field, rank in loose.items()}


def known_header_count(headers: Iterable[str]) -> int:
    """How many of ``headers`` are known synonyms (used to choose between text encodings)."""
    return sum(1 for h in headers if _candidates(h))


def suggest_mapping(headers: Sequence[str], fields: Sequence[str] = BOOKING_FIELDS) -> dict[str, str]:
    """Suggest ``{canonical field: column}`` from header names.

    Matching ignores case, spaces, punctuation and Traditional/Simplified differences. Each
    column serves one field; the required fields (customer_id, date) choose first, then every
    field takes its best remaining column, so ``預約日期`` + ``預約時間`` map to date + time
    while a lone ``預約時間`` (holding date-times) maps to date.
    """
    wanted = [f for f in _HEADER_PRIORITY if f in fields] + [f for f in fields if f not in _HEADER_PRIORITY]
    candidates = {h: _candidates(h) for h in headers}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for field in wanted:
        options = [
            (ranks[field], position, header)
            for position, (header, ranks) in enumerate(candidates.items())
            if field in ranks and header not in taken
        ]
        if options:
            header = min(options)[2]
            mapping[field] = header
            taken.add(header)
    return {field: mapping[field] for field in fields if field in mapping}


def parse_mapping_args(
    args: Iterable[str],
    headers: Sequence[str] | None = None,
    fields: Sequence[str] = BOOKING_FIELDS,
) -> dict[str, str]:
    """Parse CLI ``--map FIELD=COLUMN`` arguments into ``{field: column}``.

    Columns are matched exactly, then after trimming/case-folding, so ``--map date=" 日期 "``
    still finds ``日期``.

    Raises
    ------
    ImportFileError
        Malformed argument, unknown field, a field given twice, or a column not in ``headers``.
    """
    mapping: dict[str, str] = {}
    for arg in args:
        field, sep, column = arg.partition("=")
        field, column = field.strip().lower(), column.strip()
        if not sep or not field or not column:
            raise ImportFileError(f"--map expects FIELD=COLUMN, got '{arg}'")
        if field not in fields:
            raise ImportFileError(f"--map: unknown field '{field}'; known fields: {', '.join(fields)}")
        if field in mapping:
            raise ImportFileError(f"--map: field '{field}' is given twice")
        if headers is not None:
            column = _resolve_column(column, headers)
        mapping[field] = column
    return mapping


def _resolve_column(column: str, headers: Sequence[str]) -> str:
    if column in headers:
        return column
    folded = [h for h in headers if header_key(h) == header_key(column)]
    if len(folded) == 1:
        return folded[0]
    raise ImportFileError(f"--map: column '{column}' is not in the file; columns are: {', '.join(headers)}")


def merge_mapping(suggested: dict[str, str], explicit: dict[str, str]) -> dict[str, str]:
    """Explicit ``--map`` choices override suggestions, and free their column from other fields."""
    merged = {f: c for f, c in suggested.items() if c not in explicit.values()}
    merged.update(explicit)
    return merged


# Words that make an unmapped column look like a field the user probably wants: a name or a
# phone left unmapped means members imported without them, so the Data page and the CLI warn.
LOOKALIKE_HINTS: Final[dict[str, tuple[str, ...]]] = {
    "customer_name": ("name", "姓名", "名字", "名稱", "饲主", "飼主", "客戶", "顧客", "会员", "會員", "owner"),
    "phone": ("phone", "mobile", "tel", "電話", "电话", "手機", "手机"),
    "pet_name": ("pet", "寵物", "宠物", "毛孩"),
}


def unmapped_lookalikes(
    headers: Sequence[str],
    mapping: dict[str, str],
    fields: Sequence[str] = BOOKING_FIELDS,
) -> dict[str, list[str]]:
    """Fields left unmapped while an unmapped column looks like them: ``{field: [columns]}``.

    A column counts when its folded header contains one of the field's hint words (``飼主姓名``
    looks like ``customer_name``). Only ``customer_name``, ``phone`` and ``pet_name`` are
    watched: importing without them silently loses what a shop uses every day.
    """
    used = set(mapping.values())
    free = [h for h in headers if h not in used]
    out: dict[str, list[str]] = {}
    for field, hints in LOOKALIKE_HINTS.items():
        if field not in fields or field in mapping:
            continue
        keys = [header_key(hint) for hint in hints]
        matches = [h for h in free if any(k and k in header_key(h) for k in keys)]
        if field == "customer_name":
            # An id column ("會員編號") mentions the member too: it is not a name.
            pets = [header_key(w) for w in LOOKALIKE_HINTS["pet_name"]]
            matches = [h for h in matches if not _looks_like_id(h) and not any(p in header_key(h) for p in pets)]
        if matches:
            out[field] = matches
    return out


def _looks_like_id(header: str) -> bool:
    key = header_key(header)
    return any(header_key(w) in key for w in ("id", "no", "編號", "号", "號", "代號", "卡號", "number", "電話", "手機"))
