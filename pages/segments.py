"""Segments: the R × F grid, segment sizes, month-over-month migration, recommended actions and
a drill-down to customers (→ Customer 360)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.rfm import default_migration_span
from dashboard import analytics_data as ad
from dashboard.context import get_context
from dashboard.exports import display_frame
from dashboard.formatting import money

SCHEMES = {"rfm11": "rfm_segment", "rfm8": "rfm8_segment", "lifecycle": "lifecycle_segment"}
STATE_SCHEME = "segments.scheme"
STATE_DRILL = "segments.drill"
STATE_CUSTOMER = "segments.customer"
STATE_FROM, STATE_TO = "segments.from", "segments.to"
C360_STATE = "c360.customer_id"  # read by the Customer 360 page
C360_PAGE = Path(__file__).resolve().parent / "customer_360.py"

ctx = get_context()
st.title(ctx.t("page.segments"))
with ctx.busy("busy.scores"):
    scores = ad.scores(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of)
if scores.empty or scores["recency_days"].notna().sum() == 0:
    st.info(ctx.t("analytics.empty"))
    st.stop()

scheme = st.radio(
    ctx.t("segment.scheme"),
    list(SCHEMES),
    format_func=lambda s: ctx.t(f"segment.scheme.{s}"),
    horizontal=True,
    key=STATE_SCHEME,
)
column = SCHEMES[scheme]
summary, grid = ad.segment_tables(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of, column)

# --- R × F heatmap ---------------------------------------------------------------------------
counts = grid.pivot(index="r_score", columns="f_score", values="customers")
averages = grid.pivot(index="r_score", columns="f_score", values="avg_monetary")
cell_text = [
    [
        ctx.t(
            "segment.cell_text",
            customers=int(counts.at[r, f]),
            avg=money(None if pd.isna(averages.at[r, f]) else float(averages.at[r, f]), ctx.currency),
        )
        for f in counts.columns
    ]
    for r in counts.index
]
heatmap = go.Figure(
    go.Heatmap(
        z=counts.to_numpy(),
        x=[str(f) for f in counts.columns],
        y=[str(r) for r in counts.index],
        text=cell_text,
        texttemplate="%{text}",
        colorscale="Blues",
        colorbar={"title": ctx.t("analytics.customers_axis")},
    )
)
heatmap.update_layout(
    title=ctx.t("segment.heatmap_title"),
    xaxis_title=ctx.t("segment.f_axis"),
    yaxis_title=ctx.t("segment.r_axis"),
    margin={"t": 60, "b": 20},
)
left, right = st.columns(2)
left.plotly_chart(heatmap, width="stretch")

# --- treemap of segment sizes ------------------------------------------------------------------
labels = [ad.segment_label(ctx.t, s) for s in summary["segment"]]
treemap = go.Figure(
    go.Treemap(
        labels=labels,
        parents=[""] * len(labels),
        values=summary["customers"],
        marker={"colors": summary["avg_monetary"], "colorscale": "Tealgrn", "colorbar": {"title": ctx.currency}},
        texttemplate="%{label}<br>%{value}",
        branchvalues="total",
    )
)
treemap.update_layout(title=ctx.t("segment.treemap_title", currency=ctx.currency), margin={"t": 60, "b": 20})
right.plotly_chart(treemap, width="stretch")

# --- migration Sankey from the daily snapshots -----------------------------------------------
dates = ad.snapshot_dates(ctx.engine, ctx.scope)
span = default_migration_span(dates)  # month over month when the history allows
if span is None:
    st.info(ctx.t("segment.migration_none"))
else:
    a, b = st.columns(2)
    start = a.selectbox(ctx.t("segment.migration_from"), dates[:-1], index=dates.index(span[0]), key=STATE_FROM)
    later = [d for d in dates if d > start]
    end = b.selectbox(ctx.t("segment.migration_to"), later, index=len(later) - 1, key=STATE_TO)
    flows = ad.migration(ctx.engine, ctx.scope, ctx.store_ids, start, end, column)
    names = sorted(set(flows["source"]) | set(flows["target"]))
    left_ids = {n: i for i, n in enumerate(names)}
    right_ids = {n: i + len(names) for i, n in enumerate(names)}
    node_labels = [ad.segment_label(ctx.t, n) for n in names] * 2
    sankey = go.Figure(
        go.Sankey(
            node={"label": node_labels, "pad": 12},
            link={
                "source": [left_ids[s] for s in flows["source"]],
                "target": [right_ids[t] for t in flows["target"]],
                "value": flows["customers"].tolist(),
            },
        )
    )
    sankey.update_layout(
        title=ctx.t("segment.migration_title", start=start.isoformat(), end=end.isoformat()), margin={"t": 60, "b": 20}
    )
    st.plotly_chart(sankey, width="stretch")

# --- segment table with actions --------------------------------------------------------------
st.subheader(ctx.t("segment.table_title"))
table = pd.DataFrame(
    {
        "segment": labels,
        "customers": summary["customers"].to_numpy(),
        "share": (summary["share"] * 100).round(1).to_numpy(),
        "avg_monetary": summary["avg_monetary"].round(0).to_numpy(),
        "avg_recency": summary["avg_recency_days"].round(0).to_numpy(),
        "action": [ad.segment_action(ctx.t, s) for s in summary["segment"]],
    }
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "segment": st.column_config.TextColumn(ctx.t("analytics.col.segment")),
        "customers": st.column_config.NumberColumn(ctx.t("analytics.customers")),
        "share": st.column_config.NumberColumn(ctx.t("analytics.col.share"), format="%.1f%%"),
        "avg_monetary": st.column_config.NumberColumn(
            ctx.t("analytics.col.avg_monetary", currency=ctx.currency), format="%d"
        ),
        "avg_recency": st.column_config.NumberColumn(ctx.t("analytics.col.avg_recency"), format="%d"),
        "action": st.column_config.TextColumn(ctx.t("analytics.col.action"), width="large"),
    },
)

# --- drill down ------------------------------------------------------------------------------
st.subheader(ctx.t("segment.drill_title"))
segment = st.selectbox(
    ctx.t("segment.drill_pick"),
    summary["segment"].tolist(),
    format_func=lambda s: ad.segment_label(ctx.t, s),
    key=STATE_DRILL,
)
members = ad.segment_members(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of, column, str(segment))
people = pd.DataFrame(
    {
        "customer_id": members["customer_id"].to_numpy(),
        "external_id": members["external_id"].to_numpy(dtype=object),
        "name": members["name"].to_numpy(dtype=object),
        "home_store_id": members["home_store_id"].to_numpy(dtype=object),
        "recency": members["recency_days"].astype(float).to_numpy(),
        "frequency": members["frequency"].to_numpy(),
        "monetary": members["monetary"].round(0).to_numpy(),
        "lifecycle": [ad.segment_label(ctx.t, s) for s in members["lifecycle_segment"]],
        "next_due": pd.to_datetime(members["next_due_date"]).dt.date.to_numpy(),
    }
)
shown = display_frame(people, ctx.scope)
st.dataframe(
    shown.drop(columns=["customer_id", "home_store_id"]),
    hide_index=True,
    width="stretch",
    column_config={
        "external_id": st.column_config.TextColumn(ctx.t("analytics.col.external_id")),
        "name": st.column_config.TextColumn(ctx.t("analytics.col.name")),
        "recency": st.column_config.NumberColumn(ctx.t("analytics.col.recency"), format="%d"),
        "frequency": st.column_config.NumberColumn(ctx.t("analytics.col.frequency")),
        "monetary": st.column_config.NumberColumn(ctx.t("analytics.col.monetary", currency=ctx.currency), format="%d"),
        "lifecycle": st.column_config.TextColumn(ctx.t("analytics.col.lifecycle")),
        "next_due": st.column_config.DateColumn(ctx.t("analytics.col.next_due")),
    },
)
if not shown.empty:
    options = dict(
        zip(
            shown["customer_id"].astype(np.int64).tolist(),
            (shown["external_id"].astype(str) + " · " + shown["name"].astype(str)).tolist(),
            strict=True,
        )
    )
    chosen = st.selectbox(ctx.t("segment.open_customer"), list(options), format_func=options.get, key=STATE_CUSTOMER)
    if st.button(ctx.t("segment.open_button"), key="segments.open"):
        st.session_state[C360_STATE] = int(chosen)
        st.switch_page(st.Page(str(C360_PAGE), url_path="customer_360"))
