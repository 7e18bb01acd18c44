"""The redemption catalog: list and upsert redemption items."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import loyalty
from core.scope import Scope
from db import repo
from db.loyalty.common import ITEM_COLUMNS, _check_rule_edit
from db.models import (
    RedemptionItem,
)
from db.scoping import scoped

# --------------------------------------------------------------------------- redemption catalog


def list_redemption_items(
    session: Session,
    *,
    scope: Scope,
    store_ids: Sequence[int] | None = None,
    include_inactive: bool = False,
) -> pd.DataFrame:
    """Catalog items the caller may see: chain-wide items plus those of the (picked) stores.

    Returns
    -------
    DataFrame
        ``ITEM_COLUMNS`` (``stock`` ``<NA>`` = unlimited), by store then name.
    """
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    statement = select(
        RedemptionItem.id,
        RedemptionItem.store_id,
        RedemptionItem.name,
        RedemptionItem.kind,
        RedemptionItem.points_cost,
        RedemptionItem.cash_cost,
        RedemptionItem.stock,
        RedemptionItem.active,
    )
    statement = scoped(statement, RedemptionItem.store_id, stores, chain_wide=True)
    if not include_inactive:
        statement = statement.where(RedemptionItem.active.is_(True))
    rows = session.execute(statement.order_by(RedemptionItem.store_id, RedemptionItem.name)).all()
    frame = pd.DataFrame(rows, columns=list(ITEM_COLUMNS))
    for column in ("item_id", "points_cost"):
        frame[column] = frame[column].astype("int64")
    for column in ("store_id", "stock"):
        frame[column] = frame[column].astype("Int64")
    frame["cash_cost"] = frame["cash_cost"].astype(float)
    frame["active"] = frame["active"].astype(bool)
    return frame


def upsert_redemption_item(
    session: Session,
    *,
    scope: Scope,
    item_id: int | None,
    store_id: int | None,
    name: str,
    kind: str,
    points_cost: int,
    cash_cost: float = 0.0,
    stock: int | None = None,
    active: bool = True,
) -> int:
    """Create or change a catalog item (stock editing included) and audit it.

    The values are validated with :class:`core.loyalty.RedemptionItem`.  Chain-wide items
    (``store_id=None``) need ``chain_rules``; store items ``edit_rules`` on that store.

    Returns
    -------
    int
        The item id.
    """
    _check_rule_edit(scope, store_id)
    loyalty.RedemptionItem(
        name=name,
        kind=kind,
        points_cost=int(points_cost),
        cash_cost=float(cash_cost),  # type: ignore[arg-type]
        stock=None if stock is None else int(stock),
    )
    values = {
        "store_id": store_id,
        "name": name,
        "kind": kind,
        "points_cost": int(points_cost),
        "cash_cost": float(cash_cost),
        "stock": None if stock is None else int(stock),
        "active": bool(active),
    }
    before = None
    if item_id is not None:
        item = session.get(RedemptionItem, item_id)
        if item is None or (item.store_id is not None and not scope.allows_store(item.store_id)):
            raise LookupError(f"redemption item {item_id} not found")
        _check_rule_edit(scope, item.store_id)
        before = {k: getattr(item, k) for k in values}
        if before == values:
            return int(item_id)
        for key, value in values.items():
            setattr(item, key, value)
    else:
        item = RedemptionItem(**values)
        session.add(item)
    session.flush()
    repo.record_audit(
        session,
        actor=scope.actor,
        action="redemption_item_saved",
        entity="redemption_item",
        entity_id=item.id,
        store_id=store_id,
        before=before,
        after=values,
    )
    return int(item.id)  # type: ignore[arg-type]
