"""Value parsers for messy shop exports.

Every parser takes a Series of raw text cells and returns a :class:`Parsed` pair: the typed
values and, aligned with them, ``None`` or a user-facing reason why that cell was refused.
Empty cells are not errors here (callers decide what is required). Parsing is done once per
distinct value, which is what makes it fast on real exports: a booking log has far fewer
distinct dates, prices and statuses than rows.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd
import phonenumbers

from core.columns import BOOKING_STATUSES
from core.localtime import local_time

from .text import fold, normalise_cell

T = TypeVar("T")


@dataclass(frozen=True)
class Parsed:
    """Typed values plus a per-row reason (``None`` when the cell is fine)."""

    values: pd.Series
    errors: pd.Series

    @property
    def ok(self) -> pd.Series:
        """Boolean mask of cells without an error."""
        return self.errors.isna()


def _no_errors(index: pd.Index) -> pd.Series:
    return pd.Series(np.full(len(index), None, dtype=object), index=index, dtype=object)


def codes_and_uniques(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, distinct values)`` of a column; free for a ``Categorical`` (code -1 = missing).

    The reader returns dictionary-encoded columns, so every parser below works on the few
    distinct values of a column and then takes the result back to the rows with ``codes``.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return np.asarray(values.cat.codes, dtype=np.intp), np.asarray(values.cat.categories, dtype=object)
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _categorical(codes: np.ndarray, uniques: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object)), index=index)


def _text(values: pd.Series) -> pd.Series:
    """NFKC-normalised, trimmed cells ("" for missing) as a ``Categorical`` of ``str``."""
    # Normalise each distinct cell once: an export repeats the same few values many times.
    codes, uniques = codes_and_uniques(values)
    cleaned = np.empty(len(uniques), dtype=object)
    cleaned[:] = [normalise_cell(str(v)) for v in uniques]
    missing = codes < 0
    if missing.any() or not len(cleaned):
        cleaned = np.append(cleaned, "")
        codes = np.where(missing, len(cleaned) - 1, codes)
    if not (cleaned[: len(uniques)] == uniques).all() or len(cleaned) > len(uniques):
        # Two raw spellings may clean to the same text: make the categories unique again.
        recode, distinct = pd.factorize(cleaned)
        codes, cleaned = recode[codes], np.asarray(distinct, dtype=object)
    return _categorical(codes, cleaned, values.index)


def _take(unique_values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return unique_values[codes] if len(codes) else unique_values[:0]


def _per_unique_codes(
    values: pd.Series, parse: Callable[[str], tuple[T | None, str | None]]
) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Apply a scalar parser once per distinct normalised value.

    Returns ``(codes, parsed distinct values, per-row errors)``; ``parsed[codes]`` is per row.
    """
    codes, uniques = codes_and_uniques(_text(values))
    results = [(None, None) if value == "" else parse(value) for value in uniques]
    parsed_unique = np.empty(len(results), dtype=object)
    parsed_unique[:] = [r[0] for r in results]
    errors_unique = np.empty(len(results), dtype=object)
    errors_unique[:] = [r[1] for r in results]
    errors = pd.Series(_take(errors_unique, codes), index=values.index, dtype=object)
    return codes, parsed_unique, errors


def _per_unique(
    values: pd.Series, parse: Callable[[str], tuple[T | None, str | None]]
) -> tuple[list[T | None], pd.Series]:
    """Apply a scalar parser once per distinct normalised value."""
    codes, parsed_unique, errors = _per_unique_codes(values, parse)
    return list(_take(parsed_unique, codes)), errors


# -------------------------------------------------------------------------------------- dates

