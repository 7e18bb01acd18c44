"""Duplicate members: probable duplicate cards of one person, merged or undone by a manager."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import members_data
from dashboard.context import get_context

ctx = get_context()
st.title(ctx.t("page.duplicates"))
if not ctx.scope.can("import"):  # the menu already hides this page; the services refuse too
    st.error(ctx.t("members.forbidden"))
    st.stop()
st.caption(ctx.t("members.intro"))

flash = st.session_state.pop("dup.flash", None)
if flash is not None:
    kind, text = flash
    (st.success if kind == "success" else st.error)(text)

stores = ctx.picked_store_ids or ctx.store_ids


def _member(external_id: object, name: object) -> str:
    return f"{external_id} · {name}" if name else str(external_id)


def _store(code: object) -> str:
    return str(code) if code else ctx.t("members.no_store")


def _report(action, **params) -> None:  # type: ignore[no-untyped-def]
    try:
        outcome = action()
    except members_data.MergeError as exc:
        st.session_state["dup.flash"] = ("error", ctx.t(f"members.error.{exc.code}"))
    else:
        st.session_state["dup.flash"] = ("success", params["message"](outcome))
    st.rerun()


st.subheader(ctx.t("members.candidates"))
pairs = members_data.candidates(ctx.engine, ctx.scope, stores)
if pairs.empty:
    st.info(ctx.t("members.none"))
else:
    st.caption(ctx.t("members.count", count=len(pairs)))
    table = pd.DataFrame(
        {
            ctx.t("members.col.score"): [f"{s:.0%}" for s in pairs["score"]],
            ctx.t("members.col.member_a"): [
                _member(e, n) for e, n in zip(pairs["external_id_a"], pairs["name_a"], strict=True)
            ],
            ctx.t("members.col.store_a"): [_store(c) for c in pairs["store_code_a"]],
            ctx.t("members.col.visits_a"): pairs["visits_a"].astype(int).tolist(),
            ctx.t("members.col.member_b"): [
                _member(e, n) for e, n in zip(pairs["external_id_b"], pairs["name_b"], strict=True)
            ],
            ctx.t("members.col.store_b"): [_store(c) for c in pairs["store_code_b"]],
            ctx.t("members.col.visits_b"): pairs["visits_b"].astype(int).tolist(),
            ctx.t("members.col.evidence"): [members_data.evidence_words(e, ctx.locale) for e in pairs["evidence"]],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")

    def _pair_label(i: int) -> str:
        row = pairs.iloc[i]
        return (
            f"{row['external_id_a']} ({_store(row['store_code_a'])}) ↔ "
            f"{row['external_id_b']} ({_store(row['store_code_b'])}) · {row['score']:.0%}"
        )

    pick = st.selectbox(ctx.t("members.pick_pair"), list(range(len(pairs))), format_func=_pair_label, key="dup.pair")
    row = pairs.iloc[int(pick)]
    sides = {
        int(row["customer_id_a"]): (row["external_id_a"], row["name_a"], row["visits_a"]),
        int(row["customer_id_b"]): (row["external_id_b"], row["name_b"], row["visits_b"]),
    }
    keep = st.radio(
        ctx.t("members.keep"),
        list(sides),
        format_func=lambda c: _member(*sides[c][:2]),
        help=ctx.t("members.keep_help"),
        horizontal=True,
        key=f"dup.keep.{pick}",
    )
    absorb = next(c for c in sides if c != keep)
    if st.button(ctx.t("members.merge"), type="primary", key="dup.merge"):
        _report(
            lambda: members_data.merge(ctx.engine, ctx.scope, int(keep), int(absorb)),
            message=lambda o: ctx.t(
                "members.merged", keep=sides[keep][0], absorb=sides[absorb][0], bookings=o.counts["booking"]
            ),
        )

st.subheader(ctx.t("members.history"))
history = members_data.merges(ctx.engine, ctx.scope)
if history.empty:
    st.info(ctx.t("members.history_none"))
    st.stop()
st.dataframe(
    pd.DataFrame(
        {
            ctx.t("members.col.kept"): [
                _member(e, n) for e, n in zip(history["keep_external_id"], history["keep_name"], strict=True)
            ],
            ctx.t("members.col.absorbed"): [
                _member(e, n) for e, n in zip(history["absorb_external_id"], history["absorb_name"], strict=True)
            ],
            ctx.t("members.col.by"): history["actor"].tolist(),
            ctx.t("members.col.merged_at"): history["merged_at"].dt.strftime("%Y-%m-%d %H:%M").tolist(),
            ctx.t("members.col.status"): [
                ctx.t("members.status.undone" if pd.notna(u) else "members.status.merged") for u in history["undone_at"]
            ],
        }
    ),
    hide_index=True,
    width="stretch",
)
open_merges = history.loc[history["undone_at"].isna()]
if not open_merges.empty:
    labels = {
        int(r.merge_id): f"{r.absorb_external_id} → {r.keep_external_id} · {r.merged_at:%Y-%m-%d %H:%M}"
        for r in open_merges.itertuples()
    }
    chosen = st.selectbox(ctx.t("members.pick_undo"), list(labels), format_func=labels.get, key="dup.undo_pick")
    if st.button(ctx.t("members.undo"), key="dup.undo"):
        merged = open_merges.loc[open_merges["merge_id"] == chosen].iloc[0]
        _report(
            lambda: members_data.undo(ctx.engine, ctx.scope, int(chosen)),
            message=lambda o: ctx.t(
                "members.undone", keep=merged["keep_external_id"], absorb=merged["absorb_external_id"]
            ),
        )
