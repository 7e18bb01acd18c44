"""Referrals: the referral tree, leaderboards, ambassadors and referral rewards.

A referral frame has one row per ``referrer_id → referee_id`` (optionally ``referred_at``).
A customer can only be referred once: when a referee appears several times the earliest row
(by ``referred_at`` when present, else the first row) wins.  Self-referrals are ignored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.columns import VISIT_STATUS, require_columns
from core.loyalty._util import DateLike, end_of_day, to_datetime_series
from core.loyalty.points import LedgerEntry, PointsRule
from core.spend import visit_spend


def _sort_key(value: object) -> tuple[str, object]:
    return (type(value).__name__, value)


def _id_array(values: list[object]) -> pd.api.extensions.ExtensionArray | list[object]:
    """Integer ids as nullable ``Int64`` (``<NA>`` for missing); other ids unchanged."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in present):
        return pd.array(values, dtype="Int64")
    return values


def _clean_referrals(referrals: pd.DataFrame, *, as_of: DateLike | None = None) -> pd.DataFrame:
    """One row per referee: self-referrals, missing ids and later duplicates removed."""
    require_columns(referrals, ("referrer_id", "referee_id"), what="referrals")
    frame = referrals.dropna(subset=["referrer_id", "referee_id"])
    frame = frame[frame["referrer_id"] != frame["referee_id"]]
    if "referred_at" in frame.columns:
        frame = frame.assign(referred_at=to_datetime_series(frame["referred_at"]))
        if as_of is not None:
            frame = frame[~(frame["referred_at"] >= end_of_day(as_of))]
        frame = frame.sort_values("referred_at", kind="stable", na_position="last")
    return frame.drop_duplicates("referee_id", keep="first")


def referral_tree(referrals: pd.DataFrame) -> pd.DataFrame:
    """Place every customer of the referral graph in its tree.

    Cycles (A→B→A, possible with bad imported data) are broken defensively: the smallest id
    of the cycle becomes a root and its incoming link is ignored; its members are flagged.

    Parameters
    ----------
    referrals : DataFrame
        ``referrer_id``, ``referee_id`` (optional ``referred_at``).

    Returns
    -------
    DataFrame
        Columns ``customer_id``, ``referrer_id`` (``None`` for roots), ``root_id``, ``depth``
        (0 for roots), ``path`` (tuple of ids from the root to the customer) and ``in_cycle``;
        one row per customer, sorted by ``customer_id``.
    """
    frame = _clean_referrals(referrals)
    parent: dict[object, object] = dict(zip(frame["referee_id"].tolist(), frame["referrer_id"].tolist(), strict=True))
    nodes = set(parent) | set(parent.values())
    in_cycle: set[object] = set()
    state: dict[object, int] = {}  # 1 = on the current walk, 2 = done
    for start in sorted(nodes, key=_sort_key):
        if start in state:
            continue
        walk: list[object] = []
        node: object | None = start
        while node is not None and node not in state:
            state[node] = 1
            walk.append(node)
            node = parent.get(node)
        if node is not None and state[node] == 1:  # closed a cycle
            cycle = walk[walk.index(node) :]
            in_cycle.update(cycle)
            del parent[min(cycle, key=_sort_key)]
        for n in walk:
            state[n] = 2
    paths: dict[object, tuple] = {}
    for start in nodes:
        chain = []
        node = start
        while node not in paths and node is not None:
            chain.append(node)
            node = parent.get(node)
        prefix: tuple = paths[node] if node is not None else ()
        for n in reversed(chain):
            prefix = (*prefix, n)
            paths[n] = prefix
    ordered = sorted(nodes, key=_sort_key)
    return pd.DataFrame(
        {
            "customer_id": _id_array(ordered),
            "referrer_id": _id_array([parent.get(n) for n in ordered]),
            "root_id": _id_array([paths[n][0] for n in ordered]),
            "depth": [len(paths[n]) - 1 for n in ordered],
            "path": [paths[n] for n in ordered],
            "in_cycle": [n in in_cycle for n in ordered],
        }
    )


