"""Model evaluation (模型評估): each predictive model against its baseline on data it did not see,
how sure the churn scores are per store, the AI-accuracy KPI from managers' reviews, the upcoming
no-show list and the 90-day demand forecast against capacity."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.models.limits import SMALL_STORE_ROWS
from dashboard import analytics_data as ad
from dashboard import data
from dashboard import model_data as md
from dashboard import model_service as ms
from dashboard.context import get_context
from dashboard.exports import MIME, display_frame, export_frame
from dashboard.formatting import number, percent

STATE_STORE = "models.forecast_store"
#: Rows of the upcoming no-show list shown on the page (the download has them all).
NOSHOW_ROWS_SHOWN = 200

ctx = get_context()
st.title(ctx.t("page.models"))
st.caption(ctx.t("models.intro", as_of=ctx.as_of.isoformat()))
store_ids = tuple(ctx.picked_store_ids or ctx.store_ids)
stores = {s.id: s for s in data.stores(ctx.engine, ctx.scope) if s.id in store_ids}
code = {sid: s.code for sid, s in stores.items()}


def fmt(value: object, decimals: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):.{decimals}f}"


# --- fit (kept per data version and day; progress on the first run) ---------------------------
with st.status(ctx.t("models.fitting"), expanded=False) as status:
    fitted = md.page(ctx.engine, ctx.scope, store_ids, ctx.as_of, on_step=lambda key: st.write(ctx.t(key)))
    if fitted["empty"]:
        status.update(state="error")
        st.info(ctx.t("models.no_data"))
        st.stop()
    status.update(label=ctx.t("models.fitted", seconds=f"{fitted['fit_seconds']:.1f}"), state="complete")
forecast = fitted["forecast"]

# --- summary ----------------------------------------------------------------------------------
lines = []
if fitted["churn_chosen"] in (None, ms.RULE):
    lines.append(ctx.t("models.summary_fallback"))
else:
    lines.append(
        ctx.t(
            "models.summary_chosen",
            model=ctx.t(f"models.model.{fitted['churn_chosen']}"),
            auc=fmt(fitted["churn_auc_chosen"]),
            baseline=fmt(fitted["churn_auc_baseline"]),
        )
    )
if fitted["noshow_auc"] is not None or fitted["noshow_auc_baseline"] is not None:
    lines.append(
        ctx.t("models.summary_noshow", auc=fmt(fitted["noshow_auc"]), baseline=fmt(fitted["noshow_auc_baseline"]))
    )
if forecast is not None and forecast.evaluation is not None:
    lines.append(
        ctx.t(
            "models.summary_forecast",
            mape=percent(forecast.evaluation.mape_prophet),
            baseline=percent(forecast.evaluation.mape_naive),
        )
    )
st.success("  \n".join(lines))

# --- backtest table and charts ----------------------------------------------------------------
st.subheader(ctx.t("models.eval_title"))
summary, reliability = fitted["summary"], fitted["reliability"]
table = pd.DataFrame(
    {
        ctx.t("models.col.task"): summary["task"].map(lambda k: ctx.t(f"models.task.{k}")),
        ctx.t("models.col.model"): summary["model"].map(lambda k: ctx.t(f"models.model.{k}")),
        ctx.t("models.col.role"): summary["role"].map(lambda k: ctx.t(f"models.role.{k}")),
        ctx.t("models.col.n"): summary["n"].map(lambda v: number(v) if pd.notna(v) else "—"),
        ctx.t("models.col.base_rate"): summary["base_rate"].map(lambda v: percent(v) if pd.notna(v) else "—"),
        ctx.t("models.col.auc"): summary["auc"].map(fmt),
        ctx.t("models.col.pr_auc"): summary["pr_auc"].map(fmt),
        ctx.t("models.col.ece"): summary["ece"].map(fmt),
        ctx.t("models.col.lift_top10"): summary["lift_top10"].map(lambda v: fmt(v, 2)),
        ctx.t("models.col.precision_top10"): summary["precision_top10"].map(
            lambda v: percent(v) if pd.notna(v) else "—"
        ),
        ctx.t("models.col.mape"): summary["mape"].map(lambda v: percent(v) if pd.notna(v) else "—"),
    }
)
st.dataframe(table, hide_index=True, width="stretch")
st.caption(ctx.t("models.eval_help"))

scored = summary.dropna(subset=["auc"])
if not scored.empty:
    fig = go.Figure(
        go.Bar(
            x=[
                f"{ctx.t(f'models.task.{t}')} · {ctx.t(f'models.model.{m}')}"
                for t, m in zip(scored["task"], scored["model"], strict=True)
            ],
            y=scored["auc"],
            text=[fmt(v) for v in scored["auc"]],
            textposition="outside",
        )
    )
    fig.add_hline(y=0.5, line_dash="dot")
    fig.update_layout(
        title=ctx.t("models.auc_chart_title"),
        yaxis_title=ctx.t("models.auc_axis"),
        yaxis_range=[0, 1.05],
        height=360,
        margin={"t": 50, "b": 10},
    )
    st.plotly_chart(fig, width="stretch")

cols = st.columns(2)
for col, task in zip(cols, ("churn", "noshow"), strict=True):
    curve = reliability[reliability["task"] == task]
    if curve.empty:
        continue
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 100], y=[0, 100], mode="lines", name=ctx.t("models.diagonal"), line={"dash": "dash", "color": "grey"}
        )
    )
    for model, grp in curve.groupby("model", sort=False):
        fig.add_trace(
            go.Scatter(
                x=grp["mean_predicted"] * 100,
                y=grp["observed_rate"] * 100,
                mode="lines+markers",
                name=ctx.t(f"models.model.{model}"),
                customdata=grp["count"],
                hovertemplate="%{x:.1f}% → %{y:.1f}% (n=%{customdata})<extra></extra>",
            )
        )
    fig.update_layout(
        title=ctx.t("models.calibration_title", task=ctx.t(f"models.task.{task}")),
        xaxis_title=ctx.t("models.predicted_axis"),
        yaxis_title=ctx.t("models.observed_axis"),
        xaxis_range=[0, 100],
        yaxis_range=[0, 100],
        height=380,
        margin={"t": 50},
    )
    col.plotly_chart(fig, width="stretch")

# --- how sure: confidence per store -----------------------------------------------------------
if fitted["churn_chosen"] is not None:
    st.subheader(ctx.t("models.confidence_title"))
    conf = fitted["confidence"]
    if not conf.empty:
        st.dataframe(
            pd.DataFrame(
                {
                    ctx.t("models.col.store"): conf["store_id"].map(lambda s: code.get(int(s), str(s))),
                    ctx.t("models.col.customers"): conf["customers"].map(number),
                    ctx.t("models.col.labelled"): conf["labelled"].map(number),
                    ctx.t("models.col.auc_gbm"): conf["auc_gbm"].map(fmt),
                    ctx.t("models.col.auc_bgnbd"): conf["auc_bgnbd"].map(fmt),
                    ctx.t("models.col.high"): conf["high"].map(percent),
                    ctx.t("models.col.medium"): conf["medium"].map(percent),
                    ctx.t("models.col.low"): conf["low"].map(percent),
                }
            ),
            hide_index=True,
            width="stretch",
        )
        small = [code.get(int(s), str(s)) for s in conf.loc[conf["pooled"], "store_id"]]
        if small and fitted["churn_chosen"] != ms.RULE:
            st.warning(ctx.t("models.small_store_note", stores=", ".join(small), rows=number(SMALL_STORE_ROWS)))
    st.caption(ctx.t("models.confidence_help"))

    why = fitted["reasons"]
    if not why.empty:
        st.subheader(ctx.t("models.reasons_title"))
        flat = [r for rs in why["reasons"] for r in rs]
        counts = pd.Series([r["key"] for r in flat]).value_counts()
        example = {}
        for r in flat:
            example.setdefault(r["key"], r)
        st.dataframe(
            pd.DataFrame(
                {
                    ctx.t("models.col.reason"): [
                        ctx.t(
                            f"models.reason.{k}",
                            **{p: v for p, v in example[k].items() if p not in ("key", "contribution")},
                        )
                        for k in counts.index
                    ],
                    ctx.t("models.col.reason_customers"): [number(v) for v in counts.to_numpy()],
                }
            ),
            hide_index=True,
            width="stretch",
        )

# --- AI accuracy from managers' reviews --------------------------------------------------------
st.subheader(ctx.t("models.ai_title"))
acc = ms.ai_accuracy_summary(md.reviews(ctx.engine, ctx.scope, store_ids))
if acc["count"] == 0:
    st.info(ctx.t("models.ai_empty"))
else:
    a, b = st.columns(2)
    a.metric(ctx.t("models.ai_accuracy"), percent(acc["accuracy"]), help=ctx.t("models.ai_help"))
    b.metric(ctx.t("models.ai_reviews"), number(acc["count"]))

# --- upcoming no-shows ------------------------------------------------------------------------
st.subheader(ctx.t("models.noshow_title"))
upcoming = fitted["upcoming"]
if upcoming is None:
    st.info(ctx.t("models.noshow_unavailable"))
elif upcoming.empty:
    st.info(ctx.t("models.noshow_none"))
else:
    actions = fitted["noshow_actions"]
    st.caption(
        ctx.t(
            "models.noshow_effect",
            bookings=number(actions["bookings"].sum()),
            expected=number(actions["expected_noshows"].sum(), 1),
            avoided=number(actions["expected_noshows_avoided"].sum(), 1),
        )
    )

    def noshow_table(rows: pd.DataFrame) -> pd.DataFrame:
        """The list as shown and exported: contacts read now (never kept), masked for marketers."""
        who = ad.contacts(ctx.engine, ctx.scope, rows["customer_id"].astype(int).drop_duplicates().tolist())
        shown = display_frame(
            rows.merge(who[["customer_id", *md.PERSONAL_COLUMNS]], on="customer_id", how="left"), ctx.scope
        )
        return pd.DataFrame(
            {
                ctx.t("models.col.scheduled_at"): pd.to_datetime(shown["scheduled_at"]).dt.strftime("%Y-%m-%d %H:%M"),
                ctx.t("models.col.store"): shown["store_id"].map(lambda s: code.get(int(s), str(s))),
                ctx.t("models.col.customer_id"): shown["external_id"].astype(str),
                ctx.t("models.col.customer"): shown["name"].astype(str),
                ctx.t("models.col.phone"): shown["phone"].fillna("").astype(str),
                ctx.t("models.col.noshow_risk"): shown["noshow_risk"].map(percent),
                ctx.t("models.col.action"): shown["suggested_action"].map(lambda k: ctx.t(f"models.action.{k}")),
                ctx.t("models.col.avoided"): shown["expected_noshows_avoided"].map(lambda v: number(v, 2)),
            }
        )

    # Riskiest first (the kept order). A chain has thousands of bookings in two weeks; the desk
    # works the top of the list, and the whole list is one download away.
    st.dataframe(noshow_table(upcoming.head(NOSHOW_ROWS_SHOWN)), hide_index=True, width="stretch")
    if len(upcoming) > NOSHOW_ROWS_SHOWN:
        st.caption(ctx.t("models.noshow_top", shown=number(NOSHOW_ROWS_SHOWN), total=number(len(upcoming))))
    if ctx.scope.can("export"):
        st.download_button(
            ctx.t("models.noshow_download"),
            file_name="noshow_risk.csv",
            mime=MIME["csv"],
            key="models.noshow_csv",
            data=lambda: export_frame(noshow_table(upcoming), scope=ctx.scope, kind="noshow_list", engine=ctx.engine),
        )

# --- demand forecast against capacity ---------------------------------------------------------
st.subheader(ctx.t("models.forecast_title"))
if forecast is None or forecast.forecast.empty:
    st.info(ctx.t("models.forecast_unavailable"))
    st.stop()
fc_stores = [int(s) for s in forecast.forecast["store_id"].drop_duplicates()]
pick = st.selectbox(
    ctx.t("models.forecast_store"), fc_stores, format_func=lambda s: code.get(s, str(s)), key=STATE_STORE
)
fc = forecast.forecast[forecast.forecast["store_id"] == pick]
hist = forecast.history[forecast.history["store_id"] == pick]
over = fc[fc["over_capacity"].astype(bool)]
fig = go.Figure()
fig.add_trace(
    go.Scatter(
        x=hist["ds"], y=hist["bookings"], mode="lines", name=ctx.t("models.series_actual"), line={"color": "grey"}
    )
)
fig.add_trace(
    go.Scatter(x=fc["ds"], y=fc["yhat_upper"], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
)
fig.add_trace(
    go.Scatter(
        x=fc["ds"],
        y=fc["yhat_lower"],
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor="rgba(31,119,180,0.2)",
        name=ctx.t("models.series_band"),
    )
)
fig.add_trace(
    go.Scatter(
        x=fc["ds"], y=fc["yhat_bookings"], mode="lines", name=ctx.t("models.series_forecast"), line={"color": "#1f77b4"}
    )
)
fig.add_trace(
    go.Scatter(
        x=pd.concat([hist["ds"], fc["ds"]]),
        y=[float(fc["capacity"].iloc[0])] * (len(hist) + len(fc)),
        mode="lines",
        name=ctx.t("models.series_capacity"),
        line={"color": "red", "dash": "dash"},
    )
)
if not over.empty:
    fig.add_trace(
        go.Scatter(
            x=over["ds"],
            y=over["yhat_bookings"],
            mode="markers",
            name=ctx.t("models.series_over"),
            marker={"color": "red", "size": 9, "symbol": "triangle-up"},
        )
    )
fig.update_layout(
    title=ctx.t("models.forecast_chart_title", store=code.get(pick, str(pick))),
    xaxis_title=ctx.t("models.date_axis"),
    yaxis_title=ctx.t("models.bookings_axis"),
    height=420,
    margin={"t": 50},
)
st.plotly_chart(fig, width="stretch")
if over.empty:
    st.caption(ctx.t("models.within_capacity"))
else:
    st.warning(ctx.t("models.over_capacity", days=len(over)))
    with st.expander(ctx.t("models.over_capacity_table")):
        st.dataframe(
            pd.DataFrame(
                {
                    ctx.t("models.col.day"): pd.to_datetime(over["ds"]).dt.strftime("%Y-%m-%d"),
                    ctx.t("models.col.forecast"): over["yhat_bookings"].map(lambda v: number(v, 1)),
                    ctx.t("models.col.capacity"): over["capacity"].map(number),
                }
            ),
            hide_index=True,
            width="stretch",
        )
