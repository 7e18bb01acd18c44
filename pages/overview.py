"""Overview: the store's pulse — headline figures, KPI cards against targets, trends, and today's
priority list."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.kpi import KPI_LOWER_IS_BETTER, KPI_UNITS, target_met
from dashboard import analytics_data as ad
from dashboard import data
from dashboard.context import get_context
from dashboard.exports import display_frame
from dashboard.formatting import money, number, signed_money

#: KPI cards shown on the Overview, in order (the Stores page compares all of them): the same
#: figures as the Stores board and ``kpi --json`` for the same stores and as-of (services.kpis).
CARDS = (
    "revisit_rate_30",
    "revisit_rate_90",
    "first_revisit_rate_30",
    "revisit_interval_days",
    "high_value_repurchase_rate",
    "wake_up_rate",
    "task_completion_rate",
    "high_value_complaint_rate",
    "push_conversion_rate",
    "campaign_roi",
    "model_accuracy",
    "no_show_rate",
)
STATE_TREND = "overview.trend_kpi"

ctx = get_context()
st.title(ctx.t("page.overview"))

with ctx.busy("busy.overview"):
    figures = data.overview(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of)
    board = ad.board(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of).set_index("kpi")
    kpi_series = ad.trend(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of)
    priority = ad.priority(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of, limit=20)
if figures["empty"]:
    st.info(ctx.t("overview.empty"))
    st.stop()

visits, revenue = figures["visits"], figures["revenue"]

# The 30-day revisit rate sits with the other KPIs below (one definition, shown once).
cards = st.columns(3)
cards[0].metric(ctx.t("overview.customers"), number(figures["customers"]), help=ctx.t("overview.customers_help"))
cards[1].metric(
    ctx.t("overview.visits_30d"),
    number(visits.value),
    delta=None if visits.delta is None else number(visits.delta),
    help=ctx.t("overview.visits_help"),
)
cards[2].metric(
    ctx.t("overview.revenue_30d"),
    money(revenue.value, ctx.currency),
    delta=signed_money(revenue.delta, ctx.currency),
    help=ctx.t("overview.revenue_help"),
)

# --- KPI cards with deltas, targets and what to do -------------------------------------------
st.subheader(ctx.t("analytics.kpi_section"))
targets = ad.kpi_targets(ctx.engine, ctx.scope, ctx.store_ids)


def _value(key: str, column: str) -> float | None:
    value = board.at[key, column]
    return None if pd.isna(value) else float(value)


for start in range(0, len(CARDS), 4):
    columns = st.columns(4)
    for column, key in zip(columns, CARDS[start : start + 4], strict=False):
        value, target = _value(key, "value"), targets.get(key)
        column.metric(
            ctx.t(f"kpi.{key}"),
            ad.format_kpi(key, value),
            delta=ad.format_kpi_delta(key, _value(key, "delta")),
            delta_color="inverse" if key in KPI_LOWER_IS_BETTER else "normal",
            help=ctx.t(f"kpi.{key}.meaning"),
        )
        if value is None:
            column.caption(ctx.t(f"kpi.{key}.empty"))
        else:
            ends = ad.format_kpi_range(key, _value(key, "low"), _value(key, "high"))
            if ends is not None and KPI_UNITS.get(key) == "share":
                column.caption(
                    ctx.t("analytics.interval", low=ends[0], high=ends[1], n=number(_value(key, "denominator") or 0))
                )
            elif ends is not None:
                column.caption(ctx.t("analytics.interval_only", low=ends[0], high=ends[1]))
        if key == "campaign_roi":
            column.caption(
                ctx.t(
                    "analytics.gross_beside",
                    value=ad.format_kpi("campaign_gross_roi", _value("campaign_gross_roi", "value")),
                )
            )
        met = target_met(key, value, target)
        target_text = ad.format_kpi(key, target)
        if target is None:
            column.caption(ctx.t("analytics.no_target"))
        elif met is None:
            column.caption(ctx.t("analytics.target", target=target_text))
        else:
            column.caption(ctx.t("analytics.meets_target" if met else "analytics.below_target", target=target_text))
        column.caption(f"{ctx.t(f'kpi.{key}.meaning')} {ctx.t(f'kpi.{key}.action')}")

# --- the store's own targets (editable per store) ---------------------------------------------
if len(ctx.store_ids) == 1 and ctx.scope.can("edit_rules"):
    with st.expander(ctx.t("analytics.targets_edit")), st.form("overview.targets"):
        st.caption(ctx.t("analytics.targets_help"))
        entered: dict[str, float | None] = {}
        for key in CARDS:
            unit = KPI_UNITS.get(key, "share")
            scale = 100.0 if unit == "share" else 1.0
            now = targets.get(key)
            value = st.number_input(
                ctx.t("analytics.target_for", kpi=ctx.t(f"kpi.{key}"), unit=ctx.t(f"analytics.unit.{unit}")),
                min_value=0.0,
                max_value=100.0 if unit == "share" else None,
                value=None if now is None else round(now * scale, 2),
                key=f"overview.target.{key}",
            )
            entered[key] = None if value is None else float(value) / scale
        if st.form_submit_button(ctx.t("analytics.targets_save")):
            ad.save_kpi_targets(ctx.engine, ctx.scope, ctx.store_ids[0], entered)
            st.success(ctx.t("analytics.targets_saved"))

# --- trends ----------------------------------------------------------------------------------
st.subheader(ctx.t("analytics.trend_section"))
trend = figures["trend"]
# The month still running is drawn apart (light, labelled "month to date"), so a partial month
# never reads as a collapse; the revenue line stops at the last complete month.
done, running = trend[trend["complete"]], trend[~trend["complete"]]
figure = make_subplots(specs=[[{"secondary_y": True}]])
figure.add_bar(x=done["month"], y=done["visits"], name=ctx.t("overview.visits_axis"), marker_color="#1f6fd1")
if len(running):
    figure.add_bar(
        x=running["month"],
        y=running["visits"],
        marker_color="#9ec3ef",
        name=ctx.t("overview.month_to_date", days=int(running["days"].iloc[0])),
    )
figure.add_trace(
    go.Scatter(
        x=done["month"],
        y=done["revenue"],
        name=ctx.t("overview.revenue_axis", currency=ctx.currency),
        mode="lines+markers",
    ),
    secondary_y=True,
)
figure.update_layout(title=ctx.t("overview.trend_title"), legend={"orientation": "h"}, margin={"t": 60, "b": 20})
figure.update_xaxes(title_text=ctx.t("overview.month_axis"))
figure.update_yaxes(title_text=ctx.t("overview.visits_axis"), secondary_y=False)
figure.update_yaxes(title_text=ctx.t("overview.revenue_axis", currency=ctx.currency), secondary_y=True)
st.plotly_chart(figure, width="stretch")

picked = st.selectbox(ctx.t("analytics.trend_pick"), CARDS, format_func=lambda k: ctx.t(f"kpi.{k}"), key=STATE_TREND)
series = kpi_series[kpi_series["kpi"] == picked]
kpi_figure = go.Figure(
    go.Scatter(x=series["period_start"], y=series["value"], mode="lines+markers", name=ctx.t(f"kpi.{picked}"))
)
if targets.get(picked) is not None:
    kpi_figure.add_hline(y=targets[picked], line_dash="dot", annotation_text=ctx.t("analytics.target_line"))
kpi_figure.update_layout(
    title=ctx.t("analytics.trend_title", kpi=ctx.t(f"kpi.{picked}")),
    margin={"t": 60, "b": 20},
    xaxis_title=ctx.t("analytics.month_axis"),
    yaxis_title=ctx.t(f"kpi.{picked}"),
)
if picked not in ("revisit_interval_days", "campaign_roi", "campaign_gross_roi"):
    kpi_figure.update_yaxes(tickformat=".0%")
st.plotly_chart(kpi_figure, width="stretch")

# --- today's priority list -------------------------------------------------------------------
st.subheader(ctx.t("analytics.priority_section"), help=ctx.t("analytics.priority_help"))
if priority.empty:
    st.info(ctx.t("analytics.priority_empty"))
else:
    people = ad.contacts(ctx.engine, ctx.scope, priority["customer_id"].astype(int).tolist()).set_index("customer_id")
    table = pd.DataFrame(
        {
            "rank": priority["rank"].to_numpy(),
            "name": priority["customer_id"].map(people["name"]).to_numpy(dtype=object),
            "external_id": priority["customer_id"].map(people["external_id"]).to_numpy(dtype=object),
            "phone": priority["customer_id"].map(people["phone"]).to_numpy(dtype=object),
            "home_store_id": priority["customer_id"].map(people["home_store_id"]).to_numpy(dtype=object),
            "segment": [ad.segment_label(ctx.t, s) for s in priority["lifecycle_segment"]],
            "reason": [
                ad.reason_text(ctx.t, k, p)
                for k, p in zip(priority["reason_key"], priority["reason_params"], strict=True)
            ],
            "churn_risk": (priority["churn_risk"].astype(float) * 100).round(0).to_numpy(),
            "expected_value": priority["expected_value"].round(0).to_numpy(),
        }
    )
    table = display_frame(table, ctx.scope).drop(columns=["home_store_id"])
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "rank": st.column_config.NumberColumn(ctx.t("analytics.col.rank")),
            "name": st.column_config.TextColumn(ctx.t("analytics.col.name")),
            "external_id": st.column_config.TextColumn(ctx.t("analytics.col.external_id")),
            "phone": st.column_config.TextColumn(ctx.t("analytics.col.phone")),
            "segment": st.column_config.TextColumn(ctx.t("analytics.col.lifecycle")),
            "reason": st.column_config.TextColumn(ctx.t("analytics.col.reason")),
            "churn_risk": st.column_config.NumberColumn(ctx.t("analytics.col.churn_risk"), format="%d%%"),
            "expected_value": st.column_config.NumberColumn(
                ctx.t("analytics.col.expected_value", currency=ctx.currency), format="%d"
            ),
        },
    )
