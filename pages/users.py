"""Users (chain admins only): accounts, roles, store assignments, disable/enable, password reset."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from core.scope import ROLES, PermissionDenied
from dashboard.commands import (
    MIN_PASSWORD_LENGTH,
    assign_stores,
    create_account,
    list_accounts,
    reset_password,
    set_account_disabled,
)
from dashboard.context import get_context
from dashboard.i18n import LOCALE_NAMES, LOCALES

FLASH = "users.flash"

ctx = get_context()
st.title(ctx.t("page.users"))
if not ctx.scope.can("manage_users"):  # the menu already hides this page; the data layer refuses too
    st.error(ctx.t("security.forbidden"))
    st.stop()
st.caption(ctx.t("users.intro"))
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)

listing = list_accounts(ctx.engine, ctx.scope)
accounts, stores = listing.accounts, listing.stores
store_labels = {s.id: f"{s.code} · {s.name}" for s in stores}
now = datetime.now(UTC)


def _status(user) -> str:  # type: ignore[no-untyped-def]
    if user.disabled:
        return ctx.t("users.status.disabled")
    locked = user.locked_until
    if locked is not None and (locked if locked.tzinfo else locked.replace(tzinfo=now.tzinfo)) > now:
        return ctx.t("users.status.locked")
    return ctx.t("users.status.active")


def _store_text(role: str, store_ids: list[int]) -> str:
    if role == "chain_admin":
        return ctx.t("users.all_stores")
    return ", ".join(store_labels.get(s, str(s)).split(" · ")[0] for s in store_ids)


def _save(action, message_key: str, username: str) -> None:  # type: ignore[no-untyped-def]
    """Run one write (its own transaction); on success rerun with a message, else show why not."""
    try:
        action()
    except (ValueError, PermissionDenied) as exc:
        st.error(ctx.t("users.invalid", reason=str(exc)))
        return
    st.session_state[FLASH] = ctx.t(message_key, username=username)
    st.rerun()


st.subheader(ctx.t("users.list"))
table = pd.DataFrame(
    [
        {
            ctx.t("users.col.username"): user.username,
            ctx.t("users.col.display_name"): user.display_name,
            ctx.t("users.col.role"): ctx.t(f"role.{user.role}"),
            ctx.t("users.col.stores"): _store_text(user.role, store_ids),
            ctx.t("users.col.status"): _status(user),
            ctx.t("users.col.created_at"): pd.Timestamp(user.created_at).strftime("%Y-%m-%d"),
        }
        for user, store_ids in accounts
    ]
)
st.dataframe(table, hide_index=True, width="stretch")

st.subheader(ctx.t("users.add"))
with st.form("users.add_form", clear_on_submit=False):
    left, right = st.columns(2)
    new_username = left.text_input(ctx.t("users.username"), help=ctx.t("users.username_help"), key="users.new_username")
    new_display = right.text_input(ctx.t("users.display_name"), key="users.new_display_name")
    new_email = left.text_input(ctx.t("users.email"), key="users.new_email")
    new_role = right.selectbox(
        ctx.t("users.role"), ROLES, format_func=lambda r: ctx.t(f"role.{r}"), key="users.new_role"
    )
    new_stores = left.multiselect(
        ctx.t("users.stores"),
        list(store_labels),
        format_func=store_labels.get,
        help=ctx.t("users.stores_help"),
        key="users.new_stores",
    )
    new_locale = right.selectbox(ctx.t("users.locale"), LOCALES, format_func=LOCALE_NAMES.get, key="users.new_locale")
    new_password = left.text_input(
        ctx.t("users.password"),
        type="password",
        key="users.new_password",
        help=ctx.t("users.password_help", length=MIN_PASSWORD_LENGTH),
    )
    submitted = st.form_submit_button(ctx.t("users.create"), type="primary")
if submitted:
    _save(
        lambda: create_account(
            ctx.engine,
            ctx.scope,
            username=new_username,
            password=new_password,
            role=new_role,
            store_ids=list(new_stores),
            display_name=new_display,
            email=new_email,
            locale=new_locale,
        ),
        "users.created",
        new_username.strip(),
    )

if accounts:
    st.subheader(ctx.t("users.manage"))
    by_name = {user.username: (user, store_ids) for user, store_ids in accounts}
    picked = st.selectbox(ctx.t("users.pick"), list(by_name), key="users.pick")
    user, assigned = by_name[picked]
    st.caption(f"{ctx.t(f'role.{user.role}')} · {_status(user)}")
    if user.disabled:
        if st.button(ctx.t("users.enable"), key="users.enable"):
            _save(
                lambda: set_account_disabled(ctx.engine, ctx.scope, username=picked, disabled=False),
                "users.enabled_done",
                picked,
            )
    elif picked != ctx.scope.actor:
        if st.button(ctx.t("users.disable"), key="users.disable"):
            _save(
                lambda: set_account_disabled(ctx.engine, ctx.scope, username=picked, disabled=True),
                "users.disabled_done",
                picked,
            )
    with st.form("users.password_form", clear_on_submit=True):
        password = st.text_input(
            ctx.t("users.new_password"),
            type="password",
            key="users.reset_password",
            help=ctx.t("users.password_help", length=MIN_PASSWORD_LENGTH),
        )
        if st.form_submit_button(ctx.t("users.reset_password")):
            _save(
                lambda: reset_password(ctx.engine, ctx.scope, username=picked, password=password),
                "users.password_done",
                picked,
            )
    if user.role != "chain_admin":
        with st.form("users.stores_form"):
            chosen = st.multiselect(
                ctx.t("users.stores"),
                list(store_labels),
                default=[s for s in assigned if s in store_labels],
                format_func=store_labels.get,
                key=f"users.stores.{picked}",
            )
            if st.form_submit_button(ctx.t("users.assign_stores")):
                _save(
                    lambda: assign_stores(ctx.engine, ctx.scope, username=picked, store_ids=list(chosen)),
                    "users.stores_done",
                    picked,
                )
