"""Two browser sessions on one server never see each other's data (RELIABILITY 4).

Two AppTest runs in one process share what two browser sessions on one server share: the
Streamlit caches and the kept page figures. The chain admin opens the Overview first (filling
them with both stores); the store-A manager's session that follows shows nothing of store B.
"""

from __future__ import annotations

from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world

STORE_B_MARKERS = ("B01", "Store B", "B-1", "李四", "+8613812345678")


def _shown(app) -> str:  # type: ignore[no-untyped-def]
    parts = [texts(app)]
    parts += [frame.value.to_string() for frame in app.dataframe]
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in getattr(app, kind):
            parts += [str(o) for o in widget.options]
    return "\n".join(parts)


def test_a_managers_session_after_the_admins_shows_nothing_of_the_other_store(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    admin = run_as("admin")
    assert not admin.exception
    assert "B01" in _shown(admin)  # not vacuous: the admin's session did load store B
    manager = run_as("mgr_a")
    assert not manager.exception
    assert "Signed in as mgr_a" in texts(manager)
    assert [m for m in STORE_B_MARKERS if m in _shown(manager)] == []
    # Each session keeps its own sign-in: the admin's session is still the admin's.
    assert admin.session_state["auth.username"] == "admin"
    assert manager.session_state["auth.username"] == "mgr_a"
