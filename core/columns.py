"""Column contracts shared by `core/` functions, `db/` loaders and pages.

Frames that flow between layers use these names. Ids are the internal integer ids of the
database unless a name says ``external``. Timestamps in core frames are *store-local* naive
``datetime64[ns]`` (the `db/` loaders convert from the UTC values kept in the database), so that
"the day of the visit" is the day the customer saw on the shop's clock.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

BOOKING_STATUSES: Final = ("booked", "completed", "cancelled", "no_show", "rescheduled")
VISIT_STATUS: Final = "completed"

# One row per booking.
BOOKING_COLUMNS: Final = (
    "booking_id",  # int
    "customer_id",  # int
    "store_id",  # int
    "pet_id",  # Int64, <NA> when the booking is not for a pet
    "service_id",  # Int64
    "service_category",  # str, e.g. "haircut", "grooming", "nails", "plan"
    "staff_id",  # Int64
    "designated",  # bool: the customer asked for this staff member
    "created_at",  # datetime64, when the booking was made
    "scheduled_at",  # datetime64, when the visit is/was (store-local)
    "status",  # one of BOOKING_STATUSES
    "amount",  # float, service revenue
    "addon_amount",  # float, add-on revenue
    "channel",  # str: "line", "phone", "walk_in", "web", "wechat", ...
    "deposit",  # float, 0 when none
)

# One row per customer.
CUSTOMER_COLUMNS: Final = (
    "customer_id",  # int
    "external_id",  # str, the id the shop's own system uses
    "name",  # str
    "home_store_id",  # int
    "joined_on",  # datetime64 (date)
    "birthday",  # datetime64 (date) or NaT
    "referred_by",  # Int64 customer_id of the referrer
    "consent_sms",  # bool
    "consent_line",  # bool
    "consent_email",  # bool
    "consent_wechat",  # bool
    "opted_out_at",  # datetime64 or NaT
)

# The `score` command's output, in this order (DESIGN.md "Command line").
SCORE_COLUMNS: Final = (
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "lifecycle_segment",
    "revisit_window_days",
    "next_due_date",
    "p_alive",
    "churn_risk",
    "expected_visits",
)


def require_columns(frame: pd.DataFrame, required: tuple[str, ...] | list[str], *, what: str) -> None:
    """Raise ``ValueError`` naming every column of ``required`` that ``frame`` lacks."""
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s): {', '.join(missing)}")
