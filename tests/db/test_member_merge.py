"""One person, one member: duplicates proposed, merged and undone (SQLite and PostgreSQL).

Every expected number is counted by hand on worlds small enough to read.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from core import loyalty
from core.scope import PermissionDenied, Scope
from db import loyalty as loyalty_repo
from db import repo
from db.engine import session_scope
from db.merge_repo import MergeError
from db.models import (
    AuditLog,
    Booking,
    Customer,
    MemberMerge,
    Pet,
    PointsAccount,
    PointsLedger,
    Referral,
    Store,
)
from db.score_repo import load_kpi_inputs
from db.users import create_user
from services import members

SYSTEM = Scope.system("test")
ADMIN = Scope(actor="admin", role="chain_admin", store_ids=None)
PHONE = "+886912000111"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def two_store_world(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Store S1 and S2 (both Taipei). Member A-1 (home S1) visits S1 on 2026-11-10; member B-7
    (home S2) visits S2 on 2026-11-20; both cards carry the same phone. A stranger C-3 (home S2,
    another phone) visits S2 on 2026-11-15. Users: admin, mgr1 (S1 only), mgr12 (S1+S2), mkt."""
    with session_scope(engine) as session:
        s1 = Store(code="S1", name="Store One", timezone="Asia/Taipei")
        s2 = Store(code="S2", name="Store Two", timezone="Asia/Taipei")
        session.add_all([s1, s2])
        session.flush()
        a = Customer(
            external_id="A-1",
            name="王小美",
            phone=PHONE,
            home_store_id=s1.id,
            tags=["短毛"],
            joined_on=date(2025, 5, 1),
        )
        b = Customer(
            external_id="B-7",
            name="王小美",
            phone=PHONE,
            email="mei@example.com",
            home_store_id=s2.id,
            tags=["週末", "短毛"],
            joined_on=date(2024, 3, 1),
        )
        c = Customer(external_id="C-3", name="陳大文", phone="+886955000222", home_store_id=s2.id)
        session.add_all([a, b, c])
        session.flush()
        session.add_all(
            [
                # 02:00 UTC = 10:00 in Taipei
                Booking(
                    dedupe_key="a1",
                    store_id=s1.id,
                    customer_id=a.id,
                    scheduled_at=utc(2026, 11, 10, 2),
                    status="completed",
                    amount=1000,
                ),
                Booking(
                    dedupe_key="b1",
                    store_id=s2.id,
                    customer_id=b.id,
                    scheduled_at=utc(2026, 11, 20, 2),
                    status="completed",
                    amount=800,
                ),
                Booking(
                    dedupe_key="c1",
                    store_id=s2.id,
                    customer_id=c.id,
                    scheduled_at=utc(2026, 11, 15, 2),
                    status="completed",
                    amount=500,
                ),
            ]
        )
        create_user(session, scope=SYSTEM, username="admin", password="correct-horse-9", role="chain_admin")
        create_user(
            session, scope=SYSTEM, username="mgr1", password="correct-horse-9", role="store_manager", store_ids=[s1.id]
        )
        create_user(
            session,
            scope=SYSTEM,
            username="mgr12",
            password="correct-horse-9",
            role="store_manager",
            store_ids=[s1.id, s2.id],
        )
        create_user(
            session, scope=SYSTEM, username="mkt", password="correct-horse-9", role="marketer", store_ids=[s1.id, s2.id]
        )
        return {"s1": s1.id, "s2": s2.id, "a": a.id, "b": b.id, "c": c.id}


