"""What a visit is worth: its ``amount`` plus its ``addon_amount`` (the one definition).

The metric dictionary's revenue, spend and monetary value all mean this sum. A missing or
unreadable add-on (or amount) counts as 0, so a visit without add-ons keeps its amount.
``db.aggregates.visit_spend_sql`` is the same sum for SQL aggregations.
"""

from __future__ import annotations

import pandas as pd


def _money(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(0.0, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce").astype(float).fillna(0.0)


def visit_spend(frame: pd.DataFrame, *, include_addons: bool = True) -> pd.Series:
    """``amount + addon_amount`` of every row, missing values (or columns) counted as 0.

    Parameters
    ----------
    frame
        Bookings with ``amount`` and, usually, ``addon_amount``.
    include_addons
        False gives the amount alone (a points rule that does not earn on add-ons).

    Returns
    -------
    pandas.Series
        float spend per row, aligned with ``frame``'s index.
    """
    spend = _money(frame, "amount")
    if include_addons:
        spend = spend + _money(frame, "addon_amount")
    return spend
