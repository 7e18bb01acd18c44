"""AppTest of Customer 360: search within scope, figures, masking, tags with audit, manual review."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from dashboard.navigation import pages_for
from db.customer_repo import seed_tag_dictionary
from db.engine import session_scope
from db.models import AuditLog, Customer, ModelReview
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import small_world

PAGE = "../pages/customer_360.py"


def _open(username: str, query: str, **kwargs):  # type: ignore[no-untyped-def]
    app = run_as(username, page=PAGE, **kwargs)
    app.text_input(key="c360.query").input(query).run()
    return app


def test_manager_finds_own_customer_with_figures(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = _open("mgr_a", "王")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Visits"] == "2" and metrics["Total spend"] == "NT$2,400"
    assert metrics["Points balance"] == "0"
    assert metrics["Revisit window"].endswith("days")
    assert "Why:" in texts(app)
    assert "+886912345678" in texts(app)  # managers see the phone
    assert len(app.get("plotly_chart")) == 1  # visit timeline


def test_other_store_customer_is_not_found(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = _open("mgr_a", "B-1")
    assert "No matching customer." in texts(app)
    app = run_as("mgr_a")
    app.session_state["c360.customer_id"] = ids["b1"]
    app.switch_page(PAGE)
    app.run()
    assert "Customer not found" in texts(app)


def test_marketer_sees_masked_contact_and_no_review(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = _open("mkt_a", "A-1")
    assert not app.exception
    assert "+886912345678" not in texts(app) and "+886912***678" in texts(app)
    assert "王小美" not in " ".join(t.value for t in app.text)
    assert "Manual review" not in texts(app)


def test_html_name_is_shown_as_text(sqlite_engine, monkeypatch) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = _open("mgr_a", "A-2")
    assert not app.exception
    assert any("<img src=x onerror=alert(1)>" in t.value for t in app.text)
    for element in app.markdown:
        assert "<img" not in str(element.value) or not getattr(element, "allow_html", False)


def test_front_desk_saves_tags_with_audit(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    seed_tag_dictionary(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = _open("desk_b", "李四", locale="zh-TW")
    assert not app.exception
    app.multiselect(key=f"c360.tag.{ids['b1']}.preferred_slot").select("晚間時段")
    next(b for b in app.button if b.label == "儲存標籤").click().run()
    assert not app.exception
    assert "標籤已儲存。" in texts(app)
    with session_scope(sqlite_engine) as session:
        assert session.get(Customer, ids["b1"]).tags == ["晚間時段"]
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "customer.tags")).one()
        assert entry.actor == "desk_b"
    assert "人工複核" not in texts(app)  # front desk does not review the model


def test_manager_records_manual_review(sqlite_engine, monkeypatch) -> None:
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = _open("mgr_a", "A-1")
    app.selectbox(key=f"c360.review.{ids['a1']}").select("churn_risk").run()
    app.button(key="c360.review_save").click().run()
    assert not app.exception
    with session_scope(sqlite_engine) as session:
        review = session.scalars(select(ModelReview)).one()
        assert (review.customer_id, review.manual_label, review.reviewer) == (ids["a1"], "churn_risk", "mgr_a")


@pytest.mark.parametrize("role", ["chain_admin", "store_manager", "marketer", "front_desk"])
def test_customer_360_open_to_every_staff_role(role) -> None:
    assert "customer_360" in [p.key for p in pages_for(role)]


def test_without_a_search_todays_priority_customers_can_be_opened(sqlite_engine, monkeypatch) -> None:
    """An empty search is not an empty page: the store's priority customers are offered, only
    the caller's own store's."""
    ids = small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a", page=PAGE)
    assert not app.exception
    app.date_input(key="ui.as_of").set_value(date(2026, 12, 20)).run()  # both store-A customers now overdue
    box = app.selectbox(key="c360.priority_pick")
    assert box.options, "no priority customers offered"
    assert all("李四" not in option for option in box.options)  # store B's customer
    assert any("王小美" in option for option in box.options)
    box.set_value(ids["a1"]).run()
    assert not app.exception
    assert "Why:" in texts(app) and len(app.get("plotly_chart")) == 1  # that customer's page opened
