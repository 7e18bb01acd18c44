"""The import's words in the user's language: field labels, reject reasons, the reject report.

Reasons come from :mod:`core.importing` as English sentences; :func:`core.importing.reason_code`
turns each into a stable code that is translated here (``data_import.reason.<code>``).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.export import to_csv_bytes
from core.importing import ALL_FIELDS, file_error_code, group_reasons, reason_code

Translate = Callable[..., str]


def field_label(t: Translate, name: str) -> str:
    """A canonical field (``addon_amount``) as the user reads it (加購金額); other columns as they are."""
    return t(f"data_import.field.{name}") if name in ALL_FIELDS else name


def reason_text(t: Translate, reason: object) -> str:
    """One English reject reason in the user's language (grouped wording, no value)."""
    return t(f"data_import.reason.{reason_code(reason)}")


def reason_groups(t: Translate, rejects: pd.DataFrame | None) -> pd.DataFrame:
    """Rows per reason, most frequent first, with translated headers and cells."""
    groups = group_reasons(rejects)
    return pd.DataFrame(
        {
            t("data_import.reason_text"): [t(f"data_import.reason.{c}") for c in groups["code"]],
            t("data_import.reason_field"): [field_label(t, f) for f in groups["field"]],
            t("data_import.reason_rows"): groups["rows"].astype("int64").to_numpy(),
        }
    )


def localised_rejects(t: Translate, rejects: pd.DataFrame | None) -> pd.DataFrame:
    """The reject report with headers, field names and reasons in the user's language."""
    frame = rejects if rejects is not None else pd.DataFrame(columns=["row_number", "field", "value", "reason"])
    return pd.DataFrame(
        {
            t("data_import.reject_row"): frame["row_number"].to_numpy(),
            t("data_import.reason_field"): [field_label(t, str(f)) for f in frame["field"]],
            t("data_import.reject_value"): frame["value"].astype(object).to_numpy(),
            t("data_import.reason_text"): [reason_text(t, r) for r in frame["reason"]],
        }
    )


def reject_report_bytes(t: Translate, rejects: pd.DataFrame | None) -> bytes:
    """The localised reject report as a formula-neutralised, Excel-friendly CSV."""
    return to_csv_bytes(localised_rejects(t, rejects))


def file_error_text(t: Translate, message: str) -> str:
    """Why a file cannot be used, in the user's language (the English message when unknown)."""
    code, params = file_error_code(message)
    if code == "other":
        return message
    if "field" in params:
        params["field"] = field_label(t, params["field"])
    return t(f"data_import.file_error.{code}", **params)
