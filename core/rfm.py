"""RFM table: recency, frequency, monetary, quintile scores and the two segment schemes.

Definitions (DESIGN.md "Metric dictionary"): R = days since the last visit; F = visits in the
lookback (default 365 d); M = spend (``amount + addon_amount``) of those visits. A visit is a
booking with status ``completed``. Scores 1–5 by quintile rank.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from core.aggregates import codes_for
from core.columns import VISIT_STATUS, require_columns
from core.params import AsOf, RfmParams, as_of_cutoff, day_number
from core.spend import visit_spend

#: Booking columns :func:`rfm_table` reads.
RFM_BOOKING_COLUMNS: Final = ("customer_id", "scheduled_at", "status", "amount", "addon_amount")

#: Columns of the frame :func:`rfm_table` returns, in order.
RFM_COLUMNS: Final = (
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "rfm8_segment",
)

# ----------------------------------------------------------------------- 11-class scheme
CHAMPIONS: Final = "Champions"
LOYAL: Final = "Loyal"
POTENTIAL_LOYALIST: Final = "Potential Loyalist"
NEW_CUSTOMERS: Final = "New Customers"
PROMISING: Final = "Promising"
NEED_ATTENTION: Final = "Need Attention"
ABOUT_TO_SLEEP: Final = "About to Sleep"
AT_RISK: Final = "At Risk"
CANNOT_LOSE_THEM: Final = "Cannot Lose Them"
HIBERNATING: Final = "Hibernating"
LOST: Final = "Lost"

RFM11_SEGMENTS: Final = (
    CHAMPIONS,
    LOYAL,
    POTENTIAL_LOYALIST,
    NEW_CUSTOMERS,
    PROMISING,
    NEED_ATTENTION,
    ABOUT_TO_SLEEP,
    AT_RISK,
    CANNOT_LOSE_THEM,
    HIBERNATING,
    LOST,
)

#: The standard R/F score grid: ``RF_SEGMENT_GRID[r - 1][f - 1]``. It is the widely used
#: R×F map (Champions = R5 F4–5, Loyal = R3–4 F4–5, Potential Loyalist = R4–5 F2–3,
#: New Customers = R5 F1, Promising = R4 F1, Need Attention = R3 F3, About to Sleep = R3 F1–2,
#: At Risk = R1–2 F3–4, Cannot Lose Them = R1–2 F5, Hibernating = R1–2 F1–2) with its lowest
#: corner split off as Lost: R1 F1–2 (the oldest fifth with the fewest visits).
RF_SEGMENT_GRID: Final = (
    # f=1          f=2             f=3                 f=4               f=5
    (LOST, LOST, AT_RISK, AT_RISK, CANNOT_LOSE_THEM),  # r=1
    (HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANNOT_LOSE_THEM),  # r=2
    (ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEED_ATTENTION, LOYAL, LOYAL),  # r=3
    (PROMISING, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, LOYAL, LOYAL),  # r=4
    (NEW_CUSTOMERS, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, CHAMPIONS, CHAMPIONS),  # r=5
)

# ------------------------------------------------------------------------ 8-class scheme
#: (R high, F high, M high) → segment name. "High" means R: recency ≤ store mean;
#: F, M: ≥ store mean.
RFM8_BY_FLAGS: Final = {
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}
RFM8_SEGMENTS: Final = tuple(RFM8_BY_FLAGS.values())


@dataclass(frozen=True)
class SegmentAction:
    """Recommended action for a segment; pages translate ``segment_key``/``action_key``."""

    segment_key: str
    action_key: str
    text: str


#: Segment name (either scheme) → stable keys and the English action text.
SEGMENT_ACTIONS: Final[Mapping[str, SegmentAction]] = {
    CHAMPIONS: SegmentAction("champions", "reward_and_refer", "Reward them; ask for referrals; offer early access"),
    LOYAL: SegmentAction("loyal", "upsell_membership", "Upsell higher-value services or a membership; ask for reviews"),
    POTENTIAL_LOYALIST: SegmentAction(
        "potential_loyalist", "offer_membership", "Offer a membership or loyalty plan; recommend a next service"
    ),
    NEW_CUSTOMERS: SegmentAction("new_customers", "onboard", "Welcome them; book the second visit before they leave"),
    PROMISING: SegmentAction("promising", "build_habit", "Give a reason to come back soon: a small return-visit offer"),
    NEED_ATTENTION: SegmentAction(
        "need_attention", "limited_offer", "Send a time-limited offer based on past services"
    ),
    ABOUT_TO_SLEEP: SegmentAction("about_to_sleep", "reconnect", "Reconnect with a reminder and a popular service"),
    AT_RISK: SegmentAction(
        "at_risk", "personal_winback", "Send a personal message; offer something they valued before"
    ),
    CANNOT_LOSE_THEM: SegmentAction(
        "cannot_lose_them", "call_personally", "Call them personally; win them back with their favourite staff"
    ),
    HIBERNATING: SegmentAction(
        "hibernating", "reactivation_offer", "Send a reactivation offer; otherwise keep costs low"
    ),
    LOST: SegmentAction("lost", "low_cost_winback", "Try one low-cost win-back campaign, then stop messaging"),
    "重要价值客户": SegmentAction(
        "important_value", "vip_care", "Keep them delighted: VIP care, priority booking, exclusive perks"
    ),
    "重要发展客户": SegmentAction(
        "important_develop", "raise_frequency", "Raise visit frequency: package or membership, next-visit booking"
    ),
    "重要保持客户": SegmentAction(
        "important_retain", "recall_now", "Recall now: they used to come often; personal reminder or call"
    ),
    "重要挽留客户": SegmentAction(
        "important_winback", "winback_high_value", "Win back with a strong personal offer before they are lost"
    ),
    "一般价值客户": SegmentAction("general_value", "upsell", "Raise spend: add-ons, premium services, bundles"),
    "一般发展客户": SegmentAction("general_develop", "nurture", "Nurture: welcome series and a return-visit coupon"),
    "一般保持客户": SegmentAction("general_retain", "reactivate", "Reactivate with a reminder and a modest offer"),
    "一般挽留客户": SegmentAction(
        "general_winback", "low_priority", "Low priority: include only in low-cost mass campaigns"
    ),
}


def quintile_scores(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Scores 1–5 by quintile of rank.

    Ties are broken by position (``rank(method="first")``, so callers sort first for
    determinism); each of ``n`` values gets ``floor((rank − 0.5) / n × 5) + 1``, which yields five
    equal bins when ``n`` is a multiple of 5 and spreads fewer than five values evenly (one value
    scores 3).

    Parameters
    ----------
    values : Series
        The measure to score.
    higher_is_better : bool
        When False (recency), smaller values get higher scores.

    Returns
    -------
    Series
        ``int64`` scores 1–5 with the index of ``values``.
    """
    n = len(values)
    if n == 0:
        return pd.Series(np.empty(0, dtype=np.int64), index=values.index)
    ranked = values.rank(method="first", ascending=higher_is_better).to_numpy()
    scores = np.floor((ranked - 0.5) / n * 5).astype(np.int64) + 1
    return pd.Series(np.clip(scores, 1, 5), index=values.index)


