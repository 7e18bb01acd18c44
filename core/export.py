"""Safe output, pure: personal-data masking, formula neutralising, CSV/XLSX bytes, access checks.

Nothing here touches Streamlit or a database; ``dashboard/exports.py`` adds the permission check
against the signed-in scope and the audit entry.

Masking (for roles without ``view_pii``, i.e. marketers):

====================  =========================  ==========================
column                example in                 example out
====================  =========================  ==========================
phone, phone_raw      ``+886912345678``          ``+886912***678``
email                 ``wang@gmail.com``         ``w***@gmail.com``
name, customer_name   ``王小美``                 ``王*美``
line_id, wechat_…     ``U1234abcd``              ``U1***``
birthday              ``1990-05-01``             ``--05-01`` (month-day only)
====================  =========================  ==========================
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

import pandas as pd

from core.importing.safe_csv import FORMULA_PREFIXES, frame_to_excel_csv
from core.scope import PermissionDenied, Scope

EXPORT_FORMATS: Final = ("csv", "xlsx")
MASK: Final = "***"

# Calling codes, longest first, so +886 is not read as +88 and +852 not as +85.
_CALLING_CODES: Final = (
    "886",
    "852",
    "853",
    "855",
    "856",
    "880",
    "971",
    "972",
    "966",
    "86",
    "81",
    "82",
    "65",
    "60",
    "66",
    "84",
    "63",
    "62",
    "61",
    "64",
    "44",
    "49",
    "33",
    "1",
    "7",
)


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or value is pd.NaT


def mask_phone(value: Any) -> Any:
    """``+886912345678`` → ``+886912***678``: calling code and 3 leading digits, 3 trailing digits.

    Numbers without ``+`` keep 4 leading (``0912***678``); very short values become ``***``.
    Missing values are returned unchanged.
    """
    if _missing(value):
        return value
    text = str(value).strip()
    if not text:
        return text
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        code = next((c for c in _CALLING_CODES if digits.startswith(c)), digits[:3])
        national = digits[len(code) :]
        if len(national) < 7:
            return f"+{code}{MASK}"
        return f"+{code}{national[:3]}{MASK}{national[-3:]}"
    if len(digits) < 8:
        return MASK
    return f"{digits[:4]}{MASK}{digits[-3:]}"


def mask_email(value: Any) -> Any:
    """``wang@gmail.com`` → ``w***@gmail.com`` (first letter of the local part, the domain kept)."""
    if _missing(value):
        return value
    text = str(value).strip()
    if not text:
        return text
    local, at, domain = text.rpartition("@")
    if not at:
        return text[:1] + MASK
    return f"{local[:1]}{MASK}@{domain}"


def mask_name(value: Any) -> Any:
    """``王小美`` → ``王*美``, ``王美`` → ``王*``, ``王`` → ``*``: first and last character kept."""
    if _missing(value):
        return value
    text = str(value).strip()
    if len(text) == 0:
        return text
    if len(text) == 1:
        return "*"
    if len(text) == 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]


def mask_identifier(value: Any) -> Any:
    """A LINE id / WeChat openid: ``U1234abcd`` → ``U1***``."""
    if _missing(value):
        return value
    text = str(value).strip()
    return text[:2] + MASK if len(text) > 4 else (MASK if text else text)


def mask_birthday(value: Any) -> Any:
    """Month and day only (``--05-01``, ISO 8601), enough for birthday campaigns; no year."""
    if _missing(value):
        return value
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError):
        return MASK
    return f"--{day.month:02d}-{day.day:02d}"


# Column name → masker; pages and exports share this contract.
PII_MASKERS: Final[Mapping[str, Callable[[Any], Any]]] = {
    "name": mask_name,
    "customer_name": mask_name,
    "display_name": mask_name,
    "phone": mask_phone,
    "phone_raw": mask_phone,
    "email": mask_email,
    "line_id": mask_identifier,
    "wechat_openid": mask_identifier,
    "birthday": mask_birthday,
}
PII_COLUMNS: Final = frozenset(PII_MASKERS)


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose personal-data columns (:data:`PII_MASKERS`) are masked.

    Mask before renaming columns for display: masking goes by these canonical column names.
    The input frame is never modified.
    """
    masked = frame.copy()
    for column, masker in PII_MASKERS.items():
        if column in masked.columns:
            masked[column] = masked[column].astype(object).map(masker)
    return masked


