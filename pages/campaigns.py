"""Campaigns: the list, the low-code builder (audience, trigger, templates, preview), approval."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.campaigns.audience import AudienceSpec, export_csv, export_xlsx, filter_audience, sample_frame
from core.campaigns.outbox import StoreInfo, message_values
from core.campaigns.playbook import PLAYBOOK
from core.campaigns.templates import LOCALES, booking_link, pick_template, render, unknown_variables
from core.campaigns.triggers import TRIGGER_KINDS
from core.scope import PermissionDenied
from dashboard import campaign_data, data
from dashboard.campaign_widgets import timing_text, trigger_settings
from dashboard.context import get_context
from dashboard.formatting import number

ctx = get_context()
st.title(ctx.t("page.campaigns"))
NS = "campaigns."
STATE_TAB = NS + "tab"

campaigns = campaign_data.campaigns(ctx.engine, ctx.scope, ctx.store_ids)
stores = {s.id: s for s in data.stores(ctx.engine, ctx.scope)}
tab_list, tab_build, tab_approve = st.tabs(
    [ctx.t("campaigns.tab_list"), ctx.t("campaigns.tab_builder"), ctx.t("campaigns.tab_approval")],
    key=STATE_TAB,
    on_change="rerun",
)

# ------------------------------------------------------------------------------ list
with tab_list:
    if campaigns.empty:
        st.info(ctx.t("campaigns.none"))
    else:
        waiting = int(campaigns["not_configured"].sum())
        if waiting:
            st.warning(ctx.t("campaigns.not_configured", count=number(waiting)))
        shown = campaigns.assign(
            status=campaigns["status"].map(lambda s: ctx.t(f"campaigns.status_{s}")),
            timing=campaigns["timing"].map(lambda code: timing_text(code, ctx.t)),
            store=campaigns["store_id"].map(lambda s: stores[s].code if s in stores else ctx.t("campaigns.chain_wide")),
        )
        st.dataframe(
            shown[
                [
                    "campaign_id",
                    "name",
                    "store",
                    "status",
                    "channel",
                    "timing",
                    "queued",
                    "sent",
                    "failed",
                    "suppressed",
                    "holdout",
                    "not_configured",
                    "paused_reason",
                ]
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "campaign_id": "ID",
                "name": ctx.t("campaigns.name"),
                "store": ctx.t("app.store"),
                "status": ctx.t("campaigns.status"),
                "channel": ctx.t("campaigns.channel"),
                "timing": ctx.t("campaigns.timing"),
                "queued": ctx.t("campaigns.queued"),
                "sent": ctx.t("campaigns.sent"),
                "failed": ctx.t("campaigns.failed"),
                "suppressed": ctx.t("campaigns.suppressed"),
                "holdout": ctx.t("campaigns.holdout"),
                "not_configured": ctx.t("campaigns.waiting_channel"),
                "paused_reason": ctx.t("campaigns.paused_reason"),
            },
        )
        if ctx.scope.can("campaign_edit"):
            active = campaigns.loc[campaigns["status"].eq("active")]
            if len(active):
                picked = st.selectbox(
                    ctx.t("campaigns.pause_pick"),
                    active["campaign_id"].tolist(),
                    format_func=lambda i: campaigns.set_index("campaign_id").loc[i, "name"],
                    key=NS + "pause_pick",
                )
                if st.button(ctx.t("campaigns.pause"), key=NS + "pause"):
                    try:
                        campaign_data.write(
                            ctx.engine,
                            "status",
                            scope=ctx.scope,
                            campaign_id=int(picked),
                            status="paused",
                            reason="manual",
                        )
                        st.success(ctx.t("campaigns.paused_ok"))
                    except PermissionDenied:
                        st.error(ctx.t("campaigns.denied"))

# ------------------------------------------------------------------------------ builder
with tab_build:
    # The builder reads every customer's record for its audience: only while its tab is open.
    if tab_build.open:
        if not ctx.scope.can("campaign_edit"):
            st.info(ctx.t("campaigns.read_only"))
        with ctx.busy("busy.audience"):
            frame = campaign_data.audience(ctx.engine, ctx.scope, ctx.store_ids, ctx.as_of)
        st.subheader(ctx.t("campaigns.audience"))
        cols = st.columns(3)

        def options(column: str) -> list[str]:
            values = frame[column].dropna()
            return sorted({str(v) for v in values if str(v) not in ("", "nan", "None")})

        lifecycle = cols[0].multiselect(ctx.t("campaigns.f_lifecycle"), options("lifecycle_segment"), key=NS + "f_life")
        rfm = cols[1].multiselect(ctx.t("campaigns.f_rfm"), options("rfm_segment"), key=NS + "f_rfm")
        tiers = cols[2].multiselect(ctx.t("campaigns.f_tier"), options("tier"), key=NS + "f_tier")
        tags = cols[0].multiselect(
            ctx.t("campaigns.f_tags"), sorted({t for ts in frame["tags"] for t in ts}), key=NS + "f_tags"
        )
        services = cols[1].multiselect(ctx.t("campaigns.f_service"), options("last_service"), key=NS + "f_service")
        species = cols[2].multiselect(ctx.t("campaigns.f_species"), options("pet_species"), key=NS + "f_species")
        breeds = cols[0].multiselect(ctx.t("campaigns.f_breed"), options("pet_breed"), key=NS + "f_breed")
        high_value = cols[1].checkbox(ctx.t("campaigns.f_high_value"), key=NS + "f_hv")
        use_overdue = cols[2].checkbox(ctx.t("campaigns.f_overdue"), key=NS + "f_use_overdue")
        overdue = (
            cols[2].slider(ctx.t("campaigns.f_overdue_range"), -60, 365, (0, 60), key=NS + "f_overdue")
            if use_overdue
            else None
        )
        channel = st.selectbox(
            ctx.t("campaigns.channel"), ["line", "sms", "email", "wechat", "task"], key=NS + "channel"
        )
        spec = AudienceSpec(
            lifecycle_segments=tuple(lifecycle),
            rfm_segments=tuple(rfm),
            tiers=tuple(tiers),
            tags_any=tuple(tags),
            last_services=tuple(services),
            pet_species=tuple(species),
            pet_breeds=tuple(breeds),
            high_value=True if high_value else None,
            days_overdue_min=overdue[0] if overdue else None,
            days_overdue_max=overdue[1] if overdue else None,
            consent_channel=channel,
        )
        members = filter_audience(frame, spec)
        metric_cols = st.columns(2)
        metric_cols[0].metric(ctx.t("campaigns.audience_count"), number(len(members)))
        metric_cols[1].metric(ctx.t("campaigns.audience_all"), number(len(frame)))
        sample = sample_frame(members, masks_pii=ctx.scope.masks_pii, n=10)
        st.dataframe(sample, hide_index=True, width="stretch")
        if ctx.scope.can("export") and len(members):
            exports = st.columns(2)
            # Files are built on click (a callable), not on every run: the Excel export of a large
            # audience took seconds each time the page was shown.
            masks = ctx.scope.masks_pii
            exports[0].download_button(
                ctx.t("campaigns.export_csv"),
                lambda: export_csv(members, masks_pii=masks),
                file_name="audience.csv",
                mime="text/csv",
                key=NS + "csv",
            )
            exports[1].download_button(
                ctx.t("campaigns.export_xlsx"),
                lambda: export_xlsx(members, masks_pii=masks),
                file_name="audience.xlsx",
                key=NS + "xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )

        st.subheader(ctx.t("campaigns.trigger"))
        tcols = st.columns(3)
        kind = tcols[0].selectbox(
            ctx.t("campaigns.trigger_kind"),
            TRIGGER_KINDS,
            format_func=lambda k: ctx.t(f"campaigns.kind_{k}"),
            key=NS + "kind",
        )
        trigger = trigger_settings(ctx, kind, tcols[1:], key_prefix=NS)

        st.subheader(ctx.t("campaigns.templates"))
        starters = {entry.key: entry for entry in PLAYBOOK}
        starter = st.selectbox(
            ctx.t("campaigns.starter"),
            list(starters),
            format_func=lambda k: starters[k].names.get(ctx.locale, k),
            key=NS + "starter",
        )
        texts = {}
        lcols = st.columns(3)
        for i, loc in enumerate(LOCALES):
            texts[loc] = lcols[i].text_area(
                loc, starters[starter].templates[loc], key=f"{NS}tpl_{starter}_{loc}", height=140
            )
        with_b = st.checkbox(ctx.t("campaigns.ab_variant"), key=NS + "with_b")
        texts_b = {}
        if with_b:
            bcols = st.columns(3)
            for i, loc in enumerate(LOCALES):
                texts_b[loc] = bcols[i].text_area(f"B · {loc}", texts[loc], key=f"{NS}tplb_{loc}", height=140)
        unknown = sorted({v for t in [*texts.values(), *texts_b.values()] for v in unknown_variables(t)})
        if unknown:
            st.warning(ctx.t("campaigns.unknown_vars", names=", ".join(unknown)))

        st.subheader(ctx.t("campaigns.preview"))
        if len(members):
            row = members.iloc[0].to_dict()
            store = stores.get(int(row["home_store_id"])) if pd.notna(row["home_store_id"]) else None
            info = StoreInfo(store.code, store.name, store.country) if store else None
            link = booking_link("https://book.example", info.code if info else "", "preview0000000000")
            values = message_values(row, store=info, link=link, unsubscribe="https://book.example/unsubscribe")
            if ctx.scope.masks_pii:
                values["name"] = str(values["name"])[:1] + "**"
            st.text(render(pick_template(texts, ctx.locale), values))
        else:
            st.caption(ctx.t("campaigns.preview_empty"))

        st.subheader(ctx.t("campaigns.schedule"))
        scols = st.columns(4)
        holdout = scols[0].slider(ctx.t("campaigns.holdout_pct"), 0, 50, 10, key=NS + "holdout")
        cap = scols[1].number_input(ctx.t("campaigns.cap_days"), 0, 30, 1, key=NS + "cap")
        send_hour = scols[2].number_input(ctx.t("campaigns.send_hour"), 0, 23, 11, key=NS + "send_hour")
        cost = scols[3].number_input(ctx.t("campaigns.cost"), 0.0, 100.0, 0.2, key=NS + "cost")
        name = st.text_input(ctx.t("campaigns.name"), starters[starter].names.get(ctx.locale, ""), key=NS + "name")
        store_choices: list[int | None] = ([None] if ctx.scope.store_ids is None else []) + list(ctx.store_ids)
        store_pick = st.selectbox(
            ctx.t("app.store"),
            store_choices,
            key=NS + "store",
            format_func=lambda s: ctx.t("campaigns.chain_wide") if s is None else stores[s].code,
        )
        if ctx.scope.can("campaign_edit") and st.button(ctx.t("campaigns.save"), key=NS + "save", type="primary"):
            variants = [{"key": "A", "weight": 1.0, "templates": texts}]
            if with_b:
                variants.append({"key": "B", "weight": 1.0, "templates": texts_b})
            try:
                new_id = campaign_data.write(
                    ctx.engine,
                    "create",
                    scope=ctx.scope,
                    name=name,
                    store_id=store_pick,
                    audience=spec.to_dict(),
                    trigger=trigger,
                    templates={"variants": variants},
                    channel=channel,
                    holdout_pct=float(holdout),
                    frequency_cap_days=int(cap),
                    send_hour=int(send_hour),
                    cost_per_message=float(cost),
                )
                campaign_data.write(ctx.engine, "submit", scope=ctx.scope, campaign_id=int(new_id))
                st.success(ctx.t("campaigns.saved", id=new_id))
            except (PermissionDenied, ValueError) as exc:
                st.error(ctx.t("campaigns.save_failed", reason=str(exc)))

# ------------------------------------------------------------------------------ approval
with tab_approve:
    pending = (
        campaigns.loc[campaigns["status"].isin(["pending_approval", "draft", "paused"])]
        if len(campaigns)
        else campaigns
    )
    if pending.empty:
        st.info(ctx.t("campaigns.nothing_pending"))
    else:
        st.dataframe(
            pending[["campaign_id", "name", "status", "timing", "channel", "created_by", "paused_reason"]],
            hide_index=True,
            width="stretch",
        )
        if ctx.scope.can("campaign_approve"):
            chosen = st.selectbox(
                ctx.t("campaigns.approve_pick"),
                pending["campaign_id"].tolist(),
                format_func=lambda i: pending.set_index("campaign_id").loc[i, "name"],
                key=NS + "approve_pick",
            )
            if st.button(ctx.t("campaigns.approve"), key=NS + "approve", type="primary"):
                try:
                    campaign_data.write(ctx.engine, "approve", scope=ctx.scope, campaign_id=int(chosen))
                    st.success(ctx.t("campaigns.approved"))
                except (PermissionDenied, ValueError):
                    st.error(ctx.t("campaigns.denied"))
        else:
            st.caption(ctx.t("campaigns.needs_manager"))