def rfm11_segment(r_score: pd.Series, f_score: pd.Series) -> pd.Series:
    """Map R and F scores (1–5) to the 11-class segment through :data:`RF_SEGMENT_GRID`."""
    grid = np.array(RF_SEGMENT_GRID, dtype=object)
    r = r_score.to_numpy(dtype=np.int64) - 1
    f = f_score.to_numpy(dtype=np.int64) - 1
    return pd.Series(grid[r, f], index=r_score.index, dtype=object)


def rfm8_segment(rfm: pd.DataFrame, *, store: pd.Series | None = None) -> pd.Series:
    """The 8-class segment: R, F and M each compared with the (store) mean.

    Parameters
    ----------
    rfm : DataFrame
        Columns ``recency_days``, ``frequency``, ``monetary``.
    store : Series, optional
        Home store per row (aligned to ``rfm``); means are taken within each store. Rows with
        no store are compared with the overall mean.

    Returns
    -------
    Series
        Segment names (values of :data:`RFM8_BY_FLAGS`).
    """
    require_columns(rfm, ("recency_days", "frequency", "monetary"), what="rfm")
    cols = ["recency_days", "frequency", "monetary"]
    values = rfm[cols].astype(float)
    overall = values.mean()
    if store is None:
        means = pd.DataFrame(np.broadcast_to(overall.to_numpy(), values.shape), index=values.index, columns=cols)
    else:
        key = pd.Series(store, index=rfm.index)
        means = values.groupby(key.to_numpy(), dropna=False).transform("mean")
        means = means.fillna(overall)
        means.loc[key.isna().to_numpy()] = overall.to_numpy()
    r_high = values["recency_days"].to_numpy() <= means["recency_days"].to_numpy()
    f_high = values["frequency"].to_numpy() >= means["frequency"].to_numpy()
    m_high = values["monetary"].to_numpy() >= means["monetary"].to_numpy()
    names = np.empty(len(values), dtype=object)
    for (r, f, m), name in RFM8_BY_FLAGS.items():  # 8 vectorised masks, not a row loop
        names[(r_high == r) & (f_high == f) & (m_high == m)] = name
    return pd.Series(names, index=rfm.index, dtype=object)