def require_access(scope: Scope, permission: str, *, store_ids: Iterable[int | None] = ()) -> None:
    """The generic permission check: the role has ``permission`` and every store is in scope.

    Raises
    ------
    PermissionDenied
        The role lacks ``permission``, or a store in ``store_ids`` is outside the caller's stores.
    """
    scope.require(permission)
    outside = sorted({s for s in store_ids if not scope.allows_store(s)}, key=lambda s: (s is None, s or 0))
    if outside:
        raise PermissionDenied(
            f"{scope.actor} ({scope.role}) may not {permission.replace('_', ' ')} data of stores outside their scope"
        )


def rows_in_scope(frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Keep the rows of stores the caller may see (by ``store_id``, else ``home_store_id``).

    Defence in depth for exports: frames come from scoped reads already, but a frame built by
    joining or caching mistakes still cannot carry another store's rows out.
    """
    if scope.store_ids is None:
        return frame
    for column in ("store_id", "home_store_id"):
        if column in frame.columns:
            allowed = frame[column].map(lambda v: (not _missing(v)) and int(v) in scope.store_ids)
            return frame[allowed.astype(bool)]
    return frame


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8-BOM CSV with every formula-like text cell (``=`` ``+`` ``-`` ``@`` tab CR) prefixed ``'``.

    ``+886912345678`` becomes ``'+886912345678``: text in Excel, plus sign kept.
    """
    return frame_to_excel_csv(_plain(frame))


_ILLEGAL_XLSX = re.compile(r"[\000-\010\013\014\016-\037]")


def _xlsx_value(value: Any) -> tuple[Any, bool]:
    """The value for an openpyxl cell and whether it must be a text cell."""
    if _missing(value):
        return None, False
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return (value.replace(tzinfo=None) if value.tzinfo else value), False
    if isinstance(value, (bool, int, float, date)):
        return value, False
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item(), False  # numpy scalars
    text = _ILLEGAL_XLSX.sub("", value if isinstance(value, str) else str(value))
    return text, True


def to_xlsx_bytes(frame: pd.DataFrame, *, sheet: str = "export") -> bytes:
    """An XLSX workbook in which every text cell is a string cell, never a formula.

    openpyxl treats a string starting with ``=`` as a formula; here each text cell is forced to
    the string type, and formula-like ones (and ``+886…`` phones) get Excel's quote prefix, so
    they stay text even when a user edits and re-saves the cell.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet[:31] or "export"
    plain = _plain(frame)
    worksheet.append([_ILLEGAL_XLSX.sub("", str(c)) for c in plain.columns])
    for header in worksheet[1]:
        header.data_type = "s"
    for row in plain.itertuples(index=False, name=None):
        values = [_xlsx_value(v) for v in row]
        worksheet.append([v for v, _ in values])
        for cell, (value, is_text) in zip(worksheet[worksheet.max_row], values, strict=True):
            if is_text:
                cell.data_type = "s"
                if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
                    cell.quotePrefix = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists/dicts (tags, attributes, audit before/after) as readable text; the index dropped."""
    plain = frame.reset_index(drop=True).copy()
    for column in plain.columns:
        if plain[column].dtype == object:
            plain[column] = plain[column].map(
                lambda v: (
                    ", ".join(map(str, v))
                    if isinstance(v, (list, tuple, set))
                    else (str(v) if isinstance(v, dict) else v)
                )
            )
    return plain


def encode(frame: pd.DataFrame, *, fmt: str) -> bytes:
    """``frame`` as safe ``csv`` or ``xlsx`` bytes."""
    if fmt == "csv":
        return to_csv_bytes(frame)
    if fmt == "xlsx":
        return to_xlsx_bytes(frame)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
