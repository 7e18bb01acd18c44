"""What pages may call to change or read data outside the cached loaders: use cases from services/.

Pages import only from ``dashboard``; this module is their door to the application layer, so a
page never opens a session or names a repository.
"""

from __future__ import annotations

from services import importing
from services.accounts import (
    MIN_PASSWORD_LENGTH,
    assign_stores,
    create_account,
    list_accounts,
    reset_password,
    set_account_disabled,
)
from services.audit import AUDIT_COLUMNS, audit_entries, audit_filter_options
from services.loyalty_rules import CatalogItem, default_tier_rules, save_catalog, save_points_rule, save_tier_rules

__all__ = [
    "AUDIT_COLUMNS",
    "MIN_PASSWORD_LENGTH",
    "CatalogItem",
    "assign_stores",
    "audit_entries",
    "audit_filter_options",
    "create_account",
    "default_tier_rules",
    "importing",
    "list_accounts",
    "reset_password",
    "save_catalog",
    "save_points_rule",
    "save_tier_rules",
    "set_account_disabled",
]
