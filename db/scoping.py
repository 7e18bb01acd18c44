"""The one store-scope filter of every repository read.

A caller's :class:`core.scope.Scope` (possibly narrowed by a page's store picker) yields the stores
a query may touch: ``None`` means every store (chain admin, system jobs), an empty set means none,
and otherwise only those stores. Every ``db/`` read applies that with :func:`scoped`, so the three
cases behave the same everywhere (RELIABILITY: a scoped user never sees another store's rows).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import false, or_
from sqlalchemy.sql.elements import ColumnElement

Statement = TypeVar("Statement")


def in_scope(column: Any, stores: Iterable[int] | None, *, chain_wide: bool = False) -> ColumnElement[bool] | None:
    """The condition "``column`` is one of ``stores``", or ``None`` when there is nothing to filter.

    Parameters
    ----------
    column
        The store id column (or expression) of the rows read.
    stores
        Allowed store ids; ``None`` = every store (no condition), empty = no store.
    chain_wide
        Also keep rows whose ``column`` is NULL (chain-wide campaigns, redemption items).

    Returns
    -------
    ColumnElement or None
        The condition to add with ``.where``; ``None`` when ``stores`` is ``None``.
    """
    if stores is None:
        return None
    allowed = sorted({int(s) for s in stores})
    if not allowed:
        return column.is_(None) if chain_wide else false()
    condition = column.in_(allowed)
    return or_(column.is_(None), condition) if chain_wide else condition


def scoped(statement: Statement, column: Any, stores: Iterable[int] | None, *, chain_wide: bool = False) -> Statement:
    """``statement`` restricted to rows whose ``column`` is in ``stores`` (see :func:`in_scope`).

    Parameters
    ----------
    statement
        A ``select``/``delete``/``update`` with a ``.where`` method.
    column
        The store id column of the rows read.
    stores
        Allowed store ids; ``None`` = unfiltered, empty = no rows, otherwise an ``IN`` filter.
    chain_wide
        Also keep rows whose ``column`` is NULL.

    Returns
    -------
    The filtered statement (``statement`` itself when ``stores`` is ``None``).
    """
    condition = in_scope(column, stores, chain_wide=chain_wide)
    return statement if condition is None else statement.where(condition)  # type: ignore[attr-defined]
