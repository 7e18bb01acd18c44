"""Streamlit entrypoint: a router that builds the menu from the signed-in role.

Run with ``streamlit run dashboard/app.py``. With ``st.navigation`` Streamlit's auto-discovery of
the ``pages/`` folder is off, so a page not registered for a role does not exist for it.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on the path
    sys.path.insert(0, str(PROJECT_ROOT))

from dashboard import data  # noqa: E402
from dashboard.auth import logout, signed_in_user  # noqa: E402
from dashboard.context import PageContext, set_context  # noqa: E402
from dashboard.formatting import CURRENCY_SYMBOLS  # noqa: E402
from dashboard.i18n import DEFAULT_LOCALE, LOCALE_NAMES, LOCALES, translate  # noqa: E402
from dashboard.navigation import pages_for  # noqa: E402
from dashboard.settings import load_settings  # noqa: E402
from dashboard.warmup import currency_groups  # noqa: E402

STATE_LOCALE = "ui.locale"
STATE_STORES = "ui.stores"


def _language_switch() -> str:
    # The picker's own state already holds a new choice when this run starts, so the label is
    # drawn in the language just picked rather than the previous one.
    current = st.session_state.get("ui.locale_picker", st.session_state.get(STATE_LOCALE, DEFAULT_LOCALE))
    choice = st.sidebar.selectbox(
        translate("app.language", current),
        LOCALES,
        index=LOCALES.index(current),
        format_func=lambda code: LOCALE_NAMES[code],
        key="ui.locale_picker",
    )
    st.session_state[STATE_LOCALE] = choice
    return choice


def _single_currency(stores: list, store_ids: tuple[int, ...], locale: str) -> tuple[tuple[int, ...], str]:
    """Money is never added across currencies: when the picked stores take NT$ and ¥, the user
    chooses which group to report (the larger group first, as the worker precomputes it)."""
    groups = dict(currency_groups(stores, store_ids))
    if len(groups) == 1:
        currency = next(iter(groups))
        return store_ids, currency
    currency = st.sidebar.radio(
        translate("app.currency", locale),
        list(groups),
        format_func=lambda code: f"{CURRENCY_SYMBOLS.get(code, code)} · {len(groups[code])}",
        key="ui.currency",
        help=translate("app.currency_help", locale),
    )
    return groups[currency], currency


def _local_today(stores: list, store_ids: tuple[int, ...]) -> date:
    """Today in the picked stores' time zones (the latest, when a chain spans several)."""
    zones = {store.timezone for store in stores if store.id in store_ids} or {"UTC"}
    return max(pd.Timestamp.now(tz=zone).date() for zone in zones)


def _first_run(settings, engine, username: str, scope, locale: str) -> None:  # type: ignore[no-untyped-def]
    """No store yet: importers are guided to the Data page; others are told whom to ask."""
    if not scope.can("import"):
        st.warning(translate("app.no_stores", locale))
        return
    st.info(translate("app.first_run", locale))
    set_context(PageContext(settings, engine, scope, locale, (), date.today(), "TWD", ()))
    if st.sidebar.button(translate("app.logout", locale), key="ui.logout"):
        logout(settings, engine, username)
        st.rerun()
    pages = [
        st.Page(
            str(PROJECT_ROOT / spec.path),
            title=translate(f"page.{spec.key}", locale),
            icon=spec.icon,
            url_path=spec.key,
        )
        for spec in pages_for(scope.role)
        if spec.key == "data_import"
    ]
    st.navigation(pages).run()


def run() -> None:
    st.set_page_config(page_title="Revisit", page_icon=":material/event_repeat:", layout="wide")
    settings = load_settings()
    engine = data.app_engine()
    locale = _language_switch()
    user = signed_in_user(settings, engine, locale)
    if user is None:
        st.navigation(
            [st.Page(lambda: None, title=translate("login.title", locale), url_path="login")], position="hidden"
        )
        return
    scope = user.scope
    stores = data.stores(engine, scope)
    if not stores:
        _first_run(settings, engine, user.username, scope, locale)
        return
    labels = {s.id: f"{s.code} · {s.name}" for s in stores}
    picked = st.sidebar.multiselect(
        translate("app.store", locale),
        list(labels),
        default=[sid for sid in st.session_state.get(STATE_STORES, list(labels)) if sid in labels] or list(labels),
        format_func=lambda sid: labels[sid],
        key="ui.store_picker",
    )
    store_ids = tuple(sorted(picked or labels))
    st.session_state[STATE_STORES] = list(store_ids)
    picked_ids = store_ids
    store_ids, currency = _single_currency(stores, store_ids, locale)
    last_day = data.latest_visit_day(engine, scope)
    default_day = min(date.today(), last_day) if last_day else date.today()
    as_of = st.sidebar.date_input(translate("app.as_of", locale), value=default_day, key="ui.as_of")
    set_context(
        PageContext(
            settings,
            engine,
            scope,
            locale,
            store_ids,
            as_of,
            currency,
            picked_ids,
            today=_local_today(stores, picked_ids),
        )
    )
    st.sidebar.caption(
        translate("app.signed_in_as", locale, name=user.username, role=translate(f"role.{scope.role}", locale))
    )
    if st.sidebar.button(translate("app.logout", locale), key="ui.logout"):
        logout(settings, engine, user.username)
        st.rerun()
    pages = [
        st.Page(
            str(PROJECT_ROOT / spec.path),
            title=translate(f"page.{spec.key}", locale),
            icon=spec.icon,
            url_path=spec.key,
        )
        for spec in pages_for(scope.role)
    ]
    # Expanded: a chain admin's dozen pages all stay visible instead of behind "View more".
    st.navigation(pages, expanded=True).run()


run()
