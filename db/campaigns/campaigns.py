"""Campaigns: reads, create/update, approval and status, the benefit budget, run bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from core.scope import PermissionDenied, Scope
from db import repo
from db.campaigns.common import EDITABLE_STATUSES, _aware, _now
from db.campaigns.outbox import _held
from db.models import (
    Campaign,
    CampaignRun,
    Message,
)
from db.scoping import scoped


def _check_store_edit(scope: Scope, store_id: int | None, permission: str) -> None:
    scope.require(permission)
    if store_id is None:
        if scope.store_ids is not None:
            raise PermissionDenied(
                f"{scope.actor} ({scope.role}) may not {permission.replace('_', ' ')} a chain-wide campaign"
            )
    elif not scope.allows_store(store_id):
        raise PermissionDenied(
            f"{scope.actor} ({scope.role}) may not {permission.replace('_', ' ')} for store {store_id}"
        )


def get_campaign(session: Session, *, scope: Scope, campaign_id: int) -> Campaign | None:
    """The campaign if the caller may see it (store campaigns of their stores, chain-wide ones)."""
    statement = select(Campaign).where(Campaign.id == campaign_id)
    statement = scoped(statement, Campaign.store_id, scope.store_ids, chain_wide=True)
    return session.scalars(statement).first()


def list_campaigns(session: Session, *, scope: Scope, store_ids: Sequence[int] | None = None) -> list[Campaign]:
    """Campaigns the caller may see, newest first (``store_ids`` narrows store campaigns)."""
    statement = select(Campaign)
    statement = scoped(statement, Campaign.store_id, scope.store_ids, chain_wide=True)
    if store_ids is not None:
        statement = scoped(statement, Campaign.store_id, scope.narrow(list(store_ids)), chain_wide=True)
    return list(session.scalars(statement.order_by(Campaign.id.desc())))


def create_campaign(
    session: Session,
    *,
    scope: Scope,
    name: str,
    store_id: int | None,
    audience: dict[str, Any],
    trigger: dict[str, Any],
    templates: dict[str, Any],
    channel: str = "line",
    description: str = "",
    schedule_cron: str | None = None,
    send_hour: int = 11,
    holdout_pct: float = 10.0,
    frequency_cap_days: int = 1,
    quiet_start: int = 21,
    quiet_end: int = 9,
    cost_per_message: float = 0.0,
    benefit_budget: float | None = None,
    benefit_per_message: float = 0.0,
) -> Campaign:
    """A new campaign in ``draft`` (needs ``campaign_edit`` and the store in scope)."""
    _check_store_edit(scope, store_id, "campaign_edit")
    if not name.strip():
        raise ValueError("a campaign needs a name")
    if not 0 <= holdout_pct <= 50:
        raise ValueError("holdout_pct must be between 0 and 50")
    campaign = Campaign(
        store_id=store_id,
        name=name.strip(),
        description=description,
        audience=audience,
        trigger=trigger,
        templates=templates,
        channel=channel,
        schedule_cron=schedule_cron,
        send_hour=send_hour,
        holdout_pct=holdout_pct,
        frequency_cap_days=frequency_cap_days,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        cost_per_message=cost_per_message,
        benefit_budget=benefit_budget,
        benefit_per_message=benefit_per_message,
        status="draft",
        created_by=scope.actor,
    )
    session.add(campaign)
    session.flush()
    repo.record_audit(
        session,
        actor=scope.actor,
        action="campaign_create",
        entity="campaign",
        entity_id=campaign.id,
        store_id=store_id,
        after={"name": campaign.name},
    )
    return campaign


def update_campaign(session: Session, *, scope: Scope, campaign_id: int, changes: dict[str, Any]) -> Campaign:
    """Edit a draft / pending / paused campaign; any edit sends it back to ``draft`` (re-approval)."""
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign is None:
        raise PermissionDenied(f"campaign {campaign_id} not found")
    _check_store_edit(scope, campaign.store_id, "campaign_edit")
    if campaign.status not in EDITABLE_STATUSES:
        raise ValueError(f"an {campaign.status} campaign cannot be edited; pause it first")
    allowed = {
        "name",
        "description",
        "audience",
        "trigger",
        "templates",
        "channel",
        "schedule_cron",
        "send_hour",
        "holdout_pct",
        "frequency_cap_days",
        "quiet_start",
        "quiet_end",
        "cost_per_message",
        "benefit_budget",
        "benefit_per_message",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    for key, value in changes.items():
        setattr(campaign, key, value)
    campaign.status = "draft"
    campaign.approved_by = None
    campaign.approved_at = None
    repo.record_audit(
        session,
        actor=scope.actor,
        action="campaign_edit",
        entity="campaign",
        entity_id=campaign.id,
        store_id=campaign.store_id,
        after={"fields": sorted(changes)},
    )
    return campaign


def submit_for_approval(session: Session, *, scope: Scope, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign is None:
        raise PermissionDenied(f"campaign {campaign_id} not found")
    _check_store_edit(scope, campaign.store_id, "campaign_edit")
    if campaign.status != "draft":
        raise ValueError(f"only a draft can be submitted (status is {campaign.status})")
    campaign.status = "pending_approval"
    repo.record_audit(
        session,
        actor=scope.actor,
        action="campaign_submit",
        entity="campaign",
        entity_id=campaign.id,
        store_id=campaign.store_id,
    )
    return campaign


def approve_campaign(session: Session, *, scope: Scope, campaign_id: int, at: datetime | None = None) -> Campaign:
    """Make a campaign live: a store manager for their store's campaign, a chain admin for a
    chain-wide one (``campaign_approve`` and the store checked here, not only in the page)."""
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign is None:
        raise PermissionDenied(f"campaign {campaign_id} not found")
    _check_store_edit(scope, campaign.store_id, "campaign_approve")
    if campaign.status not in ("draft", "pending_approval", "paused"):
        raise ValueError(f"a campaign in status {campaign.status} cannot be approved")
    before = campaign.status
    campaign.status = "active"
    campaign.paused_reason = None
    campaign.approved_by = scope.actor
    campaign.approved_at = _aware(at or _now())
    repo.record_audit(
        session,
        actor=scope.actor,
        action="campaign_approve",
        entity="campaign",
        entity_id=campaign.id,
        store_id=campaign.store_id,
        before={"status": before},
        after={"status": "active"},
    )
    return campaign


def set_campaign_status(
    session: Session, *, scope: Scope, campaign_id: int, status: str, reason: str | None = None
) -> Campaign:
    """Pause or end a campaign (``campaign_edit``); resuming goes through :func:`approve_campaign`."""
    if status not in ("paused", "ended"):
        raise ValueError("status must be paused or ended")
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign is None:
        raise PermissionDenied(f"campaign {campaign_id} not found")
    _check_store_edit(scope, campaign.store_id, "campaign_edit")
    before = campaign.status
    campaign.status = status
    campaign.paused_reason = reason if status == "paused" else campaign.paused_reason
    repo.record_audit(
        session,
        actor=scope.actor,
        action=f"campaign_{status}",
        entity="campaign",
        entity_id=campaign.id,
        store_id=campaign.store_id,
        before={"status": before},
        after={"status": status, "reason": reason},
    )
    return campaign


def pause_campaign_for(session: Session, *, campaign_id: int, reason: str) -> bool:
    """Worker-side pause (quota, budget): only an active campaign; True if this call paused it."""
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == "active")
        .values(status="paused", paused_reason=reason)
    )
    if result.rowcount:
        repo.record_audit(
            session,
            actor="worker",
            action="campaign_paused",
            entity="campaign",
            entity_id=campaign_id,
            after={"reason": reason},
        )
    return bool(result.rowcount)


def active_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.status == "active").order_by(Campaign.id)))


def reserve_benefit(session: Session, *, campaign_id: int, amount: float) -> bool:
    """Atomically add ``amount`` to benefit_spent unless that would exceed the budget."""
    if amount <= 0:
        return True
    result = session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            or_(Campaign.benefit_budget.is_(None), Campaign.benefit_spent + amount <= Campaign.benefit_budget),
        )
        .values(benefit_spent=Campaign.benefit_spent + amount)
    )
    return bool(result.rowcount)


def refund_benefit(session: Session, *, campaign_id: int, amount: float) -> None:
    if amount > 0:
        session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(benefit_spent=Campaign.benefit_spent - amount)
        )


def reserve_benefit_for_message(
    session: Session, *, message_id: int, token: str, campaign_id: int, amount: float
) -> bool:
    """Reserve the message's benefit once (a crashed attempt's reservation is reused, not doubled)."""
    held = session.execute(select(Message.reason).where(_held(message_id, token))).first()
    if held is None:
        return False
    if held[0] == "benefit_reserved":
        return True
    if not reserve_benefit(session, campaign_id=campaign_id, amount=amount):
        return False
    session.execute(update(Message).where(Message.id == message_id).values(reason="benefit_reserved"))
    return True


def refund_benefit_for_message(session: Session, *, message_id: int, campaign_id: int, amount: float) -> None:
    """Give back a reservation when the message was not delivered."""
    result = session.execute(
        update(Message).where(Message.id == message_id, Message.reason == "benefit_reserved").values(reason=None)
    )
    if result.rowcount:
        refund_benefit(session, campaign_id=campaign_id, amount=amount)


def run_done(session: Session, *, campaign_id: int, occurrence: str) -> bool:
    """True when this (campaign, occurrence) was already evaluated to the end."""
    return (
        session.scalar(
            select(func.count())
            .select_from(CampaignRun)
            .where(
                CampaignRun.campaign_id == campaign_id,
                CampaignRun.occurrence == occurrence,
                CampaignRun.status == "done",
            )
        )
        > 0
    )
