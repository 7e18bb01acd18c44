"""Audit log (chain admins only): who did what and when, filtered by actor, action and date."""

from __future__ import annotations

import json
from datetime import date, timedelta

import streamlit as st

from dashboard.commands import AUDIT_COLUMNS, audit_entries, audit_filter_options
from dashboard.context import get_context
from dashboard.exports import MIME, export_frame

ctx = get_context()
st.title(ctx.t("page.audit"))
if not ctx.scope.can("read_audit"):  # the menu already hides this page; the data layer refuses too
    st.error(ctx.t("security.forbidden"))
    st.stop()
st.caption(ctx.t("audit.intro"))

known_actions, known_actors = audit_filter_options(ctx.engine, ctx.scope)

today = date.today()
top = st.columns([2, 3, 2, 2, 1])
actor = top[0].selectbox(
    ctx.t("audit.actor"), ["", *known_actors], format_func=lambda a: a or ctx.t("audit.any_actor"), key="audit.actor"
)
actions = top[1].multiselect(
    ctx.t("audit.actions"), known_actions, help=ctx.t("audit.actions_help"), key="audit.actions"
)
since = top[2].date_input(ctx.t("audit.since"), value=today - timedelta(days=30), key="audit.since")
until = top[3].date_input(ctx.t("audit.until"), value=today, key="audit.until")
limit = int(
    top[4].number_input(ctx.t("audit.limit"), min_value=10, max_value=5000, value=500, step=100, key="audit.limit")
)

entries = audit_entries(
    ctx.engine, ctx.scope, actions=actions or None, actor=actor or None, since=since, until=until, limit=limit
)

if entries.empty:
    st.info(ctx.t("audit.empty"))
    st.stop()

st.caption(ctx.t("audit.count", count=len(entries)))
shown = entries.copy()
shown["at"] = shown["at"].dt.strftime("%Y-%m-%d %H:%M:%S")
for column in ("before", "after"):
    shown[column] = shown[column].map(lambda v: "" if v is None else json.dumps(v, ensure_ascii=False, default=str))
shown = shown[list(AUDIT_COLUMNS[1:])].rename(columns={c: ctx.t(f"audit.col.{c}") for c in AUDIT_COLUMNS})
st.dataframe(shown, hide_index=True, width="stretch")
st.download_button(
    ctx.t("audit.download"),
    data=lambda: export_frame(shown, scope=ctx.scope, kind="audit", fmt="csv", engine=ctx.engine),
    file_name=f"audit-{since}-{until}.csv",
    mime=MIME["csv"],
    on_click="ignore",
    key="audit.download",
)