def leaderboard(
    referrals: pd.DataFrame,
    visits: pd.DataFrame,
    *,
    as_of: DateLike,
    top: int | None = 20,
) -> pd.DataFrame:
    """Referrers ranked by referees who actually came in.

    Parameters
    ----------
    referrals : DataFrame
        ``referrer_id``, ``referee_id`` (optional ``referred_at``: referrals made after
        ``as_of`` are ignored and only the referee's visits on or after it count).
    visits : DataFrame
        Bookings (``customer_id``, ``scheduled_at``, ``amount``; optional ``status``, only
        ``completed`` rows count, and ``addon_amount``).
    as_of : date-like
        Only history up to the end of this day counts.
    top : int or None, default 20
        Rows to keep (``None`` = all).

    Returns
    -------
    DataFrame
        ``rank``, ``referrer_id``, ``referrals`` (referees named), ``visited_referees``
        (with at least one completed visit), ``referee_revenue``; ordered by visited referees,
        revenue, referrals (all descending) then ``referrer_id``.
    """
    refs = _clean_referrals(referrals, as_of=as_of)
    require_columns(visits, ("customer_id", "scheduled_at", "amount"), what="visits")
    v = visits
    if "status" in v.columns:
        v = v[v["status"] == VISIT_STATUS]
    when = to_datetime_series(v["scheduled_at"])
    amount = visit_spend(v)
    v = pd.DataFrame(
        {"referee_id": v["customer_id"].to_numpy(), "when": when.to_numpy(), "revenue": amount.to_numpy(dtype=float)}
    )
    v = v[v["when"] < end_of_day(as_of)]
    cols = ["referrer_id", "referee_id"] + (["referred_at"] if "referred_at" in refs.columns else [])
    joined = refs[cols].merge(v, on="referee_id", how="inner")
    if "referred_at" in joined.columns:
        joined = joined[~(joined["when"] < joined["referred_at"].dt.normalize())]
    per_referee = joined.groupby(["referrer_id", "referee_id"], as_index=False)["revenue"].sum()
    stats = per_referee.groupby("referrer_id").agg(
        visited_referees=("referee_id", "nunique"), referee_revenue=("revenue", "sum")
    )
    counts = refs.groupby("referrer_id")["referee_id"].nunique().rename("referrals")
    out = counts.to_frame().join(stats, how="left").reset_index()
    out["visited_referees"] = out["visited_referees"].fillna(0).astype(int)
    out["referee_revenue"] = out["referee_revenue"].fillna(0.0).astype(float)
    out["referrals"] = out["referrals"].astype(int)
    out = out.sort_values(
        ["visited_referees", "referee_revenue", "referrals", "referrer_id"],
        ascending=[False, False, False, True],
        kind="stable",
    )
    if top is not None:
        out = out.head(top)
    out = out.reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    return out[["rank", "referrer_id", "referrals", "visited_referees", "referee_revenue"]]


def ambassadors(leaderboard: pd.DataFrame, *, min_referrals: int = 3) -> pd.DataFrame:
    """Referrers with at least ``min_referrals`` referees who visited (品牌大使).

    Parameters
    ----------
    leaderboard : DataFrame
        Output of :func:`leaderboard` (use ``top=None`` to consider everyone).
    min_referrals : int, default 3
        Minimum ``visited_referees``.

    Returns
    -------
    DataFrame
        The qualifying rows, in leaderboard order.
    """
    require_columns(leaderboard, ("referrer_id", "visited_referees"), what="leaderboard")
    return leaderboard[leaderboard["visited_referees"] >= min_referrals].reset_index(drop=True)


def referral_reward_entries(
    referrals: pd.DataFrame,
    first_visits: pd.Series | pd.DataFrame,
    *,
    rule: PointsRule,
) -> list[LedgerEntry]:
    """Referral credits for referees who completed a first visit.

    Keys are ``referral:referrer:<referee_id>`` and ``referral:referee:<referee_id>`` — one
    reward per referee whoever and however often they are listed — so re-running yields the
    same keys (filter with :func:`core.loyalty.points.new_entries`).  When ``referred_at`` is
    known and the referee's first visit came before it, the referee was already a customer and
    nothing is credited.

    Parameters
    ----------
    referrals : DataFrame
        ``referrer_id``, ``referee_id`` (optional ``referred_at``).
    first_visits : Series or DataFrame
        First completed visit per referee: a Series indexed by ``customer_id`` or a frame with
        ``customer_id`` and ``first_visit_at``.
    rule : PointsRule
        ``referral_bonus_referrer``, ``referral_bonus_referee`` and expiry.

    Returns
    -------
    list of LedgerEntry
        ``kind="referral"`` entries dated at the first visit, ordered by that date.
    """
    if isinstance(first_visits, pd.DataFrame):
        require_columns(first_visits, ("customer_id", "first_visit_at"), what="first_visits")
        firsts = first_visits.set_index("customer_id")["first_visit_at"]
    else:
        firsts = first_visits
    firsts = to_datetime_series(firsts)
    refs = _clean_referrals(referrals)
    refs = refs.assign(first_visit_at=refs["referee_id"].map(firsts))
    refs = refs[refs["first_visit_at"].notna()]
    if "referred_at" in refs.columns:
        refs = refs[~(refs["first_visit_at"] < refs["referred_at"].dt.normalize())]
    refs = refs.sort_values(["first_visit_at"], kind="stable")
    out: list[LedgerEntry] = []
    for row in refs.itertuples(index=False):
        when = pd.Timestamp(row.first_visit_at)
        expires = rule.expiry_for(when)
        if rule.referral_bonus_referrer > 0:
            out.append(
                LedgerEntry(
                    row.referrer_id,
                    "referral",
                    rule.referral_bonus_referrer,
                    when,
                    f"referral:referrer:{row.referee_id}",
                    expires,
                    (),
                    f"referred {row.referee_id}",
                )
            )
        if rule.referral_bonus_referee > 0:
            out.append(
                LedgerEntry(
                    row.referee_id,
                    "referral",
                    rule.referral_bonus_referee,
                    when,
                    f"referral:referee:{row.referee_id}",
                    expires,
                    (),
                    f"referred by {row.referrer_id}",
                )
            )
    return out
