"""Score snapshots, KPI targets and the Customer 360 repository, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.kpi import DEFAULT_KPI_TARGETS
from core.scope import PermissionDenied, Scope
from db import customer_repo
from db.engine import session_scope
from db.models import AuditLog, ModelReview, ScoreSnapshot, TagDictionary
from db.score_repo import (
    load_kpi_targets,
    load_snapshots,
    month_ends,
    save_kpi_targets,
    snapshot_dates,
    write_snapshot,
)
from services.scoring import backfill_snapshots, score_customers_for, snapshot_job
from tests.support.factories import small_world

AS_OF = date(2026, 11, 10)
SYSTEM = Scope.system()


def _count(engine, day):
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(ScoreSnapshot).where(ScoreSnapshot.as_of == day))


def test_snapshot_is_idempotent_and_scoped(engine) -> None:
    ids = small_world(engine)
    scores = score_customers_for(engine, SYSTEM, as_of=AS_OF)
    assert write_snapshot(engine, scores=scores, as_of=AS_OF) == 3
    assert write_snapshot(engine, scores=scores, as_of=AS_OF) == 3
    assert _count(engine, AS_OF) == 3
    manager = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({ids["store_a"]}))
    with session_scope(engine) as session:
        mine = load_snapshots(session, scope=manager, dates=[AS_OF])
        assert sorted(mine["customer_id"]) == sorted([ids["a1"], ids["a2"]])
        row = mine.set_index("customer_id").loc[ids["a1"]]
        assert row["frequency"] == 2 and row["monetary"] == 2400.0 and row["recency_days"] == 21
        assert load_snapshots(session, scope=manager, store_ids=[ids["store_b"]]).empty
        assert snapshot_dates(session, scope=manager) == [AS_OF]
    # a store-scoped re-run replaces only that store's rows of the day
    write_snapshot(
        engine, scores=scores[scores["home_store_id"] == ids["store_a"]], as_of=AS_OF, store_ids=[ids["store_a"]]
    )
    assert _count(engine, AS_OF) == 3


def test_snapshot_job_and_backfill(engine) -> None:
    small_world(engine)
    result = snapshot_job(engine)
    assert result == {"as_of": "2026-11-05", "rows": 3}  # the last completed visit day
    written = backfill_snapshots(engine, months=2)
    assert list(written) == ["2026-09-30", "2026-10-31", "2026-11-05"]
    assert written["2026-09-30"] == 3  # customers joined by then are scored (without visits)
    assert backfill_snapshots(engine, months=2) == written
    assert month_ends(date(2026, 3, 15), 2) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 15)]


def test_kpi_targets_defaults_and_overrides(engine) -> None:
    ids = small_world(engine)
    manager = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({ids["store_a"]}))
    with session_scope(engine) as session:
        assert load_kpi_targets(session, scope=manager, store_id=ids["store_a"]) == DEFAULT_KPI_TARGETS
        save_kpi_targets(session, scope=manager, store_id=ids["store_a"], targets={"revisit_rate_30": 0.5})
    with session_scope(engine) as session:
        assert load_kpi_targets(session, scope=manager, store_id=ids["store_a"])["revisit_rate_30"] == 0.5
        # Store A's override leaves store B on the shops' defaults (which set no revisit target).
        assert load_kpi_targets(session, scope=SYSTEM, store_id=ids["store_b"]) == DEFAULT_KPI_TARGETS
        assert "revisit_rate_30" not in DEFAULT_KPI_TARGETS
        with pytest.raises(PermissionDenied):
            save_kpi_targets(session, scope=manager, store_id=ids["store_b"], targets={"revisit_rate_30": 0.9})
        with pytest.raises(PermissionDenied):
            save_kpi_targets(session, scope=manager, store_id=None, targets={"revisit_rate_30": 0.9})


def test_customer_360_reads_are_scoped(engine) -> None:
    ids = small_world(engine)
    manager = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({ids["store_a"]}))
    with session_scope(engine) as session:
        assert customer_repo.search_customers(session, scope=manager, query="王")["customer_id"].tolist() == [ids["a1"]]
        assert customer_repo.search_customers(session, scope=manager, query="0912-345")["customer_id"].tolist() == [
            ids["a1"]
        ]
        assert customer_repo.search_customers(session, scope=manager, query="B-1").empty
        assert customer_repo.get_customer(session, scope=manager, customer_id=ids["b1"]) is None
        assert customer_repo.customer_visits(session, scope=manager, customer_id=ids["b1"]).empty
        visits = customer_repo.customer_visits(session, scope=manager, customer_id=ids["a1"])
        assert visits["scheduled_at"].dt.hour.tolist() == [10, 10]  # Taipei local time
        account, ledger = customer_repo.customer_points(session, scope=manager, customer_id=ids["a1"])
        assert account["balance"] == 0 and ledger.empty


def test_tags_are_saved_with_an_audit_entry(engine) -> None:
    ids = small_world(engine)
    assert customer_repo.seed_tag_dictionary(engine) > 0
    assert customer_repo.seed_tag_dictionary(engine) == 0
    desk = Scope(actor="desk_b", role="front_desk", store_ids=frozenset({ids["store_b"]}))
    with session_scope(engine) as session:
        session.add(TagDictionary(store_id=ids["store_b"], category="coat_type", value="貴賓捲"))
    with session_scope(engine) as session:
        tags = customer_repo.tag_dictionary(session, scope=desk, store_id=ids["store_b"])
        assert "貴賓捲" in tags["coat_type"] and "晚間時段" in tags["preferred_slot"]
        assert "貴賓捲" not in customer_repo.tag_dictionary(session, scope=desk, store_id=ids["store_a"])["coat_type"]
        assert customer_repo.save_customer_tags(
            session, scope=desk, customer_id=ids["b1"], tags=["晚間時段", "晚間時段", " 貴賓捲 "]
        ) == ["晚間時段", "貴賓捲"]
        with pytest.raises(PermissionDenied):
            customer_repo.save_customer_tags(session, scope=desk, customer_id=ids["a1"], tags=["x"])
    with session_scope(engine) as session:
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "customer.tags")).one()
        assert entry.actor == "desk_b" and entry.after == {"tags": ["晚間時段", "貴賓捲"]}
        assert customer_repo.get_customer(session, scope=desk, customer_id=ids["b1"])["tags"] == ["晚間時段", "貴賓捲"]


def test_model_review_recorded(engine) -> None:
    ids = small_world(engine)
    manager = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({ids["store_a"]}))
    with session_scope(engine) as session:
        customer_repo.record_model_review(
            session, scope=manager, customer_id=ids["a1"], as_of=AS_OF, model_label="churn_risk", manual_label="stable"
        )
        with pytest.raises(PermissionDenied):
            customer_repo.record_model_review(
                session, scope=manager, customer_id=ids["b1"], as_of=AS_OF, model_label="new", manual_label="new"
            )
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(ModelReview)) == 1
        reviews = customer_repo.model_reviews(session, scope=manager)
        assert reviews[["model_label", "manual_label"]].values.tolist() == [["churn_risk", "stable"]]


def test_kpi_inputs_time_a_holdout_row_by_when_it_would_have_gone_out(engine) -> None:
    """Holdout rows are never sent (no ``sent_at``); the uplift's holdout arm is measured from
    their scheduled time, so the KPI board gets both arms (it showed no holdout arm before)."""
    from datetime import UTC, datetime

    from db import campaigns as campaign_repo
    from db.models import Message
    from db.score_repo import load_kpi_inputs

    ids = small_world(engine)
    at = datetime(2026, 11, 2, 3, tzinfo=UTC)  # 11:00 in Taipei
    with session_scope(engine) as session:
        campaign = campaign_repo.create_campaign(
            session,
            scope=Scope.system("t"),
            name="due",
            store_id=ids["store_a"],
            audience={},
            trigger={"kind": "due", "offset_days": -7},
            templates={"zh-TW": "{name}"},
        )
        session.add_all(
            [
                Message(
                    campaign_id=campaign.id,
                    customer_id=ids["a1"],
                    store_id=ids["store_a"],
                    channel="task",
                    dedupe_key="sent",
                    tracking_code="s",
                    status="sent",
                    scheduled_for=at,
                    sent_at=at,
                ),
                Message(
                    campaign_id=campaign.id,
                    customer_id=ids["a2"],
                    store_id=ids["store_a"],
                    channel="task",
                    dedupe_key="held",
                    tracking_code="h",
                    status="holdout",
                    scheduled_for=at,
                ),
                Message(
                    campaign_id=campaign.id,
                    customer_id=ids["a2"],
                    store_id=ids["store_a"],
                    channel="task",
                    dedupe_key="skip",
                    tracking_code="x",
                    status="suppressed",
                    reason="opted_out",
                    scheduled_for=at,
                ),
            ]
        )
    with session_scope(engine) as session:
        messages = load_kpi_inputs(session, scope=Scope.system(), until=date(2026, 11, 30))["messages"]
    by_status = messages.set_index("status")["sent_at"]
    assert by_status["holdout"] == by_status["sent"] == pd.Timestamp("2026-11-02 11:00")
    assert pd.isna(by_status["suppressed"])
