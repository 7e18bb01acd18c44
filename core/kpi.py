"""KPIs of DESIGN.md's metric dictionary: one function per metric, a board, breakdowns, trends.

Conventions shared by every function:

- ``as_of``: the end of that day is the cut-off; nothing scheduled, sent or created later is read.
- ``period_days``: the period is the ``period_days`` calendar days ending on the as-of day,
  i.e. dates in ``(as_of − period_days, as_of]``.
- ``store_ids``: optional store filter. The figures of a set of stores are computed from what
  happened *at those stores* only: their visits, messages, tasks and feedback. So for one store a
  revisit must be at that store (and a first visit is the first at that store); for several
  stores together a revisit at any of them counts. A visit elsewhere in the chain is what
  :func:`cross_store_share` measures — never folded into a revisit rate. This is what a store
  manager, who sees only their own store's bookings, can compute: every surface (the Stores
  board, the Overview, ``kpi --store``) gets the same number whatever else the caller may see.
- A *visit* is a booking with status ``completed``; a customer's visits on the same date count as
  one visit day wherever a metric looks at "visiting again".
- Each returns :class:`KpiValue`; ``value`` is ``None`` when the denominator is 0.

Frames (columns checked with ``require_columns``): bookings :data:`KPI_BOOKING_COLUMNS`,
messages :data:`MESSAGE_COLUMNS`, tasks :data:`TASK_COLUMNS`, feedback :data:`FEEDBACK_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from core.columns import VISIT_STATUS, require_columns
from core.lifecycle import high_value_flags
from core.params import (
    AsOf,
    KpiParams,
    LifecycleParams,
    as_of_cutoff,
    as_of_day,
    bookings_as_of,
    day_number,
    day_numbers,
    filter_stores,
    visits_as_of,
)
from core.rfm import rfm_table
from core.spend import visit_spend

KPI_BOOKING_COLUMNS: Final = ("booking_id", "customer_id", "store_id", "scheduled_at", "status")
MESSAGE_COLUMNS: Final = (
    "message_id",
    "campaign_id",
    "customer_id",
    "store_id",
    "status",
    "sent_at",
    "cost",
)
MESSAGE_STATUSES: Final = ("queued", "sent", "failed", "suppressed", "holdout")
TASK_COLUMNS: Final = ("task_id", "store_id", "customer_id", "status", "created_at")
TASK_STATUSES: Final = ("open", "done", "no_answer", "booked")
#: Task statuses that count as completed in :func:`task_completion_rate`.
TASK_DONE_STATUSES: Final = ("done", "booked")
FEEDBACK_COLUMNS: Final = ("booking_id", "complaint")

#: Columns of :func:`attribute_bookings`.
ATTRIBUTION_COLUMNS: Final = (
    "booking_id",
    "customer_id",
    "message_id",
    "campaign_id",
    "sent_at",
    "booked_at",
    "revenue",
)

#: Rows of :func:`kpi_board`, in order.
KPI_KEYS: Final = (
    "revisit_rate_30",
    "revisit_rate_60",
    "revisit_rate_90",
    "first_revisit_rate_30",
    "first_revisit_rate_60",
    "first_revisit_rate_90",
    "revisit_interval_days",
    "wake_up_rate",
    "push_conversion_rate",
    "push_holdout_conversion_rate",
    "push_uplift",
    "high_value_repurchase_rate",
    "task_completion_rate",
    "complaint_rate",
    "high_value_complaint_rate",
    "no_show_rate",
    "cancel_rate",
    "reschedule_rate",
    "cross_store_share",
    "campaign_roi",
    "campaign_gross_roi",
    "model_accuracy",
)

#: KPIs where a smaller value is better (deltas and targets read the other way).
KPI_LOWER_IS_BETTER: Final = frozenset(
    {
        "revisit_interval_days",
        "complaint_rate",
        "high_value_complaint_rate",
        "no_show_rate",
        "cancel_rate",
        "reschedule_rate",
    }
)

#: How each KPI's value reads: "share" (0–1), "days", "multiple" (ROI) or "points" (uplift,
#: a difference of shares).
KPI_UNITS: Final = {key: "share" for key in KPI_KEYS} | {
    "revisit_interval_days": "days",
    "campaign_roi": "multiple",
    "campaign_gross_roi": "multiple",
    "push_uplift": "points",
}

#: Default targets: the shops' own practice (DESIGN.md). Other KPIs have no target until a store
#: sets one (``db.score_repo.save_kpi_targets``); a made-up bar would read as a verdict.
DEFAULT_KPI_TARGETS: Final = {
    "high_value_repurchase_rate": 0.40,
    "wake_up_rate": 0.20,
    "task_completion_rate": 0.85,
    "high_value_complaint_rate": 0.02,
    "model_accuracy": 0.80,
}

#: Why a KPI has no value (its denominator is empty): a reason key per KPI, shown instead of a
#: bare dash (``kpi.<key>.empty`` in the i18n layer).
KPI_EMPTY_REASONS: Final = {key: key for key in KPI_KEYS}

#: z of a two-sided 95% interval.
Z95: Final = 1.959963984540054


def target_met(kpi: str, value: float | None, target: float | None) -> bool | None:
    """Whether ``value`` reaches ``target`` (``None`` when either is unknown)."""
    if value is None or target is None or value != value or target != target:
        return None
    return value <= target if kpi in KPI_LOWER_IS_BETTER else value >= target


#: Columns of :func:`kpi_board`: ``low``/``high`` bound the 95% interval of the value (Wilson
#: for shares, normal approximation for the uplift and the incremental ROI; NaN otherwise).
BOARD_COLUMNS: Final = ("kpi", "value", "numerator", "denominator", "low", "high", "previous_value", "delta")


@dataclass(frozen=True)
class KpiValue:
    """A KPI value with its parts; ``value`` is ``None`` when the denominator is 0.

    ``numerator`` is ``None`` for values that are not a ratio (a median, an uplift).
    ``low``/``high`` bound a 95% interval when the metric computes one itself (see
    :func:`kpi_board`, which adds the Wilson interval of every share).
    """

    value: float | None
    numerator: float | None
    denominator: float | None
    low: float | None = None
    high: float | None = None


def wilson_interval(successes: float, trials: float, *, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a share ``successes / trials`` (``None`` when ``trials`` is 0).

    Parameters
    ----------
    successes, trials : float
        Counts, ``0 <= successes <= trials``.
    z : float
        Normal quantile (1.96 for 95%).

    Returns
    -------
    tuple of float or None
        ``(low, high)`` within [0, 1].
    """
    n = float(trials)
    if n <= 0:
        return None
    p = float(successes) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def ratio(numerator: float, denominator: float) -> KpiValue:
    """``numerator / denominator`` as a :class:`KpiValue` (``value=None`` when dividing by 0)."""
    num, den = float(numerator), float(denominator)
    return KpiValue(None if den == 0 else num / den, num, den)


