"""The demo world's campaigns: the nine playbook messages, scheduled, approved and active.

``seed_playbook_campaigns(engine)`` is idempotent (a playbook campaign that exists is skipped),
so the demo command may call it on every build.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.campaigns.playbook import PLAYBOOK, PLAYBOOK_PREFIX
from db import repo
from db.engine import session_scope
from db.models import Campaign

# A second script for one campaign so the demo shows an A/B comparison.
_B_VARIANTS: dict[str, dict[str, str]] = {
    "stable_due_7": {
        "zh-TW": "{name},{pet_name}又到了整理的時候囉!現在預約可以挑到最喜歡的時段:{booking_link}",
        "zh-CN": "{name},{pet_name}又到该打理的时候啦!现在预约可以挑到最喜欢的时段:{booking_link}",
        "en": "{name}, it's nearly time for {pet_name}'s next visit! Book now to get your favourite slot: {booking_link}",
    },
}


def playbook_templates(key: str, templates: dict[str, str]) -> dict[str, Any]:
    variants = [{"key": "A", "weight": 1.0, "templates": dict(templates)}]
    if key in _B_VARIANTS:
        variants[0]["weight"] = 0.5
        variants.append({"key": "B", "weight": 0.5, "templates": dict(_B_VARIANTS[key])})
    return {"variants": variants}


def seed_playbook_campaigns(
    engine: Engine, *, channel: str = "task", holdout_pct: float = 10.0, cost_per_message: float = 0.2
) -> dict[str, int]:
    """Create the nine playbook campaigns chain-wide, approved by the demo chain admin, active.

    ``channel`` defaults to ``task`` (front-desk phone follow-ups with the playbook words), which
    works without provider credentials; pass ``"line"`` when LINE is configured — without
    credentials LINE messages stay queued, flagged ``channel_not_configured``.

    Returns
    -------
    dict
        ``{"campaigns": <number created>}``.
    """
    created = 0
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        existing = set(
            session.scalars(select(Campaign.description).where(Campaign.description.like(PLAYBOOK_PREFIX + "%")))
        )
        for entry in PLAYBOOK:
            description = PLAYBOOK_PREFIX + entry.key
            if description in existing:
                continue
            campaign = Campaign(
                store_id=None,
                name=entry.names["zh-TW"],
                description=description,
                audience=dict(entry.audience),
                trigger=dict(entry.trigger),
                templates=playbook_templates(entry.key, entry.templates),
                channel=channel,
                send_hour=11,
                holdout_pct=holdout_pct,
                frequency_cap_days=3,
                quiet_start=21,
                quiet_end=9,
                cost_per_message=cost_per_message,
                status="active",
                created_by="demo",
                approved_by="admin",
                approved_at=now,
            )
            session.add(campaign)
            session.flush()
            repo.record_audit(
                session,
                actor="demo",
                action="campaign_approve",
                entity="campaign",
                entity_id=campaign.id,
                after={"status": "active", "playbook": entry.key},
            )
            created += 1
    return {"campaigns": created}


def playbook_campaign(session: Session, *, key: str) -> Campaign | None:
    """The chain-wide campaign seeded from playbook entry ``key`` (detached from the session)."""
    campaign = session.scalars(select(Campaign).where(Campaign.description == PLAYBOOK_PREFIX + key)).first()
    if campaign is not None:
        session.expunge(campaign)
    return campaign
