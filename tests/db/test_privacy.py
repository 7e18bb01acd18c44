"""Delete / anonymise a customer: personal data gone, KPIs unchanged, scoped, audited, CLI."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from core.kpi import revisit_rate
from core.overview import visits_and_revenue
from core.scope import PermissionDenied, Scope
from db import repo
from db.engine import session_scope
from db.models import AuditLog, Booking, Customer
from db.privacy import CustomerNotFound, anonymise_customer, find_customer_id
from db.users import scope_for
from tests.support.factories import small_world

AS_OF = date(2026, 11, 30)


def _kpis(engine) -> tuple:
    with session_scope(engine) as session:
        bookings = repo.load_bookings(session, scope=Scope.system())
    visits, revenue = visits_and_revenue(bookings, as_of=AS_OF, period_days=90)
    rate = revisit_rate(bookings, as_of=date(2026, 12, 31), n_days=30)
    return visits.value, revenue.value, rate.value, len(bookings), float(bookings["amount"].sum())


def test_anonymise_clears_personal_data_and_keeps_kpis(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        a1 = session.get(Customer, ids["a1"])
        a1.email, a1.line_id, a1.tags = "wang@gmail.com", "U1234abcd", ["vip"]
        a1.attributes, a1.birthday, a1.consent_line = {"note": "王小美 likes tea"}, date(1990, 5, 1), True
        session.execute(select(Booking).where(Booking.customer_id == ids["a1"])).scalars().first().attributes = {
            "memo": "王小美",
            "quantity": 2,
        }
    before = _kpis(engine)
    with session_scope(engine) as session:
        scope = scope_for(session, username="mgr_a")
        result = anonymise_customer(session, scope=scope, customer_id=ids["a1"])
    assert result.external_id == f"anon-{ids['a1']}" and not result.already
    assert _kpis(engine) == before
    with session_scope(engine) as session:
        a1 = session.get(Customer, ids["a1"])
        cleared = (
            a1.name,
            a1.phone,
            a1.phone_raw,
            a1.email,
            a1.line_id,
            a1.wechat_openid,
            a1.birthday,
            a1.tags,
            a1.attributes,
        )
        attrs = [b.attributes for b in session.scalars(select(Booking).where(Booking.customer_id == ids["a1"]))]
        audit = session.scalar(select(AuditLog).where(AuditLog.action == "customer_anonymise"))
        listed = repo.load_customers(session, scope=Scope.system())
    assert cleared == ("", None, None, None, None, None, None, [], {})
    assert a1.anonymized_at is not None and a1.opted_out_at is not None and not a1.consent_line
    assert a1.external_id == f"anon-{ids['a1']}"
    assert {"quantity": 2} in attrs and not any(a and "memo" in a for a in attrs)
    assert audit is not None and audit.actor == "mgr_a" and audit.entity_id == str(ids["a1"])
    flat = json.dumps([audit.before, audit.after, audit.entity_id], ensure_ascii=False)
    assert "王小美" not in flat and "A-1" not in flat and "+886" not in flat
    assert "A-1" not in set(listed["external_id"]) and len(listed) == 2


def test_anonymise_twice_is_a_no_op(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        first = anonymise_customer(session, scope=Scope.system(), customer_id=ids["b1"])
    with session_scope(engine) as session:
        second = anonymise_customer(session, scope=Scope.system(), customer_id=ids["b1"])
        entries = session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "customer_anonymise"))
    assert second.already and second.external_id == first.external_id and entries == 1


@pytest.mark.parametrize(
    ("username", "error"), [("mgr_a", CustomerNotFound), ("mkt_a", PermissionDenied), ("desk_b", PermissionDenied)]
)
def test_anonymise_refused_outside_scope_or_role_and_nothing_written(engine, username, error) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        scope = scope_for(session, username=username)
    with pytest.raises(error):
        with session_scope(engine) as session:
            anonymise_customer(session, scope=scope, customer_id=ids["b1"])
    with session_scope(engine) as session:
        b1 = session.get(Customer, ids["b1"])
        assert b1.name == "李四" and b1.anonymized_at is None
        assert session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "customer_anonymise")) == 0


def test_find_customer_id_is_scoped(engine) -> None:
    ids = small_world(engine)
    with session_scope(engine) as session:
        mgr = scope_for(session, username="mgr_a")
        assert find_customer_id(session, scope=mgr, external_id="A-1") == ids["a1"]
        for missing in ("B-1", "nobody"):  # the same answer for "elsewhere" and "nowhere"
            with pytest.raises(CustomerNotFound):
                find_customer_id(session, scope=mgr, external_id=missing)


def _cli(monkeypatch, engine, argv: list[str]) -> int:
    from dashboard import cli, settings
    from db import engine as db_engine

    monkeypatch.setenv("DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    try:
        return cli.main(argv)
    finally:
        settings.load_settings.cache_clear()
        db_engine.get_engine.cache_clear()


def test_cli_anonymise_as_user(engine, monkeypatch, capsys) -> None:
    ids = small_world(engine)
    assert _cli(monkeypatch, engine, ["privacy", "anonymise", "B-1", "--as", "mgr_a"]) == 2
    assert "no such customer" in capsys.readouterr().err
    assert _cli(monkeypatch, engine, ["--as", "mkt_a", "privacy", "anonymise", "A-2"]) == 2
    assert "may not anonymise" in capsys.readouterr().err
    assert _cli(monkeypatch, engine, ["privacy", "anonymise", "A-2", "--as", "mgr_a"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["external_id"] == f"anon-{ids['a2']}" and printed["already"] is False
    with session_scope(engine) as session:
        assert session.get(Customer, ids["b1"]).anonymized_at is None
        assert session.get(Customer, ids["a2"]).anonymized_at is not None
