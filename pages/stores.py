"""Stores: KPIs side by side per store, a ranking against the chain median, and the cohort
retention heatmap by first-visit month."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.kpi import KPI_KEYS, KPI_UNITS, compare_groups
from dashboard import analytics_data as ad
from dashboard import data
from dashboard.context import get_context

DEFAULT_KPIS = (
    "revisit_rate_30",
    "revisit_rate_90",
    "first_revisit_rate_30",
    "revisit_interval_days",
    "high_value_repurchase_rate",
    "no_show_rate",
    "cross_store_share",
)
STATE_KPIS = "stores.kpis"
STATE_RANK = "stores.rank_kpi"

ctx = get_context()
st.title(ctx.t("page.stores"))
# Rates compare across currencies, so this page shows every picked store, not one currency group.
stores = {s.id: s for s in data.stores(ctx.engine, ctx.scope) if s.id in ctx.picked_store_ids}
if len(stores) < 2:
    st.info(ctx.t("stores.need_two"))

with ctx.busy("busy.kpi"):
    by_store = ad.by_store(ctx.engine, ctx.scope, ctx.picked_store_ids, ctx.as_of)
if by_store.empty:
    st.info(ctx.t("analytics.empty"))
    st.stop()
code = {sid: s.code for sid, s in stores.items()}

picked = st.multiselect(
    ctx.t("stores.pick_kpis"),
    list(KPI_KEYS),
    default=list(DEFAULT_KPIS),
    format_func=lambda k: ctx.t(f"kpi.{k}"),
    key=STATE_KPIS,
) or list(DEFAULT_KPIS)

# --- KPIs side by side ------------------------------------------------------------------------
# Each store's figures are exactly its own board (services.kpis: visits at that store only), so
# they match the store's Overview and ``kpi --store``; a rate carries its 95% interval.
st.subheader(ctx.t("stores.table_title"))
shown = by_store[by_store["kpi"].isin(picked)].assign(store=lambda f: f["group"].map(code))


def _cell(row: pd.Series) -> str:
    return ad.format_kpi_cell(
        row["kpi"], *(None if pd.isna(row[c]) else float(row[c]) for c in ("value", "low", "high"))
    )


display = (
    shown.assign(cell=shown.apply(_cell, axis=1))
    .pivot(index="store", columns="kpi", values="cell")
    .reindex(columns=picked)
)
display.columns = [ctx.t(f"kpi.{key}") for key in picked]
display.index.name = ctx.t("analytics.col.store")
st.dataframe(display, width="stretch")
st.caption(ctx.t("stores.interval_note"))
missing = shown[shown["value"].isna()].sort_values(["store", "kpi"])
if len(missing):
    with st.expander(ctx.t("stores.empty_title")):
        for row in missing.itertuples():
            st.caption(
                ctx.t(
                    "stores.empty_line",
                    store=row.store,
                    kpi=ctx.t(f"kpi.{row.kpi}"),
                    reason=ctx.t(f"kpi.{row.kpi}.empty"),
                )
            )

# --- ranking against the chain median ---------------------------------------------------------
rank_kpi = st.selectbox(ctx.t("stores.rank_kpi"), picked, format_func=lambda k: ctx.t(f"kpi.{k}"), key=STATE_RANK)
compared = compare_groups(by_store, kpis=[rank_kpi]).sort_values(["rank", "group"])
compared["store"] = compared["group"].map(code)
scale = 1.0 if KPI_UNITS.get(rank_kpi) in ("days", "multiple") else 100.0
median = compared["group_median"].iloc[0] if len(compared) else None
bars = go.Figure(
    go.Bar(
        x=compared["store"],
        y=compared["value"] * scale,
        name=ctx.t(f"kpi.{rank_kpi}"),
        text=[ad.format_kpi(rank_kpi, None if pd.isna(v) else float(v)) for v in compared["value"]],
    )
)
if median is not None and not pd.isna(median):
    bars.add_hline(y=float(median) * scale, line_dash="dot", annotation_text=ctx.t("stores.median"))
unit = "" if scale == 1.0 else " (%)"
bars.update_layout(
    title=ctx.t("stores.rank_title", kpi=ctx.t(f"kpi.{rank_kpi}")),
    margin={"t": 60, "b": 20},
    xaxis_title=ctx.t("analytics.col.store"),
    yaxis_title=ctx.t(f"kpi.{rank_kpi}") + unit,
)
st.plotly_chart(bars, width="stretch")
ranking = pd.DataFrame(
    {
        ctx.t("stores.rank"): compared["rank"].to_numpy(),
        ctx.t("analytics.col.store"): compared["store"].to_numpy(),
        ctx.t(f"kpi.{rank_kpi}"): [
            ad.format_kpi(rank_kpi, None if pd.isna(v) else float(v)) for v in compared["value"]
        ],
        ctx.t("stores.vs_median"): [
            ad.format_kpi_delta(rank_kpi, None if pd.isna(v) else float(v)) or "—" for v in compared["vs_median"]
        ],
    }
)
st.dataframe(ranking, hide_index=True, width="stretch")

# --- cohort retention heatmap -----------------------------------------------------------------
cohorts = ad.cohorts(ctx.engine, ctx.scope, ctx.picked_store_ids, ctx.as_of)
if not cohorts.empty:
    matrix = cohorts.assign(month=cohorts["cohort"].dt.strftime("%Y-%m")).pivot(
        index="month", columns="month_offset", values="retention"
    )
    sizes = cohorts.drop_duplicates("cohort").set_index(
        cohorts.drop_duplicates("cohort")["cohort"].dt.strftime("%Y-%m")
    )["cohort_size"]
    heat = go.Figure(
        go.Heatmap(
            z=(matrix * 100).round(1).to_numpy(),
            x=[str(c) for c in matrix.columns],
            y=[f"{m} (n={int(sizes[m])})" for m in matrix.index],
            colorscale="Greens",
            zmin=0,
            zmax=100,
            texttemplate="%{z:.0f}",
            colorbar={"title": ctx.t("stores.cohort_color")},
        )
    )
    heat.update_layout(
        title=ctx.t("stores.cohort_title"),
        xaxis_title=ctx.t("stores.cohort_x"),
        yaxis_title=ctx.t("stores.cohort_y"),
        yaxis={"autorange": "reversed"},
        margin={"t": 60, "b": 20},
    )
    st.plotly_chart(heat, width="stretch")
