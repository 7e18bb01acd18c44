"""Honest campaign results: conversion, uplift against the holdout with a small-sample interval,
attributed revenue and ROI, A/B verdicts, and "which timing and script works best".

Attribution reuses :func:`core.kpi.attribute_bookings` over *all* campaigns' messages, so each
booking is credited to at most one message (the latest before it within the window); run
:func:`message_outcomes` once and pass it to every :func:`campaign_results` call that reads a
subset of those messages.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from core.campaigns.stats import fisher_compare, newcombe_difference
from core.columns import require_columns
from core.kpi import MESSAGE_COLUMNS, attribute_bookings, incremental_roi, wake_up_rate
from core.params import as_of_cutoff

RESULT_MESSAGE_COLUMNS: Final = (*MESSAGE_COLUMNS, "variant")

#: Columns of :func:`campaign_results` after the group columns.
RESULT_COLUMNS: Final = (
    "messages",
    "queued",
    "sent",
    "pending",
    "failed",
    "suppressed",
    "holdout",
    "holdout_pending",
    "converted",
    "conversion",
    "holdout_converted",
    "holdout_conversion",
    "uplift",
    "uplift_low",
    "uplift_high",
    "revenue",
    "cost",
    "incremental_revenue",
    "roi",
    "roi_low",
    "roi_high",
    "gross_roi",
)


#: Columns of :func:`message_outcomes`.
OUTCOME_COLUMNS: Final = ("message_id", "revenue")


def _credited(
    messages: pd.DataFrame, bookings: pd.DataFrame, *, as_of: Any, window_days: int, arm: str
) -> pd.DataFrame:
    if messages.empty or bookings.empty:
        return pd.DataFrame({"message_id": pd.Series(dtype=np.int64), "revenue": pd.Series(dtype=float)})
    return attribute_bookings(messages, bookings, as_of=as_of, window_days=window_days, arm=arm)  # type: ignore[arg-type]


def window_closed(sent_at: pd.Series, *, as_of: Any, window_days: int) -> pd.Series:
    """True where a message sent (holdout: scheduled) at ``sent_at`` has had its whole attribution
    window by the end of the as-of day: the cut of ``judged_only`` in :mod:`core.kpi`."""
    times = pd.to_datetime(sent_at)
    return times.notna() & times.lt(as_of_cutoff(as_of) - pd.Timedelta(days=window_days))


def message_outcomes(
    messages: pd.DataFrame, bookings: pd.DataFrame, *, as_of: Any, window_days: int = 7
) -> pd.DataFrame:
    """The messages credited a booking, each arm by :func:`core.kpi.attribute_bookings`.

    Returns
    -------
    DataFrame
        :data:`OUTCOME_COLUMNS`: one row per credited ``sent`` or ``holdout`` message with the
        revenue of its bookings. Computed over all of ``messages``, so tables built from subsets
        of them (per campaign, per variant) credit every booking to the same one message.
    """
    require_columns(messages, MESSAGE_COLUMNS, what="messages")
    arms = [
        _credited(messages, bookings, as_of=as_of, window_days=window_days, arm=arm)
        .groupby("message_id")["revenue"]
        .sum()
        for arm in ("sent", "holdout")
    ]
    per_message = pd.concat(arms)
    return pd.DataFrame(
        {"message_id": per_message.index.to_numpy(dtype=np.int64), "revenue": per_message.to_numpy(dtype=float)},
        columns=list(OUTCOME_COLUMNS),
    )


def campaign_results(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: Any,
    window_days: int = 7,
    by: Sequence[str] = ("campaign_id",),
    confidence: float = 0.95,
    judged_only: bool = False,
    outcomes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per group (campaign, variant, timing…): counts, conversion, uplift with CI, revenue, ROI.

    Parameters
    ----------
    messages : DataFrame
        :data:`RESULT_MESSAGE_COLUMNS` plus the ``by`` columns; ``sent_at`` store-local, and
        for ``holdout`` rows the time the message *would* have been sent.
    bookings : DataFrame
        :data:`core.kpi.KPI_BOOKING_COLUMNS` (+ ``created_at``, ``amount``, ``addon_amount``).
    as_of : date-like
    window_days : int
        Attribution window (DESIGN: 7 days).
    by : sequence of str
        Group columns.
    confidence : float
        Of the uplift interval (Newcombe hybrid score: honest at 40 people).
    judged_only : bool
        Count in ``sent``/``holdout`` (and so in conversion, uplift, revenue, cost, ROI) only
        rows whose window closed by as-of (:func:`window_closed`), as the KPI board does; the
        others are counted in ``pending``/``holdout_pending``. A message sent this morning cannot
        have converted yet and would drag the rate down.
    outcomes : DataFrame, optional
        :func:`message_outcomes` over these messages or a superset (computed here when omitted).

    Returns
    -------
    DataFrame
        ``by`` columns then :data:`RESULT_COLUMNS`. ``conversion`` = converted ÷ sent;
        ``uplift`` = conversion − holdout conversion (NaN when either arm is empty); ``roi`` =
        incremental revenue over the holdout ÷ cost, with ``roi_low``/``roi_high`` its 95%
        interval (``core.kpi.incremental_roi``; NaN without a holdout or a cost); ``revenue`` is
        the gross attributed revenue and ``gross_roi`` = revenue ÷ cost, shown only labelled as such. ``sent + pending`` is every ``sent`` row, and
        ``holdout + holdout_pending`` every ``holdout`` row (pending is 0 without ``judged_only``).
    """
    require_columns(messages, (*MESSAGE_COLUMNS, *by), what="messages")
    m = messages.copy()
    if outcomes is None:
        outcomes = message_outcomes(m, bookings, as_of=as_of, window_days=window_days)
    revenue_by_msg = outcomes.groupby("message_id")["revenue"].sum()
    closed = (
        window_closed(m["sent_at"], as_of=as_of, window_days=window_days)
        if judged_only
        else pd.Series(True, index=m.index)
    )
    credited = m["message_id"].isin(revenue_by_msg.index)
    is_sent = m["status"].eq("sent")
    is_hold = m["status"].eq("holdout")
    m["is_sent"] = is_sent & closed
    m["is_hold"] = is_hold & closed
    m["pend"] = is_sent & ~closed
    m["hpend"] = is_hold & ~closed
    m["conv"] = m["is_sent"] & credited
    m["hconv"] = m["is_hold"] & credited
    m["rev"] = m["message_id"].map(revenue_by_msg).fillna(0.0).where(m["is_sent"], 0.0)
    m["hrev"] = m["message_id"].map(revenue_by_msg).fillna(0.0).where(m["is_hold"], 0.0)
    m["sent_cost"] = m["cost"].astype(float).fillna(0.0).where(m["is_sent"], 0.0)
    rows = []
    groups = m.groupby(list(by), dropna=False, sort=True) if len(m) else []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        status = g["status"].value_counts()
        sent = int(g["is_sent"].sum())
        hold = int(g["is_hold"].sum())
        conv = int(g["conv"].sum())
        hconv = int(g["hconv"].sum())
        diff = newcombe_difference(conv, sent, hconv, hold, confidence=confidence)
        revenue = float(g["rev"].sum())
        cost = float(g["sent_cost"].sum())
        roi = incremental_roi(g.loc[g["is_sent"], "rev"].to_numpy(), g.loc[g["is_hold"], "hrev"].to_numpy(), cost)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "messages": len(g),
                "queued": int(status.get("queued", 0)),
                "sent": sent,
                "pending": int(g["pend"].sum()),
                "failed": int(status.get("failed", 0)),
                "suppressed": int(status.get("suppressed", 0)),
                "holdout": hold,
                "holdout_pending": int(g["hpend"].sum()),
                "converted": conv,
                "conversion": conv / sent if sent else np.nan,
                "holdout_converted": hconv,
                "holdout_conversion": hconv / hold if hold else np.nan,
                "uplift": np.nan if diff.estimate is None else diff.estimate,
                "uplift_low": np.nan if diff.low is None else diff.low,
                "uplift_high": np.nan if diff.high is None else diff.high,
                "revenue": revenue,
                "cost": cost,
                "incremental_revenue": np.nan if roi.numerator is None else roi.numerator,
                "roi": np.nan if roi.value is None else roi.value,
                "roi_low": np.nan if roi.low is None else roi.low,
                "roi_high": np.nan if roi.high is None else roi.high,
                "gross_roi": revenue / cost if cost > 0 else np.nan,
            }
        )
    columns = [*by, *RESULT_COLUMNS]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.DataFrame(rows, columns=columns)


