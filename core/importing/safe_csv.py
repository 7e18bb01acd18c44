"""CSV export that is safe to open in Excel / LibreOffice / Numbers.

A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return can be executed as a
formula (CSV injection, e.g. ``=HYPERLINK(...)``). Such cells get a leading apostrophe, which
spreadsheets show as "text" and hide; this also keeps ``+886912345678`` from being read as a
number and losing its plus sign.
"""

from __future__ import annotations

import csv
import io
from typing import Final, TypeVar

import pandas as pd

# Full-width variants too: some spreadsheet apps normalise them to the ASCII operators.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")

T = TypeVar("T")


def neutralise_cell(value: T) -> T | str:
    """Prefix a text cell that a spreadsheet could treat as a formula with ``'``.

    Non-text values (numbers, dates, ``None``) are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name neutralised."""
    safe = frame.astype(object).map(neutralise_cell)
    safe.columns = [neutralise_cell(str(c)) for c in frame.columns]
    return safe


def frame_to_excel_csv(frame: pd.DataFrame) -> bytes:
    """Neutralised CSV, UTF-8 with BOM and CRLF line ends, so Excel opens CJK text correctly."""
    safe = neutralise_frame(frame)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(safe.columns)
    for row in safe.itertuples(index=False, name=None):
        writer.writerow(["" if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def reject_report_csv(rejects: pd.DataFrame) -> bytes:
    """The reject report (row_number, field, value, reason) as a safe, Excel-friendly CSV."""
    columns = ["row_number", "field", "value", "reason"]
    extra = [c for c in rejects.columns if c not in columns]
    return frame_to_excel_csv(rejects.reindex(columns=columns + extra))
