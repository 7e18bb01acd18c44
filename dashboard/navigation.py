"""The page registry: which pages exist and which roles may open each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageSpec:
    key: str  # url path and i18n key suffix: title is "page.<key>"
    path: str  # file under pages/
    icon: str
    roles: frozenset[str]


ALL_STAFF = frozenset({"chain_admin", "store_manager", "marketer", "front_desk"})
MANAGERS = frozenset({"chain_admin", "store_manager"})
ANALYSTS = frozenset({"chain_admin", "store_manager", "marketer"})

FRONT_DESK_PAGES = frozenset({"chain_admin", "store_manager", "front_desk"})

# Menu order: what a manager reads first, then the tools, then administration. Front-desk staff
# see their store's follow-ups and Customer 360 only.
PAGES: Final[tuple[PageSpec, ...]] = (
    PageSpec("overview", "pages/overview.py", ":material/dashboard:", ANALYSTS),
    PageSpec("tasks", "pages/tasks.py", ":material/task_alt:", FRONT_DESK_PAGES),
    PageSpec("segments", "pages/segments.py", ":material/donut_small:", ANALYSTS),
    PageSpec("customer_360", "pages/customer_360.py", ":material/person_search:", ALL_STAFF),
    PageSpec("stores", "pages/stores.py", ":material/storefront:", MANAGERS),
    PageSpec("campaigns", "pages/campaigns.py", ":material/campaign:", ANALYSTS),
    PageSpec("campaign_results", "pages/campaign_results.py", ":material/insights:", ANALYSTS),
    PageSpec("loyalty", "pages/loyalty.py", ":material/loyalty:", ANALYSTS),
    PageSpec("loyalty_rules", "pages/loyalty_rules.py", ":material/rule:", MANAGERS),
    PageSpec("models", "pages/models.py", ":material/model_training:", ANALYSTS),
    PageSpec("data_import", "pages/data_import.py", ":material/upload_file:", MANAGERS),
    PageSpec("duplicates", "pages/duplicates.py", ":material/join_inner:", MANAGERS),
    PageSpec("users", "pages/users.py", ":material/group:", frozenset({"chain_admin"})),
    PageSpec("audit", "pages/audit.py", ":material/policy:", frozenset({"chain_admin"})),
)


def pages_for(role: str) -> list[PageSpec]:
    """Pages a role may open, in menu order (a page not registered for the role does not exist for it)."""
    return [page for page in PAGES if role in page.roles and (PROJECT_ROOT / page.path).exists()]
