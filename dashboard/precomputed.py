"""Page figures computed ahead of time and kept in the database, so a cold server answers fast.

:func:`remembered` sits under the in-memory caches of the page loaders: on a miss it reads the
figures kept for the same stores, parameters and data version (``db.page_results``), and only
when none are kept does it compute them — then keeps them for the next server start. The worker
runs ``dashboard.warmup.warm`` every few minutes, so after an import, or on the first morning
visit, nobody waits for a recompute of every booking.

Anything going wrong with the kept copy (a locked SQLite file, a value the codec refuses) costs
only speed: the figures are computed as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.scope import Scope
from db import page_results
from db.engine import session_scope

log = logging.getLogger("revisit.precomputed")
T = TypeVar("T")
#: Part of every kept result's version: bump it when kept results change shape (columns, keys),
#: so figures kept by an older release are recomputed instead of read back. When only one result
#: changes, give it its own ``revision`` instead: an upgrade then recomputes that one alone.
KEPT_SHAPE_REVISION = 2


def remembered(
    engine: Engine,
    scope: Scope,
    name: str,
    store_ids: tuple[int, ...],
    params: dict[str, Any],
    version: object,
    compute: Callable[[], T],
    *,
    revision: int = 0,
) -> T:
    """The figures kept for (``name``, stores, ``params``) at ``version``, else ``compute()`` —
    kept for next time. ``version`` is any value whose ``repr`` changes with the data."""
    shape = f"{KEPT_SHAPE_REVISION}.{revision}" if revision else str(KEPT_SHAPE_REVISION)
    version_text = f"r{shape}:{version!r}"
    try:
        with session_scope(engine) as session:
            kept = page_results.load_result(
                session, scope=scope, name=name, store_ids=store_ids, params=params, version=version_text
            )
        if kept is not page_results.NOT_KEPT:
            return kept  # type: ignore[no-any-return]
    except SQLAlchemyError:
        log.warning("reading kept %s failed; computing it", name, exc_info=True)
    started = time.perf_counter()
    value = compute()
    seconds = time.perf_counter() - started
    try:
        with session_scope(engine) as session:
            page_results.save_result(
                session,
                scope=scope,
                name=name,
                store_ids=store_ids,
                params=params,
                version=version_text,
                value=value,
                compute_seconds=seconds,
            )
    except SQLAlchemyError:
        log.warning("keeping %s failed; it stays in memory only", name, exc_info=True)
    return value
