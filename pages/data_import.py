"""Data import (資料匯入): upload a file or connect a database, map columns, import safely."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from core.columns import BOOKING_STATUSES
from core.importing import DEFAULT_STATUS_WORDS, ImportFileError, ImportOptions, read_table, unmapped_lookalikes
from dashboard import data, members_data, source_panel
from dashboard.commands import importing
from dashboard.context import get_context
from dashboard.import_text import field_label, file_error_text, reason_groups, reject_report_bytes

STATE_FILE = "data_import.file"  # {"name": str, "data": bytes}: the upload, kept across reruns
STATE_RESULT = "data_import.result"  # the last ImportResult
STATE_RESULT_FILE = "data_import.result_file"  # fingerprint of the file that result belongs to
PREVIEW_ROWS = 20
REQUIRED = {"bookings": ("customer_id", "date"), "customers": ("customer_id",)}

ctx = get_context()
st.title(ctx.t("page.data_import"))
if not ctx.scope.can("import"):
    st.error(ctx.t("data_import.no_permission"))
    st.stop()
st.caption(ctx.t("data_import.intro"))


def _options(kind_key: str) -> ImportOptions:
    order = st.session_state.get(f"{kind_key}.date_order", "auto")
    dayfirst = {"auto": None, "dayfirst": True, "monthfirst": False}[order]
    store = st.session_state.get(f"{kind_key}.store")
    country = st.session_state.get(f"{kind_key}.country", ctx.settings.default_country)
    return importing.import_options(ctx.engine, country=country, dayfirst=dayfirst, default_store=store)


def _show_result(result: importing.ImportResult) -> None:
    st.subheader(ctx.t("data_import.summary_dry" if result.status == "dry_run" else "data_import.summary"))
    if result.status == "rejected":
        st.error(ctx.t("data_import.all_rejected", count=f"{result.read:,}"))
    figures = [("read", result.read), ("imported", result.imported)]
    if result.kind == "customers" or result.updated:
        figures.append(("updated", result.updated))
    figures += [("duplicates", result.duplicates), ("rejected", result.rejected)]
    for column, (key, value) in zip(st.columns(len(figures)), figures, strict=True):
        column.metric(ctx.t(f"data_import.{key}"), f"{value:,}")
    if result.status == "failed":
        if result.error == importing.BUSY_MESSAGE:
            st.error(ctx.t("data_import.busy"))
        else:
            st.error(ctx.t("data_import.failed", error=result.error or ""))
    elif result.status == "done":
        st.success(ctx.t("data_import.done", imported=f"{result.imported:,}"))
    if result.created_store and result.status == "done":
        st.info(ctx.t("data_import.created_store", **result.created_store))
    if result.status == "done" and result.imported + result.updated:
        pairs = len(members_data.candidates(ctx.engine, ctx.scope, ctx.store_ids))
        if pairs:
            st.info(ctx.t("data_import.possible_duplicates", count=f"{pairs:,}", page=ctx.t("page.duplicates")))
    if result.needs_dayfirst:
        st.warning(ctx.t("data_import.ambiguous", count="?"))
    if result.rejects is not None and len(result.rejects):
        st.markdown(f"**{ctx.t('data_import.reasons')}**")
        # A table, not a grid: a handful of rows, readable by screen readers and in the page text.
        st.table(reason_groups(ctx.t, result.rejects), hide_index=True)
        name = Path(result.reject_report).name if result.reject_report else "rejects.csv"
        st.download_button(
            ctx.t("data_import.download_rejects"),
            reject_report_bytes(ctx.t, result.rejects),
            file_name=name,
            mime="text/csv",
            key="data_import.rejects",
        )
    elif result.reject_report and Path(result.reject_report).exists():
        st.download_button(
            ctx.t("data_import.download_rejects"),
            Path(result.reject_report).read_bytes(),
            file_name=Path(result.reject_report).name,
            mime="text/csv",
            key="data_import.rejects",
        )


def _progress_callback() -> importing.Progress:
    bar = st.progress(0.0, text=ctx.t("data_import.progress"))

    def report(fraction: float, stage: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=ctx.t(f"data_import.stage_{stage}"))

    return report


def _fingerprint(chosen: dict) -> str:
    return chosen["name"] + ":" + hashlib.sha256(chosen["data"]).hexdigest()


def file_tab() -> None:
    kind = st.radio(
        ctx.t("data_import.kind"),
        importing.KINDS,
        horizontal=True,
        key="data_import.kind",
        format_func=lambda k: ctx.t(f"data_import.kind_{k}"),
    )
    upload = st.file_uploader(
        ctx.t("data_import.upload"),
        type=["csv", "tsv", "txt", "xlsx", "xls"],
        help=ctx.t("data_import.upload_help"),
        key="data_import.uploader",
    )
    if upload is not None:
        st.session_state[STATE_FILE] = {"name": upload.name, "data": upload.getvalue()}
    chosen = st.session_state.get(STATE_FILE)
    if not chosen:
        return
    fingerprint = _fingerprint(chosen)
    if st.session_state.get(STATE_RESULT_FILE) not in (None, fingerprint):
        # A new file was chosen: the summary on screen belongs to the previous one.
        st.session_state.pop(STATE_RESULT, None)
        st.session_state.pop(STATE_RESULT_FILE, None)
    try:
        table = read_table(chosen["data"], chosen["name"], max_bytes=ctx.settings.max_upload_mb * 1024 * 1024)
    except ImportFileError as exc:
        st.session_state.pop(STATE_RESULT, None)
        st.error(ctx.t("data_import.file_error", message=file_error_text(ctx.t, exc.message)))
        return
    headers = list(table.frame.columns)
    st.caption(ctx.t("data_import.preview", rows=min(PREVIEW_ROWS, len(table.frame)), total=f"{len(table.frame):,}"))
    st.dataframe(table.frame.head(PREVIEW_ROWS), width="stretch")

    sources = importing.saved_sources(ctx.engine, kind=kind)
    new_label = ctx.t("data_import.new_source")
    picked = st.selectbox(ctx.t("data_import.saved_source"), [new_label, *sources], key=f"data_import.{kind}.saved")
    saved = None
    if picked != new_label:
        saved = importing.saved_mapping(ctx.engine, source=picked, kind=kind)
    suggestion = importing.suggest_mapping(headers, kind=kind, saved=saved)

    st.subheader(ctx.t("data_import.mapping"))
    st.caption(ctx.t("data_import.mapping_help"))
    unmapped = ctx.t("data_import.not_mapped")
    mapping: dict[str, str] = {}
    fields = importing.fields_for(kind)
    columns = st.columns(3)
    for position, name in enumerate(fields):
        options = [unmapped, *headers]
        default = suggestion.get(name)
        label = field_label(ctx.t, name)
        if name in REQUIRED[kind]:
            label = ctx.t("data_import.required", field=label)
        choice = columns[position % 3].selectbox(
            label,
            options,
            index=options.index(default) if default in options else 0,
            key=f"data_import.{kind}.{picked}.map.{name}",
            help=ctx.t(f"data_import.field_help.{name}"),
        )
        if choice != unmapped:
            mapping[name] = choice

    settings = st.columns(3)
    settings[0].selectbox(
        ctx.t("data_import.country"),
        ("TW", "CN"),
        key=f"data_import.{kind}.country",
        index=0 if ctx.settings.default_country == "TW" else 1,
        format_func=lambda c: ctx.t(f"data_import.country_{c}"),
    )
    settings[1].radio(
        ctx.t("data_import.date_order"),
        ("auto", "dayfirst", "monthfirst"),
        key=f"data_import.{kind}.date_order",
        format_func=lambda o: ctx.t(f"data_import.date_{o}"),
    )
    for field_name, lookalikes in unmapped_lookalikes(headers, mapping, fields).items():
        st.warning(
            ctx.t(
                "data_import.lookalike",
                field=field_label(ctx.t, field_name),
                columns="、".join(f"「{c}」" for c in lookalikes),
            )
        )
    stores = data.stores(ctx.engine, ctx.scope)
    codes = [s.code for s in stores]
    default_store_name = ctx.t("data_import.default_store_name")
    if codes:
        settings[2].selectbox(ctx.t("data_import.store"), codes, key=f"data_import.{kind}.store")
    else:
        settings[2].info(ctx.t("data_import.no_store_yet", name=default_store_name))
    create_stores = False
    if ctx.scope.store_ids is None:
        create_stores = st.checkbox(ctx.t("data_import.create_stores"), key=f"data_import.{kind}.create_stores")
    source = st.text_input(
        ctx.t("data_import.source"),
        value="" if picked == new_label else picked,
        help=ctx.t("data_import.source_help"),
        key=f"data_import.{kind}.source",
    )
    save = st.checkbox(ctx.t("data_import.save_mapping"), value=True, key=f"data_import.{kind}.save")

    buttons = st.columns(2)
    check = buttons[0].button(ctx.t("data_import.check"), key="data_import.check")
    run = buttons[1].button(ctx.t("data_import.run"), type="primary", key="data_import.run")
    if not (check or run):
        return
    try:
        prepared = importing.prepare_rows(kind, table, mapping, _options(f"data_import.{kind}"))
    except ImportFileError as exc:
        st.session_state.pop(STATE_RESULT, None)
        st.error(ctx.t("data_import.file_error", message=file_error_text(ctx.t, exc.message)))
        return
    if prepared.needs_dayfirst:
        st.warning(ctx.t("data_import.ambiguous", count=prepared.ambiguous_dates))
    # Cached loaders key on repo.data_version (bookings, members, latest import batch), so every
    # page shows the imported rows on its next run without clearing caches here.
    result = importing.write_rows(
        ctx.engine,
        ctx.scope,
        kind=kind,
        prepared=prepared,
        source=source.strip(),
        filename=chosen["name"],
        create_stores=create_stores,
        reject_dir=ctx.settings.reject_report_dir,
        country=st.session_state.get(f"data_import.{kind}.country", ctx.settings.default_country),
        dry_run=check and not run,
        progress=_progress_callback(),
        save_mapping=mapping if save else None,
        default_store_name=default_store_name,
    )
    st.session_state[STATE_RESULT] = result
    st.session_state[STATE_RESULT_FILE] = fingerprint


def _keep_source_result(result: importing.ImportResult) -> None:
    st.session_state.pop(STATE_RESULT_FILE, None)  # a sync's result belongs to no uploaded file
    st.session_state[STATE_RESULT] = result


def database_tab() -> None:
    source_panel.render(ctx, progress=_progress_callback, keep_result=_keep_source_result)


def vocabulary_tab() -> None:
    st.caption(ctx.t("data_import.vocabulary_help"))
    words = importing.status_words(ctx.engine)
    word_label, status_label = ctx.t("data_import.vocabulary_word"), ctx.t("data_import.vocabulary_status")
    frame = pd.DataFrame(
        {"word": pd.Series(list(words), dtype=object), "status": pd.Series(list(words.values()), dtype=object)}
    )
    edited = st.data_editor(
        frame,
        num_rows="dynamic",
        width="stretch",
        key="data_import.vocabulary",
        column_config={
            "word": st.column_config.TextColumn(word_label, required=True),
            "status": st.column_config.SelectboxColumn(status_label, options=list(BOOKING_STATUSES), required=True),
        },
    )
    if st.button(ctx.t("data_import.vocabulary_save"), key="data_import.vocabulary_save"):
        rows = edited.dropna()
        saved = importing.save_status_words(
            ctx.engine, ctx.scope, words=dict(zip(rows["word"], rows["status"], strict=True))
        )
        st.success(ctx.t("data_import.vocabulary_saved", count=len(saved)))
    with st.expander(ctx.t("data_import.vocabulary_builtin")):
        builtin = pd.DataFrame(
            {word_label: list(DEFAULT_STATUS_WORDS), status_label: list(DEFAULT_STATUS_WORDS.values())}
        )
        st.dataframe(builtin, hide_index=True, width="stretch")


def history_tab() -> None:
    batches = importing.import_history(ctx.engine, ctx.scope)
    if batches.empty:
        st.info(ctx.t("data_import.history_empty"))
        return
    shown = batches.drop(columns=["reject_report"]).assign(
        kind=batches["kind"].map(lambda k: ctx.t(f"data_import.batch_kind.{k}")),
        status=batches["status"].map(lambda v: ctx.t(f"data_import.batch_status.{v}")),
    )
    shown.columns = [ctx.t(f"data_import.history_{c}") for c in shown.columns]
    st.dataframe(shown, hide_index=True, width="stretch")


tabs = st.tabs(
    [
        ctx.t("data_import.tab_file"),
        ctx.t("data_import.tab_database"),
        ctx.t("data_import.tab_vocabulary"),
        ctx.t("data_import.tab_history"),
    ]
)
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