def comparable_variant_messages(messages: pd.DataFrame, *, as_of: Any, window_days: int = 7) -> pd.DataFrame:
    """The messages a variant comparison may use: per campaign, those sent once every variant it
    has was live (from the first send of its newest variant) and whose attribution window has
    closed by as-of. Comparing a variant with months of history against one started yesterday,
    or counting messages too recent to have converted, would crown the wrong winner.
    """
    require_columns(messages, ("campaign_id", "variant", "sent_at"), what="messages")
    sent_at = pd.to_datetime(messages["sent_at"])
    judged = window_closed(sent_at, as_of=as_of, window_days=window_days)
    starts = sent_at.groupby([messages["campaign_id"], messages["variant"]]).transform("min")
    all_live = starts.groupby(messages["campaign_id"]).transform("max")
    return messages.loc[(judged & sent_at.ge(all_live)).to_numpy()]


def ab_verdict(results: pd.DataFrame, *, alpha: float = 0.05) -> dict[str, Any]:
    """Compare the two best variants of one campaign (rows of :func:`campaign_results` by variant).

    A winner is declared only when Fisher's exact test gives p < ``alpha``.

    Returns
    -------
    dict
        ``a``, ``b`` (variant keys), ``p_value``, ``significant``, ``winner`` (or None),
        ``difference``, ``low``, ``high``.
    """
    require_columns(results, ("variant", "sent", "converted"), what="results")
    r = results.loc[results["sent"] > 0].copy()
    if len(r) < 2:
        return {
            "a": None,
            "b": None,
            "p_value": None,
            "significant": False,
            "winner": None,
            "difference": None,
            "low": None,
            "high": None,
        }
    r["rate"] = r["converted"] / r["sent"]
    top = r.sort_values(["rate", "sent"], ascending=[False, False]).head(2)
    a, b = top.iloc[0], top.iloc[1]
    cmp = fisher_compare(
        str(a["variant"]),
        int(a["converted"]),
        int(a["sent"]),
        str(b["variant"]),
        int(b["converted"]),
        int(b["sent"]),
        alpha=alpha,
    )
    return {
        "a": str(a["variant"]),
        "b": str(b["variant"]),
        "p_value": cmp.p_value,
        "significant": cmp.significant,
        "winner": cmp.winner,
        "difference": cmp.difference.estimate,
        "low": cmp.difference.low,
        "high": cmp.difference.high,
    }


