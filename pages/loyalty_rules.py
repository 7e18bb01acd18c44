"""Loyalty rules: tier editor with impact preview, points rule, programme simulator, catalog."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core import loyalty
from core.scope import PermissionDenied
from dashboard import commands, data, loyalty_data
from dashboard.context import get_context
from dashboard.formatting import money, number, percent

ctx = get_context()
st.title(ctx.t("page.loyalty_rules"))
STATE = "loyalty_rules"

with ctx.busy("busy.loyalty"):
    rules = loyalty_data.rules(ctx.engine, ctx.scope, ctx.store_ids)
stores = {s.id: f"{s.code} · {s.name}" for s in data.stores(ctx.engine, ctx.scope) if s.id in ctx.store_ids}
kinds: dict[int, str] = rules["kinds"]  # type: ignore[assignment]

targets: list[int | None] = [None, *stores]
target = st.selectbox(
    ctx.t("loyalty.rules_for"),
    targets,
    key=f"{STATE}.target",
    format_func=lambda s: ctx.t("loyalty.chain_wide") if s is None else stores[s],
)
editable = ctx.scope.can("chain_rules") if target is None else ctx.scope.can("edit_rules")
if not editable:
    st.info(ctx.t("loyalty.read_only_chain"))
flash = st.session_state.pop(f"{STATE}.flash", None)
if flash:
    st.success(flash)

# Customers governed by the target's rules: a store's own customers, or (chain-wide) those of
# picked stores without their own rule set.
own_sets = rules["own_tiers"]  # type: ignore[assignment]
if target is None:
    governed = [s for s in stores if own_sets.get(s) is None]  # type: ignore[union-attr]
else:
    governed = [target]

tab_tiers, tab_points, tab_sim, tab_catalog, tab_history = st.tabs(
    [
        ctx.t("loyalty.tab_tier_rules"),
        ctx.t("loyalty.tab_points_rule"),
        ctx.t("loyalty.tab_simulator"),
        ctx.t("loyalty.tab_catalog"),
        ctx.t("loyalty.tab_history"),
    ]
)

current_set = own_sets.get(target) or rules["effective_tiers"].get(target)  # type: ignore[union-attr]
default_kind = kinds.get(target, "beauty_salon") if target is not None else "beauty_salon"
current_rules = list(current_set.rules) if current_set else commands.default_tier_rules(default_kind)
current_policy = current_set.policy if current_set else loyalty.TierPolicy()
current_points = rules["effective_points"][target]  # type: ignore[index]

# ------------------------------------------------------------------ tier rules + impact preview
with tab_tiers:
    draft_key, rev_key = f"{STATE}.draft.{target}", f"{STATE}.rev.{target}"
    if draft_key not in st.session_state:
        st.session_state[draft_key] = loyalty_data.rules_to_frame(current_rules)
        st.session_state[rev_key] = 0
    st.caption(ctx.t("loyalty.editor_help"))
    edited = st.data_editor(
        st.session_state[draft_key],
        num_rows="dynamic",
        hide_index=True,
        disabled=not editable,
        key=f"{STATE}.editor.{target}.{st.session_state[rev_key]}",
        width="stretch",
        column_config={c: st.column_config.Column(ctx.t(f"loyalty.col_{c}")) for c in loyalty_data.TIER_EDITOR_COLUMNS},
    )
    names = [str(n) for n in edited["name"].dropna() if str(n).strip()]
    st.subheader(ctx.t("loyalty.quick_edit"))
    tier_name = st.selectbox(ctx.t("loyalty.tier"), names, key=f"{STATE}.quick_tier.{target}")
    if tier_name is not None:
        row = edited[edited["name"] == tier_name].iloc[0]
        with st.form(f"{STATE}.quick_form"):
            cols = st.columns(3)
            spend = cols[0].number_input(
                ctx.t("loyalty.col_min_spend_12m"),
                min_value=0.0,
                step=100.0,
                key=f"{STATE}.q_spend.{target}.{tier_name}",
                value=None if pd.isna(row["min_spend_12m"]) else float(row["min_spend_12m"]),
            )
            stored = cols[1].number_input(
                ctx.t("loyalty.col_min_stored_value"),
                min_value=0.0,
                step=100.0,
                key=f"{STATE}.q_sv.{target}.{tier_name}",
                value=None if pd.isna(row["min_stored_value"]) else float(row["min_stored_value"]),
            )
            months = cols[2].number_input(
                ctx.t("loyalty.col_min_plan_months"),
                min_value=0,
                step=1,
                key=f"{STATE}.q_pm.{target}.{tier_name}",
                value=None if pd.isna(row["min_plan_months"]) else int(row["min_plan_months"]),
            )
            applied = st.form_submit_button(ctx.t("loyalty.apply"), disabled=not editable)
        if applied:
            updated = edited.copy()
            mask = updated["name"] == tier_name
            updated.loc[mask, "min_spend_12m"] = spend
            updated.loc[mask, "min_stored_value"] = stored
            updated.loc[mask, "min_plan_months"] = months
            st.session_state[draft_key] = updated
            st.session_state[rev_key] += 1
            st.rerun()
    policies = ["never", "period_end", "grace"]
    pcol = st.columns(2)
    downgrade = pcol[0].selectbox(
        ctx.t("loyalty.downgrade"),
        policies,
        index=policies.index(current_policy.downgrade),
        format_func=lambda p: ctx.t(f"loyalty.downgrade_{p}"),
        key=f"{STATE}.policy.{target}",
        disabled=not editable,
    )
    grace = pcol[1].number_input(
        ctx.t("loyalty.grace_days"),
        min_value=0,
        value=int(current_policy.grace_days),
        key=f"{STATE}.grace.{target}",
        disabled=downgrade != "grace" or not editable,
    )
    try:
        proposed: list[loyalty.TierRule] | None = loyalty_data.rules_from_frame(edited)
        proposed_policy = loyalty.TierPolicy(downgrade=downgrade, grace_days=int(grace))
    except (ValueError, TypeError) as exc:
        proposed = None
        st.error(ctx.t("loyalty.invalid_rules", error=str(exc)))

    st.subheader(ctx.t("loyalty.impact_title"))
    activity = loyalty_data.activity(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of, tuple(governed))
    if proposed is not None and not activity.empty:
        preview = loyalty.impact_preview(activity, None, current_rules, proposed)
        mcols = st.columns(3)
        mcols[0].metric(ctx.t("loyalty.moving_up"), number(int(preview["moving_up"].sum())))
        mcols[1].metric(ctx.t("loyalty.moving_down"), number(int(preview["moving_down"].sum())))
        mcols[2].metric(ctx.t("loyalty.customers_in_scope"), number(len(activity)))
        fig = px.bar(
            preview,
            x="tier",
            y="revenue_share_proposed",
            title=ctx.t("loyalty.revenue_share_title"),
            labels={"tier": ctx.t("loyalty.tier"), "revenue_share_proposed": ctx.t("loyalty.share_axis")},
        )
        fig.update_yaxes(tickformat=".0%")
        st.plotly_chart(fig, width="stretch")
        shown = preview.assign(
            revenue_share_proposed=preview["revenue_share_proposed"].map(percent),
            revenue_proposed=preview["revenue_proposed"].map(lambda v: money(v, ctx.currency)),
        )
        st.dataframe(shown, hide_index=True, width="stretch")
    elif activity.empty:
        st.info(ctx.t("loyalty.no_activity"))
    if st.button(
        ctx.t("loyalty.save_tiers"),
        type="primary",
        disabled=not editable or proposed is None,
        key=f"{STATE}.save_tiers",
    ):
        try:
            version = commands.save_tier_rules(
                ctx.engine, ctx.scope, store_id=target, rules=proposed or [], policy=proposed_policy
            )
        except PermissionDenied:
            st.error(ctx.t("loyalty.denied"))
        else:
            loyalty_data.clear()
            del st.session_state[draft_key]
            st.session_state[f"{STATE}.flash"] = ctx.t("loyalty.saved_version", version=version)
            st.rerun()

# ------------------------------------------------------------------ points rule
with tab_points:
    pr = current_points
    cols = st.columns(3)
    earn = cols[0].number_input(
        ctx.t("loyalty.earn_rate"),
        min_value=0.0,
        step=0.1,
        value=float(pr.earn_per_currency_unit),
        key=f"{STATE}.earn.{target}",
        help=ctx.t("loyalty.earn_rate_help"),
        disabled=not editable,
    )
    bday = cols[1].number_input(
        ctx.t("loyalty.birthday_multiplier"),
        min_value=0.0,
        step=0.5,
        value=float(pr.birthday_multiplier),
        key=f"{STATE}.bday.{target}",
        disabled=not editable,
    )
    expiry = cols[2].number_input(
        ctx.t("loyalty.expiry_months"),
        min_value=0,
        step=1,
        value=int(pr.expiry_months or 0),
        key=f"{STATE}.expiry.{target}",
        help=ctx.t("loyalty.expiry_help"),
        disabled=not editable,
    )
    cols = st.columns(4)
    ref_a = cols[0].number_input(
        ctx.t("loyalty.referrer_bonus"),
        min_value=0,
        step=50,
        value=int(pr.referral_bonus_referrer),
        key=f"{STATE}.refa.{target}",
        disabled=not editable,
    )
    ref_b = cols[1].number_input(
        ctx.t("loyalty.referee_bonus"),
        min_value=0,
        step=50,
        value=int(pr.referral_bonus_referee),
        key=f"{STATE}.refb.{target}",
        disabled=not editable,
    )
    min_red = cols[2].number_input(
        ctx.t("loyalty.min_redemption"),
        min_value=0,
        step=50,
        value=int(pr.min_redemption),
        key=f"{STATE}.minred.{target}",
        disabled=not editable,
    )
    value = cols[3].number_input(
        ctx.t("loyalty.point_value", currency=ctx.currency),
        min_value=0.0,
        step=0.05,
        value=float(pr.point_cash_value),
        key=f"{STATE}.value.{target}",
        disabled=not editable,
    )
    proposed_points = loyalty.PointsRule(
        earn_per_currency_unit=float(earn),
        birthday_multiplier=float(bday),
        referral_bonus_referrer=int(ref_a),
        referral_bonus_referee=int(ref_b),
        expiry_months=int(expiry) or None,
        min_redemption=int(min_red),
        point_cash_value=float(value),
        version=pr.version,
    )
    if st.button(
        ctx.t("loyalty.save_points"),
        type="primary",
        disabled=not editable or proposed_points == pr,
        key=f"{STATE}.save_points",
    ):
        try:
            version = commands.save_points_rule(ctx.engine, ctx.scope, store_id=target, rule=proposed_points)
        except PermissionDenied:
            st.error(ctx.t("loyalty.denied"))
        else:
            loyalty_data.clear()
            st.session_state[f"{STATE}.flash"] = ctx.t("loyalty.saved_version", version=version)
            st.rerun()

# ------------------------------------------------------------------ simulator
with tab_sim:
    st.caption(ctx.t("loyalty.sim_help"))
    if st.toggle(ctx.t("loyalty.sim_run"), key=f"{STATE}.simulate") and not activity.empty:
        # Only a simulation needs every visit and the whole ledger: loaded on demand, not on each visit.
        with ctx.busy("busy.loyalty"):
            customers = data.customers(ctx.engine, ctx.scope, ctx.store_ids)
            members = customers[customers["home_store_id"].isin(governed)]["customer_id"]
            bookings = data.bookings(ctx.engine, ctx.scope, ctx.store_ids)
            visits = bookings[bookings["customer_id"].isin(members)]
            ledger = loyalty_data.frames(ctx.engine, ctx.scope, ctx.store_ids)["ledger"]
            ledger = ledger[ledger["customer_id"].isin(members)]
        now = loyalty_data.simulate(visits, pr, tuple(current_rules), ctx.as_of, ledger, activity, ctx.scope)
        new = loyalty_data.simulate(
            visits, proposed_points, tuple(proposed or current_rules), ctx.as_of, ledger, activity, ctx.scope
        )
        both = pd.concat([now.assign(rules=ctx.t("loyalty.current")), new.assign(rules=ctx.t("loyalty.proposed"))])
        fig = px.line(
            both,
            x="month",
            y="liability",
            color="rules",
            markers=True,
            title=ctx.t("loyalty.sim_liability_title", currency=ctx.currency),
            labels={
                "month": ctx.t("loyalty.month_axis"),
                "liability": ctx.t("loyalty.liability_axis", currency=ctx.currency),
                "rules": "",
            },
        )
        st.plotly_chart(fig, width="stretch")
        flows = both.melt(
            id_vars=["month", "rules"],
            value_vars=["points_issued", "points_redeemed", "points_expired"],
            var_name="flow",
            value_name="points",
        )
        flows["flow"] = flows["flow"].map(lambda f: ctx.t(f"loyalty.flow_{f.split('_')[1]}"))
        fig = px.bar(
            flows,
            x="month",
            y="points",
            color="flow",
            facet_row="rules",
            barmode="group",
            title=ctx.t("loyalty.sim_flows_title"),
            labels={"month": ctx.t("loyalty.month_axis"), "points": ctx.t("loyalty.points_axis"), "flow": ""},
        )
        st.plotly_chart(fig, width="stretch")
        tier_cols = [c for c in new.columns if c.startswith("tier:")]
        dist = new.melt(id_vars="month", value_vars=tier_cols, var_name="tier", value_name="customers")
        dist["tier"] = dist["tier"].str.removeprefix("tier:")
        fig = px.area(
            dist,
            x="month",
            y="customers",
            color="tier",
            title=ctx.t("loyalty.sim_tiers_title"),
            labels={
                "month": ctx.t("loyalty.month_axis"),
                "customers": ctx.t("loyalty.customers_axis"),
                "tier": ctx.t("loyalty.tier"),
            },
        )
        st.plotly_chart(fig, width="stretch")

# ------------------------------------------------------------------ catalog
with tab_catalog:
    items = loyalty_data.items(ctx.engine, ctx.scope, ctx.store_ids)
    mine = items[items["store_id"].isna()] if target is None else items[items["store_id"] == target]
    table = mine.drop(columns=["store_id"]).reset_index(drop=True)
    edited_items = st.data_editor(
        table,
        num_rows="dynamic",
        hide_index=True,
        disabled=["item_id"] if editable else True,
        key=f"{STATE}.catalog.{target}",
        width="stretch",
        column_config={
            "kind": st.column_config.SelectboxColumn(
                ctx.t("loyalty.item_kind"), options=["goods", "service", "privilege"]
            )
        },
    )
    if st.button(ctx.t("loyalty.save_catalog"), disabled=not editable, key=f"{STATE}.save_catalog"):
        original = {int(r["item_id"]): r for r in table.to_dict(orient="records")}
        try:
            changed = []
            for row in edited_items.to_dict(orient="records"):
                item_id = None if pd.isna(row.get("item_id")) else int(row["item_id"])
                if item_id is not None and original.get(item_id) == row:
                    continue
                if not str(row.get("name") or "").strip():
                    continue
                stock = row.get("stock")
                changed.append(
                    commands.CatalogItem(
                        item_id=item_id,
                        name=str(row["name"]).strip(),
                        kind=str(row.get("kind") or "goods"),
                        points_cost=int(row.get("points_cost") or 0),
                        cash_cost=float(row.get("cash_cost") or 0.0),
                        stock=None if stock is None or pd.isna(stock) else int(stock),
                        active=bool(row.get("active", True)),
                    )
                )
            commands.save_catalog(ctx.engine, ctx.scope, store_id=target, items=changed)
        except (PermissionDenied, ValueError, LookupError) as exc:
            st.error(ctx.t("loyalty.catalog_error", error=str(exc)))
        else:
            loyalty_data.clear()
            st.session_state[f"{STATE}.flash"] = ctx.t("loyalty.catalog_saved")
            st.rerun()

# ------------------------------------------------------------------ history
with tab_history:
    st.subheader(ctx.t("loyalty.tier_versions"))
    st.dataframe(rules["tier_versions"][target], hide_index=True, width="stretch")  # type: ignore[index]
    st.subheader(ctx.t("loyalty.points_versions"))
    st.dataframe(rules["points_versions"][target], hide_index=True, width="stretch")  # type: ignore[index]