def rfm_table(
    bookings: pd.DataFrame,
    *,
    as_of: AsOf,
    params: RfmParams | None = None,
    store_of: Mapping[int, int] | pd.Series | None = None,
) -> pd.DataFrame:
    """One RFM row per customer with at least one visit up to ``as_of``.

    Parameters
    ----------
    bookings : DataFrame
        Columns :data:`RFM_BOOKING_COLUMNS` (see ``BOOKING_COLUMNS``). Only ``completed``
        bookings scheduled up to the end of the ``as_of`` day are used.
    as_of : date-like
        The end of this day is the cut-off.
    params : RfmParams, optional
        ``lookback_days`` for F and M.
    store_of : mapping or Series, optional
        ``customer_id → home store id``; when given, the 8-class segment compares each customer
        with the mean of their home store, otherwise with the mean over all customers.

    Returns
    -------
    DataFrame
        Columns :data:`RFM_COLUMNS`, sorted by ``customer_id``:
        ``recency_days`` (int, days from the last visit date to the as-of date),
        ``frequency`` (int, visits — completed bookings — in the lookback; 0 when the last visit
        is older), ``monetary`` (float, ``amount + addon_amount`` of those visits),
        ``r_score``/``f_score``/``m_score`` (1–5 by quintile rank; R: more recent is higher),
        ``rfm_segment`` (11-class, :data:`RF_SEGMENT_GRID`), ``rfm8_segment`` (8-class).
    """
    params = params or RfmParams()
    require_columns(bookings, RFM_BOOKING_COLUMNS, what="bookings")
    today = day_number(as_of)
    ts = bookings["scheduled_at"]
    if ts.dtype != "datetime64[ns]":
        ts = pd.to_datetime(ts).astype("datetime64[ns]")
    ns = ts.to_numpy().view(np.int64)
    visit = (
        (ns < as_of_cutoff(as_of).value)
        & ~np.isnat(ts.to_numpy())
        & bookings["status"].eq(VISIT_STATUS).to_numpy(dtype=bool, na_value=False)
    )
    day = ns[visit] // 86_400_000_000_000
    spend = visit_spend(bookings).to_numpy()[visit]
    code, ids = codes_for(bookings["customer_id"].to_numpy()[visit])
    n = len(ids)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, code, day)
    in_lookback = day > today - params.lookback_days
    out = pd.DataFrame(
        {
            "customer_id": ids,
            "recency_days": (today - last).astype(np.int64),
            "frequency": np.bincount(code[in_lookback], minlength=n).astype(np.int64),
            "monetary": np.bincount(code[in_lookback], weights=spend[in_lookback], minlength=n).astype(float),
        }
    )
    return _finish_rfm(out, store_of)


def rfm_from_aggregates(
    aggregates: pd.DataFrame,
    *,
    as_of: AsOf,
    store_of: Mapping[int, int] | pd.Series | None = None,
) -> pd.DataFrame:
    """:func:`rfm_table` from per-customer aggregates (:func:`core.aggregates.customer_aggregates`).

    ``aggregates`` needs ``customer_id``, ``n_visits``, ``last_visit_day``, ``frequency`` and
    ``monetary`` computed with the same ``as_of`` and lookback; the result equals
    ``rfm_table(bookings, as_of=as_of, store_of=store_of)`` on the bookings they came from.
    """
    require_columns(
        aggregates, ("customer_id", "n_visits", "last_visit_day", "frequency", "monetary"), what="aggregates"
    )
    visited = aggregates.loc[aggregates["n_visits"].to_numpy() > 0]
    visited = visited.sort_values("customer_id", kind="stable")
    out = pd.DataFrame(
        {
            "customer_id": visited["customer_id"].to_numpy(),
            "recency_days": (day_number(as_of) - visited["last_visit_day"].to_numpy()).astype(np.int64),
            "frequency": visited["frequency"].to_numpy().astype(np.int64),
            "monetary": visited["monetary"].to_numpy().astype(float),
        }
    )
    return _finish_rfm(out, store_of)


def _finish_rfm(out: pd.DataFrame, store_of: Mapping[int, int] | pd.Series | None) -> pd.DataFrame:
    """Scores and segments of an R/F/M frame sorted by customer_id."""
    out["r_score"] = quintile_scores(out["recency_days"], higher_is_better=False)
    out["f_score"] = quintile_scores(out["frequency"])
    out["m_score"] = quintile_scores(out["monetary"])
    out["rfm_segment"] = rfm11_segment(out["r_score"], out["f_score"])
    store = None
    if store_of is not None:
        mapping = store_of if isinstance(store_of, pd.Series) else pd.Series(dict(store_of))
        store = out["customer_id"].map(mapping)
    out["rfm8_segment"] = rfm8_segment(out, store=store)
    return out.loc[:, list(RFM_COLUMNS)]


