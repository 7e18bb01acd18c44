"""The KPI board use case: one function per question, called by the Overview, the Stores board
and ``kpi --json`` alike, so one store's figure is the same number on every surface.

Every function takes (engine, actor scope, stores, as-of, parameters) and checks that the actor
may view figures. The stores' figures are computed from what happened at those stores only
(``core.kpi``'s module docstring): a chain admin's Stores board and a store manager's Overview
agree whatever else each of them may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from core import kpi as core_kpi
from core.scope import Scope
from db import kpi_repo
from db.engine import session_scope
from db.score_repo import load_kpi_inputs, load_kpi_targets, save_kpi_targets

#: Frames of :func:`kpi_frames`.
FRAME_NAMES = ("bookings", "customers", "messages", "tasks", "feedback", "reviews")


def kpi_frames(engine: Engine, scope: Scope, store_ids: Sequence[int], as_of: date) -> dict[str, pd.DataFrame]:
    """Everything the board reads for ``store_ids`` (within the actor's scope), up to as-of.

    ``customers`` holds ``customer_id`` and ``home_store_id`` of the customers homed at the
    stores *and* of every customer who visited them (the cross-store share needs the visitor's
    home store; nothing else about a customer homed elsewhere is read).
    """
    scope.require("view")
    stores = list(store_ids)
    with session_scope(engine) as session:
        frames = load_kpi_inputs(session, scope=scope, store_ids=stores, until=as_of)
        homes = kpi_repo.visitor_home_stores(session, scope=scope, store_ids=stores)
        reviews = kpi_repo.load_reviews(session, scope=scope, store_ids=stores)
    own = frames["customers"].loc[:, ["customer_id", "home_store_id"]]
    frames["customers"] = (
        pd.concat([own, homes], ignore_index=True).drop_duplicates("customer_id").reset_index(drop=True)
    )
    frames["reviews"] = reviews
    return frames


def _frames(
    engine: Engine, scope: Scope, store_ids: Sequence[int], as_of: date, frames: dict[str, pd.DataFrame] | None
) -> tuple[tuple[pd.DataFrame, ...], pd.DataFrame]:
    scope.require("view")
    f = frames if frames is not None else kpi_frames(engine, scope, store_ids, as_of)
    return (f["bookings"], f["customers"], f["messages"], f["tasks"], f["feedback"]), f["reviews"]


def board(
    engine: Engine,
    scope: Scope,
    store_ids: Sequence[int],
    as_of: date,
    *,
    period_days: int = 30,
    include_previous: bool = True,
    frames: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """``core.kpi.kpi_board`` of the stores taken together (revisits at any of them).

    ``frames`` (from :func:`kpi_frames` for the same stores and as-of) skips the read when a
    caller already holds them (the dashboard's cache).
    """
    parts, reviews = _frames(engine, scope, store_ids, as_of, frames)
    return core_kpi.kpi_board(
        *parts,
        reviews=reviews,
        as_of=as_of,
        period_days=period_days,
        store_ids=list(store_ids),
        include_previous=include_previous,
    )


def by_store(
    engine: Engine,
    scope: Scope,
    store_ids: Sequence[int],
    as_of: date,
    *,
    period_days: int = 30,
    include_previous: bool = False,
    frames: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One board per store (``group`` = store id): each store's figures exactly as :func:`board`
    gives them for that store alone."""
    parts, reviews = _frames(engine, scope, store_ids, as_of, frames)
    return core_kpi.kpi_by(
        *parts,
        reviews=reviews,
        as_of=as_of,
        by="store",
        store_ids=list(store_ids),
        period_days=period_days,
        include_previous=include_previous,
    )


def trend(
    engine: Engine,
    scope: Scope,
    store_ids: Sequence[int],
    as_of: date,
    *,
    periods: int = 12,
    frames: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Monthly boards of the stores taken together (``core.kpi.kpi_trend``)."""
    parts, reviews = _frames(engine, scope, store_ids, as_of, frames)
    return core_kpi.kpi_trend(*parts, reviews=reviews, as_of=as_of, periods=periods, store_ids=list(store_ids))


def targets(engine: Engine, scope: Scope, store_ids: Sequence[int]) -> dict[str, float]:
    """The targets of one store (its own, else the chain's, else the defaults); several stores:
    the chain-wide targets."""
    scope.require("view")
    stores = list(store_ids)
    with session_scope(engine) as session:
        return load_kpi_targets(session, scope=scope, store_id=stores[0] if len(stores) == 1 else None)


def save_targets(engine: Engine, scope: Scope, store_id: int, targets: dict[str, float | None]) -> dict[str, float]:
    """Set one store's own targets (``None`` clears a KPI's: the chain's or the default applies
    again); only KPIs of the board are kept. Needs ``edit_rules`` on that store; audited.

    Returns the store's targets now in force.
    """
    scope.require("edit_rules")
    known = {
        key: float(value)
        for key, value in targets.items()
        if key in core_kpi.KPI_KEYS and value is not None and value == value
    }
    with session_scope(engine) as session:
        save_kpi_targets(session, scope=scope, store_id=store_id, targets=known)
    return targets_of(engine, scope, store_id)


def targets_of(engine: Engine, scope: Scope, store_id: int) -> dict[str, float]:
    """The targets in force for one store."""
    return targets(engine, scope, [store_id])


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value


def report(
    engine: Engine, scope: Scope, store_ids: Sequence[int], as_of: date, *, period_days: int = 30
) -> dict[str, dict[str, Any]]:
    """The board as plain values per KPI, each with its 95% interval, target and whether it is
    met (the ``kpis`` object of ``kpi --json``)."""
    frame = board(engine, scope, store_ids, as_of, period_days=period_days)
    goal = targets(engine, scope, store_ids)
    out: dict[str, dict[str, Any]] = {}
    for row in frame.to_dict(orient="records"):
        key = row["kpi"]
        values = {k: _number(row[k]) for k in core_kpi.BOARD_COLUMNS[1:]}
        values["target"] = goal.get(key)
        values["target_met"] = core_kpi.target_met(key, values["value"], values["target"])
        out[key] = values
    return out