_TZ_RE = re.compile(r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_DATE_PATTERNS: Final = (
    # 2024-05-01, 2024/5/1, 2024.05.01 (optionally followed by a time)
    ("ymd", re.compile(r"^(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})(?!\d)(?P<rest>.*)$")),
    # 2024年5月1日
    ("ymd", re.compile(r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})(?!\d)\s*[日號号]?(?P<rest>.*)$")),
    # 113/05/01, 113.5.1, 113年5月1日, 民國113年5月1日 (Republic of China calendar: + 1911)
    (
        "roc",
        re.compile(
            r"^(?:中華民國|中华民国|民國|民国)?\s*(?P<y>\d{2,3})\s*(?:[-/.]|年)\s*(?P<m>\d{1,2})"
            r"\s*(?:[-/.]|月)\s*(?P<d>\d{1,2})(?!\d)\s*[日號号]?(?P<rest>.*)$"
        ),
    ),
    # 05/01/2024: day-first or month-first
    ("ab_y", re.compile(r"^(?P<a>\d{1,2})\s*[-/.]\s*(?P<b>\d{1,2})\s*[-/.]\s*(?P<y>\d{4})(?!\d)(?P<rest>.*)$")),
    ("ymd", re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?P<rest>)$")),  # 20240501
    ("roc", re.compile(r"^(?P<y>1\d{2})(?P<m>\d{2})(?P<d>\d{2})(?P<rest>)$")),  # 1130501
)
_SERIAL_RE = re.compile(r"^(?P<days>\d{5})(?P<frac>\.\d+)?$")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's 1900 system, after its 1900-02-29 bug
_NAMED_MONTH_FORMATS = ("%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%b %d, %Y", "%B %d, %Y", "%d %B %Y", "%b %d %Y")

AMBIGUOUS_DATE = "ambiguous"


def parse_date_value(
    text: str,
    *,
    dayfirst: bool | None = None,
    timezone: str | None = None,
    min_year: int = 1900,
    max_year: int = 2100,
) -> tuple[dt.datetime | None, str | None]:
    """Parse one date or date-time cell; return ``(value, None)`` or ``(None, reason)``.

    A trailing timezone offset is converted to ``timezone`` when given, otherwise dropped so the
    wall-clock time is kept as written (Revisit stores store-local naive times).
    """
    raw = text
    text = normalise_cell(text)
    offset: dt.tzinfo | None = None
    tz_match = _TZ_RE.search(text)
    if tz_match and re.search(r"\d[:時时点點]\d", text):
        offset = _offset(tz_match.group("tz"))
        text = text[: tz_match.start()]

    value: dt.datetime | None = None
    for kind, pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        if kind == "ab_y":
            a, b, year = int(match["a"]), int(match["b"]), int(match["y"])
            if a > 12 and b <= 12:
                day, month = a, b
            elif b > 12 and a <= 12:
                month, day = a, b
            elif a == b:
                month = day = a
            elif dayfirst is None:
                return None, (
                    f"date '{raw}' is ambiguous (day/month or month/day); choose the "
                    "dayfirst option (day-first or month-first) and re-import"
                )
            else:
                day, month = (a, b) if dayfirst else (b, a)
        else:
            year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
            if kind == "roc":
                year += 1911
        try:
            date = dt.date(year, month, day)
        except ValueError:
            return None, _impossible(raw, year, month, day)
        rest = match["rest"].strip().lstrip("Tt").strip()
        clock = dt.timedelta(0)
        if rest:
            parsed_clock, reason = parse_time_value(rest)
            if reason or parsed_clock is None:
                return None, f"'{raw}' has a date but an unreadable time part '{rest}'"
            clock = parsed_clock
        value = dt.datetime.combine(date, dt.time(0)) + clock
        break
    else:
        serial = _SERIAL_RE.match(text)
        if serial:
            value = _EXCEL_EPOCH + dt.timedelta(days=float(text))
            value = value.replace(microsecond=0) + dt.timedelta(seconds=round(value.microsecond / 1e6))
        else:
            value = _named_month(text)
    if value is None:
        return None, f"'{raw}' is not a date Revisit can read (use e.g. 2024-05-01 or 113/05/01)"
    if not (min_year <= value.year <= max_year):
        return None, f"date '{raw}' is outside the plausible range {min_year}-{max_year}"
    if offset is not None and timezone:
        value = local_time(value.replace(tzinfo=offset), timezone)
    return value, None


def _impossible(raw: str, year: int, month: int, day: int) -> str:
    if 1 <= month <= 12 and 1 <= year <= 9999:
        last = calendar.monthrange(year, month)[1]
        return f"date '{raw}' does not exist ({year}-{month:02d} has {last} days)"
    return f"date '{raw}' does not exist (month {month} is not 1-12)"


def _offset(token: str) -> dt.tzinfo:
    token = token.upper()
    if token in {"Z", "UTC", "GMT"}:
        return dt.UTC
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _named_month(text: str) -> dt.datetime | None:
    if not re.search(r"[A-Za-z]{3}", text):
        return None
    for fmt in _NAMED_MONTH_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_dates(
    values: pd.Series,
    *,
    dayfirst: bool | None = None,
    timezone: str | None = None,
    min_year: int = 1900,
    max_year: int = 2100,
) -> Parsed:
    """Parse a column of dates / date-times into naive ``datetime64[ns]`` (NaT when empty).

    Accepts ISO, slash and dot forms, ROC years (113/05/01, 民國113年5月1日), Chinese
    2024年5月1日, compact 20240501, Excel serial numbers and English month names. ``dayfirst``
    resolves ``05/01/2024``; when it is ``None`` such a value is refused as ambiguous.
    """
    codes, parsed, errors = _per_unique_codes(
        values,
        lambda v: parse_date_value(v, dayfirst=dayfirst, timezone=timezone, min_year=min_year, max_year=max_year),
    )
    distinct = pd.to_datetime(pd.Series(parsed, dtype=object)).astype("datetime64[ns]").to_numpy()
    return Parsed(pd.Series(_take(distinct, codes), index=values.index, dtype="datetime64[ns]"), errors)


def is_ambiguous_reason(reason: object) -> bool:
    """Whether a reason from :func:`parse_dates` asks the user to choose day/month order."""
    return isinstance(reason, str) and "is ambiguous" in reason


# -------------------------------------------------------------------------------------- times

_PM_WORDS: Final = {"下午", "晚上", "傍晚", "pm", "夜間", "夜间"}
_AM_WORDS: Final = {"上午", "早上", "凌晨", "清晨", "am"}
_NOON_WORDS: Final = {"中午"}
_MERIDIEM = r"上午|下午|中午|晚上|早上|凌晨|清晨|傍晚|夜間|夜间|a\.?m\.?|p\.?m\.?"
_TIME_RE = re.compile(
    rf"^(?P<pre>{_MERIDIEM})?\s*(?P<h>\d{{1,2}})\s*(?:(?:[:：]|時|时|點|点)\s*(?P<m>\d{{1,2}}|半)?\s*分?"
    rf"(?:\s*[:：]\s*(?P<s>\d{{1,2}})(?:\.\d+)?|\s*(?P<s2>\d{{1,2}})\s*秒)?)?\s*(?P<post>{_MERIDIEM})?$",
    re.IGNORECASE,
)
_HHMM_RE = re.compile(r"^(?P<h>[01]\d|2[0-3])(?P<m>[0-5]\d)$")
_FRACTION_RE = re.compile(r"^0?\.\d+$")


def parse_time_value(text: str) -> tuple[dt.timedelta | None, str | None]:
    """Parse a time of day (``下午 03:30``, ``上午10:00``, ``15:30``, ``3:30 PM``, ``1530``)."""
    raw = text
    text = normalise_cell(text)
    if _FRACTION_RE.match(text):  # Excel stores a time as a fraction of a day
        return dt.timedelta(seconds=round(float(text) * 86400)), None
    hhmm = _HHMM_RE.match(text)
    if hhmm:
        return dt.timedelta(hours=int(hhmm["h"]), minutes=int(hhmm["m"])), None
    match = _TIME_RE.match(text)
    reason = f"time '{raw}' is not a time of day Revisit can read (use e.g. 15:30 or 下午 3:30)"
    if not match or (match["pre"] and match["post"] and match["pre"].lower() != match["post"].lower()):
        return None, reason
    if match["m"] is None and not (match["pre"] or match["post"] or re.search(r"[時时點点]", text)):
        return None, reason  # a bare number is not a time
    hour = int(match["h"])
    minute = 30 if match["m"] == "半" else int(match["m"] or 0)
    second = int(match["s"] or match["s2"] or 0)
    meridiem = (match["pre"] or match["post"] or "").lower().replace(".", "")
    if meridiem in _PM_WORDS:
        if hour < 12:  # "下午 15:30" is already on the 24-hour clock
            hour += 12
    elif meridiem in _NOON_WORDS:
        if hour < 6:  # 中午1點 is 13:00, 中午12點 is noon
            hour += 12
    elif meridiem in _AM_WORDS:
        if hour > 12:
            return None, f"time '{raw}' says morning but the hour is {hour}"
        if hour == 12:
            hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None, f"time '{raw}' does not exist"
    return dt.timedelta(hours=hour, minutes=minute, seconds=second), None


def parse_times(values: pd.Series) -> Parsed:
    """Parse a separate time column into ``timedelta64[ns]`` since midnight (NaT when empty)."""
    codes, parsed, errors = _per_unique_codes(values, parse_time_value)
    distinct = pd.to_timedelta(pd.Series(parsed, dtype=object)).astype("timedelta64[ns]").to_numpy()
    return Parsed(pd.Series(_take(distinct, codes), index=values.index, dtype="timedelta64[ns]"), errors)


# ------------------------------------------------------------------------------------ amounts

_CURRENCY_RE = re.compile(
    r"nt\$|ntd|twd|us\$|usd|hk\$|hkd|rmb|cny|\$|¥|元|圓|圆|块|塊|人民币|人民幣|新台幣|新臺幣|新台币|台幣|臺幣|台币|円",
    re.IGNORECASE,
)


#: Largest amount accepted for one booking (in the shop's currency). A salon or grooming visit
#: costs far less; anything above is a typo or a hostile value (``1e308``) that would poison
#: every revenue figure, so the row is rejected with this limit named.
MAX_AMOUNT: Final = 10_000_000.0


def parse_amounts(
    values: pd.Series,
    *,
    empty: float | None = 0.0,
    allow_negative: bool = False,
    maximum: float = MAX_AMOUNT,
) -> Parsed:
    """Parse money such as ``NT$1,200``, ``¥1,200.50``, ``1,200元``, ``$ 1200``, ``RMB 300``.

    Empty cells become ``empty``; ``(100)`` is read as -100, which is refused unless
    ``allow_negative``; an absolute value above ``maximum`` (default ``MAX_AMOUNT``) is refused.
    """
    text = _text(values)
    # Clean and convert each distinct cell once (a log repeats the same prices).
    codes, uniques = codes_and_uniques(text)
    distinct = pd.Series(uniques, dtype=object)
    cleaned = distinct.str.replace(_CURRENCY_RE, "", regex=True).str.replace(r"[\s,']", "", regex=True)
    cleaned = cleaned.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    parsed = pd.to_numeric(cleaned.where(cleaned != "", None), errors="coerce").astype(float).to_numpy()
    parsed = np.where(np.isinf(parsed), np.float64(np.finfo(np.float64).max), parsed)  # "inf": over the limit
    numbers = pd.Series(parsed[codes] if len(codes) else [], index=values.index, dtype=float)
    errors = _no_errors(values.index)
    is_empty = _take(uniques == "", codes)
    unreadable = ~is_empty & numbers.isna().to_numpy()
    if unreadable.any():
        errors[unreadable] = [f"amount '{v}' is not a number" for v in values[unreadable]]
    if not allow_negative:
        negative = (numbers < 0).to_numpy()
        if negative.any():
            errors[negative] = [f"amount '{v}' is negative" for v in values[negative]]
    huge = (errors.isna() & (numbers.abs() > maximum)).to_numpy()
    if huge.any():
        errors[huge] = [f"amount '{v}' is above the limit of {maximum:,.0f}" for v in values[huge]]
    if empty is not None and is_empty.any():
        numbers = numbers.where(~is_empty, empty)
    return Parsed(numbers, errors)


def parse_quantities(values: pd.Series) -> Parsed:
    """Parse a positive whole-number quantity; empty means 1."""
    amounts = parse_amounts(values, empty=1.0)
    numbers, errors = amounts.values, amounts.errors.copy()
    bad = errors.isna() & ((numbers < 1) | (numbers != numbers.round()))
    if bad.any():
        errors[bad] = [f"quantity '{v}' is not a whole number of at least 1" for v in values[bad]]
    return Parsed(numbers.where(~bad & errors.isna(), 1).astype("int64"), errors)


# ------------------------------------------------------------------------------------- phones

_SCIENTIFIC_RE = re.compile(r"^\+?(?P<int>\d)(?:\.(?P<frac>\d+))?e\+?(?P<exp>\d+)$", re.IGNORECASE)
_EXTENSION_RE = re.compile(r"(轉|转|分機|分机|#)")


# Fast path for the common case, mobile numbers in their usual spellings; the verdict is the
# same as phonenumbers' (its own mobile pattern decides), only without a full parse per value.
_FAST_PHONES: Final = {
    "TW": (re.compile(r"^(?:\+886|0)?(9\d{8})$"), "886"),
    "CN": (re.compile(r"^(?:\+86)?(1\d{10})$"), "86"),
}
_FAST_INTERNATIONAL: Final = {
    "886": (re.compile(r"^\+886(9\d{8})$"), "TW"),
    "86": (re.compile(r"^\+86(1\d{10})$"), "CN"),
}
_SEPARATORS_RE = re.compile(r"[\s\-()]")


def _mobile_pattern(region: str) -> re.Pattern[str] | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None or not metadata.mobile.national_number_pattern:
        return None
    return re.compile(f"(?:{metadata.mobile.national_number_pattern})")


_MOBILE_PATTERNS: Final = {region: _mobile_pattern(region) for region in ("TW", "CN")}


def _fast_phone(text: str, default_country: str) -> str | None:
    compact = _SEPARATORS_RE.sub("", text)
    for code, (pattern, region) in _FAST_INTERNATIONAL.items():
        match = pattern.match(compact)
        if match:
            mobile = _MOBILE_PATTERNS[region]
            return f"+{code}{match[1]}" if mobile is not None and mobile.fullmatch(match[1]) else None
    fast = _FAST_PHONES.get(default_country)
    if fast is not None and not compact.startswith("+"):
        match = fast[0].match(compact)
        mobile = _MOBILE_PATTERNS[default_country]
        if match and mobile is not None and mobile.fullmatch(match[1]):
            return f"+{fast[1]}{match[1]}"
    return None


def parse_phone_value(text: str, default_country: str = "TW") -> tuple[str | None, str | None]:
    """Normalise one phone number to E.164, or return a reason it cannot be trusted."""
    raw = text
    text = normalise_cell(text)
    fast = _fast_phone(text, default_country)
    if fast is not None:
        return fast, None
    scientific = _SCIENTIFIC_RE.match(text)
    if scientific:
        # Excel shows long numbers as 8.86912E+11: the mantissa keeps only a few digits, so the
        # number can be rebuilt only when every digit survived.
        significant = scientific["int"] + (scientific["frac"] or "")
        if len(significant) > int(scientific["exp"]) + 1:
            return None, f"phone '{raw}' is not a whole number"
        if len(significant) < int(scientific["exp"]) + 1:
            return None, (
                f"phone '{raw}' was turned into scientific notation by Excel and lost digits; "
                "format the phone column as Text in Excel and export again"
            )
        text = str(int(Decimal(text.lstrip("+"))))
    elif re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]  # a numeric Excel cell exported with a decimal part
    text = _EXTENSION_RE.sub(" ext ", text)
    try:
        number = phonenumbers.parse(text, default_country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return None, (
            f"phone '{raw}' is not a valid {default_country} phone number; "
            "add the country code (e.g. +86…) if it is from another country"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def parse_phones(values: pd.Series, default_country: str = "TW") -> Parsed:
    """Normalise phone numbers to E.164 (``+886912345678``); ``None`` when empty or refused."""
    codes, parsed, errors = _per_unique_codes(values, lambda v: parse_phone_value(v, default_country))
    return Parsed(pd.Series(_take(parsed, codes), index=values.index, dtype=object), errors)


# ----------------------------------------------------------------------------------- statuses

DEFAULT_STATUS_WORDS: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        [
            "完成",
            "已完成",
            "到店",
            "已到店",
            "已到",
            "已結帳",
            "已结账",
            "已消費",
            "已服務",
            "completed",
            "complete",
            "done",
            "finished",
            "checked in",
            "check in",
            "checked out",
            "paid",
            "visited",
            "served",
        ],
        "completed",
    ),
    **dict.fromkeys(
        ["取消", "已取消", "客人取消", "顧客取消", "店家取消", "cancelled", "canceled", "cancel", "void"],
        "cancelled",
    ),
    **dict.fromkeys(
        ["未到", "爽約", "爽约", "未到店", "沒來", "没来", "放鳥", "no show", "no-show", "noshow", "missed"],
        "no_show",
    ),
    **dict.fromkeys(["改期", "已改期", "更改時間", "rescheduled", "reschedule", "moved"], "rescheduled"),
    **dict.fromkeys(
        [
            "已預約",
            "已预约",
            "預約中",
            "预约中",
            "預約",
            "待到店",
            "待服務",
            "已確認",
            "booked",
            "confirmed",
            "scheduled",
            "pending",
            "reserved",
            "upcoming",
        ],
        "booked",
    ),
}


