"""Overview: the store's pulse in four figures and a trend."""
from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.kpi import revisit_rate
from core.overview import monthly_trend, visits_and_revenue
from dashboard import data
from dashboard.context import get_context
from dashboard.formatting import money, number, percent, signed_money, signed_percent_points

ctx = get_context()
st.title(ctx.t("page.overview"))

bookings = data.bookings(ctx.engine, ctx.scope, ctx.store_ids)
customers = data.customers(ctx.engine, ctx.scope, ctx.store_ids)
if bookings.empty:
    st.info(ctx.t("overview.empty"))
    st.stop()

visits, revenue = visits_and_revenue(bookings, as_of=ctx.as_of)
rate_now = revisit_rate(bookings, as_of=ctx.as_of, n_days=30)
rate_before = revisit_rate(bookings, as_of=ctx.as_of - timedelta(days=30), n_days=30)

cards = st.columns(4)
cards[0].metric(ctx.t("overview.customers"), number(len(customers)), help=ctx.t("overview.customers_help"))
cards[1].metric(ctx.t("overview.visits_30d"), number(visits.value),
                delta=None if visits.delta is None else number(visits.delta), help=ctx.t("overview.visits_help"))
cards[2].metric(ctx.t("overview.revenue_30d"), money(revenue.value, ctx.currency),
                delta=signed_money(revenue.delta, ctx.currency),
                help=ctx.t("overview.revenue_help"))
delta = None if rate_now.value is None or rate_before.value is None else rate_now.value - rate_before.value
cards[3].metric(ctx.t("overview.revisit_30"), percent(rate_now.value), delta=signed_percent_points(delta),
                help=ctx.t("overview.revisit_help"))

trend = monthly_trend(bookings, as_of=ctx.as_of)
figure = make_subplots(specs=[[{"secondary_y": True}]])
figure.add_bar(x=trend["month"], y=trend["visits"], name=ctx.t("overview.visits_axis"))
figure.add_trace(go.Scatter(x=trend["month"], y=trend["revenue"], name=ctx.t("overview.revenue_axis", currency=ctx.currency),
                            mode="lines+markers"), secondary_y=True)
figure.update_layout(title=ctx.t("overview.trend_title"), legend={"orientation": "h"}, margin={"t": 60, "b": 20})
figure.update_xaxes(title_text=ctx.t("overview.month_axis"))
figure.update_yaxes(title_text=ctx.t("overview.visits_axis"), secondary_y=False)
figure.update_yaxes(title_text=ctx.t("overview.revenue_axis", currency=ctx.currency), secondary_y=True)
st.plotly_chart(figure, use_container_width=True)
