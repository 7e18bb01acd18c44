"""Customer 360: one customer's visits, pets, spend, points, messages, scores with the reason,
editable tags and the manager's manual review."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.lifecycle import LIFECYCLE_PRECEDENCE
from core.priority import priority_list
from dashboard import analytics_data as ad
from dashboard.context import get_context
from dashboard.exports import display_frame
from dashboard.formatting import money, number

STATE_ID = "c360.customer_id"  # also set by the Segments page
STATE_QUERY = "c360.query"
STATE_PICK = "c360.pick"
REVIEW_ROLES = frozenset({"chain_admin", "store_manager"})

ctx = get_context()
st.title(ctx.t("page.customer_360"))

# --- pick a customer -------------------------------------------------------------------------
query = st.text_input(ctx.t("c360.search"), key=STATE_QUERY)
found = ad.search_customers(ctx.engine, ctx.scope, ctx.store_ids, query) if query.strip() else None
current = st.session_state.get(STATE_ID)
if found is not None:
    if found.empty:
        st.info(ctx.t("c360.no_match"))
    else:
        shown = display_frame(found, ctx.scope)
        labels = dict(
            zip(
                shown["customer_id"].astype(int).tolist(),
                (
                    shown["external_id"].astype(str)
                    + " · "
                    + shown["name"].astype(str)
                    + " · "
                    + shown["phone"].fillna("").astype(str)
                ).tolist(),
                strict=True,
            )
        )
        ids = list(labels)
        picked = st.selectbox(
            ctx.t("c360.pick"),
            ids,
            index=ids.index(current) if current in ids else 0,
            format_func=labels.get,
            key=STATE_PICK,
        )
        current = int(picked)
        st.session_state[STATE_ID] = current
if current is None:
    # Nothing searched yet: offer today's priority customers, the ones most worth a look.
    st.caption(ctx.t("c360.hint"))
    with ctx.busy("busy.scores"):
        top = priority_list(ad.scores(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of), as_of=ctx.as_of, limit=10)
    if not top.empty:
        shown = display_frame(top, ctx.scope)
        labels = dict(
            zip(
                shown["customer_id"].astype(int).tolist(),
                (
                    shown["rank"].astype(str)
                    + ". "
                    + shown["name"].astype(str)
                    + " · "
                    + [ad.segment_label(ctx.t, s) for s in shown["lifecycle_segment"]]
                ).tolist(),
                strict=True,
            )
        )
        chosen = st.selectbox(
            ctx.t("c360.priority_pick"),
            list(labels),
            index=None,
            format_func=labels.get,
            placeholder=ctx.t("c360.priority_placeholder"),
            key="c360.priority_pick",
        )
        if chosen is not None:
            current = int(chosen)
            st.session_state[STATE_ID] = current
    if current is None:
        st.stop()

info = ad.customer_profile(ctx.engine, ctx.scope, int(current))
if info is None:
    st.warning(ctx.t("c360.not_found"))
    st.stop()
profile = info["profile"]
person = display_frame(
    pd.DataFrame([{k: profile[k] for k in ("name", "phone", "email", "home_store_id")}]), ctx.scope
).iloc[0]

# --- profile and headline figures (user text shown as plain text, never HTML) ----------------
st.subheader(ctx.t("c360.profile"))
st.text(f"{person['name']} · {profile['external_id']}")
st.caption(
    ctx.t("c360.home_store", store=f"{profile['home_store_code'] or '—'} · {profile['home_store_name'] or ''}")
    + " · "
    + ctx.t("c360.joined", day=profile["joined_on"] or "—")
)
st.caption(ctx.t("c360.contact", phone=person["phone"] or "—", email=person["email"] or "—"))
if profile["opted_out_at"] is not None:
    st.warning(ctx.t("c360.opted_out"))

visits = info["visits"]
done = visits[visits["status"] == "completed"]
account = info["account"]
cols = st.columns(4)
cols[0].metric(ctx.t("c360.visits"), number(len(done)))
cols[1].metric(ctx.t("c360.spend"), money(float((done["amount"] + done["addon_amount"]).sum()), ctx.currency))
cols[2].metric(ctx.t("c360.points"), number(account["balance"]))
cols[3].metric(ctx.t("c360.tier"), account["tier"] or ctx.t("c360.no_tier"))

# --- scores and why ---------------------------------------------------------------------------
st.subheader(ctx.t("c360.scores"))
with ctx.busy("busy.scores"):
    scores = ad.scores(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of)
row = scores[scores["customer_id"] == int(current)]
model_label = "new"
if not row.empty:
    r = row.iloc[0]
    model_label = str(r["lifecycle_segment"])
    s = st.columns(5)
    s[0].metric(ctx.t("c360.lifecycle"), ad.segment_label(ctx.t, r["lifecycle_segment"]))
    s[1].metric(ctx.t("c360.rfm"), ad.segment_label(ctx.t, r["rfm_segment"]))
    s[2].metric(ctx.t("c360.churn_risk"), f"{float(r['churn_risk']) * 100:.0f}%")
    window = r["revisit_window_days"]
    s[3].metric(ctx.t("c360.window"), "—" if pd.isna(window) else ctx.t("analytics.days_unit", value=f"{window:.0f}"))
    due = r["next_due_date"]
    s[4].metric(ctx.t("c360.next_due"), "—" if pd.isna(due) else pd.Timestamp(due).date().isoformat())
    why = priority_list(row, as_of=ctx.as_of, include_lost=True)
    if not why.empty:
        reason = ad.reason_text(ctx.t, why.at[0, "reason_key"], why.at[0, "reason_params"])
    elif pd.isna(due):
        reason = ctx.t("reason.no_visit")
    else:
        reason = ctx.t("reason.on_track", next_due=pd.Timestamp(due).date().isoformat())
    st.caption(ctx.t("c360.why", reason=reason))
    action = ad.segment_action(ctx.t, r["rfm_segment"])
    if action:
        st.caption(ctx.t("c360.action", action=action))

# --- visit timeline --------------------------------------------------------------------------
if not visits.empty:
    timeline = visits.assign(
        category=visits["category"].fillna("other"), spend=visits["amount"] + visits["addon_amount"]
    )
    figure = px.scatter(
        timeline,
        x="scheduled_at",
        y="category",
        color="status",
        size_max=12,
        hover_data={"service": True, "store_code": True, "spend": True},
        labels={
            "scheduled_at": ctx.t("c360.date_axis"),
            "category": ctx.t("c360.service_axis"),
            "status": ctx.t("c360.col.status"),
            "spend": ctx.t("c360.amount_hover", currency=ctx.currency),
            "service": ctx.t("c360.col.service"),
            "store_code": ctx.t("analytics.col.store"),
        },
    )
    figure.update_traces(marker={"size": 11})
    figure.update_layout(title=ctx.t("c360.timeline_title"), margin={"t": 60, "b": 20})
    st.plotly_chart(figure, width="stretch")

left, right = st.columns(2)
with left:
    st.subheader(ctx.t("c360.pets"))
    if info["pets"].empty:
        st.caption(ctx.t("c360.no_pets"))
    else:
        st.dataframe(info["pets"].drop(columns=["pet_id"]), hide_index=True, width="stretch")
    st.subheader(ctx.t("c360.ledger"))
    st.dataframe(
        info["ledger"],
        hide_index=True,
        width="stretch",
        column_config={
            "occurred_at": st.column_config.DatetimeColumn(ctx.t("c360.col.date")),
            "kind": st.column_config.TextColumn(ctx.t("c360.col.kind")),
            "points": st.column_config.NumberColumn(ctx.t("c360.col.points")),
        },
    )
with right:
    st.subheader(ctx.t("c360.messages"))
    if info["messages"].empty:
        st.caption(ctx.t("c360.no_messages"))
    else:
        st.dataframe(
            info["messages"].drop(columns=["message_id"]),
            hide_index=True,
            width="stretch",
            column_config={
                "campaign": st.column_config.TextColumn(ctx.t("c360.col.campaign")),
                "channel": st.column_config.TextColumn(ctx.t("c360.col.channel")),
                "status": st.column_config.TextColumn(ctx.t("c360.col.status")),
                "sent_at": st.column_config.DatetimeColumn(ctx.t("c360.col.date")),
            },
        )

# --- tags from the store's dictionary --------------------------------------------------------
st.subheader(ctx.t("c360.tags"))
dictionary: dict[str, list[str]] = info["tags"]
existing: list[str] = profile["tags"]
known = {value for values in dictionary.values() for value in values}
with st.form(f"c360.tags_form.{current}"):
    chosen: list[str] = []
    for category, values in dictionary.items():
        label = ctx.t(f"c360.tag_category.{category}")
        if label == f"c360.tag_category.{category}":
            label = category
        chosen += st.multiselect(
            label, values, default=[v for v in existing if v in values], key=f"c360.tag.{current}.{category}"
        )
    others = [t for t in existing if t not in known]
    if others:
        st.caption(ctx.t("c360.other_tags", tags=", ".join(others)))
    if st.form_submit_button(ctx.t("c360.save_tags")):
        ad.save_tags(ctx.engine, ctx.scope, int(current), others + chosen)
        st.success(ctx.t("c360.tags_saved"))

# --- manual review (AI accuracy) -------------------------------------------------------------
if ctx.scope.role in REVIEW_ROLES:
    st.subheader(ctx.t("c360.review"))
    st.caption(ctx.t("c360.review_help", label=ad.segment_label(ctx.t, model_label)))
    labels = list(LIFECYCLE_PRECEDENCE)
    manual = st.selectbox(
        ctx.t("c360.review_pick"),
        labels,
        index=labels.index(model_label) if model_label in labels else 0,
        format_func=lambda s: ad.segment_label(ctx.t, s),
        key=f"c360.review.{current}",
    )
    if st.button(ctx.t("c360.review_save"), key="c360.review_save"):
        ad.record_review(ctx.engine, ctx.scope, int(current), ctx.as_of, model_label, manual)
        st.success(ctx.t("c360.review_saved"))
    st.caption(ctx.t("c360.reviews_count", count=len(info["reviews"])))