def _status_key(value: str) -> str:
    return re.sub(r"[\s_\-./]+", "", fold(normalise_cell(value)))


@dataclass
class StatusVocabulary:
    """Editable raw-word → canonical status map (a shop adds its own words on the Data page).

    Matching ignores case, spaces, hyphens/underscores and Traditional/Simplified differences;
    the canonical names themselves always match.
    """

    words: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS_WORDS))

    def __post_init__(self) -> None:
        bad = {w: s for w, s in self.words.items() if s not in BOOKING_STATUSES}
        if bad:
            raise ValueError(f"unknown target status(es) {bad}; use one of {', '.join(BOOKING_STATUSES)}")
        self._index = {_status_key(s): s for s in BOOKING_STATUSES}
        self._index.update({_status_key(w): s for w, s in self.words.items()})

    @classmethod
    def default(cls) -> StatusVocabulary:
        """The built-in zh-TW / zh-CN / English vocabulary."""
        return cls()

    def with_words(self, extra: Mapping[str, str]) -> StatusVocabulary:
        """A copy with ``extra`` words added (or re-pointed)."""
        return StatusVocabulary({**self.words, **extra})

    def lookup(self, raw: str) -> str | None:
        """The canonical status for ``raw``, or ``None`` when it is not in the vocabulary."""
        return self._index.get(_status_key(raw))


