"""Plan one campaign firing into outbox rows: consent, cap, holdout, variants, timing, bodies.

The order is deliberate: contactability and the frequency cap are decided *before* the random
holdout, so the holdout is drawn from exactly the people who would have been sent to and the
uplift compares like with like.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd

from core.campaigns.ab import assign_variants, holdout_mask, unit_hash
from core.campaigns.audience import contactable
from core.campaigns.sending_rules import frequency_capped, send_time, spread_over_capacity
from core.campaigns.templates import (
    booking_link,
    compile_template,
    locale_for_country,
    pick_template,
    render_parts,
    tracking_code,
    unsubscribe_link,
)
from core.columns import require_columns

#: Columns of :func:`plan_outbox`.
OUTBOX_COLUMNS: Final = (
    "customer_id",
    "store_id",
    "channel",
    "variant",
    "locale",
    "occurrence",
    "dedupe_key",
    "tracking_code",
    "status",
    "reason",
    "body",
    "scheduled_local",
)


@dataclass(frozen=True)
class Variant:
    key: str
    weight: float
    templates: Mapping[str, str]


@dataclass(frozen=True)
class StoreInfo:
    code: str
    name: str
    country: str = "TW"
    daily_capacity: int = 40


@dataclass(frozen=True)
class CampaignPlan:
    """The campaign settings that shape its outbox rows."""

    campaign_id: int
    channel: str
    variants: tuple[Variant, ...]
    holdout_pct: float = 10.0
    frequency_cap_days: int = 1
    send_hour: int = 11
    quiet_start: int = 21
    quiet_end: int = 9
    tolerance_days: int = 0
    booking_rate: float = 0.3
    booking_base_url: str = "https://book.example"
    unsubscribe_base_url: str = "https://book.example"

    @classmethod
    def variants_from_json(cls, templates: Mapping[str, Any]) -> tuple[Variant, ...]:
        """Variants from the campaign's ``templates`` JSON (``{"variants": [...]}`` or locale → text)."""
        raw = templates.get("variants") if isinstance(templates, Mapping) else None
        if not raw:
            return (Variant("A", 1.0, {k: v for k, v in dict(templates or {}).items() if isinstance(v, str)}),)
        return tuple(
            Variant(str(v.get("key", chr(65 + i))), float(v.get("weight", 1.0)), dict(v.get("templates", {})))
            for i, v in enumerate(raw)
        )


def dedupe_key(campaign_id: int, customer_id: int, occurrence: str) -> str:
    """The outbox key: one message per (campaign, customer, trigger occurrence)."""
    return f"c{int(campaign_id)}:u{int(customer_id)}:{occurrence}"


