"""AppTest of the loyalty pages: dashboard figures, rule edit → impact preview → versioned, audited save."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from core import loyalty
from core.scope import Scope
from db import loyalty as loyalty_repo
from db.engine import session_scope
from db.models import AuditLog
from demo.loyalty import seed_loyalty
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world

RULES_PAGE = "../pages/loyalty_rules.py"


def _chain_rules(engine) -> None:
    with session_scope(engine) as session:
        loyalty_repo.save_tier_rules(
            session,
            scope=Scope.system("test"),
            store_id=None,
            rules=[
                loyalty.TierRule("一般會員", 0),
                loyalty.TierRule("銀卡", 1, min_spend_12m=500),
                loyalty.TierRule("金卡", 2, min_spend_12m=2000),
            ],
            policy=loyalty.TierPolicy(),
        )


def test_loyalty_dashboard_shows_points_and_tiers(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    seed_loyalty(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page="../pages/loyalty.py")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    # Store A: a1 earned 2 × 1,200 and a2 800 points (1 point per NT$1), worth NT$0.2 each.
    assert metrics["Outstanding points"] == "3,200"
    assert metrics["Points liability"] == "NT$640"
    assert metrics["Members with a tier"] == "2"


def test_rule_change_previews_impact_then_saves_a_new_audited_version(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    _chain_rules(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("admin", page=RULES_PAGE)
    assert not app.exception
    assert {m.label: m.value for m in app.metric}["Customers moving up"] == "0"
    app.selectbox(key="loyalty_rules.quick_tier.None").set_value("金卡").run()
    app.number_input(key="loyalty_rules.q_spend.None.金卡").set_value(700.0)
    next(b for b in app.button if b.label == "Apply to draft").click().run()
    assert not app.exception
    assert "Impact preview (not saved yet)" in texts(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Customers moving up"] == "1"  # a2 (NT$800 in 12 months) moves up to 金卡
    with session_scope(sqlite_engine) as session:  # nothing saved by previewing
        assert loyalty_repo.active_tier_rules(session, scope=Scope.system(), store_id=None).version == 1
    app.button(key="loyalty_rules.save_tiers").click().run()
    assert not app.exception
    with session_scope(sqlite_engine) as session:
        active = loyalty_repo.active_tier_rules(session, scope=Scope.system(), store_id=None)
        audits = list(
            session.scalars(select(AuditLog).where(AuditLog.action == "tier_rules_saved").order_by(AuditLog.id))
        )
        versions = loyalty_repo.tier_rule_versions(session, scope=Scope.system(), store_id=None)
    assert active is not None and active.version == 2
    assert {r.name: r.min_spend_12m for r in active.rules}["金卡"] == 700
    assert versions["version"].tolist() == [2, 1]
    assert len(audits) == 2 and audits[-1].actor == "admin"
    assert (
        audits[-1].before["tiers"][2]["min_spend_12m"] == 2000 and audits[-1].after["tiers"][2]["min_spend_12m"] == 700
    )
    assert "Saved as version 2" in texts(app)


def test_store_manager_sees_chain_rules_read_only(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    _chain_rules(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page=RULES_PAGE)
    assert not app.exception
    assert "Only the chain admin may change chain-wide rules" in texts(app)
    assert app.button(key="loyalty_rules.save_tiers").disabled
    with session_scope(sqlite_engine) as session:
        assert session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "tier_rules_saved")) == 1


def test_tier_chart_lists_tiers_by_rank_not_by_size() -> None:
    from core import loyalty as core_loyalty
    from dashboard.loyalty_data import tier_distribution, tier_order
    from db.loyalty import TierRuleSet

    chain = TierRuleSet(
        store_id=None,
        version=1,
        policy=core_loyalty.TierPolicy(),
        rules=(
            core_loyalty.TierRule("一般會員", 0),
            core_loyalty.TierRule("銀卡", 1, min_spend_12m=500),
            core_loyalty.TierRule("金卡", 2, min_spend_12m=2000),
            core_loyalty.TierRule("鑽石", 3, min_spend_12m=8000),
        ),
    )
    order = tier_order([chain, None])
    assert order == ["一般會員", "銀卡", "金卡", "鑽石"]
    accounts = pd.DataFrame({"tier": ["銀卡"] * 5 + ["鑽石"] + ["一般會員"] * 3 + [None] * 9 + ["金卡"] * 2})
    dist = tier_distribution(accounts, none_label="—", order=order)
    assert dist["tier"].tolist() == ["一般會員", "銀卡", "金卡", "鑽石", "—"]
    assert dist["customers"].tolist() == [3, 5, 2, 1, 9] and dist["share"].sum() == pytest.approx(1.0)