def parse_statuses(values: pd.Series, vocabulary: StatusVocabulary | None = None) -> Parsed:
    """Map raw statuses to canonical ones; an empty status means ``completed``."""
    vocabulary = vocabulary or StatusVocabulary.default()

    def one(value: str) -> tuple[str | None, str | None]:
        status = vocabulary.lookup(value)
        if status is None:
            return None, f"status '{value}' is not in the vocabulary; add it on the Data page and re-import"
        return status, None

    codes, parsed, errors = _per_unique_codes(values, one)
    uniques = codes_and_uniques(_text(values))[1]
    parsed = np.where(uniques == "", "completed", parsed).astype(object)
    return Parsed(pd.Series(_take(parsed, codes), index=values.index, dtype=object), errors)


# ----------------------------------------------------------------------------------- booleans

_TRUE_WORDS: Final = {
    "是",
    "y",
    "yes",
    "true",
    "t",
    "1",
    "指定",
    "有",
    "v",
    "✓",
    "✔",
    "○",
    "o",
    "同意",
    "允許",
    "允许",
    "接受",
    "要",
    "需要",
    "opt in",
    "optin",
    "ok",
    "on",
    "已指定",
    "指名",
}
_FALSE_WORDS: Final = {
    "否",
    "n",
    "no",
    "false",
    "f",
    "0",
    "不指定",
    "非指定",
    "未指定",
    "無",
    "无",
    "x",
    "×",
    "不同意",
    "拒絕",
    "拒绝",
    "不要",
    "opt out",
    "optout",
    "off",
    "-",
    "不",
}