def message_values(
    row: Mapping[str, Any],
    *,
    store: StoreInfo | None,
    link: str,
    unsubscribe: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Template variables for one customer row of the audience frame."""

    def clean(value: Any) -> Any:
        if value is None:
            return None
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        return value

    window = clean(row.get("revisit_window_days"))
    due = clean(row.get("next_due_date"))
    values = {
        "name": clean(row.get("name")) or "",
        "pet_name": clean(row.get("pet_name")) or "",
        "days_since": None if clean(row.get("recency_days")) is None else int(row["recency_days"]),
        "staff": clean(row.get("last_staff")) or "",
        "store": store.name if store else "",
        "booking_link": link,
        "window_days": None if window is None else int(round(float(window))),
        "due_date": None if due is None else pd.Timestamp(due).date().isoformat(),
        "tier": clean(row.get("tier")) or "",
        "unsubscribe_link": unsubscribe,
    }
    if extra:
        values.update({k: v for k, v in extra.items() if v is not None})
    return values


def plan_outbox(
    fired: pd.DataFrame,
    audience: pd.DataFrame,
    plan: CampaignPlan,
    *,
    today: date,
    stores: Mapping[int, StoreInfo],
    contacts: pd.DataFrame | None = None,
    booked_per_day: Mapping[tuple[int, date], int] | None = None,
    extra_values: Mapping[int, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Outbox rows (:data:`OUTBOX_COLUMNS`) for the customers a trigger fired for.

    Parameters
    ----------
    fired : DataFrame
        :func:`core.campaigns.triggers.evaluate_trigger` output.
    audience : DataFrame
        :data:`core.campaigns.audience.AUDIENCE_COLUMNS` (at least the fired customers).
    plan : CampaignPlan
    today : date
        Store-local day of the tick.
    stores : mapping
        store id → :class:`StoreInfo` (code for the booking link, country for the locale).
    contacts : DataFrame, optional
        ``customer_id``, ``day``: other messages already sent or queued (frequency cap).
    booked_per_day : mapping, optional
        (store id, local date) → bookings with status ``booked``; enables capacity spreading
        over the trigger's tolerance window.
    extra_values : mapping, optional
        customer id → extra template variables (e.g. ``points``, ``expiry_date``).

    Returns
    -------
    DataFrame
        Status ``suppressed`` (reason ``opted_out`` / ``no_consent`` / ``no_address`` /
        ``frequency_cap``), ``holdout`` or ``queued``; ``scheduled_local`` is the store-local
        send time (quiet hours applied).
    """
    require_columns(fired, ("customer_id", "occurrence", "send_at"), what="fired")
    require_columns(audience, ("customer_id", "home_store_id"), what="audience")
    if fired.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTBOX_COLUMNS})
    rows = fired.merge(audience, on="customer_id", how="inner").reset_index(drop=True)
    n = len(rows)
    ids = rows["customer_id"].to_numpy().astype(np.int64)
    status = np.full(n, "queued", dtype=object)
    reason = np.full(n, None, dtype=object)

    blocked = contactable(rows, plan.channel).to_numpy()
    has_reason = pd.notna(blocked)
    status[has_reason] = "suppressed"
    reason[has_reason] = blocked[has_reason]

    open_rows = status == "queued"
    if contacts is not None and plan.frequency_cap_days > 0:
        capped = frequency_capped(ids, [today] * n, contacts, cap_days=plan.frequency_cap_days)
        hit = capped & open_rows
        status[hit] = "suppressed"
        reason[hit] = "frequency_cap"

    open_rows = status == "queued"
    hold = holdout_mask(ids, campaign_id=plan.campaign_id, holdout_pct=plan.holdout_pct) & open_rows
    status[hold] = "holdout"
    variant = assign_variants(ids, campaign_id=plan.campaign_id, variants=[(v.key, v.weight) for v in plan.variants])

    # Capacity: spread sends (and holdout, so timing stays comparable) over the tolerance window.
    store_ids = rows["home_store_id"].astype("Int64").to_numpy()
    day_offset = np.zeros(n, dtype=np.int64)
    if booked_per_day is not None and plan.tolerance_days > 0:
        days = [today + timedelta(days=i) for i in range(plan.tolerance_days + 1)]
        order_key = unit_hash("spread", plan.campaign_id, ids)
        for store_id in pd.unique(store_ids[~pd.isna(store_ids)]):
            info = stores.get(int(store_id))
            if info is None:
                continue
            members = np.flatnonzero((store_ids == store_id) & np.isin(status, ("queued", "holdout")))
            members = members[np.argsort(order_key[members], kind="stable")]
            free = {d: info.daily_capacity - booked_per_day.get((int(store_id), d), 0) for d in days}
            day_offset[members] = spread_over_capacity(
                len(members), days=days, free_slots=free, booking_rate=plan.booking_rate
            )

    # Keys, codes and locales (plain Python over arrays: ~1 µs a row).
    occurrences = rows["occurrence"].astype(str).tolist()
    keys = np.array(
        [dedupe_key(plan.campaign_id, int(c), o) for c, o in zip(ids, occurrences, strict=True)], dtype=object
    )
    codes = np.array([tracking_code(k) for k in keys], dtype=object)
    store_keys = [None if pd.isna(s) else int(s) for s in store_ids]
    infos = [stores.get(s) if s is not None else None for s in store_keys]
    locales = np.array([locale_for_country(i.country if i else None) for i in infos], dtype=object)

    # Send times: the trigger's own time (one-off / cron) or the send hour, moved out of quiet hours.
    send_at = pd.to_datetime(rows["send_at"])
    base = pd.Timestamp(today) + pd.to_timedelta(day_offset, unit="D")
    local = (send_at + pd.to_timedelta(day_offset, unit="D")).where(
        send_at.notna(), base + pd.Timedelta(hours=min(max(plan.send_hour, 0), 23))
    )
    unique = {
        t: send_time(
            t.date(),
            send_hour=plan.send_hour,
            quiet_start=plan.quiet_start,
            quiet_end=plan.quiet_end,
            at=t.to_pydatetime(),
        )
        for t in pd.unique(local)
        for t in [pd.Timestamp(t)]
    }
    scheduled = np.array([unique[pd.Timestamp(t)] for t in local], dtype=object)

    # Bodies for the rows that will be sent; templates compiled once per (variant, locale).
    bodies = np.full(n, "", dtype=object)
    compiled: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    templates = {v.key: v.templates for v in plan.variants}
    send_rows = np.flatnonzero(status == "queued")
    if len(send_rows):
        cols = {
            c: rows[c].to_numpy(dtype=object) if c in rows.columns else np.full(n, None, dtype=object)
            for c in ("name", "pet_name", "recency_days", "last_staff", "revisit_window_days", "next_due_date", "tier")
        }
        for i in send_rows:
            info = infos[i]
            key = (str(variant[i]), str(locales[i]))
            if key not in compiled:
                compiled[key] = compile_template(pick_template(templates.get(variant[i], {}), locales[i]))
            record = {c: cols[c][i] for c in cols}
            link = booking_link(plan.booking_base_url, info.code if info else "", codes[i])
            values = message_values(
                record,
                store=info,
                link=link,
                unsubscribe=unsubscribe_link(plan.unsubscribe_base_url, codes[i]),
                extra=(extra_values or {}).get(int(ids[i])),
            )
            bodies[i] = render_parts(compiled[key], values)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "store_id": store_ids,
            "channel": plan.channel,
            "variant": variant,
            "locale": locales,
            "occurrence": rows["occurrence"].to_numpy(dtype=object),
            "dedupe_key": keys,
            "tracking_code": codes,
            "status": status,
            "reason": reason,
            "body": bodies,
            "scheduled_local": pd.to_datetime(pd.Series(scheduled, dtype=object)).to_numpy(),
        }
    ).loc[:, list(OUTBOX_COLUMNS)]


@dataclass
class TickCounts:
    """What one worker tick did (printed as JSON by ``campaigns run-due``)."""

    campaigns: int = 0
    evaluated: int = 0
    queued: int = 0
    holdout: int = 0
    suppressed: int = 0
    duplicates: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    paused: int = 0
    not_configured: int = 0
    tasks_opened: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def add_reasons(counts: TickCounts, reasons: Sequence[Any]) -> None:
    for value in reasons:
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            counts.reasons[str(value)] = counts.reasons.get(str(value), 0) + 1
