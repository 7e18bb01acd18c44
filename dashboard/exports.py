"""The one way data leaves the app: permission, masking, neutralising, audit.

Pages call :func:`export_frame` for every download (campaign audiences, customer lists, reports)
and :func:`display_frame` before showing a table that may hold personal data::

    st.dataframe(display_frame(customers, ctx.scope))
    st.download_button(label, data=lambda: export_frame(customers, scope=ctx.scope, kind="customers",
                                                         fmt="csv", engine=ctx.engine),
                       file_name="customers.csv", mime=MIME["csv"])

Passing a callable as ``data`` builds the file (and writes the audit entry) only when the user
clicks, not on every rerun.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
from sqlalchemy.engine import Engine

from core.export import EXPORT_FORMATS, encode, mask_frame, require_access, rows_in_scope
from core.scope import Scope
from db.engine import session_scope
from db.repo import record_audit

MIME: Final = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def display_frame(frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """``frame`` as the caller may see it: other stores' rows dropped, personal data masked for
    roles without ``view_pii`` (marketers). Show the result with ``st.dataframe`` (text, never HTML).
    """
    visible = rows_in_scope(frame, scope)
    return mask_frame(visible) if scope.masks_pii else visible.copy()


def export_frame(frame: pd.DataFrame, *, scope: Scope, kind: str, fmt: str = "csv", engine: Engine) -> bytes:
    """Safe file bytes of ``frame`` for the caller, with an ``export`` audit entry.

    Parameters
    ----------
    frame
        Rows from scoped reads; rows of stores outside the scope are dropped anyway.
    scope
        The caller; needs ``export`` (:class:`core.scope.PermissionDenied` otherwise, and nothing
        is written). Personal data is masked when ``scope.masks_pii``.
    kind
        What is exported (``"customers"``, ``"campaign_audience"``, …), recorded in the audit log.
    fmt
        ``"csv"`` (UTF-8-BOM; formula-like cells prefixed with ``'``) or ``"xlsx"`` (text cells
        are string cells, never formulas).
    engine
        Where the audit entry is written (its own transaction, committed before the bytes return).
    """
    require_access(scope, "export")
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    safe = display_frame(frame, scope)
    payload = encode(safe, fmt=fmt)
    stores = None if scope.store_ids is None else sorted(scope.store_ids)
    with session_scope(engine) as session:
        record_audit(
            session,
            actor=scope.actor,
            action="export",
            entity=kind[:48],
            store_id=stores[0] if stores is not None and len(stores) == 1 else None,
            after={
                "kind": kind,
                "format": fmt,
                "rows": int(len(safe)),
                "columns": [str(c) for c in safe.columns],
                "masked": scope.masks_pii,
                "stores": stores,
            },
        )
    return payload