def parse_booleans(values: pd.Series, *, empty: bool | None = False) -> Parsed:
    """Parse yes/no words (是/否, Y/N, true/false, 1/0, 指定/不指定 …); empty → ``empty``."""
    true_keys = {_status_key(w) for w in _TRUE_WORDS}
    false_keys = {_status_key(w) for w in _FALSE_WORDS}

    def one(value: str) -> tuple[bool | None, str | None]:
        key = _status_key(value) or value
        if key in true_keys:
            return True, None
        if key in false_keys:
            return False, None
        return None, f"'{value}' is not a yes/no value (use 是/否, Y/N or 1/0)"

    codes, parsed, errors = _per_unique_codes(values, one)
    uniques = codes_and_uniques(_text(values))[1]
    parsed = np.array([empty if u == "" else p for u, p in zip(uniques, parsed, strict=True)], dtype=object)
    result = pd.Series(_take(parsed, codes), index=values.index, dtype=object)
    if empty is None:
        return Parsed(result.astype("boolean"), errors)
    if errors.notna().any():
        result = result.where(errors.isna(), empty)
    return Parsed(result.astype(bool), errors)


# ------------------------------------------------------------------------------ text & emails

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def parse_text(values: pd.Series) -> Parsed:
    """Trim text cells (NFKC); empty → ``None``."""
    codes, uniques = codes_and_uniques(_text(values))
    uniques = np.where(uniques == "", None, uniques).astype(object)  # type: ignore[call-overload]
    return Parsed(pd.Series(_take(uniques, codes), index=values.index, dtype=object), _no_errors(values.index))


