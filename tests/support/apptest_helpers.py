"""Run the real entrypoint in Streamlit's AppTest as a signed-in user."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import settings
from db import engine as db_engine

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
TEST_COOKIE_KEY = secrets.token_hex(32)  # one per test run, as an installation has its own


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point the app's settings at ``url`` for this test, with empty Streamlit caches.

    Tests reuse one database file, cleaned in between, so a fingerprint the app held for a few
    seconds (data, loyalty, snapshot versions) may equal the new one: start every test cold.
    """
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("DATABASE_URL", url)
    # Demo mode off (TESTING rule 4): a real random key, as a production installation has.
    monkeypatch.setenv("REVISIT_DEMO_MODE", "0")
    monkeypatch.setenv("REVISIT_COOKIE_KEY", TEST_COOKIE_KEY)
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()


def run_as(username: str | None, *, page: str | None = None, locale: str = "en", timeout: float = 60) -> AppTest:
    """Render the app (optionally a given page file) signed in as ``username``."""
    app = AppTest.from_file(APP, default_timeout=timeout)
    app.session_state["ui.locale"] = locale
    if username is not None:
        app.session_state["auth.username"] = username
        app.session_state["auth.issued_at"] = datetime.now(UTC)
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    return app


def texts(app: AppTest) -> str:
    """All visible text of markdown, titles, captions, metrics and alerts, joined."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(element.value) for element in getattr(app, kind)]
    parts += [f"{m.label} {m.value}" for m in app.metric]
    return "\n".join(parts)