def ab_verdicts(by_variant: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`ab_verdict` of every campaign with two or more variants, one row per campaign
    (``campaign_id``, ``winner`` or None, ``p_value`` or NaN), in campaign order."""
    rows = (
        [
            {"campaign_id": campaign_id, **ab_verdict(group, alpha=alpha)}
            for campaign_id, group in by_variant.groupby("campaign_id", sort=True)
            if group["variant"].nunique() >= 2
        ]
        if len(by_variant)
        else []
    )
    columns = ["campaign_id", "a", "b", "p_value", "significant", "winner", "difference", "low", "high"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["p_value"] = pd.to_numeric(frame["p_value"], errors="coerce")
    return frame


def timing_script_table(results: pd.DataFrame) -> pd.DataFrame:
    """ "Which timing and script works best": rows of :func:`campaign_results` grouped by
    (``timing``, ``segment``, ``variant``) re-aggregated, best conversion first."""
    require_columns(results, ("timing", "variant", "sent", "converted", "holdout", "holdout_converted"), what="results")
    keys = [c for c in ("timing", "segment", "variant") if c in results.columns]
    agg = (
        results.groupby(keys, dropna=False)
        .agg(
            sent=("sent", "sum"),
            converted=("converted", "sum"),
            holdout=("holdout", "sum"),
            holdout_converted=("holdout_converted", "sum"),
            revenue=("revenue", "sum"),
            cost=("cost", "sum"),
        )
        .reset_index()
    )
    out = []
    for row in agg.to_dict("records"):
        diff = newcombe_difference(
            int(row["converted"]), int(row["sent"]), int(row["holdout_converted"]), int(row["holdout"])
        )
        row["conversion"] = row["converted"] / row["sent"] if row["sent"] else np.nan
        row["holdout_conversion"] = row["holdout_converted"] / row["holdout"] if row["holdout"] else np.nan
        row["uplift"] = np.nan if diff.estimate is None else diff.estimate
        row["uplift_low"] = np.nan if diff.low is None else diff.low
        row["uplift_high"] = np.nan if diff.high is None else diff.high
        out.append(row)
    table = pd.DataFrame(out)
    if table.empty:
        return table
    return table.sort_values(["conversion", "sent"], ascending=[False, False], na_position="last").reset_index(
        drop=True
    )


def campaign_wake_up(
    messages: pd.DataFrame,
    bookings: pd.DataFrame,
    *,
    as_of: Any,
    campaign_ids: Collection[int] | None = None,
    window_days: int = 30,
    period_days: int = 3650,
    sleeping_days: int = 180,
    judged_only: bool = False,
) -> dict[int, float | None]:
    """Wake-up rate per campaign (:func:`core.kpi.wake_up_rate` over that campaign's messages;
    with ``judged_only`` only contacts whose wake-up window closed by as-of, as on the board)."""
    out: dict[int, float | None] = {}
    ids = campaign_ids if campaign_ids is not None else pd.unique(messages["campaign_id"])
    for campaign_id in ids:  # one KPI call per campaign (a few dozen)
        subset = messages.loc[messages["campaign_id"].eq(campaign_id)]
        value = wake_up_rate(
            subset,
            bookings,
            None,
            as_of=as_of,
            window_days=window_days,
            period_days=period_days,
            sleeping_days=sleeping_days,
            judged_only=judged_only,
        )
        out[int(campaign_id)] = value.value
    return out


def recovery_comparison(
    tasks: pd.DataFrame, bookings: pd.DataFrame, *, as_of: Any, window_days: int = 60
) -> pd.DataFrame:
    """How complainers return: recovered (task done/booked) vs not, visit within ``window_days``.

    ``tasks``: complaint-recovery tasks with ``customer_id``, ``status``, ``created_at`` (local).

    Returns
    -------
    DataFrame
        ``group`` (recovered / not_recovered), ``customers``, ``returned``, ``return_rate``.
    """
    require_columns(tasks, ("customer_id", "status", "created_at"), what="tasks")
    rows = []
    visits = bookings.loc[bookings["status"].eq("completed"), ["customer_id", "scheduled_at"]]
    cutoff = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    for group, mask in (
        ("recovered", tasks["status"].isin(["done", "booked"])),
        ("not_recovered", ~tasks["status"].isin(["done", "booked"])),
    ):
        t = tasks.loc[mask.to_numpy(), ["customer_id", "created_at"]].copy()
        t["created_at"] = pd.to_datetime(t["created_at"])
        joined = t.merge(visits, on="customer_id", how="left")
        gap = joined["scheduled_at"] - joined["created_at"]
        back = gap.gt(pd.Timedelta(0)) & gap.le(pd.Timedelta(days=window_days)) & joined["scheduled_at"].lt(cutoff)
        returned = joined.loc[back.to_numpy(), "customer_id"].nunique()
        n = t["customer_id"].nunique()
        rows.append(
            {"group": group, "customers": n, "returned": returned, "return_rate": returned / n if n else np.nan}
        )
    return pd.DataFrame(rows)
