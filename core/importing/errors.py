"""Errors raised when an uploaded file cannot be used at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


class ImportFileError(ValueError):
    """The file cannot be imported at all; ``message`` tells the user what to do.

    Parameters
    ----------
    message
        Actionable, user-facing explanation.
    rejects
        Per-row problems found before giving up (e.g. when every row was rejected), so the
        caller can still offer the reject report.
    """

    def __init__(self, message: str, *, rejects: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rejects = rejects
