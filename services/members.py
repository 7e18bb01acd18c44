"""One person, one member: list probable duplicate member cards, merge two, undo a merge.

Permission: ``import`` (store managers and chain admins; see :data:`db.merge_repo.MERGE_PERMISSION`)
— duplicates come in with imports and system switches, and the people who bring data in are the
ones who clean it. A store manager sees and merges only members whose home stores are theirs; a
chain admin any. Every merge and undo is audited (``member.merge`` / ``member.merge_undo``).
"""

from __future__ import annotations

from typing import Final

import pandas as pd
from sqlalchemy.engine import Engine

from core.identity import DEFAULT_MIN_SCORE, IDENTITY_COLUMNS, PAIR_COLUMNS, find_duplicate_pairs
from core.scope import Scope
from db import merge_repo, repo
from db.engine import session_scope
from db.merge_repo import MergeError, MergeOutcome

#: Columns of :func:`find_duplicates`: the pair, then each member's home store code and visits.
DUPLICATE_COLUMNS: Final = (*PAIR_COLUMNS, "store_code_a", "store_code_b", "visits_a", "visits_b")

__all__ = [
    "DUPLICATE_COLUMNS",
    "MergeError",
    "MergeOutcome",
    "find_duplicates",
    "list_merges",
    "member_id",
    "merge_members",
    "undo_merge",
]


def find_duplicates(
    engine: Engine,
    scope: Scope,
    *,
    store_ids: list[int] | tuple[int, ...] | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
) -> pd.DataFrame:
    """Probable duplicate pairs among the members the caller may see, best first.

    Returns :data:`DUPLICATE_COLUMNS` (see :func:`core.identity.find_duplicate_pairs`); visits are
    completed bookings at the caller's stores.
    """
    merge_repo.require_merge(scope)
    with session_scope(engine) as session:
        customers = repo.load_customers(session, scope=scope, store_ids=list(store_ids) if store_ids else None)
        pairs = find_duplicate_pairs(customers[list(IDENTITY_COLUMNS)], min_score=min_score)
        ids = sorted(set(pairs["customer_id_a"]) | set(pairs["customer_id_b"]))
        visits = merge_repo.visit_counts(session, scope=scope, customer_ids=ids)
        codes = {s.id: s.code for s in repo.list_stores(session, scope=scope)}
    for side in ("a", "b"):
        pairs[f"store_code_{side}"] = pairs[f"home_store_id_{side}"].map(
            lambda sid: "" if pd.isna(sid) else codes.get(int(sid), "")
        )
        pairs[f"visits_{side}"] = pairs[f"customer_id_{side}"].map(visits).fillna(0).astype("int64")
    return pairs[list(DUPLICATE_COLUMNS)]


def merge_members(engine: Engine, scope: Scope, keep_id: int, absorb_id: int) -> MergeOutcome:
    """Merge member ``absorb_id`` into ``keep_id`` (one transaction; the match is recorded)."""
    merge_repo.require_merge(scope)
    with session_scope(engine) as session:
        pair = merge_repo.identity_rows(session, scope=scope, customer_ids=[int(keep_id), int(absorb_id)])
        found = find_duplicate_pairs(pair, min_score=0.0)
        score = float(found["score"].iloc[0]) if len(found) else None
        evidence = tuple(found["evidence"].iloc[0]) if len(found) else ()
        return merge_repo.merge_members(
            session, scope=scope, keep_id=int(keep_id), absorb_id=int(absorb_id), score=score, evidence=evidence
        )


def undo_merge(engine: Engine, scope: Scope, merge_id: int) -> MergeOutcome:
    """Undo merge ``merge_id``: both members back as they were (one transaction)."""
    merge_repo.require_merge(scope)
    with session_scope(engine) as session:
        return merge_repo.undo_merge(session, scope=scope, merge_id=int(merge_id))


def list_merges(engine: Engine, scope: Scope, *, limit: int = 200) -> pd.DataFrame:
    """Merges of the caller's members, newest first (:data:`db.merge_repo.MERGE_COLUMNS`)."""
    with session_scope(engine) as session:
        return merge_repo.list_merges(session, scope=scope, limit=limit)


def member_id(engine: Engine, scope: Scope, external_id: str) -> int | None:
    """The internal id of the caller's member with this member number (``None`` when not found)."""
    merge_repo.require_merge(scope)
    with session_scope(engine) as session:
        return merge_repo.member_id(session, scope=scope, external_id=external_id)
