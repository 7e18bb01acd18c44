"""What every page needs to know about this browser session, set once per run by the entrypoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from core.scope import Scope
from dashboard.i18n import translate
from dashboard.settings import Settings

STATE_CONTEXT = "app.context"


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    engine: Engine
    scope: Scope
    locale: str
    store_ids: tuple[int, ...]  # picked stores taking `currency`, always within the scope
    as_of: date
    currency: str
    picked_store_ids: tuple[int, ...] = ()  # every picked store (for rate-only comparisons)
    today: date | None = None  # the stores' local calendar day: follow-ups are due by it, whatever the as-of

    @property
    def local_today(self) -> date:
        return self.today or date.today()

    def t(self, key: str, **params: object) -> str:
        return translate(key, self.locale, **params)

    def busy(self, key: str) -> Any:
        """A spinner with the elapsed time around work that may take a while (a cold cache); it
        appears only after half a second, so a warm page never flickers."""
        return st.spinner(self.t(key), show_time=True)


def set_context(context: PageContext) -> None:
    st.session_state[STATE_CONTEXT] = context


def get_context() -> PageContext:
    """The context of the current run (pages call this first)."""
    context = st.session_state.get(STATE_CONTEXT)
    if context is None:
        st.stop()
    return context
