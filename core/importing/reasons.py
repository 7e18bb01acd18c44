"""Reject reasons as stable codes, so they can be grouped and shown in the user's language.

The parsers and the writer explain each refused cell with an English sentence that names the
value (``amount 'NT$x' is not a number``). :func:`reason_code` maps such a sentence to a short
code (``amount_unreadable``); the dashboard translates the code, and :func:`group_reasons`
counts the rows per code ("33 rows: no store for this row"). A sentence no pattern knows maps
to ``other`` — a test feeds every reason the importer produces through here.
"""

from __future__ import annotations

import re
from typing import Final

import pandas as pd

#: (code, pattern) in matching order; the first match wins.
REASON_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (code, re.compile(pattern, re.DOTALL))
    for code, pattern in (
        ("control_character", r"^contains a control character"),
        ("duplicate_in_file", r"^duplicate of row \d+"),
        ("empty_required", r"^\w+ is empty$"),
        ("too_long", r"^\w+ is longer than \d+ characters"),
        ("date_ambiguous", r"^date '.*' is ambiguous"),
        ("date_out_of_range", r"^date '.*' is outside the plausible range"),
        ("date_not_exist", r"^date '.*' does not exist"),
        ("date_bad_time", r"^'.*' has a date but an unreadable time part"),
        ("date_unreadable", r"^'.*' is not a date Revisit can read"),
        ("time_unreadable", r"^time '.*' (is not a time of day|says morning|does not exist)"),
        ("amount_too_large", r"^amount '.*' is above the limit"),
        ("amount_negative", r"^amount '.*' is negative"),
        ("amount_unreadable", r"^amount '.*' is not a number"),
        ("quantity_invalid", r"^quantity '.*' is not a whole number"),
        ("phone_excel", r"^phone '.*' was turned into scientific notation"),
        ("phone_invalid", r"^phone '.*' is not a (whole number|valid)"),
        ("email_invalid", r"^email '.*' is not an e-mail address"),
        ("status_unknown", r"^status '.*' is not in the vocabulary"),
        ("yes_no_invalid", r"^'.*' is not a yes/no value"),
        ("no_store", r"^no store for this row"),
        ("several_stores", r"^several stores: choose"),
        ("unknown_store", r"^unknown store '"),
        ("store_outside_scope", r"^store '.*' is not one of your stores"),
        ("member_outside_scope", r"^this member belongs to a store outside your scope"),
        ("schema_check", r"^\w+ failed check"),
    )
)
OTHER: Final = "other"
REASON_CODES: Final = tuple(code for code, _ in REASON_PATTERNS) + (OTHER,)


def reason_code(reason: object) -> str:
    """The code of one English reason sentence (``other`` when no pattern matches)."""
    text = str(reason or "")
    for code, pattern in REASON_PATTERNS:
        if pattern.search(text):
            return code
    return OTHER


def group_reasons(rejects: pd.DataFrame | None) -> pd.DataFrame:
    """Rows per reason code, most frequent first.

    Parameters
    ----------
    rejects
        A reject frame (``row_number``, ``field``, ``value``, ``reason``).

    Returns
    -------
    pandas.DataFrame
        Columns ``code``, ``rows`` (distinct rows with that reason), ``field`` (the most common
        field), ``example`` (the first English sentence). Empty when nothing was rejected.
    """
    columns = ["code", "rows", "field", "example"]
    if rejects is None or rejects.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = rejects.assign(code=rejects["reason"].map(reason_code))
    grouped = (
        frame.groupby("code", sort=False)
        .agg(
            rows=("row_number", "nunique"),
            field=("field", lambda f: f.astype(str).value_counts().index[0]),
            example=("reason", "first"),
        )
        .reset_index()
    )
    return grouped.sort_values(["rows", "code"], ascending=[False, True], kind="stable")[columns].reset_index(drop=True)


def grouped_summary(rejects: pd.DataFrame | None, *, limit: int = 5) -> list[str]:
    """English lines such as ``33 rows: no store for this row: …`` (the CLI prints these)."""
    groups = group_reasons(rejects)
    return [
        f"{int(g.rows)} row{'s' if int(g.rows) != 1 else ''}: {g.example}"
        for g in groups.head(limit).itertuples(index=False)
    ]


#: (code, pattern) for the messages of :class:`~core.importing.ImportFileError` (a file that
#: cannot be used at all). Named groups become translation parameters.
FILE_ERROR_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (code, re.compile(pattern, re.DOTALL))
    for code, pattern in (
        ("too_large", r" is (?P<size>[\d.]+ [KM]B), larger than the (?P<limit>[\d.]+ [KM]B) limit"),
        ("empty", r" is empty; export"),
        ("every_sheet_empty", r"^every sheet in .* is empty"),
        ("binary", r" is not a text file \(it contains binary data\)"),
        ("undecodable", r" could not be read as text"),
        ("not_csv_or_excel", r" is not a CSV or Excel file$"),
        ("bad_workbook", r"(is named like an Excel file but is not a valid workbook|could not be opened as an Excel)"),
        ("no_rows", r"has a header row but no data rows"),
        ("cell_too_long", r" has a cell longer than [\d,]+ characters"),
        ("too_wide", r" has more than [\d,]+ columns"),
        ("unreadable_csv", r" could not be read as CSV"),
        ("no_column", r"^no (?P<field>\w+) column found"),
        ("mapped_column_missing", r"^(mapped column\(s\) not in the file|--map: column .* is not in the file)"),
    )
)


def file_error_code(message: object) -> tuple[str, dict[str, str]]:
    """``(code, parameters)`` of a file-level error message; ``("other", {})`` when unknown."""
    text = str(message or "")
    for code, pattern in FILE_ERROR_PATTERNS:
        found = pattern.search(text)
        if found:
            return code, {k: v for k, v in found.groupdict().items() if v is not None}
    return OTHER, {}
