"""RFM table: recency, frequency, monetary, quintile scores and the two segment schemes.

Definitions (DESIGN.md "Metric dictionary"): R = days since the last visit; F = visits in the
lookback (default 365 d); M = spend (``amount + addon_amount``) of those visits. A visit is a
booking with status ``completed``. Scores 1–5 by quintile rank.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from core.columns import require_columns
from core.params import AsOf, RfmParams, day_number, day_numbers, visits_as_of

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
    CHAMPIONS, LOYAL, POTENTIAL_LOYALIST, NEW_CUSTOMERS, PROMISING, NEED_ATTENTION,
    ABOUT_TO_SLEEP, AT_RISK, CANNOT_LOSE_THEM, HIBERNATING, LOST,
)

#: The standard R/F score grid: ``RF_SEGMENT_GRID[r - 1][f - 1]``. It is the widely used
#: R×F map (Champions = R5 F4–5, Loyal = R3–4 F4–5, Potential Loyalist = R4–5 F2–3,
#: New Customers = R5 F1, Promising = R4 F1, Need Attention = R3 F3, About to Sleep = R3 F1–2,
#: At Risk = R1–2 F3–4, Cannot Lose Them = R1–2 F5, Hibernating = R1–2 F1–2) with its lowest
#: corner split off as Lost: R1 F1–2 (the oldest fifth with the fewest visits).
RF_SEGMENT_GRID: Final = (
    # f=1          f=2             f=3                 f=4               f=5
    (LOST,           LOST,           AT_RISK,            AT_RISK,          CANNOT_LOSE_THEM),  # r=1
    (HIBERNATING,    HIBERNATING,    AT_RISK,            AT_RISK,          CANNOT_LOSE_THEM),  # r=2
    (ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEED_ATTENTION,     LOYAL,            LOYAL),             # r=3
    (PROMISING,      POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, LOYAL,        LOYAL),             # r=4
    (NEW_CUSTOMERS,  POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, CHAMPIONS,    CHAMPIONS),         # r=5
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
    CHAMPIONS: SegmentAction("champions", "reward_and_refer",
                             "Reward them; ask for referrals; offer early access"),
    LOYAL: SegmentAction("loyal", "upsell_membership",
                         "Upsell higher-value services or a membership; ask for reviews"),
    POTENTIAL_LOYALIST: SegmentAction("potential_loyalist", "offer_membership",
                                      "Offer a membership or loyalty plan; recommend a next service"),
    NEW_CUSTOMERS: SegmentAction("new_customers", "onboard",
                                 "Welcome them; book the second visit before they leave"),
    PROMISING: SegmentAction("promising", "build_habit",
                             "Give a reason to come back soon: a small return-visit offer"),
    NEED_ATTENTION: SegmentAction("need_attention", "limited_offer",
                                  "Send a time-limited offer based on past services"),
    ABOUT_TO_SLEEP: SegmentAction("about_to_sleep", "reconnect",
                                  "Reconnect with a reminder and a popular service"),
    AT_RISK: SegmentAction("at_risk", "personal_winback",
                           "Send a personal message; offer something they valued before"),
    CANNOT_LOSE_THEM: SegmentAction("cannot_lose_them", "call_personally",
                                    "Call them personally; win them back with their favourite staff"),
    HIBERNATING: SegmentAction("hibernating", "reactivation_offer",
                               "Send a reactivation offer; otherwise keep costs low"),
    LOST: SegmentAction("lost", "low_cost_winback",
                        "Try one low-cost win-back campaign, then stop messaging"),
    "重要价值客户": SegmentAction("important_value", "vip_care",
                            "Keep them delighted: VIP care, priority booking, exclusive perks"),
    "重要发展客户": SegmentAction("important_develop", "raise_frequency",
                            "Raise visit frequency: package or membership, next-visit booking"),
    "重要保持客户": SegmentAction("important_retain", "recall_now",
                            "Recall now: they used to come often; personal reminder or call"),
    "重要挽留客户": SegmentAction("important_winback", "winback_high_value",
                            "Win back with a strong personal offer before they are lost"),
    "一般价值客户": SegmentAction("general_value", "upsell",
                            "Raise spend: add-ons, premium services, bundles"),
    "一般发展客户": SegmentAction("general_develop", "nurture",
                            "Nurture: welcome series and a return-visit coupon"),
    "一般保持客户": SegmentAction("general_retain", "reactivate",
                            "Reactivate with a reminder and a modest offer"),
    "一般挽留客户": SegmentAction("general_winback", "low_priority",
                            "Low priority: include only in low-cost mass campaigns"),
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
        means = pd.DataFrame(np.broadcast_to(overall.to_numpy(), values.shape),
                             index=values.index, columns=cols)
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
    visits = visits_as_of(bookings, as_of, columns=RFM_BOOKING_COLUMNS)
    today = day_number(as_of)
    day = day_numbers(visits["scheduled_at"])
    spend = (visits["amount"].astype(float).fillna(0.0).to_numpy()
             + visits["addon_amount"].astype(float).fillna(0.0).to_numpy())
    in_lookback = day > today - params.lookback_days
    work = pd.DataFrame({
        "customer_id": visits["customer_id"].to_numpy(),
        "day": day,
        "in_lookback": in_lookback.astype(np.int64),
        "spend": np.where(in_lookback, spend, 0.0),
    })
    grouped = work.groupby("customer_id", sort=True)
    out = pd.DataFrame({
        "recency_days": (today - grouped["day"].max()).astype(np.int64),
        "frequency": grouped["in_lookback"].sum().astype(np.int64),
        "monetary": grouped["spend"].sum().astype(float),
    })
    out.index.name = "customer_id"
    out = out.reset_index()
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
