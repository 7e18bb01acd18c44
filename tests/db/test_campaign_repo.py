"""Campaign approval permissions and outbox idempotency in db/ (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.scope import PermissionDenied, Scope
from db import campaigns as campaign_repo
from db.engine import session_scope
from db.models import AuditLog, Campaign, Message
from tests.support.factories import small_world

ADMIN = Scope("admin", "chain_admin", None)


def _scopes(ids):
    return {
        "mgr_a": Scope("mgr_a", "store_manager", frozenset({ids["store_a"]})),
        "mkt_a": Scope("mkt_a", "marketer", frozenset({ids["store_a"]})),
    }


def _new(session, scope, store_id):
    return campaign_repo.create_campaign(
        session,
        scope=scope,
        name="n",
        store_id=store_id,
        audience={},
        trigger={"kind": "due", "offset_days": -7},
        templates={"zh-TW": "hi"},
    )


def test_approval_permissions_are_enforced_in_db(engine) -> None:
    ids = small_world(engine)
    s = _scopes(ids)
    with session_scope(engine) as session:
        store_campaign = _new(session, s["mkt_a"], ids["store_a"])
        campaign_repo.submit_for_approval(session, scope=s["mkt_a"], campaign_id=store_campaign.id)
        with pytest.raises(PermissionDenied):
            _new(session, s["mkt_a"], None)  # a marketer of one store cannot create a chain-wide campaign
        with pytest.raises(PermissionDenied):
            _new(session, s["mkt_a"], ids["store_b"])
        chain = _new(session, ADMIN, None)
        other = _new(session, ADMIN, ids["store_b"])
        ids_ = (store_campaign.id, chain.id, other.id)
    with session_scope(engine) as session:
        with pytest.raises(PermissionDenied):
            campaign_repo.approve_campaign(session, scope=s["mkt_a"], campaign_id=ids_[0])
        with pytest.raises(PermissionDenied):
            campaign_repo.approve_campaign(session, scope=s["mgr_a"], campaign_id=ids_[1])  # chain-wide
        with pytest.raises(PermissionDenied):
            campaign_repo.approve_campaign(session, scope=s["mgr_a"], campaign_id=ids_[2])  # store B: not found
    with session_scope(engine) as session:
        assert {c.status for c in session.scalars(select(Campaign))} == {"pending_approval", "draft"}
        approved = campaign_repo.approve_campaign(session, scope=s["mgr_a"], campaign_id=ids_[0])
        assert (approved.status, approved.approved_by) == ("active", "mgr_a")
        assert campaign_repo.approve_campaign(session, scope=ADMIN, campaign_id=ids_[1]).status == "active"
    with session_scope(engine) as session:
        assert (
            session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "campaign_approve")) == 2
        )
        # Editing an active campaign is refused; a paused one goes back to draft for re-approval.
        with pytest.raises(ValueError):
            campaign_repo.update_campaign(session, scope=s["mgr_a"], campaign_id=ids_[0], changes={"name": "x"})
        campaign_repo.set_campaign_status(session, scope=s["mgr_a"], campaign_id=ids_[0], status="paused")
        edited = campaign_repo.update_campaign(
            session, scope=s["mgr_a"], campaign_id=ids_[0], changes={"holdout_pct": 20.0}
        )
        assert edited.status == "draft" and edited.approved_by is None
        # Store A's marketer sees store A and chain-wide campaigns, not store B's.
        visible = {c.id for c in campaign_repo.list_campaigns(session, scope=s["mkt_a"])}
        assert visible == {ids_[0], ids_[1]}


def test_outbox_insert_is_idempotent_and_claims_are_exclusive(engine) -> None:
    ids = small_world(engine)
    now = datetime(2026, 11, 2, 3, tzinfo=UTC)
    with session_scope(engine) as session:
        c = _new(session, ADMIN, ids["store_a"])
        campaign_repo.approve_campaign(session, scope=ADMIN, campaign_id=c.id)
        run = campaign_repo.ensure_run(session, campaign_id=c.id, occurrence="2026-11-02", at=now)
        assert campaign_repo.ensure_run(session, campaign_id=c.id, occurrence="2026-11-02", at=now) == run
        rows = [
            {
                "campaign_id": c.id,
                "run_id": run,
                "customer_id": cust,
                "store_id": ids["store_a"],
                "channel": "line",
                "variant": "A",
                "locale": "zh-TW",
                "dedupe_key": f"c{c.id}:u{cust}:x",
                "tracking_code": f"t{cust}",
                "status": "queued",
                "reason": None,
                "body": "hi",
                "scheduled_for": now,
                "attempts": 0,
                "cost": 0.0,
                "created_at": now,
            }
            for cust in (ids["a1"], ids["a2"])
        ]
        assert campaign_repo.insert_messages(session, rows=rows) == 2
        assert campaign_repo.insert_messages(session, rows=rows) == 0
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2
        _, first = campaign_repo.claim_messages(
            session, worker_id="a", now=now, limit=1, claim_timeout_seconds=60, channels=["line"]
        )
    with session_scope(engine) as session:
        _, second = campaign_repo.claim_messages(
            session, worker_id="b", now=now, limit=5, claim_timeout_seconds=60, channels=["line"]
        )
    assert len(first) == 1 and len(second) == 1 and set(first).isdisjoint(second)