def _cli(engine, monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from dashboard import cli, settings
    from db import engine as db_engine

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    try:
        code = cli.main(list(argv))
    finally:
        settings.load_settings.cache_clear()
        db_engine.get_engine.cache_clear()
    out, err = capsys.readouterr()
    return code, out, err


def _kpis(engine, monkeypatch, capsys) -> dict:  # type: ignore[no-untyped-def]
    code, out, _ = _cli(engine, monkeypatch, capsys, "kpi", "--as-of", "2026-11-30", "--json")
    assert code == 0
    return json.loads(out)


def _customers_counted(engine, monkeypatch, capsys, tmp_path) -> tuple:  # type: ignore[no-untyped-def]
    """(customers the KPIs read, customers counted, {member number: frequency} of the score CSV)."""
    import csv

    with session_scope(engine) as session:
        frames = load_kpi_inputs(session, scope=ADMIN, until=date(2026, 11, 30))
        counted = len(frames["customers"]), repo.count_customers(session, scope=ADMIN)
    out = tmp_path / "scores.csv"
    code, _, err = _cli(
        engine, monkeypatch, capsys, "score", "--as-of", "2026-11-30", "--model", "rule", "--out", str(out), "--quiet"
    )
    assert code == 0, err
    with out.open(encoding="utf-8-sig") as handle:
        scored = {row["customer_id"]: int(row["frequency"]) for row in csv.DictReader(handle)}
    return (*counted, scored)


def test_one_phone_two_stores_is_one_person_after_the_merge_and_two_again_after_undo(
    engine, monkeypatch, capsys, tmp_path
) -> None:
    two_store_world(engine)
    before = _kpis(engine, monkeypatch, capsys)
    # Three visits in the 30 days to 2026-11-30, each at the visitor's home store.
    assert before["kpis"]["cross_store_share"] == {
        **before["kpis"]["cross_store_share"],
        "value": 0.0,
        "numerator": 0.0,
        "denominator": 3.0,
    }
    assert _customers_counted(engine, monkeypatch, capsys, tmp_path) == (3, 3, {"A-1": 1, "B-7": 1, "C-3": 1})

    code, out, _ = _cli(engine, monkeypatch, capsys, "--as", "mgr12", "members", "duplicates", "--json")
    assert code == 0
    # phone 0.6, same name: 1 − 0.4 × 0.5 = 0.8; the stranger is not proposed.
    assert json.loads(out) == [
        {
            "member_a": "A-1",
            "member_b": "B-7",
            "score": 0.8,
            "evidence": ["same_phone", "same_name"],
            "stores": ["S1", "S2"],
            "visits": [1, 1],
            "group": json.loads(out)[0]["group"],
        }
    ]

    code, out, _ = _cli(engine, monkeypatch, capsys, "--as", "mgr12", "members", "merge", "A-1", "B-7")
    assert code == 0
    merged = json.loads(out)
    assert (merged["keep"], merged["absorb"], merged["moved"]["booking"]) == ("A-1", "B-7", 1)

    after = _kpis(engine, monkeypatch, capsys)
    # One person (home S1) visited S1 and S2: 1 of A-1's 2 visits is away; C-3's one visit is at home.
    assert after["kpis"]["cross_store_share"]["value"] == pytest.approx(1 / 3)
    assert (after["kpis"]["cross_store_share"]["numerator"], after["kpis"]["cross_store_share"]["denominator"]) == (
        1.0,
        3.0,
    )
    assert _customers_counted(engine, monkeypatch, capsys, tmp_path) == (2, 2, {"A-1": 2, "C-3": 1})
    code, out, _ = _cli(engine, monkeypatch, capsys, "--as", "mgr12", "members", "duplicates", "--json")
    assert json.loads(out) == []

    code, out, _ = _cli(engine, monkeypatch, capsys, "--as", "mgr12", "members", "undo", str(merged["merge_id"]))
    assert code == 0 and json.loads(out)["absorb"] == "B-7"
    assert _kpis(engine, monkeypatch, capsys) == before
    assert _customers_counted(engine, monkeypatch, capsys, tmp_path) == (3, 3, {"A-1": 1, "B-7": 1, "C-3": 1})


def _ledger(session, customer_id: int) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return sorted(
        (r.idempotency_key, r.points)
        for r in session.scalars(select(PointsLedger).where(PointsLedger.customer_id == customer_id))
    )


def _points_world(engine, ids) -> None:  # type: ignore[no-untyped-def]
    """A-1 earned 100 (expires 2027-12-31); B-7 earned 50 (expires 2027-06-30) and redeemed 20."""
    with session_scope(engine) as session:
        loyalty_repo.append_entries(
            session,
            source="test",
            entries=[
                loyalty.LedgerEntry(
                    ids["a"], "earn", 100, pd_ts("2026-11-10"), "earn:a", expires_at=pd_ts("2027-12-31")
                ),
                loyalty.LedgerEntry(
                    ids["b"], "earn", 50, pd_ts("2026-11-20"), "earn:b", expires_at=pd_ts("2027-06-30")
                ),
                loyalty.LedgerEntry(
                    ids["b"], "redeem", -20, pd_ts("2026-11-21"), "redeem:b", allocations=(("earn:b", 20),)
                ),
            ],
        )


def pd_ts(text: str):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.Timestamp(text)


def _state(session, ids) -> dict:  # type: ignore[no-untyped-def]
    """Everything a merge may touch, as plain values."""

    def customer(cid: int) -> tuple:
        c = session.get(Customer, cid)
        return (c.tags, c.email, c.joined_on, c.referred_by, c.merged_into_id, c.phone)

    return {
        "customers": {k: customer(ids[k]) for k in ("a", "b", "c")},
        "bookings": sorted((b.dedupe_key, b.customer_id, b.pet_id) for b in session.scalars(select(Booking))),
        "pets": sorted((p.name, p.customer_id) for p in session.scalars(select(Pet))),
        "ledger": {k: _ledger(session, ids[k]) for k in ("a", "b")},
        "balances": {k: getattr(session.get(PointsAccount, ids[k]), "balance", None) for k in ("a", "b")},
        "referrals": sorted((r.id, r.referrer_id, r.referee_id, r.code) for r in session.scalars(select(Referral))),
    }


def _rich_world(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The two-store world plus: pets (A-1: 小白; B-7: 小白 and 小黑, 小白's booking), points, a
    referral B-7 → C-3 (C-3.referred_by = B-7) and a referral A-1 → B-7 between the two cards."""
    ids = two_store_world(engine)
    with session_scope(engine) as session:
        a_white = Pet(customer_id=ids["a"], name="小白")
        b_white = Pet(customer_id=ids["b"], name="小白")
        b_black = Pet(customer_id=ids["b"], name="小黑")
        session.add_all([a_white, b_white, b_black])
        session.flush()
        booking = session.scalars(select(Booking).where(Booking.dedupe_key == "b1")).one()
        booking.pet_id = b_white.id
        session.add_all(
            [
                Referral(referrer_id=ids["b"], referee_id=ids["c"], code="B7"),
                Referral(referrer_id=ids["a"], referee_id=ids["b"], code="A1"),
            ]
        )
        session.get(Customer, ids["c"]).referred_by = ids["b"]
        session.get(Customer, ids["b"]).referred_by = ids["a"]
        ids.update(a_white=a_white.id, b_white=b_white.id, b_black=b_black.id)
    _points_world(engine, ids)
    return ids


def test_merge_moves_bookings_pets_points_tags_and_referrals_and_undo_restores_them(engine) -> None:
    ids = _rich_world(engine)
    with session_scope(engine) as session:
        original = _state(session, ids)
    assert original["balances"] == {"a": 100, "b": 30}

    outcome = members.merge_members(engine, ADMIN, ids["a"], ids["b"])
    assert outcome.counts["booking"] == 1 and outcome.counts["points_ledger"] == 2
    assert outcome.counts["pet"] == 1 and outcome.counts["pets_folded"] == 1
    with session_scope(engine) as session:
        state = _state(session, ids)
        assert state["bookings"] == sorted(
            [("a1", ids["a"], None), ("b1", ids["a"], ids["a_white"]), ("c1", ids["c"], None)]
        )
        # 小黑 moved; B-7's 小白 stayed with the hidden card, its booking now names A-1's 小白.
        assert state["pets"] == sorted([("小白", ids["a"]), ("小白", ids["b"]), ("小黑", ids["a"])])
        assert state["ledger"]["a"] == [("earn:a", 100), ("earn:b", 50), ("redeem:b", -20)]
        assert state["ledger"]["b"] == []
        assert state["balances"] == {"a": 130, "b": 0}  # 100 + 50 − 20
        assert loyalty_repo.reconcile(session).empty
        # Tags united (A-1's first), B-7's email filled in, the earlier join date; the referral
        # between the two cards is gone, B-7 → C-3 is now A-1 → C-3.
        assert state["customers"]["a"] == (["短毛", "週末"], "mei@example.com", date(2024, 3, 1), None, None, PHONE)
        assert state["customers"]["b"][4] == ids["a"]
        assert state["customers"]["c"][3] == ids["a"]
        assert [(r[1], r[2]) for r in state["referrals"]] == [(ids["a"], ids["c"])]
        record = session.get(MemberMerge, outcome.merge_id)
        assert (record.score, record.evidence) == (0.8, ["same_phone", "same_name"])
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "member.merge")).one()
        assert (audit.actor, audit.entity_id, audit.store_id) == ("admin", str(outcome.merge_id), ids["s1"])

    members.undo_merge(engine, ADMIN, outcome.merge_id)
    with session_scope(engine) as session:
        assert _state(session, ids) == original
        assert loyalty_repo.reconcile(session).empty
        assert session.get(MemberMerge, outcome.merge_id).undone_by == "admin"
        assert session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "member.merge_undo")) == 1


def test_undo_refused_when_points_of_the_merged_card_were_redeemed_since(engine) -> None:
    ids = _rich_world(engine)
    outcome = members.merge_members(engine, ADMIN, ids["a"], ids["b"])
    with session_scope(engine) as session:
        # FIFO by expiry: B-7's lot (June 2027, 30 left) goes first, then 10 of A-1's.
        loyalty_repo.redeem(
            session, scope=ADMIN, customer_id=ids["a"], points=40, key="redeem:after", at=utc(2026, 12, 1, 2)
        )
    with session_scope(engine) as session:
        merged_state = _state(session, ids)
    with pytest.raises(MergeError, match="redeemed since the merge"):
        members.undo_merge(engine, ADMIN, outcome.merge_id)
    with session_scope(engine) as session:
        assert _state(session, ids) == merged_state
        assert session.get(MemberMerge, outcome.merge_id).undone_at is None


def test_store_scope_and_permission_are_enforced_and_nothing_changes(engine) -> None:
    ids = two_store_world(engine)
    with session_scope(engine) as session:
        original = _state(session, ids)
    mgr1 = Scope(actor="mgr1", role="store_manager", store_ids=frozenset({ids["s1"]}))
    marketer = Scope(actor="mkt", role="marketer", store_ids=None)
    with pytest.raises(MergeError, match="not found"):
        members.merge_members(engine, mgr1, ids["a"], ids["b"])  # B-7's home store is not theirs
    with pytest.raises(PermissionDenied, match="import"):
        members.merge_members(engine, marketer, ids["a"], ids["b"])
    with pytest.raises(PermissionDenied):
        members.find_duplicates(engine, marketer)
    # The S1 manager sees no pair: B-7 is not among their members.
    assert members.find_duplicates(engine, mgr1).empty
    with pytest.raises(MergeError, match="itself"):
        members.merge_members(engine, ADMIN, ids["a"], ids["a"])
    with session_scope(engine) as session:
        assert _state(session, ids) == original
        assert session.scalar(select(func.count(MemberMerge.id))) == 0

    outcome = members.merge_members(engine, ADMIN, ids["a"], ids["b"])
    with pytest.raises(MergeError, match="already merged"):
        members.merge_members(engine, ADMIN, ids["c"], ids["b"])
    with pytest.raises(MergeError, match="not found"):
        members.undo_merge(engine, mgr1, outcome.merge_id)
    members.undo_merge(engine, ADMIN, outcome.merge_id)
    with pytest.raises(MergeError, match="already undone"):
        members.undo_merge(engine, ADMIN, outcome.merge_id)


def test_cli_refuses_without_permission_or_scope_and_writes_nothing(engine, monkeypatch, capsys) -> None:
    ids = two_store_world(engine)
    code, _, err = _cli(engine, monkeypatch, capsys, "--as", "mkt", "members", "merge", "A-1", "B-7")
    assert code == 2 and "`members merge` needs the 'import' permission" in err
    code, _, err = _cli(engine, monkeypatch, capsys, "--as", "mgr1", "members", "merge", "A-1", "B-7")
    assert code == 2 and "'B-7' not found" in err
    code, out, _ = _cli(engine, monkeypatch, capsys, "--as", "mgr1", "members", "duplicates", "--json")
    assert code == 0 and json.loads(out) == []
    with session_scope(engine) as session:
        assert session.get(Customer, ids["b"]).merged_into_id is None
        assert session.scalar(select(func.count(MemberMerge.id))) == 0


def test_data_version_changes_with_a_merge_and_its_undo(engine) -> None:
    ids = two_store_world(engine)
    with session_scope(engine) as session:
        first = repo.data_version(session)
    outcome = members.merge_members(engine, ADMIN, ids["a"], ids["b"])
    with session_scope(engine) as session:
        merged = repo.data_version(session)
    members.undo_merge(engine, ADMIN, outcome.merge_id)
    with session_scope(engine) as session:
        undone = repo.data_version(session)
    assert len({first, merged, undone}) == 3


def test_empty_database_has_no_duplicates(engine) -> None:
    frame = members.find_duplicates(engine, ADMIN)
    assert frame.empty and list(frame.columns) == list(members.DUPLICATE_COLUMNS)


def test_an_import_after_the_merge_adds_the_merged_cards_bookings_to_the_kept_member(
    engine, monkeypatch, capsys, tmp_path
) -> None:
    ids = two_store_world(engine)
    members.merge_members(engine, ADMIN, ids["a"], ids["b"])
    path = tmp_path / "store2.csv"
    # The old system still exports member B-7; a member number never seen before is a new member.
    path.write_text(
        "booking_id,customer_id,date,store\nX-1,B-7,2026-11-25,S2\nX-2,N-1,2026-11-26,S2\n", encoding="utf-8"
    )
    code, out, err = _cli(engine, monkeypatch, capsys, "import", "bookings", str(path))
    assert code == 0, err
    assert json.loads(out)["imported"] == 2
    with session_scope(engine) as session:
        owners = dict(
            session.execute(
                select(Booking.external_id, Booking.customer_id).where(Booking.external_id.in_(["X-1", "X-2"]))
            ).all()
        )
        newcomer = session.scalars(select(Customer.id).where(Customer.external_id == "N-1")).one()
    assert owners == {"X-1": ids["a"], "X-2": newcomer}


def test_two_concurrent_merges_of_one_card_one_wins(engine) -> None:
    """B-7 merged into A-1 and into C-3 at the same moment: exactly one merge happens."""
    import threading

    ids = two_store_world(engine)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def merge(keep: str) -> None:
        barrier.wait()
        try:
            results[keep] = members.merge_members(engine, ADMIN, ids[keep], ids["b"])
        except MergeError as exc:
            results[keep] = exc.code

    threads = [threading.Thread(target=merge, args=(k,)) for k in ("a", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, r in results.items() if not isinstance(r, str)]
    assert len(winners) == 1 and sorted(r for r in results.values() if isinstance(r, str)) == ["already_merged"]
    with session_scope(engine) as session:
        assert session.get(Customer, ids["b"]).merged_into_id == ids[winners[0]]
        assert session.scalar(select(func.count(MemberMerge.id))) == 1
        assert session.scalars(select(Booking.customer_id).where(Booking.dedupe_key == "b1")).one() == ids[winners[0]]


def test_the_merged_card_leaves_search_and_lists_and_comes_back_after_undo(engine, monkeypatch, capsys) -> None:
    from db.customer_repo import search_customers

    ids = two_store_world(engine)
    code, out, _ = _cli(engine, monkeypatch, capsys, "--as", "mgr12", "members", "duplicates")
    assert code == 0 and out.strip() == "0.80  A-1 (S1) = B-7 (S2)  same_phone, same_name"
    outcome = members.merge_members(engine, ADMIN, ids["a"], ids["b"])
    with session_scope(engine) as session:
        assert list(search_customers(session, scope=ADMIN, query="王小美")["external_id"]) == ["A-1"]
        assert list(repo.load_customers(session, scope=ADMIN)["external_id"]) == ["A-1", "C-3"]
    code, out, _ = _cli(engine, monkeypatch, capsys, "--as", "mgr12", "members", "duplicates")
    assert out.strip() == "no probable duplicates"
    members.undo_merge(engine, ADMIN, outcome.merge_id)
    with session_scope(engine) as session:
        assert sorted(search_customers(session, scope=ADMIN, query="王小美")["external_id"]) == ["A-1", "B-7"]


def test_anonymising_the_kept_member_erases_the_merged_card_and_the_merge_records_contacts(engine) -> None:
    from db.privacy import anonymise_customer

    ids = _rich_world(engine)
    members.merge_members(engine, ADMIN, ids["a"], ids["b"])
    manager = Scope(actor="mgr1", role="store_manager", store_ids=frozenset({ids["s1"]}))  # A-1's store only
    with session_scope(engine) as session:
        anonymise_customer(session, scope=manager, customer_id=ids["a"])
    with session_scope(engine) as session:
        for key in ("a", "b"):
            card = session.get(Customer, ids[key])
            assert (card.name, card.phone, card.email, card.tags) == ("", None, None, [])
            assert card.anonymized_at is not None
        kept = [
            json.dumps([r.keep_before, r.moved, r.evidence], ensure_ascii=False, default=str)
            for r in session.scalars(select(MemberMerge))
        ]
        kept += [
            json.dumps([e.before, e.after], ensure_ascii=False, default=str)
            for e in session.scalars(select(AuditLog).where(AuditLog.action.startswith("member.")))
        ]
    for personal in ("王小美", PHONE, "mei@example.com", "A-1", "B-7", "週末"):
        assert not any(personal in text for text in kept), personal
