"""Loyalty: tiers, points liability, expiring points, redemptions, referrals, stored value and plans."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core import loyalty
from dashboard import loyalty_data
from dashboard.context import get_context
from dashboard.formatting import money, number, percent

ctx = get_context()
st.title(ctx.t("page.loyalty"))

with ctx.busy("busy.loyalty"):
    kept = loyalty_data.page_summary(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of)
    rules = loyalty_data.rules(ctx.engine, ctx.scope, ctx.store_ids)
    summary = loyalty_data.ledger_summary(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of)
accounts = kept["accounts"]
if accounts.empty and summary["flows"].empty:
    st.info(ctx.t("loyalty.empty"))
    st.stop()

point_values = {sid: rule.point_cash_value for sid, rule in rules["effective_points"].items()}  # type: ignore[attr-defined]
points_out, cash_out = loyalty_data.liability(accounts, point_values)
expiring, flows = summary["expiring"], summary["flows"]
redeemed_30 = summary["redeemed_30"].iloc[0]

cards = st.columns(4)
cards[0].metric(
    ctx.t("loyalty.members"), number(int(accounts["tier"].notna().sum())), help=ctx.t("loyalty.members_help")
)
cards[1].metric(ctx.t("loyalty.outstanding"), number(points_out), help=ctx.t("loyalty.outstanding_help"))
cards[2].metric(ctx.t("loyalty.liability"), money(cash_out, ctx.currency), help=ctx.t("loyalty.liability_help"))
cards[3].metric(
    ctx.t("loyalty.expiring_30"), number(int(expiring["points_remaining"].sum())), help=ctx.t("loyalty.expiring_help")
)

tab_tiers, tab_points, tab_referrals, tab_plans = st.tabs(
    [
        ctx.t("loyalty.tab_tiers"),
        ctx.t("loyalty.tab_points"),
        ctx.t("loyalty.tab_referrals"),
        ctx.t("loyalty.tab_plans"),
    ],
    key="loyalty.tab",
    on_change="rerun",
)
# Only the open tab runs and is drawn: four tabs of charts and long tables made every visit slow.

with tab_tiers:
    if tab_tiers.open:
        order = loyalty_data.tier_order(rules["effective_tiers"].values())  # type: ignore[attr-defined]
        dist = loyalty_data.tier_distribution(accounts, none_label=ctx.t("loyalty.no_tier"), order=order)
        fig = px.bar(
            dist,
            x="tier",
            y="customers",
            text="customers",
            title=ctx.t("loyalty.tier_chart_title"),
            labels={"tier": ctx.t("loyalty.tier"), "customers": ctx.t("loyalty.customers_axis")},
        )
        st.plotly_chart(fig, width="stretch")

with tab_points:
    if tab_points.open:
        st.caption(
            ctx.t("loyalty.redeemed_30", points=number(int(redeemed_30["points"])), count=int(redeemed_30["count"]))
        )
        if not flows.empty:
            long = flows.melt(id_vars="month", var_name="flow", value_name="points")
            long["flow"] = long["flow"].map(lambda f: ctx.t(f"loyalty.flow_{f}"))
            fig = px.bar(
                long,
                x="month",
                y="points",
                color="flow",
                barmode="group",
                title=ctx.t("loyalty.flows_title"),
                labels={"month": ctx.t("loyalty.month_axis"), "points": ctx.t("loyalty.points_axis"), "flow": ""},
            )
            st.plotly_chart(fig, width="stretch")
        st.subheader(ctx.t("loyalty.top_items"))
        st.dataframe(summary["top_items"], hide_index=True, width="stretch")
        st.subheader(ctx.t("loyalty.expiring_title"))
        st.dataframe(expiring, hide_index=True, width="stretch")

with tab_referrals:
    if tab_referrals.open:
        if not kept["referrals"]:
            st.info(ctx.t("loyalty.no_referrals"))
        else:
            board, tree = loyalty_data.referral_summary(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of)
            roots = tree.groupby("root_id").size().sort_values(ascending=False).head(15).index
            shown = tree[tree["root_id"].isin(roots)]
            fig = px.sunburst(
                ids=shown["customer_id"].astype(str),
                parents=shown["referrer_id"].astype(object).map(lambda r: "" if pd.isna(r) else str(r)),
                names=shown["customer_id"].astype(str),
                title=ctx.t("loyalty.tree_title"),
            )
            st.plotly_chart(fig, width="stretch")
            st.subheader(ctx.t("loyalty.leaderboard"))
            st.caption(ctx.t("loyalty.ambassador_hint", count=len(loyalty.ambassadors(board))))
            st.dataframe(board, hide_index=True, width="stretch")

with tab_plans:
    if tab_plans.open:
        if kept["stored_value_total"] is not None:
            st.metric(
                ctx.t("loyalty.stored_value_total"),
                money(float(kept["stored_value_total"]), ctx.currency),
                help=ctx.t("loyalty.stored_value_help"),
            )
        if not kept["plans"]:
            st.info(ctx.t("loyalty.no_plans"))
        else:
            active, due, churn = kept["active_plans"], kept["renewals_due"], kept["plan_churn"]
            cols = st.columns(3)
            cols[0].metric(ctx.t("loyalty.active_plans"), number(len(active)))
            cols[1].metric(ctx.t("loyalty.renewals_due"), number(len(due)), help=ctx.t("loyalty.renewals_help"))
            cols[2].metric(
                ctx.t("loyalty.plan_churn"),
                percent(None if churn.started == 0 else churn.rate),
                help=ctx.t("loyalty.plan_churn_help"),
            )
            st.dataframe(
                active[
                    [
                        "plan_id",
                        "customer_id",
                        "name",
                        "periods_total",
                        "periods_paid",
                        "periods_remaining",
                        "next_payment_on",
                        "ends_on",
                    ]
                ],
                hide_index=True,
                width="stretch",
            )
            st.subheader(ctx.t("loyalty.renewals_title"))
            st.dataframe(due, hide_index=True, width="stretch")
