"""The duplicate-members page's data: candidates and merges from :mod:`services.members`, cached
by scope, picked stores and data version (a merge or undo changes the version and clears)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.scope import Scope
from dashboard import data
from dashboard.i18n import translate
from db.merge_repo import MergeError, MergeOutcome
from services import members

__all__ = ["MergeError", "candidates", "evidence_words", "merge", "merges", "undo"]


@st.cache_data(ttl=300, max_entries=16, show_spinner=False)
def _candidates(
    _engine: Engine, url: str, scope: Scope, store_ids: tuple[int, ...], version: tuple[int, int, int]
) -> pd.DataFrame:
    return members.find_duplicates(_engine, scope, store_ids=store_ids)


def candidates(engine: Engine, scope: Scope, store_ids: tuple[int, ...]) -> pd.DataFrame:
    """Probable duplicate pairs among the picked stores' members (``services.members.DUPLICATE_COLUMNS``)."""
    return _candidates(engine, str(engine.url), scope, store_ids, data.data_version(engine))


def merges(engine: Engine, scope: Scope) -> pd.DataFrame:
    """The caller's merges, newest first (not cached: the undo list must be current)."""
    return members.list_merges(engine, scope)


def evidence_words(evidence: tuple[str, ...] | list[str], locale: str) -> str:
    """The evidence codes of a pair in words, e.g. "手機號碼相同、姓名相同"."""
    separator = ", " if locale == "en" else "、"
    return separator.join(translate(f"members.evidence.{code}", locale) for code in evidence)


def _written() -> None:
    data.clear_versions()
    _candidates.clear()


def merge(engine: Engine, scope: Scope, keep_id: int, absorb_id: int) -> MergeOutcome:
    """Merge ``absorb_id`` into ``keep_id`` and forget what the caches held."""
    try:
        return members.merge_members(engine, scope, keep_id, absorb_id)
    finally:
        _written()


def undo(engine: Engine, scope: Scope, merge_id: int) -> MergeOutcome:
    """Undo a merge and forget what the caches held."""
    try:
        return members.undo_merge(engine, scope, merge_id)
    finally:
        _written()