def parse_emails(values: pd.Series) -> Parsed:
    """Lower-case and sanity-check e-mail addresses; empty → ``None``."""
    codes, uniques = codes_and_uniques(_text(values))
    lower = np.array([u.lower() for u in uniques], dtype=object)
    bad_unique = np.array([u != "" and not _EMAIL_RE.match(u) for u in lower], dtype=bool)
    errors = _no_errors(values.index)
    bad = _take(bad_unique, codes)
    if bad.any():
        errors[bad] = [f"email '{v}' is not an e-mail address" for v in values[bad]]
    kept = np.where((lower == "") | bad_unique, None, lower).astype(object)  # type: ignore[call-overload]
    return Parsed(pd.Series(_take(kept, codes), index=values.index, dtype=object), errors)


def parse_tags(values: pd.Series) -> Parsed:
    """Split tag lists on , ， ; 、 | / into a sorted-unique list per row."""
    text = _text(values)
    tags: list[Any] = [sorted({t.strip() for t in re.split(r"[,;、|/#]+", v) if t.strip()}) for v in text]
    return Parsed(pd.Series(tags, index=values.index, dtype=object), _no_errors(values.index))


_CHANNELS: Final = {
    "line": "line",
    "line@": "line",
    "官方line": "line",
    "電話": "phone",
    "电话": "phone",
    "phone": "phone",
    "call": "phone",
    "現場": "walk_in",
    "现场": "walk_in",
    "walkin": "walk_in",
    "walk in": "walk_in",
    "路過": "walk_in",
    "臨櫃": "walk_in",
    "網站": "web",
    "网站": "web",
    "官網": "web",
    "官网": "web",
    "web": "web",
    "website": "web",
    "online": "web",
    "線上": "web",
    "线上": "web",
    "微信": "wechat",
    "wechat": "wechat",
    "小程序": "wechat",
    "微信小程序": "wechat",
    "ig": "instagram",
    "instagram": "instagram",
    "fb": "facebook",
    "facebook": "facebook",
    "臉書": "facebook",
    "google": "google",
    "app": "app",
    "大众点评": "dianping",
    "美团": "meituan",
    "小红书": "xiaohongshu",
}
_CHANNEL_INDEX: Final = {_status_key(k): v for k, v in _CHANNELS.items()}

