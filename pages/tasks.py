"""Follow-up tasks for the front desk: today's calls, suggested words, outcomes, recovery."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.campaigns.audience import mask_phone
from core.campaigns.recovery import recovery_script
from core.scope import PermissionDenied
from dashboard import campaign_data
from dashboard.context import get_context
from dashboard.formatting import number, percent

ctx = get_context()
st.title(ctx.t("page.tasks"))
NS = "tasks."

# Follow-ups carry no money: every picked store's tasks, whatever its currency.
with ctx.busy("busy.tasks"):
    tasks = campaign_data.tasks(ctx.engine, ctx.scope, ctx.picked_store_ids)
    summary = campaign_data.task_summary(ctx.engine, ctx.scope, ctx.picked_store_ids, ctx.as_of)
# Follow-ups are worked in real time: due by the stores' today, not by the analysis as-of day
# (which defaults to the last day with a visit, i.e. yesterday each morning).
open_today = tasks.loc[tasks["status"].eq("open") & (pd.to_datetime(tasks["due_on"]) <= pd.Timestamp(ctx.local_today))]

cards = st.columns(3)
cards[0].metric(ctx.t("tasks.open_today"), number(len(open_today)))
cards[1].metric(
    ctx.t("tasks.completion_rate"), percent(summary["completion"].value), help=ctx.t("tasks.completion_help")
)
cards[2].metric(ctx.t("tasks.complaints_open"), number(int((open_today["kind"] == "complaint_recovery").sum())))

st.subheader(ctx.t("tasks.today"))
if open_today.empty:
    st.info(ctx.t("tasks.none"))
else:
    # Who, a one-tap call and what to say come first, so a phone shows them without scrolling.
    masked = ctx.scope.masks_pii
    # A recovery task keeps the customer's own words; the call script is built from them.
    scripts = [
        recovery_script(script, name=name, locale=ctx.locale) if kind == "complaint_recovery" else script
        for kind, script, name in zip(open_today["kind"], open_today["script"], open_today["name"], strict=True)
    ]
    shown = open_today.assign(
        script=scripts,
        kind=open_today["kind"].map(lambda k: ctx.t(f"tasks.kind_{k}")),
        phone=open_today["phone"].map(mask_phone) if masked else open_today["phone"],
        call=None if masked else open_today["phone"].map(lambda p: f"tel:{p}" if isinstance(p, str) and p else None),
    )
    columns = (
        ["name", "script", "phone", "kind", "due_on", "task_id"]
        if masked
        else ["name", "call", "script", "phone", "kind", "due_on", "task_id"]
    )
    st.dataframe(
        shown[columns],
        hide_index=True,
        width="stretch",
        column_config={
            "task_id": "ID",
            "name": ctx.t("tasks.customer"),
            "phone": ctx.t("tasks.phone"),
            "call": st.column_config.LinkColumn(ctx.t("tasks.call"), display_text=ctx.t("tasks.call")),
            "kind": ctx.t("tasks.kind"),
            "script": st.column_config.TextColumn(ctx.t("tasks.script"), width="large"),
            "due_on": ctx.t("tasks.due"),
        },
    )
    cols = st.columns([2, 2, 1])
    picked = cols[0].selectbox(
        ctx.t("tasks.pick"),
        open_today["task_id"].tolist(),
        key=NS + "pick",
        format_func=lambda i: f"#{i} {open_today.set_index('task_id').loc[i, 'name']}",
    )
    outcome = cols[1].selectbox(
        ctx.t("tasks.outcome"),
        ["done", "no_answer", "booked"],
        key=NS + "outcome",
        format_func=lambda s: ctx.t(f"tasks.status_{s}"),
    )
    if cols[2].button(ctx.t("tasks.save"), key=NS + "save", type="primary"):
        try:
            campaign_data.write(ctx.engine, "task", scope=ctx.scope, task_id=int(picked), status=outcome)
            st.success(ctx.t("tasks.saved"))
            st.rerun()
        except PermissionDenied:
            st.error(ctx.t("tasks.denied"))

st.subheader(ctx.t("tasks.recovery_title"))
recovery = summary["recovery"]
if recovery.empty:
    st.caption(ctx.t("tasks.recovery_none"))
else:
    st.dataframe(
        recovery.assign(
            group=recovery["group"].map(lambda g: ctx.t(f"tasks.group_{g}")),
            return_rate=recovery["return_rate"].map(lambda v: "—" if pd.isna(v) else percent(float(v))),
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "group": ctx.t("tasks.group"),
            "customers": ctx.t("tasks.customers"),
            "returned": ctx.t("tasks.returned"),
            "return_rate": ctx.t("tasks.return_rate"),
        },
    )
