"""The Data page's "database" tab: chain admins register shop databases; importers sync them by name.

Nobody but a chain admin types a URL; the URL is never shown back. Everything runs through
services/sources.py, the same path as ``import sql``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.importing import ImportFileError, ImportOptions
from core.scope import PermissionDenied
from dashboard import data
from dashboard.context import PageContext
from dashboard.source_policy import source_policy
from services.sources import SourceError, describe, import_source, list_sources, register_source, remove_source

KEY = "data_import.sources"


def _error(ctx: PageContext, exc: SourceError) -> None:
    known = f"sources.error.{exc.code}"
    text = ctx.t(known, **{k: str(v) for k, v in exc.params.items()})
    if text == known:
        text = ctx.t("sources.error.other", detail=exc.message)
    st.error(text)


def _register_form(ctx: PageContext, store_codes: list[str]) -> None:
    with st.expander(ctx.t("sources.register"), expanded=False):
        st.caption(ctx.t("sources.register_help"))
        with st.form(f"{KEY}.register"):
            name = st.text_input(ctx.t("sources.name"), help=ctx.t("sources.name_help"), key=f"{KEY}.name")
            url = st.text_input(ctx.t("sources.url"), type="password", help=ctx.t("sources.url_help"), key=f"{KEY}.url")
            table = st.text_input(ctx.t("sources.table"), key=f"{KEY}.table")
            query = st.text_area(ctx.t("sources.query"), help=ctx.t("sources.query_help"), key=f"{KEY}.query")
            watermark = st.text_input(
                ctx.t("sources.watermark"), help=ctx.t("sources.watermark_help"), key=f"{KEY}.watermark"
            )
            allowed = st.text_input(
                ctx.t("sources.allowed_tables"), help=ctx.t("sources.allowed_tables_help"), key=f"{KEY}.allowed"
            )
            stores = st.multiselect(
                ctx.t("sources.stores"), store_codes, help=ctx.t("sources.stores_help"), key=f"{KEY}.stores"
            )
            submitted = st.form_submit_button(
                ctx.t("sources.register_button"), type="primary", key=f"{KEY}.register_submit"
            )
        if not submitted:
            return
        if bool(table.strip()) == bool(query.strip()):
            st.error(ctx.t("sources.error.table_or_query"))
            return
        try:
            register_source(
                ctx.engine,
                ctx.scope,
                name=name.strip(),
                url=url.strip(),
                policy=source_policy(ctx.settings),
                table=table.strip() or None,
                query=query.strip() or None,
                watermark_column=watermark.strip() or None,
                allowed_tables=[t.strip() for t in allowed.split(",") if t.strip()],
                store_codes=stores,
            )
        except SourceError as exc:
            _error(ctx, exc)
            return
        st.success(ctx.t("sources.registered", name=name.strip()))


def _listing(ctx: PageContext, rows: list[dict[str, Any]]) -> None:
    all_stores = ctx.t("sources.all_stores")
    columns = {
        ctx.t("sources.name"): [r["name"] for r in rows],
        ctx.t("sources.col_address"): [r["url"] for r in rows],
        ctx.t("sources.col_reads"): [r["table"] or ctx.t("sources.col_query") for r in rows],
        ctx.t("sources.watermark"): [r["watermark"] or "—" for r in rows],
        ctx.t("sources.stores"): [", ".join(r["stores"]) or all_stores for r in rows],
    }
    if not ctx.scope.can("manage_sources"):
        # Where the database lives is the chain admin's business; a manager picks it by name.
        del columns[ctx.t("sources.col_address")]
    st.dataframe(pd.DataFrame(columns), hide_index=True, width="stretch")


def render(ctx: PageContext, *, progress: Callable[[], Any], keep_result: Callable[[Any], None]) -> None:
    """Draw the tab; ``keep_result`` receives the import result to show under the tabs."""
    stores = data.stores(ctx.engine, ctx.scope)
    codes = {s.id: s.code for s in stores}
    if ctx.scope.can("manage_sources"):
        _register_form(ctx, [s.code for s in stores])
    try:
        infos = list_sources(ctx.engine, ctx.scope)
    except PermissionDenied:
        st.error(ctx.t("data_import.no_permission"))
        return
    if not infos:
        st.info(ctx.t("sources.none_admin" if ctx.scope.can("manage_sources") else "sources.none"))
        return
    rows = [describe(info, codes) for info in infos]
    _listing(ctx, rows)
    names = [r["name"] for r in rows]
    picked = st.selectbox(ctx.t("sources.pick"), names, key=f"{KEY}.pick")
    map_text = st.text_area(ctx.t("sources.mapping"), help=ctx.t("sources.mapping_help"), key=f"{KEY}.map")
    # Rows without a store go to one the source feeds (every visible store for a chain-wide source).
    fed = next(r["stores"] for r in rows if r["name"] == picked)
    choices = [s.code for s in stores if not fed or s.code in fed]
    store = st.selectbox(ctx.t("data_import.store"), choices, key=f"{KEY}.store.{picked}")
    buttons = st.columns(3)
    check = buttons[0].button(ctx.t("data_import.check"), key=f"{KEY}.check")
    sync = buttons[1].button(ctx.t("sources.sync"), type="primary", key=f"{KEY}.sync")
    if ctx.scope.can("manage_sources") and buttons[2].button(ctx.t("sources.remove"), key=f"{KEY}.remove"):
        remove_source(ctx.engine, ctx.scope, name=picked)
        st.success(ctx.t("sources.removed", name=picked))
        return
    if not (check or sync):
        return
    options = ImportOptions(default_country=ctx.settings.default_country, default_store=store)
    try:
        synced = import_source(
            ctx.engine,
            ctx.scope,
            name=picked,
            policy=source_policy(ctx.settings),
            options=options,
            reject_dir=ctx.settings.reject_report_dir,
            map_args=[line.strip() for line in map_text.splitlines() if line.strip()],
            dry_run=check and not sync,
            progress=progress(),
        )
    except SourceError as exc:
        _error(ctx, exc)
        return
    except ImportFileError as exc:
        st.error(ctx.t("data_import.file_error", message=exc.message))
        return
    if synced.result is None:
        st.info(ctx.t("data_import.db_nothing_new"))
        return
    keep_result(synced.result)