_SPECIES: Final = {
    "狗": "dog",
    "犬": "dog",
    "狗狗": "dog",
    "dog": "dog",
    "貓": "cat",
    "猫": "cat",
    "貓咪": "cat",
    "cat": "cat",
    "兔": "rabbit",
    "兔子": "rabbit",
    "rabbit": "rabbit",
}
_SPECIES_INDEX: Final = {_status_key(k): v for k, v in _SPECIES.items()}


def normalise_words(values: pd.Series, vocabulary: Mapping[str, str]) -> pd.Series:
    """Map known words (channels, species) to canonical codes; unknown ones kept trimmed."""
    codes, uniques = codes_and_uniques(_text(values))
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [vocabulary.get(_status_key(v), v) if v else None for v in uniques]
    return pd.Series(_take(mapped, codes), index=values.index, dtype=object)


def normalise_channels(values: pd.Series) -> pd.Series:
    """Canonical channel codes (``line``, ``phone``, ``walk_in``, ``web``, ``wechat`` …)."""
    return normalise_words(values, _CHANNEL_INDEX)


def normalise_species(values: pd.Series) -> pd.Series:
    """Canonical species (``dog``, ``cat``, ``rabbit``), other values kept as written."""
    return normalise_words(values, _SPECIES_INDEX)
