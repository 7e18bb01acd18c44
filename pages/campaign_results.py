"""Campaign results: conversion, uplift against the holdout (honest interval), revenue, ROI,
A/B verdicts and which timing and script works best."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import campaign_data
from dashboard.analytics_data import segment_label
from dashboard.campaign_widgets import timing_text
from dashboard.context import get_context
from dashboard.formatting import money, number, percent

ctx = get_context()
st.title(ctx.t("page.campaign_results"))
NS = "campaign_results."

window = st.sidebar.number_input(ctx.t("campaigns.window_days"), 1, 30, 7, key=NS + "window")
with ctx.busy("busy.results"):
    res = campaign_data.results(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of, int(window))
by_campaign = res["by_campaign"]
if by_campaign.empty:
    st.info(ctx.t("campaigns.no_results"))
    st.stop()

sent = int(by_campaign["sent"].sum())
converted = int(by_campaign["converted"].sum())
hold = int(by_campaign["holdout"].sum())
hold_conv = int(by_campaign["holdout_converted"].sum())
revenue = float(by_campaign["revenue"].sum())
cost = float(by_campaign["cost"].sum())
incremental = by_campaign["incremental_revenue"].dropna()
cards = st.columns(6)
cards[0].metric(ctx.t("campaigns.sent"), number(sent))
cards[1].metric(ctx.t("campaigns.conversion"), percent(converted / sent if sent else None))
cards[2].metric(ctx.t("campaigns.holdout_conversion"), percent(hold_conv / hold if hold else None))
cards[3].metric(ctx.t("campaigns.revenue"), money(revenue, ctx.currency))
# ROI is what the messages added over the random holdout; gross revenue ÷ cost sits beside it, named.
cards[4].metric(ctx.t("campaigns.roi"), "—" if cost <= 0 or incremental.empty else f"{incremental.sum() / cost:,.1f}×")
cards[5].metric(ctx.t("campaigns.gross_roi"), "—" if cost <= 0 else f"{revenue / cost:,.1f}×")
st.caption(ctx.t("campaigns.roi_note"))
if int(by_campaign["queued"].sum()):
    st.caption(ctx.t("campaigns.queued_note", count=number(int(by_campaign["queued"].sum()))))
pending, hold_pending = int(by_campaign["pending"].sum()), int(by_campaign["holdout_pending"].sum())
if pending or hold_pending:
    st.caption(
        ctx.t("campaigns.pending_note", sent=number(pending), holdout=number(hold_pending), days=number(int(window)))
    )

st.subheader(ctx.t("campaigns.per_campaign"))
COLUMN_LABELS = {
    column: ctx.t(f"campaigns.{column}")
    for column in (
        "timing",
        "segment",
        "variant",
        "sent",
        "converted",
        "conversion",
        "holdout",
        "holdout_conversion",
        "uplift",
    )
}


def _pct(value: object) -> str:
    return "—" if value is None or pd.isna(value) else percent(float(value))  # type: ignore[arg-type]


table = pd.DataFrame(
    {
        ctx.t("campaigns.name"): by_campaign["name"],
        ctx.t("campaigns.timing"): by_campaign["timing"].map(lambda code: timing_text(code, ctx.t)),
        ctx.t("campaigns.sent"): by_campaign["sent"],
        ctx.t("campaigns.pending"): by_campaign["pending"],
        ctx.t("campaigns.converted"): by_campaign["converted"],
        ctx.t("campaigns.conversion"): by_campaign["conversion"].map(_pct),
        ctx.t("campaigns.holdout"): by_campaign["holdout"],
        ctx.t("campaigns.holdout_conversion"): by_campaign["holdout_conversion"].map(_pct),
        ctx.t("campaigns.uplift"): by_campaign["uplift"].map(_pct),
        ctx.t("campaigns.uplift_ci"): [
            "—" if pd.isna(lo) else f"{lo * 100:+.1f} … {hi * 100:+.1f} pp"
            for lo, hi in zip(by_campaign["uplift_low"], by_campaign["uplift_high"], strict=True)
        ],
        ctx.t("campaigns.wake_up"): by_campaign["wake_up_rate"].map(_pct),
        ctx.t("campaigns.revenue"): by_campaign["revenue"].map(lambda v: money(float(v), ctx.currency)),
        ctx.t("campaigns.roi"): by_campaign["roi"].map(lambda v: "—" if pd.isna(v) else f"{v:,.1f}×"),
        ctx.t("campaigns.roi_ci"): [
            "—" if pd.isna(lo) else f"{lo:,.1f}× … {hi:,.1f}×"
            for lo, hi in zip(by_campaign["roi_low"], by_campaign["roi_high"], strict=True)
        ],
        ctx.t("campaigns.gross_roi"): by_campaign["gross_roi"].map(lambda v: "—" if pd.isna(v) else f"{v:,.1f}×"),
    }
)
st.dataframe(table, hide_index=True, width="stretch")
st.caption(ctx.t("campaigns.ci_note"))

st.subheader(ctx.t("campaigns.ab_title"))
variants = res["by_variant"]
verdicts = res["verdicts"].set_index("campaign_id")
for campaign_id, group in variants.groupby("campaign_id"):
    if campaign_id not in verdicts.index:
        continue
    name = by_campaign.set_index("campaign_id")["name"].get(campaign_id, str(campaign_id))
    verdict = verdicts.loc[campaign_id]
    st.markdown(f"**{name}**")
    st.dataframe(
        group[["variant", "sent", "converted", "conversion", "holdout", "holdout_conversion"]].assign(
            conversion=group["conversion"].map(_pct), holdout_conversion=group["holdout_conversion"].map(_pct)
        ),
        hide_index=True,
        width="stretch",
        column_config=COLUMN_LABELS,
    )
    if isinstance(verdict["winner"], str):  # None, or NaN once kept
        st.success(ctx.t("campaigns.ab_winner", variant=verdict["winner"], p=f"{verdict['p_value']:.3f}"))
    else:
        p = "—" if pd.isna(verdict["p_value"]) else f"{verdict['p_value']:.3f}"
        st.info(ctx.t("campaigns.ab_no_winner", p=p))
if verdicts.empty:
    st.caption(ctx.t("campaigns.ab_none"))

st.subheader(ctx.t("campaigns.timing_title"))
timing = res["timing"]
if len(timing):
    st.dataframe(
        timing.assign(
            conversion=timing["conversion"].map(_pct),
            uplift=timing["uplift"].map(_pct),
            timing=timing["timing"].map(lambda code: timing_text(code, ctx.t)),
            segment=timing["segment"].map(lambda s: segment_label(ctx.t, s)),
        )[["timing", "segment", "variant", "sent", "converted", "conversion", "holdout", "uplift"]],
        hide_index=True,
        width="stretch",
        column_config=COLUMN_LABELS,
    )