# ------------------------------------------------------------------------------ helpers
def _period_end(as_of: AsOf, window_days: int, judged_only: bool) -> AsOf:
    """The period's last day: as-of, or (``judged_only``) the last day whose window has closed."""
    return as_of_day(as_of) - pd.Timedelta(days=window_days) if judged_only else as_of


def _period_mask(days: np.ndarray, as_of: AsOf, period_days: int) -> np.ndarray:
    today = day_number(as_of)
    return (days > today - period_days) & (days <= today)


def _ns(values: Any) -> pd.Series:
    """Datetimes as ``datetime64[ns]`` (merge_asof needs one resolution on both sides)."""
    return pd.to_datetime(pd.Series(values)).astype("datetime64[ns]")


@dataclass(frozen=True)
class _VisitIndex:
    """Visits up to as-of, indexed for the "visits again" metrics (built once, reused)."""

    code: np.ndarray  # per visit row: customer code (index into ``ids``)
    day: np.ndarray  # per visit row: day number
    store: np.ndarray  # per visit row: store id
    ids: np.ndarray  # customer code → customer_id
    day0: int
    span: int
    key: np.ndarray  # sorted distinct visit days: code * span + (day − day0)
    prev_day: np.ndarray  # per key: the customer's previous visit day (NaN for the first)
    next_day: np.ndarray  # per key: the customer's next visit day up to as-of (NaN if none)

    def keys(self, mask: np.ndarray) -> np.ndarray:
        """Sorted distinct (customer, day) keys of the visit rows selected by ``mask``."""
        return sorted_unique(self.code[mask] * self.span + (self.day[mask] - self.day0))

    def key_day(self, keys: np.ndarray) -> np.ndarray:
        return (keys % self.span + self.day0).astype(float)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integers by sorting (numpy's hash-based unique is slow on these keys)."""
    ordered = np.sort(np.asarray(values))
    if len(ordered) == 0:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _visit_index(bookings: pd.DataFrame, as_of: AsOf) -> _VisitIndex:
    require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
    visits = visits_as_of(bookings, as_of, columns=("customer_id", "scheduled_at", "store_id"))
    day = day_numbers(visits["scheduled_at"]).astype(np.int64)
    code, ids = pd.factorize(visits["customer_id"].to_numpy())
    day0 = int(day.min()) if len(day) else 0
    span = int(day.max()) - day0 + 1 if len(day) else 1
    key = sorted_unique(code.astype(np.int64) * span + (day - day0))
    cust = key // span
    kday = (key % span + day0).astype(float)
    same = cust[1:] == cust[:-1]
    prev_day = np.full(len(key), np.nan)
    next_day = np.full(len(key), np.nan)
    prev_day[1:] = np.where(same, kday[:-1], np.nan)
    next_day[:-1] = np.where(same, kday[1:], np.nan)
    return _VisitIndex(
        code=code.astype(np.int64),
        day=day,
        store=visits["store_id"].to_numpy(),
        ids=np.asarray(ids),
        day0=day0,
        span=span,
        key=key,
        prev_day=prev_day,
        next_day=next_day,
    )


def _store_mask(index: _VisitIndex, store_ids: Collection[int] | None) -> np.ndarray:
    if store_ids is None:
        return np.ones(len(index.day), dtype=bool)
    ids = np.atleast_1d(np.asarray(list(store_ids) if not np.isscalar(store_ids) else store_ids, dtype=np.int64))
    return np.isin(index.store, ids)


def _revisit_rate(
    index: _VisitIndex,
    *,
    as_of: AsOf,
    n_days: int,
    period_days: int,
    first_visits_only: bool,
    store_ids: Collection[int] | None,
) -> KpiValue:
    today = day_number(as_of)
    mask = _store_mask(index, store_ids) & (index.day > today - period_days) & (index.day <= today - n_days)
    cohort = index.keys(mask)
    pos = np.searchsorted(index.key, cohort)
    if first_visits_only:
        pos = pos[np.isnan(index.prev_day[pos])]
    again = (index.next_day[pos] - index.key_day(index.key[pos])) <= n_days
    return ratio(int(again.sum()), len(pos))


def _revisit_interval(
    index: _VisitIndex, *, as_of: AsOf, period_days: int, store_ids: Collection[int] | None
) -> KpiValue:
    today = day_number(as_of)
    mask = _store_mask(index, store_ids) & (index.day > today - period_days) & (index.day <= today)
    ends = index.keys(mask)
    pos = np.searchsorted(index.key, ends)
    intervals = index.key_day(ends) - index.prev_day[pos]
    intervals = intervals[~np.isnan(intervals)]
    if len(intervals) == 0:
        return KpiValue(None, None, 0.0)
    return KpiValue(float(np.median(intervals)), None, float(len(intervals)))


def _high_value_repurchase(
    index: _VisitIndex, ids: np.ndarray, *, as_of: AsOf, window_days: int, store_ids: Collection[int] | None
) -> KpiValue:
    today = day_number(as_of)
    mask = _store_mask(index, store_ids) & (index.day > today - window_days) & (index.day <= today)
    back = np.isin(ids, index.ids[sorted_unique(index.code[mask])])
    return ratio(int(back.sum()), len(ids))


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


# ------------------------------------------------------------------------------ metrics
def revisit_rate(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    n_days: int,
    period_days: int = 365,
    first_visits_only: bool = False,
    store_ids: Collection[int] | None = None,
) -> KpiValue:
    """Revisit rate N: share of visits followed by another visit within N days.

    Of the visit days in the period whose date is ≤ as_of − N (later ones cannot be judged yet
    and are excluded), the share whose customer visits again — a completed visit on a later date
    at one of the stores (any store without ``store_ids``) — within ``n_days`` days.

    Parameters
    ----------
    bookings : DataFrame
        :data:`KPI_BOOKING_COLUMNS`.
    as_of : date-like
    n_days : int
        N (30/60/90).
    period_days : int
        Visit dates in ``(as_of − period_days, as_of − n_days]`` form the cohort.
    first_visits_only : bool
        Only each customer's first visit day at the stores (as of as_of).
    store_ids : optional
        Only visits at these stores count, both the cohort and the visit again: for one store
        the revisit must be at that store; for several, at any of them.

    Returns
    -------
    KpiValue
        numerator = cohort visit days revisited within N, denominator = cohort visit days.
    """
    return _revisit_rate(
        _visit_index(filter_stores(bookings, store_ids), as_of),
        as_of=as_of,
        n_days=n_days,
        period_days=period_days,
        first_visits_only=first_visits_only,
        store_ids=None,
    )


def revisit_interval(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    period_days: int = 365,
    store_ids: Collection[int] | None = None,
) -> KpiValue:
    """Median days between consecutive visit days of the same customer.

    Intervals that end in the period; with ``store_ids`` both visits are at those stores (the
    customer's visits elsewhere do not exist for them).

    Returns
    -------
    KpiValue
        value = median interval in days, numerator = None, denominator = number of intervals.
    """
    return _revisit_interval(
        _visit_index(filter_stores(bookings, store_ids), as_of), as_of=as_of, period_days=period_days, store_ids=None
    )


def _delivered(messages: pd.DataFrame, as_of: AsOf, *, status: str = "sent") -> pd.DataFrame:
    """Messages with ``status`` whose ``sent_at`` is known and not after the as-of day."""
    require_columns(messages, MESSAGE_COLUMNS, what="messages")
    sent_at = pd.to_datetime(messages["sent_at"])
    keep = messages["status"].eq(status) & sent_at.notna() & sent_at.lt(as_of_cutoff(as_of))
    out = messages.loc[keep.to_numpy()].copy()
    out["sent_at"] = _ns(out["sent_at"]).to_numpy()
    return out


def wake_up_rate(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    sleeping_customer_ids: Collection[int] | None = None,
    *,
    as_of: AsOf,
    window_days: int = 30,
    period_days: int = 30,
    sleeping_days: int = 180,
    store_ids: Collection[int] | None = None,
    judged_only: bool = False,
) -> KpiValue:
    """Wake-up rate (沉睡唤醒率): contacted sleeping customers who visit within the window.

    Contacts are delivered messages (status ``sent``) sent in the period. A customer counts when
    a visit (at one of the stores; any store without ``store_ids``) follows one of their
    contacts within ``window_days`` (and by as-of).
    With ``judged_only`` the period ends ``window_days`` before as-of, so every contact counted
    has had its whole window (as the revisit rate leaves out visits too recent to judge).

    Parameters
    ----------
    messages : DataFrame
        :data:`MESSAGE_COLUMNS`; ``store_ids`` filters on its ``store_id``.
    bookings : DataFrame
        :data:`KPI_BOOKING_COLUMNS`.
    sleeping_customer_ids : collection, optional
        Who counts as sleeping. When ``None``, a message goes to a sleeping customer if that
        customer's last visit before it is ``sleeping_days`` or more days earlier.

    Returns
    -------
    KpiValue
        numerator = woken customers, denominator = contacted sleeping customers.
    """
    require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
    sent = filter_stores(_delivered(messages, as_of), store_ids)
    sent = sent.loc[
        _period_mask(day_numbers(sent["sent_at"]), _period_end(as_of, window_days, judged_only), period_days)
    ]
    visits = visits_as_of(filter_stores(bookings, store_ids), as_of, columns=("customer_id", "scheduled_at"))
    vt = pd.DataFrame(
        {
            "customer_id": visits["customer_id"].to_numpy().astype(np.int64),
            "visit_at": _ns(visits["scheduled_at"]).to_numpy(),
        }
    )
    vt = vt.dropna().sort_values("visit_at")
    msgs = pd.DataFrame(
        {"customer_id": sent["customer_id"].to_numpy().astype(np.int64), "sent_at": sent["sent_at"].to_numpy()}
    ).sort_values("sent_at")
    if sleeping_customer_ids is not None:
        msgs = msgs.loc[msgs["customer_id"].isin(list(sleeping_customer_ids)).to_numpy()]
    else:
        prev = pd.merge_asof(
            msgs,
            vt.rename(columns={"visit_at": "last_visit"}),
            left_on="sent_at",
            right_on="last_visit",
            by="customer_id",
            direction="backward",
            allow_exact_matches=False,
        )
        gap = day_numbers(prev["sent_at"]) - day_numbers(prev["last_visit"])
        msgs = msgs.loc[(gap >= sleeping_days)]
    nxt = pd.merge_asof(
        msgs,
        vt.rename(columns={"visit_at": "next_visit"}),
        left_on="sent_at",
        right_on="next_visit",
        by="customer_id",
        direction="forward",
        allow_exact_matches=False,
    )
    woke = (nxt["next_visit"] - nxt["sent_at"]).le(pd.Timedelta(days=window_days))
    per_customer = woke.groupby(nxt["customer_id"].to_numpy()).any()
    return ratio(int(per_customer.sum()), len(per_customer))


def _booking_events(bookings: pd.DataFrame, as_of: AsOf) -> pd.DataFrame:
    """Bookings as events at the time they were made (``created_at``, else ``scheduled_at``)."""
    require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
    scheduled = _ns(bookings["scheduled_at"])
    made = _ns(bookings["created_at"]) if "created_at" in bookings.columns else scheduled
    made = made.fillna(scheduled)
    spend = visit_spend(bookings)
    cutoff = as_of_cutoff(as_of)
    realised = bookings["status"].eq(VISIT_STATUS).to_numpy() & scheduled.lt(cutoff).to_numpy()
    events = pd.DataFrame(
        {
            "booking_id": bookings["booking_id"].to_numpy(),
            "customer_id": bookings["customer_id"].to_numpy().astype(np.int64),
            "booked_at": made.to_numpy(),
            "revenue": np.where(realised, spend.to_numpy(), 0.0),
        }
    )
    events = events.loc[events["booked_at"].lt(cutoff).to_numpy()]
    return events.sort_values("booked_at", kind="stable")


def attribute_bookings(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    window_days: int = 7,
    arm: Literal["sent", "holdout"] = "sent",
) -> pd.DataFrame:
    """Credit each booking to at most one message: the latest one before it, within the window.

    Only messages of the ``arm`` (``sent`` = delivered, or ``holdout`` = never sent, timed at
    their scheduled time in ``sent_at``) compete. A booking is the moment it was *made*
    (``created_at``, else ``scheduled_at``) and must be made by the end of the as-of day; it may
    be for a visit after as-of (that booking was already known then), but its revenue counts only
    once it is a completed visit by as-of.

    Returns
    -------
    DataFrame
        :data:`ATTRIBUTION_COLUMNS`, one row per credited booking.
    """
    pool = _delivered(messages, as_of, status=arm)
    pool = pd.DataFrame(
        {
            "message_id": pool["message_id"].to_numpy(),
            "campaign_id": pool["campaign_id"].to_numpy(),
            "customer_id": pool["customer_id"].to_numpy().astype(np.int64),
            "sent_at": pool["sent_at"].to_numpy(),
        }
    ).sort_values("sent_at", kind="stable")
    events = _booking_events(bookings, as_of)
    credited = pd.merge_asof(
        events,
        pool,
        left_on="booked_at",
        right_on="sent_at",
        by="customer_id",
        direction="backward",
        allow_exact_matches=False,
    )
    ok = (credited["booked_at"] - credited["sent_at"]).le(pd.Timedelta(days=window_days))
    return credited.loc[ok.to_numpy(), list(ATTRIBUTION_COLUMNS)].reset_index(drop=True)


def push_to_booking_conversion(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    window_days: int = 7,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
    campaign_ids: Collection[Any] | None = None,
    arm: Literal["sent", "holdout"] = "sent",
    judged_only: bool = False,
) -> KpiValue:
    """Push-to-booking conversion (推播轉預約率).

    Delivered messages sent in the period that were credited at least one booking by
    :func:`attribute_bookings` ÷ delivered messages sent in the period. With ``arm="holdout"``
    the same for the holdout rows (the conversion the campaign would have had without sending).
    With ``judged_only`` the period ends ``window_days`` before as-of: a message sent yesterday
    cannot have converted yet and would drag the rate down. With ``store_ids`` only those
    stores' messages and bookings take part.

    Returns
    -------
    KpiValue
        numerator = converted messages, denominator = messages of the arm in the period.
    """
    pool, credited = _arm(
        messages,
        bookings,
        as_of=as_of,
        window_days=window_days,
        period_days=period_days,
        store_ids=store_ids,
        campaign_ids=campaign_ids,
        arm=arm,
        judged_only=judged_only,
    )
    converted = pool["message_id"].isin(credited["message_id"].unique())
    return ratio(int(converted.sum()), len(pool))


def _arm(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    window_days: int,
    period_days: int,
    store_ids: Collection[int] | None,
    campaign_ids: Collection[Any] | None,
    arm: Literal["sent", "holdout"],
    judged_only: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(messages of the arm in the period, bookings credited to the arm) at the stores."""
    messages = filter_stores(messages, store_ids)
    bookings = filter_stores(bookings, store_ids)
    pool = _delivered(messages, as_of, status=arm)
    if campaign_ids is not None:
        pool = pool.loc[pool["campaign_id"].isin(list(campaign_ids)).to_numpy()]
    pool = pool.loc[
        _period_mask(day_numbers(pool["sent_at"]), _period_end(as_of, window_days, judged_only), period_days)
    ]
    credited = attribute_bookings(messages, bookings, as_of=as_of, window_days=window_days, arm=arm)
    return pool, credited


def push_uplift(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    window_days: int = 7,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
    campaign_ids: Collection[Any] | None = None,
    judged_only: bool = False,
) -> KpiValue:
    """Uplift = conversion of sent messages − conversion of the random holdout.

    Returns
    -------
    KpiValue
        value = the difference (``None`` when either arm is empty); numerator = None;
        denominator = holdout rows in the period; ``low``/``high`` = its 95% interval (normal
        approximation of a difference of two shares).
    """
    kwargs: dict[str, Any] = {
        "as_of": as_of,
        "window_days": window_days,
        "period_days": period_days,
        "store_ids": store_ids,
        "campaign_ids": campaign_ids,
        "judged_only": judged_only,
    }
    sent = push_to_booking_conversion(messages, bookings, arm="sent", **kwargs)
    hold = push_to_booking_conversion(messages, bookings, arm="holdout", **kwargs)
    return _uplift_value(sent, hold)


def campaign_roi(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    window_days: int = 7,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
    campaign_ids: Collection[Any] | None = None,
    judged_only: bool = False,
) -> KpiValue:
    """Campaign ROI: incremental revenue over the random holdout ÷ cost, with its 95% interval.

    Incremental revenue = (revenue per sent message − revenue per holdout row) × messages sent,
    where a message's revenue is that of the bookings :func:`attribute_bookings` credits to it
    (completed visits by as-of). Cost = the cost of the sent messages. The interval is the normal
    approximation of the difference of the two mean revenues, scaled the same way.

    Returns
    -------
    KpiValue
        value = incremental revenue ÷ cost (``None`` without a holdout, a sent message or a
        cost); numerator = incremental revenue; denominator = cost; ``low``/``high``.
    """
    kwargs: dict[str, Any] = {
        "as_of": as_of,
        "window_days": window_days,
        "period_days": period_days,
        "store_ids": store_ids,
        "campaign_ids": campaign_ids,
        "judged_only": judged_only,
    }
    sent, sent_credit = _arm(messages, bookings, arm="sent", **kwargs)
    hold, hold_credit = _arm(messages, bookings, arm="holdout", **kwargs)
    return _roi_values(sent, sent_credit, hold, hold_credit)[0]


def campaign_gross_roi(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    window_days: int = 7,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
    campaign_ids: Collection[Any] | None = None,
    judged_only: bool = False,
) -> KpiValue:
    """Gross attributed revenue ÷ cost: every credited booking's revenue, as if no customer would
    have come anyway. Shown beside :func:`campaign_roi`, never instead of it.

    Returns
    -------
    KpiValue
        numerator = revenue credited to the sent messages of the period; denominator = their cost.
    """
    kwargs: dict[str, Any] = {
        "as_of": as_of,
        "window_days": window_days,
        "period_days": period_days,
        "store_ids": store_ids,
        "campaign_ids": campaign_ids,
        "judged_only": judged_only,
    }
    sent, credit = _arm(messages, bookings, arm="sent", **kwargs)
    empty = sent.iloc[:0]
    return _roi_values(sent, credit, empty, credit.iloc[:0])[1]


def high_value_repurchase_rate(
    bookings: pd.DataFrame,
    high_value_customer_ids: Collection[int],
    *,
    as_of: AsOf,
    window_days: int = 30,
    store_ids: Collection[int] | None = None,
) -> KpiValue:
    """High-value customers with a visit in the last ``window_days`` ÷ high-value customers.

    ``high_value_customer_ids`` is decided by the caller (:func:`kpi_board` uses the high-value
    customers as of ``as_of − window_days``, so the visits counted are after the decision).
    """
    ids = pd.unique(np.asarray(list(high_value_customer_ids)))
    return _high_value_repurchase(
        _visit_index(bookings, as_of), ids, as_of=as_of, window_days=window_days, store_ids=store_ids
    )


def task_completion_rate(
    tasks: pd.DataFrame,
    *,
    as_of: AsOf,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
    completed_statuses: Collection[str] = TASK_DONE_STATUSES,
) -> KpiValue:
    """Completed ÷ issued follow-up tasks created in the period (completed: done or booked)."""
    require_columns(tasks, TASK_COLUMNS, what="tasks")
    t = filter_stores(tasks, store_ids)
    created = day_numbers(t["created_at"])
    t = t.loc[_period_mask(created, as_of, period_days)]
    done = t["status"].isin(list(completed_statuses))
    return ratio(int(done.sum()), len(t))


def complaint_rate(
    feedback: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
) -> KpiValue:
    """Complaints ÷ visits: visits (completed bookings) in the period with a complaint flag."""
    require_columns(feedback, FEEDBACK_COLUMNS, what="feedback")
    require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
    visits = filter_stores(visits_as_of(bookings, as_of, columns=("booking_id", "store_id", "scheduled_at")), store_ids)
    visits = visits.loc[_period_mask(day_numbers(visits["scheduled_at"]), as_of, period_days)]
    flagged = feedback.loc[feedback["complaint"].fillna(False).astype(bool).to_numpy(), "booking_id"].unique()
    return ratio(int(visits["booking_id"].isin(flagged).sum()), len(visits))


#: status_rates keys → booking status.
STATUS_RATE_KEYS: Final = {
    "no_show_rate": "no_show",
    "cancel_rate": "cancelled",
    "reschedule_rate": "rescheduled",
}


def status_rates(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
) -> dict[str, KpiValue]:
    """No-show, cancel and reschedule rates: share of the bookings scheduled in the period.

    Returns
    -------
    dict
        :data:`STATUS_RATE_KEYS` → KpiValue (denominator = bookings of any status).
    """
    require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
    b = filter_stores(bookings_as_of(bookings, as_of, columns=("store_id", "scheduled_at", "status")), store_ids)
    b = b.loc[_period_mask(day_numbers(b["scheduled_at"]), as_of, period_days)]
    counts = b["status"].value_counts()
    return {key: ratio(int(counts.get(status, 0)), len(b)) for key, status in STATUS_RATE_KEYS.items()}


def cross_store_share(
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    as_of: AsOf,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
) -> KpiValue:
    """Visits at a store other than the customer's home store ÷ visits, in the period.

    Visits of customers with no known home store are left out of both counts.
    """
    require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
    require_columns(customers, ("customer_id", "home_store_id"), what="customers")
    visits = filter_stores(
        visits_as_of(bookings, as_of, columns=("customer_id", "store_id", "scheduled_at")), store_ids
    )
    visits = visits.loc[_period_mask(day_numbers(visits["scheduled_at"]), as_of, period_days)]
    home = customers.drop_duplicates("customer_id").set_index("customer_id")["home_store_id"]
    visit_home = visits["customer_id"].map(home)
    known = visit_home.notna()
    away = known & visit_home.ne(visits["store_id"])
    return ratio(int(away.sum()), int(known.sum()))


def high_value_complaint_rate(
    feedback: pd.DataFrame,
    bookings: pd.DataFrame,
    high_value_customer_ids: Collection[int],
    *,
    as_of: AsOf,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
) -> KpiValue:
    """Complaints among high-value customers: their visits in the period with a complaint ÷ their
    visits in the period (:func:`complaint_rate` of those customers)."""
    require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
    ids = list(pd.unique(np.asarray(list(high_value_customer_ids))))
    theirs = bookings.loc[bookings["customer_id"].isin(ids).to_numpy()]
    return complaint_rate(feedback, theirs, as_of=as_of, period_days=period_days, store_ids=store_ids)


#: Columns of the reviews frame of :func:`model_accuracy` (a manager's verdict on a model call).
REVIEW_COLUMNS: Final = ("customer_id", "as_of", "model_label", "manual_label")


def model_accuracy(
    reviews: pd.DataFrame,
    *,
    as_of: AsOf,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
) -> KpiValue:
    """Model accuracy: model calls a manager reviewed in the period that the manager agreed with.

    Parameters
    ----------
    reviews : DataFrame
        :data:`REVIEW_COLUMNS` (``as_of`` = the day of the call reviewed), plus ``store_id`` (the
        customer's home store) when ``store_ids`` is given. Labels compare after stripping
        spaces and case-folding; rows missing either label are left out.

    Returns
    -------
    KpiValue
        numerator = agreeing reviews, denominator = reviews in the period.
    """
    require_columns(reviews, REVIEW_COLUMNS, what="reviews")
    r = filter_stores(reviews, store_ids).dropna(subset=["model_label", "manual_label"])
    r = r.loc[_period_mask(day_numbers(r["as_of"]), as_of, period_days)]
    model = r["model_label"].astype(str).str.strip().str.casefold()
    manual = r["manual_label"].astype(str).str.strip().str.casefold()
    return ratio(int((model == manual).sum()), len(r))


def incremental_roi(sent_revenue: Any, holdout_revenue: Any, cost: float) -> KpiValue:
    """Incremental ROI from per-row revenues of the two arms (DESIGN.md "Campaign ROI").

    Parameters
    ----------
    sent_revenue, holdout_revenue : array-like of float
        Revenue credited to each sent message / each holdout row (0 for those without a booking).
    cost : float
        Cost of the sent messages.

    Returns
    -------
    KpiValue
        value = (mean sent revenue − mean holdout revenue) × messages sent ÷ cost, with its 95%
        interval (normal approximation of the difference of means); numerator = incremental
        revenue; denominator = cost. ``value`` is ``None`` without a sent row, a holdout row or a
        cost.
    """
    sent = np.asarray(sent_revenue, dtype=float)
    hold = np.asarray(holdout_revenue, dtype=float)
    cost = float(cost)
    if len(sent) == 0 or len(hold) == 0:
        return KpiValue(None, None, cost)
    incremental = float(sent.mean() - hold.mean()) * len(sent)
    if cost <= 0:
        return KpiValue(None, incremental, cost)
    variance = (float(sent.var(ddof=1)) / len(sent) if len(sent) > 1 else 0.0) + (
        float(hold.var(ddof=1)) / len(hold) if len(hold) > 1 else 0.0
    )
    half = Z95 * float(np.sqrt(variance)) * len(sent) / cost
    value = incremental / cost
    return KpiValue(value, incremental, cost, value - half, value + half)


def _roi_values(
    sent: pd.DataFrame, sent_credit: pd.DataFrame, hold: pd.DataFrame, hold_credit: pd.DataFrame
) -> tuple[KpiValue, KpiValue]:
    """(incremental ROI, gross ROI) of the two arms (see :func:`campaign_roi`)."""
    cost = float(sent["cost"].astype(float).fillna(0.0).sum())
    per_sent = sent["message_id"].map(sent_credit.groupby("message_id")["revenue"].sum()).fillna(0.0).astype(float)
    per_hold = hold["message_id"].map(hold_credit.groupby("message_id")["revenue"].sum()).fillna(0.0).astype(float)
    return incremental_roi(per_sent.to_numpy(), per_hold.to_numpy(), cost), ratio(float(per_sent.sum()), cost)


def _uplift_value(sent: KpiValue, hold: KpiValue) -> KpiValue:
    if sent.value is None or hold.value is None:
        return KpiValue(None, None, hold.denominator)
    diff = sent.value - hold.value
    half = Z95 * float(
        np.sqrt(
            sent.value * (1 - sent.value) / float(sent.denominator or 1)
            + hold.value * (1 - hold.value) / float(hold.denominator or 1)
        )
    )
    return KpiValue(diff, None, hold.denominator, diff - half, diff + half)


# ------------------------------------------------------------------------------ board
def _restrict_customers(frame: pd.DataFrame | None, ids: np.ndarray | None) -> pd.DataFrame | None:
    if frame is None or ids is None:
        return frame
    return frame.loc[frame["customer_id"].isin(ids).to_numpy()]


def _board_values(
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    messages: pd.DataFrame | None,
    tasks: pd.DataFrame | None,
    feedback: pd.DataFrame | None,
    reviews: pd.DataFrame | None,
    *,
    as_of: AsOf,
    period_days: int,
    store_ids: Collection[int] | None,
    params: KpiParams,
    lifecycle_params: LifecycleParams,
) -> dict[str, KpiValue]:
    none = KpiValue(None, None, 0.0)
    values: dict[str, KpiValue] = {}
    # The stores' own world: what happened at them, whatever else the frames hold (a chain
    # admin's frames hold every store, a manager's only theirs — the figures must not differ).
    bookings = filter_stores(bookings, store_ids)
    messages = None if messages is None else filter_stores(messages, store_ids)
    tasks = None if tasks is None else filter_stores(tasks, store_ids)
    index = _visit_index(bookings, as_of)
    for n in params.revisit_n_days:
        # The cohort is the period's worth of visit days ending at as_of − N.
        for prefix, first in (("revisit_rate", False), ("first_revisit_rate", True)):
            values[f"{prefix}_{n}"] = _revisit_rate(
                index, as_of=as_of, n_days=n, period_days=period_days + n, first_visits_only=first, store_ids=None
            )
    values["revisit_interval_days"] = _revisit_interval(index, as_of=as_of, period_days=period_days, store_ids=None)

    if messages is not None:
        values["wake_up_rate"] = wake_up_rate(
            messages,
            bookings,
            None,
            as_of=as_of,
            window_days=params.wake_window_days,
            period_days=period_days,
            sleeping_days=lifecycle_params.sleeping_days,
            judged_only=True,
        )
        # Like the revisit rates, the board judges only messages whose window has closed.
        arm_kwargs: dict[str, Any] = {
            "as_of": as_of,
            "window_days": params.push_window_days,
            "period_days": period_days,
            "store_ids": None,
            "campaign_ids": None,
            "judged_only": True,
        }
        sent, sent_credit = _arm(messages, bookings, arm="sent", **arm_kwargs)
        hold, hold_credit = _arm(messages, bookings, arm="holdout", **arm_kwargs)
        sent_conv = ratio(int(sent["message_id"].isin(sent_credit["message_id"].unique()).sum()), len(sent))
        hold_conv = ratio(int(hold["message_id"].isin(hold_credit["message_id"].unique()).sum()), len(hold))
        values["push_conversion_rate"] = sent_conv
        values["push_holdout_conversion_rate"] = hold_conv
        values["push_uplift"] = _uplift_value(sent_conv, hold_conv)
        values["campaign_roi"], values["campaign_gross_roi"] = _roi_values(sent, sent_credit, hold, hold_credit)

    hv_as_of = as_of_day(as_of) - pd.Timedelta(days=params.high_value_window_days)
    rfm = rfm_table(bookings, as_of=hv_as_of)
    hv = rfm.loc[
        high_value_flags(rfm["monetary"], top_share=lifecycle_params.high_value_top_share).to_numpy(), "customer_id"
    ]
    if store_ids is not None:
        home = customers.drop_duplicates("customer_id").set_index("customer_id")["home_store_id"]
        hv = hv.loc[hv.map(home).isin(list(store_ids)).to_numpy()]
    hv_ids = pd.unique(hv.to_numpy())
    values["high_value_repurchase_rate"] = _high_value_repurchase(
        index, hv_ids, as_of=as_of, window_days=params.high_value_window_days, store_ids=None
    )

    if tasks is not None:
        values["task_completion_rate"] = task_completion_rate(tasks, as_of=as_of, period_days=period_days)
    if feedback is not None:
        values["complaint_rate"] = complaint_rate(feedback, bookings, as_of=as_of, period_days=period_days)
        values["high_value_complaint_rate"] = high_value_complaint_rate(
            feedback, bookings, hv_ids, as_of=as_of, period_days=period_days
        )
    if reviews is not None:
        values["model_accuracy"] = model_accuracy(reviews, as_of=as_of, period_days=period_days, store_ids=store_ids)
    values.update(status_rates(bookings, as_of=as_of, period_days=period_days))
    values["cross_store_share"] = cross_store_share(bookings, customers, as_of=as_of, period_days=period_days)
    return {key: values.get(key, none) for key in KPI_KEYS}


def kpi_board(
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    messages: pd.DataFrame | None = None,
    tasks: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    *,
    reviews: pd.DataFrame | None = None,
    as_of: AsOf,
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
    customer_ids: Collection[int] | None = None,
    params: KpiParams | None = None,
    lifecycle_params: LifecycleParams | None = None,
    include_previous: bool = True,
) -> pd.DataFrame:
    """All KPIs for the period ending on as-of, with the previous period for comparison.

    Parameters
    ----------
    bookings, customers, messages, tasks, feedback : DataFrame
        See the module docstring; ``messages``, ``tasks``, ``feedback`` may be ``None`` (their
        KPIs are then ``None``).
    reviews : DataFrame, optional
        Managers' reviews of model calls (:func:`model_accuracy`); ``None``: no accuracy.
    as_of : date-like
    period_days : int
        Length of the period; the previous period is the same KPI as of ``as_of − period_days``.
        Revisit-rate-N cohorts are the ``period_days`` of visit days ending at ``as_of − N``.
    store_ids : optional
        The stores: every KPI is computed from what happened at them (module docstring). High-value
        repurchase and complaints cover the high-value customers (by spend at the stores) whose
        home store is one of them.
    customer_ids : optional
        Restrict every frame to these customers (used by :func:`kpi_by` for segments).
    params, lifecycle_params : optional
        Attribution windows and the sleeping / high-value thresholds.
    include_previous : bool
        Compute the previous period (``previous_value``/``delta`` are NaN otherwise).

    Returns
    -------
    DataFrame
        :data:`BOARD_COLUMNS`, one row per :data:`KPI_KEYS` entry in that order; missing values
        are NaN; ``delta = value − previous_value``; ``low``/``high`` the 95% interval.
    """
    params = params or KpiParams()
    lifecycle_params = lifecycle_params or LifecycleParams()
    require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
    ids = None if customer_ids is None else np.asarray(list(customer_ids))
    b = bookings if ids is None else bookings.loc[bookings["customer_id"].isin(ids).to_numpy()]
    c = customers if ids is None else customers.loc[customers["customer_id"].isin(ids).to_numpy()]
    m = _restrict_customers(messages, ids)
    t = _restrict_customers(tasks, ids)
    f = feedback
    if feedback is not None and ids is not None:
        f = feedback.loc[feedback["booking_id"].isin(b["booking_id"]).to_numpy()]
    r = _restrict_customers(reviews, ids)
    kwargs: dict[str, Any] = {
        "period_days": period_days,
        "store_ids": store_ids,
        "params": params,
        "lifecycle_params": lifecycle_params,
    }
    now = _board_values(b, c, m, t, f, r, as_of=as_of, **kwargs)
    before: dict[str, KpiValue] = {}
    if include_previous:
        prev_as_of = as_of_day(as_of) - pd.Timedelta(days=period_days)
        before = _board_values(b, c, m, t, f, r, as_of=prev_as_of, **kwargs)
    rows = []
    for key in KPI_KEYS:
        cur = now[key]
        prev = before.get(key)
        prev_value = None if prev is None else prev.value
        low, high = cur.low, cur.high
        if low is None and cur.value is not None and KPI_UNITS[key] == "share" and cur.numerator is not None:
            low, high = wilson_interval(cur.numerator, float(cur.denominator or 0)) or (None, None)
        rows.append(
            {
                "kpi": key,
                "value": cur.value,
                "numerator": cur.numerator,
                "denominator": cur.denominator,
                "low": low,
                "high": high,
                "previous_value": prev_value,
                "delta": (None if cur.value is None or prev_value is None else cur.value - prev_value),
            }
        )
    out = pd.DataFrame(rows, columns=list(BOARD_COLUMNS))
    for column in BOARD_COLUMNS[1:]:
        out[column] = out[column].astype(float)
    return out


def kpi_by(
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    messages: pd.DataFrame | None = None,
    tasks: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    *,
    reviews: pd.DataFrame | None = None,
    as_of: AsOf,
    by: Literal["store", "segment"] = "store",
    segments: pd.DataFrame | None = None,
    segment_column: str = "lifecycle_segment",
    period_days: int = 30,
    store_ids: Collection[int] | None = None,
    params: KpiParams | None = None,
    lifecycle_params: LifecycleParams | None = None,
    include_previous: bool = True,
) -> pd.DataFrame:
    """The board per store or per customer segment (long format).

    Parameters
    ----------
    by : {"store", "segment"}
        ``"store"``: one board per store of the bookings (within ``store_ids``).
        ``"segment"``: one board per value of ``segments[segment_column]``, each restricted to
        that segment's customers (segments are as of the as-of day for both periods).
    segments : DataFrame, optional
        ``customer_id`` and ``segment_column``; required for ``by="segment"`` (e.g. the
        output of :func:`core.scoring.score_customers`).

    Returns
    -------
    DataFrame
        ``group`` then :data:`BOARD_COLUMNS`.
    """
    common: dict[str, Any] = {
        "as_of": as_of,
        "period_days": period_days,
        "params": params,
        "reviews": reviews,
        "lifecycle_params": lifecycle_params,
        "include_previous": include_previous,
    }
    boards = []
    if by == "store":
        require_columns(bookings, KPI_BOOKING_COLUMNS, what="bookings")
        stores = pd.unique(filter_stores(bookings, store_ids)["store_id"].dropna())
        for store in sorted(stores):  # one board per store (dozens), not per customer
            board = kpi_board(bookings, customers, messages, tasks, feedback, store_ids=[store], **common)
            boards.append(board.assign(group=store))
    elif by == "segment":
        if segments is None:
            raise ValueError("kpi_by(by='segment') needs a segments frame")
        require_columns(segments, ("customer_id", segment_column), what="segments")
        for name, members in segments.groupby(segment_column, sort=True):
            board = kpi_board(
                bookings,
                customers,
                messages,
                tasks,
                feedback,
                store_ids=store_ids,
                customer_ids=members["customer_id"].to_numpy(),
                **common,
            )
            boards.append(board.assign(group=name))
    else:
        raise ValueError(f"by must be 'store' or 'segment', not {by!r}")
    if not boards:
        return _empty(("group", *BOARD_COLUMNS))
    out = pd.concat(boards, ignore_index=True)
    return out.loc[:, ["group", *BOARD_COLUMNS]]


def kpi_trend(
    bookings: pd.DataFrame,
    customers: pd.DataFrame,
    messages: pd.DataFrame | None = None,
    tasks: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    *,
    reviews: pd.DataFrame | None = None,
    as_of: AsOf,
    periods: int = 12,
    freq: str = "MS",
    store_ids: Collection[int] | None = None,
    params: KpiParams | None = None,
    lifecycle_params: LifecycleParams | None = None,
) -> pd.DataFrame:
    """KPI series: one board per calendar period (default: month) up to as-of.

    Each period runs from its start (``pd.date_range(..., freq=freq)``) to the day before the
    next start, the last one to the as-of day (a partial period).

    Returns
    -------
    DataFrame
        ``period_start``, ``period_end``, ``kpi``, ``value``, ``numerator``, ``denominator``.
    """
    end = as_of_day(as_of)
    starts = pd.date_range(end=end, periods=periods, freq=freq)
    if len(starts) == 0 or starts[-1] > end:
        starts = starts[starts <= end]
    rows = []
    for i, start in enumerate(starts):  # one board per period (a dozen), not per customer
        stop = starts[i + 1] - pd.Timedelta(days=1) if i + 1 < len(starts) else end
        board = kpi_board(
            bookings,
            customers,
            messages,
            tasks,
            feedback,
            reviews=reviews,
            as_of=stop,
            period_days=int((stop - start).days) + 1,
            store_ids=store_ids,
            params=params,
            lifecycle_params=lifecycle_params,
            include_previous=False,
        )
        rows.append(board.assign(period_start=start, period_end=stop))
    if not rows:
        return _empty(("period_start", "period_end", "kpi", "value", "numerator", "denominator"))
    out = pd.concat(rows, ignore_index=True)
    return out.loc[:, ["period_start", "period_end", "kpi", "value", "numerator", "denominator"]]


__all__ = [
    "KPI_KEYS",
    "KpiValue",
    "attribute_bookings",
    "campaign_gross_roi",
    "campaign_roi",
    "complaint_rate",
    "cross_store_share",
    "high_value_complaint_rate",
    "high_value_repurchase_rate",
    "incremental_roi",
    "kpi_board",
    "kpi_by",
    "kpi_trend",
    "model_accuracy",
    "push_to_booking_conversion",
    "push_uplift",
    "ratio",
    "revisit_interval",
    "revisit_rate",
    "status_rates",
    "task_completion_rate",
    "wake_up_rate",
    "wilson_interval",
]


def compare_groups(by_group: pd.DataFrame, *, kpis: Collection[str] | None = None) -> pd.DataFrame:
    """Each group's KPI against the median of the groups (chain median), with a rank.

    Parameters
    ----------
    by_group : DataFrame
        From :func:`kpi_by`: ``group``, ``kpi``, ``value``.
    kpis : optional
        Keep these KPIs (default: all).

    Returns
    -------
    DataFrame
        ``group``, ``kpi``, ``value``, ``group_median`` (median of the groups' values),
        ``vs_median`` (value − median), ``rank`` (1 = best; lower-is-better KPIs rank ascending;
        NaN values rank last).
    """
    require_columns(by_group, ("group", "kpi", "value"), what="by_group")
    frame = by_group.loc[:, ["group", "kpi", "value"]].copy()
    if kpis is not None:
        frame = frame.loc[frame["kpi"].isin(list(kpis)).to_numpy()]
    frame["value"] = frame["value"].astype(float)
    frame["group_median"] = frame.groupby("kpi")["value"].transform("median")
    frame["vs_median"] = frame["value"] - frame["group_median"]
    ranks = []
    for kpi, part in frame.groupby("kpi", sort=False):  # one pass per KPI (a dozen)
        ascending = kpi in KPI_LOWER_IS_BETTER
        ranks.append(part["value"].rank(method="min", ascending=ascending, na_option="bottom"))
    frame["rank"] = pd.concat(ranks).reindex(frame.index).astype(np.int64) if ranks else pd.Series(dtype=np.int64)
    return frame.reset_index(drop=True)
