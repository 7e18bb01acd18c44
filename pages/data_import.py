"""Data import (資料匯入): upload a file or connect a database, map columns, import safely."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.columns import BOOKING_STATUSES
from core.importing import DEFAULT_STATUS_WORDS, ImportFileError, ImportOptions, read_table
from dashboard import data, source_panel
from dashboard.context import get_context
from db import importer
from db.engine import session_scope

STATE_FILE = "data_import.file"      # {"name": str, "data": bytes}: the upload, kept across reruns
STATE_RESULT = "data_import.result"  # the last ImportResult
PREVIEW_ROWS = 20
REQUIRED = {"bookings": ("customer_id", "date"), "customers": ("customer_id",)}

ctx = get_context()
st.title(ctx.t("page.data_import"))
if not ctx.scope.can("import"):
    st.error(ctx.t("data_import.no_permission"))
    st.stop()
st.caption(ctx.t("data_import.intro"))


def _options(kind_key: str) -> ImportOptions:
    with session_scope(ctx.engine) as session:
        vocabulary = importer.load_status_vocabulary(session)
    order = st.session_state.get(f"{kind_key}.date_order", "auto")
    dayfirst = {"auto": None, "dayfirst": True, "monthfirst": False}[order]
    store = st.session_state.get(f"{kind_key}.store")
    country = st.session_state.get(f"{kind_key}.country", ctx.settings.default_country)
    return ImportOptions(default_country=country, dayfirst=dayfirst, statuses=vocabulary, default_store=store)


def _show_result(result: importer.ImportResult) -> None:
    st.subheader(ctx.t("data_import.summary_dry" if result.status == "dry_run" else "data_import.summary"))
    figures = [("read", result.read), ("imported", result.imported)]
    if result.kind == "customers" or result.updated:
        figures.append(("updated", result.updated))
    figures += [("duplicates", result.duplicates), ("rejected", result.rejected)]
    for column, (key, value) in zip(st.columns(len(figures)), figures, strict=True):
        column.metric(ctx.t(f"data_import.{key}"), f"{value:,}")
    if result.status == "failed":
        st.error(ctx.t("data_import.failed", error=result.error or ""))
    elif result.status == "done":
        st.success(ctx.t("data_import.done", imported=f"{result.imported:,}"))
    if result.needs_dayfirst:
        st.warning(ctx.t("data_import.ambiguous", count="?"))
    if result.reject_report and Path(result.reject_report).exists():
        st.download_button(ctx.t("data_import.download_rejects"), Path(result.reject_report).read_bytes(),
                           file_name=Path(result.reject_report).name, mime="text/csv", key="data_import.rejects")


def _progress_callback() -> importer.Progress:
    bar = st.progress(0.0, text=ctx.t("data_import.progress"))

    def report(fraction: float, stage: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=ctx.t(f"data_import.stage_{stage}"))

    return report


def file_tab() -> None:
    kind = st.radio(ctx.t("data_import.kind"), importer.KINDS, horizontal=True, key="data_import.kind",
                    format_func=lambda k: ctx.t(f"data_import.kind_{k}"))
    upload = st.file_uploader(ctx.t("data_import.upload"), type=["csv", "tsv", "txt", "xlsx", "xls"],
                              help=ctx.t("data_import.upload_help"), key="data_import.uploader")
    if upload is not None:
        st.session_state[STATE_FILE] = {"name": upload.name, "data": upload.getvalue()}
    chosen = st.session_state.get(STATE_FILE)
    if not chosen:
        return
    try:
        table = read_table(chosen["data"], chosen["name"], max_bytes=ctx.settings.max_upload_mb * 1024 * 1024)
    except ImportFileError as exc:
        st.error(ctx.t("data_import.file_error", message=exc.message))
        return
    headers = list(table.frame.columns)
    st.caption(ctx.t("data_import.preview", rows=min(PREVIEW_ROWS, len(table.frame)), total=f"{len(table.frame):,}"))
    st.dataframe(table.frame.head(PREVIEW_ROWS), width="stretch")

    with session_scope(ctx.engine) as session:
        sources = importer.list_sources(session, kind=kind)
    new_label = ctx.t("data_import.new_source")
    picked = st.selectbox(ctx.t("data_import.saved_source"), [new_label, *sources], key=f"data_import.{kind}.saved")
    saved = None
    if picked != new_label:
        with session_scope(ctx.engine) as session:
            saved = importer.saved_mapping(session, source=picked, kind=kind)
    suggestion = importer.resolve_mapping(headers, kind=kind, saved=saved)

    st.subheader(ctx.t("data_import.mapping"))
    st.caption(ctx.t("data_import.mapping_help"))
    unmapped = ctx.t("data_import.not_mapped")
    mapping: dict[str, str] = {}
    fields = importer.fields_for(kind)
    columns = st.columns(3)
    for position, name in enumerate(fields):
        options = [unmapped, *headers]
        default = suggestion.get(name)
        label = ctx.t("data_import.required", field=name) if name in REQUIRED[kind] else name
        choice = columns[position % 3].selectbox(
            label, options, index=options.index(default) if default in options else 0,
            key=f"data_import.{kind}.{picked}.map.{name}",
        )
        if choice != unmapped:
            mapping[name] = choice

    settings = st.columns(3)
    settings[0].selectbox(ctx.t("data_import.country"), ("TW", "CN"), key=f"data_import.{kind}.country",
                          index=0 if ctx.settings.default_country == "TW" else 1,
                          format_func=lambda c: ctx.t(f"data_import.country_{c}"))
    settings[1].radio(ctx.t("data_import.date_order"), ("auto", "dayfirst", "monthfirst"),
                      key=f"data_import.{kind}.date_order", format_func=lambda o: ctx.t(f"data_import.date_{o}"))
    stores = data.stores(ctx.engine, ctx.scope)
    codes = [s.code for s in stores]
    settings[2].selectbox(ctx.t("data_import.store"), codes, key=f"data_import.{kind}.store")
    create_stores = False
    if ctx.scope.store_ids is None:
        create_stores = st.checkbox(ctx.t("data_import.create_stores"), key=f"data_import.{kind}.create_stores")
    source = st.text_input(ctx.t("data_import.source"), value="" if picked == new_label else picked,
                           help=ctx.t("data_import.source_help"), key=f"data_import.{kind}.source")
    save = st.checkbox(ctx.t("data_import.save_mapping"), value=True, key=f"data_import.{kind}.save")

    buttons = st.columns(2)
    check = buttons[0].button(ctx.t("data_import.check"), key="data_import.check")
    run = buttons[1].button(ctx.t("data_import.run"), type="primary", key="data_import.run")
    if not (check or run):
        return
    try:
        prepared = importer.prepare(kind, table, mapping, _options(f"data_import.{kind}"))
    except ImportFileError as exc:
        st.error(ctx.t("data_import.file_error", message=exc.message))
        if exc.rejects is not None and len(exc.rejects):
            path = importer.write_reject_report(exc.rejects, kind=kind)
            if path:
                st.download_button(ctx.t("data_import.download_rejects"), Path(path).read_bytes(),
                                   file_name=Path(path).name, mime="text/csv", key="data_import.rejects_all")
        return
    if prepared.needs_dayfirst:
        st.warning(ctx.t("data_import.ambiguous", count=prepared.ambiguous_dates))
    writer = importer.import_bookings if kind == "bookings" else importer.import_customers
    result = writer(ctx.engine, prepared=prepared, scope=ctx.scope, source=source.strip(), filename=chosen["name"],
                    create_stores=create_stores, country=st.session_state.get(f"data_import.{kind}.country", "TW"),
                    dry_run=check and not run, progress=_progress_callback())
    if result.status == "done":
        if save and source.strip():
            with session_scope(ctx.engine) as session:
                importer.save_mapping(session, scope=ctx.scope, source=source.strip(), kind=kind, mapping=mapping)
        # Cached loaders key on repo.data_version (bookings, members, latest import batch), so
        # every page shows the imported rows on its next run without clearing caches here.
        pass
    st.session_state[STATE_RESULT] = result


def database_tab() -> None:
    source_panel.render(ctx, progress=_progress_callback,
                        keep_result=lambda result: st.session_state.__setitem__(STATE_RESULT, result))


def vocabulary_tab() -> None:
    st.caption(ctx.t("data_import.vocabulary_help"))
    with session_scope(ctx.engine) as session:
        words = importer.custom_status_words(session)
    word_label, status_label = ctx.t("data_import.vocabulary_word"), ctx.t("data_import.vocabulary_status")
    frame = pd.DataFrame({"word": pd.Series(list(words), dtype=object),
                          "status": pd.Series(list(words.values()), dtype=object)})
    edited = st.data_editor(
        frame, num_rows="dynamic", width="stretch", key="data_import.vocabulary",
        column_config={
            "word": st.column_config.TextColumn(word_label, required=True),
            "status": st.column_config.SelectboxColumn(status_label, options=list(BOOKING_STATUSES), required=True),
        },
    )
    if st.button(ctx.t("data_import.vocabulary_save"), key="data_import.vocabulary_save"):
        rows = edited.dropna()
        with session_scope(ctx.engine) as session:
            saved = importer.save_status_words(session, scope=ctx.scope, words=dict(zip(rows["word"], rows["status"], strict=True)))
        st.success(ctx.t("data_import.vocabulary_saved", count=len(saved)))
    with st.expander(ctx.t("data_import.vocabulary_builtin")):
        builtin = pd.DataFrame({word_label: list(DEFAULT_STATUS_WORDS), status_label: list(DEFAULT_STATUS_WORDS.values())})
        st.dataframe(builtin, hide_index=True, width="stretch")


def history_tab() -> None:
    with session_scope(ctx.engine) as session:
        batches = importer.recent_batches(session, scope=ctx.scope)
    if batches.empty:
        st.info(ctx.t("data_import.history_empty"))
        return
    st.dataframe(batches.drop(columns=["reject_report"]), hide_index=True, width="stretch")


tabs = st.tabs([ctx.t("data_import.tab_file"), ctx.t("data_import.tab_database"),
                ctx.t("data_import.tab_vocabulary"), ctx.t("data_import.tab_history")])
with tabs[0]:
    file_tab()
with tabs[1]:
    database_tab()
with tabs[2]:
    vocabulary_tab()
with tabs[3]:
    history_tab()
last = st.session_state.get(STATE_RESULT)
if last is not None:
    _show_result(last)