# ------------------------------------------------------------------ summaries for the pages
def rfm_grid(scores: pd.DataFrame) -> pd.DataFrame:
    """Customers and spend per R × F score cell (customers with scores only).

    Returns
    -------
    DataFrame
        ``r_score``, ``f_score`` (1–5, all 25 cells), ``customers`` (int), ``monetary`` (sum),
        ``avg_monetary`` (NaN for an empty cell).
    """
    require_columns(scores, ("r_score", "f_score", "monetary"), what="scores")
    scored = scores.loc[scores["r_score"].notna().to_numpy() & scores["f_score"].notna().to_numpy()]
    grouped = scored.groupby([scored["r_score"].astype(np.int64), scored["f_score"].astype(np.int64)])
    table = pd.DataFrame({"customers": grouped.size(), "monetary": grouped["monetary"].sum()})
    full = pd.MultiIndex.from_product([range(1, 6), range(1, 6)], names=["r_score", "f_score"])
    table = table.reindex(full).fillna({"customers": 0, "monetary": 0.0})
    table["customers"] = table["customers"].astype(np.int64)
    table["avg_monetary"] = table["monetary"] / table["customers"].where(table["customers"] > 0)
    return table.reset_index()


def segment_summary(scores: pd.DataFrame, *, column: str = "rfm_segment") -> pd.DataFrame:
    """Size, share, spend and recency per segment, largest first, with the action keys.

    Returns
    -------
    DataFrame
        ``segment``, ``customers``, ``share`` (of customers with a segment), ``monetary`` (sum),
        ``avg_monetary``, ``avg_recency_days``, ``segment_key``, ``action_key`` (from
        :data:`SEGMENT_ACTIONS`; the segment name itself when unknown).
    """
    require_columns(scores, (column, "monetary", "recency_days"), what="scores")
    named = scores.loc[
        scores[column].notna().to_numpy() & ~scores[column].astype(str).isin(["nan", "None", "<NA>", ""]).to_numpy()
    ]
    grouped = named.groupby(named[column].astype(str))
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "monetary": grouped["monetary"].sum().astype(float),
            "avg_recency_days": grouped["recency_days"].apply(lambda s: s.astype(float).mean()),
        }
    )
    out.index.name = "segment"
    out = out.reset_index()
    total = out["customers"].sum()
    out["share"] = out["customers"] / total if total else 0.0
    out["avg_monetary"] = out["monetary"] / out["customers"]
    out["segment_key"] = [SEGMENT_ACTIONS[s].segment_key if s in SEGMENT_ACTIONS else s for s in out["segment"]]
    out["action_key"] = [SEGMENT_ACTIONS[s].action_key if s in SEGMENT_ACTIONS else s for s in out["segment"]]
    out = out.sort_values(["customers", "segment"], ascending=[False, True], kind="stable")
    return out.loc[
        :,
        ["segment", "customers", "share", "monetary", "avg_monetary", "avg_recency_days", "segment_key", "action_key"],
    ].reset_index(drop=True)


def default_migration_span(dates: list[date], *, min_days: int = 28) -> tuple[date, date] | None:
    """The migration a manager sees first: from the latest snapshot day at least ``min_days``
    before the newest one (month over month) to the newest; the two latest days when the history
    is shorter; None with fewer than two days. ``dates`` ascending."""
    if len(dates) < 2:
        return None
    end = dates[-1]
    month_before = [d for d in dates[:-1] if (end - d).days >= min_days]
    return (month_before[-1] if month_before else dates[-2]), end


def segment_migration(
    snapshots: pd.DataFrame, *, from_date: object, to_date: object, column: str = "rfm_segment"
) -> pd.DataFrame:
    """Customers moving between segments from one snapshot day to another.

    Customers present on both days only; a missing segment (no visit yet) reads ``"none"``.

    Returns
    -------
    DataFrame
        ``source``, ``target``, ``customers``, largest flows first.
    """
    require_columns(snapshots, ("as_of", "customer_id", column), what="snapshots")
    day = pd.to_datetime(snapshots["as_of"])
    before = snapshots.loc[day.eq(pd.Timestamp(from_date)).to_numpy(), ["customer_id", column]]
    after = snapshots.loc[day.eq(pd.Timestamp(to_date)).to_numpy(), ["customer_id", column]]
    pairs = before.merge(after, on="customer_id", suffixes=("_from", "_to"))
    for side in ("_from", "_to"):
        values = pairs[column + side].astype(object)
        pairs[column + side] = values.where(values.notna(), "none").astype(str)
    flows = pairs.groupby([column + "_from", column + "_to"]).size().rename("customers").reset_index()
    flows.columns = ["source", "target", "customers"]
    return flows.sort_values(
        ["customers", "source", "target"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
