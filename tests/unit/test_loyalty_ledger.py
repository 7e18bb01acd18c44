"""Points ledger: FIFO lots, redemption, expiry, idempotency, reconciliation (RELIABILITY 19–20)."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.loyalty.points import (
    DuplicateEntry,
    InsufficientPoints,
    LedgerEntry,
    LedgerError,
    PointsRule,
    RedemptionItem,
    RedemptionRefused,
    adjustment_entry,
    available_points,
    balance,
    earn_entries,
    entries_from_frame,
    entries_to_frame,
    expiry_entries,
    new_entries,
    open_lots,
    plan_redemption,
    quote_item,
    reconcile,
    redemption_quote,
    validate_ledger,
)

T0 = pd.Timestamp("2024-01-01")


def earn(cid: int, pts: int, at: str, expires: str | None, key: str) -> LedgerEntry:
    return LedgerEntry(cid, "earn", pts, pd.Timestamp(at), key, None if expires is None else pd.Timestamp(expires))


# --------------------------------------------------------------------------- RELIABILITY 20


def test_reliability_20_january_lot_used_first_and_expiry_job_idempotent():
    # earned in the order June-lot first, so "oldest earned" and "oldest expiring" differ
    ledger = [
        earn(1, 50, "2023-07-01", "2024-06-30", "earn:booking:june"),
        earn(1, 50, "2023-08-01", "2024-01-31", "earn:booking:jan"),
    ]
    redeem = plan_redemption(ledger, customer_id=1, points=60, as_of="2024-01-10", key="redeem:1")
    assert redeem.points == -60
    assert redeem.allocations == (("earn:booking:jan", 50), ("earn:booking:june", 10))
    ledger.append(redeem)

    lots = open_lots(ledger, as_of="2024-01-10")
    assert lots[["lot_key", "points_remaining"]].values.tolist() == [["earn:booking:june", 40]]

    first = expiry_entries(ledger, as_of="2024-07-01")
    assert [(e.idempotency_key, e.points) for e in first] == [("expire:earn:booking:june", -40)]
    ledger += first
    assert expiry_entries(ledger, as_of="2024-07-01") == []
    assert expiry_entries(ledger, as_of="2025-01-01") == []
    assert balance(ledger).to_dict() == {1: sum(e.points for e in ledger)} == {1: 0}
    assert reconcile(balance(ledger), ledger).empty


def test_expiry_job_twice_on_same_snapshot_gives_identical_entries():
    ledger = [earn(1, 30, "2023-01-01", "2024-01-01", "a"), earn(2, 20, "2023-02-01", "2024-02-01", "b")]
    one = expiry_entries(ledger, as_of="2024-03-01")
    two = expiry_entries(ledger, as_of="2024-05-01")
    assert one == two  # same keys, same dates: the unique key makes the second insert a no-op
    assert len(new_entries(two, ledger + one)) == 0


def test_nothing_expires_before_its_date():
    ledger = [earn(1, 30, "2023-01-01", "2024-01-01", "a")]
    assert expiry_entries(ledger, as_of="2023-12-31 23:59") == []
    assert len(expiry_entries(ledger, as_of="2024-01-01")) == 1


# --------------------------------------------------------------------------- RELIABILITY 19


def test_reliability_19_concurrent_redemptions_exactly_one_succeeds():
    ledger = [earn(1, 100, "2024-01-01", "2025-01-01", "earn:booking:1")]
    lock = threading.Lock()  # stands in for the db layer's per-customer row lock
    results: list[str] = []
    barrier = threading.Barrier(2)

    def redeem(n: int) -> None:
        barrier.wait()
        with lock:
            try:
                entry = plan_redemption(
                    list(ledger), customer_id=1, points=80, as_of="2024-02-01", key=f"redeem:order:{n}"
                )
            except InsufficientPoints:
                results.append("refused")
                return
            ledger.append(entry)
            results.append("ok")

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused"]
    assert balance(ledger).to_dict() == {1: 20}
    validate_ledger(ledger)


def test_stale_snapshot_double_spend_is_caught_by_validate_ledger():
    ledger = [earn(1, 100, "2024-01-01", "2025-01-01", "e1")]
    a = plan_redemption(ledger, customer_id=1, points=80, as_of="2024-02-01", key="r:a")
    b = plan_redemption(ledger, customer_id=1, points=80, as_of="2024-02-01", key="r:b")
    validate_ledger([*ledger, a])
    with pytest.raises(LedgerError):
        validate_ledger([*ledger, a, b])


# --------------------------------------------------------------------------- redemption rules


def test_redemption_refusals_and_idempotency():
    rule = PointsRule(min_redemption=100)
    ledger = [earn(1, 150, "2024-01-01", "2025-01-01", "e1")]
    with pytest.raises(RedemptionRefused):
        plan_redemption(ledger, customer_id=1, points=50, as_of="2024-02-01", key="r1", rule=rule)
    with pytest.raises(InsufficientPoints) as err:
        plan_redemption(ledger, customer_id=1, points=200, as_of="2024-02-01", key="r1", rule=rule)
    assert (err.value.available, err.value.requested) == (150, 200)
    entry = plan_redemption(ledger, customer_id=1, points=100, as_of="2024-02-01", key="r1", rule=rule)
    ledger.append(entry)
    with pytest.raises(DuplicateEntry) as dup:
        plan_redemption(ledger, customer_id=1, points=100, as_of="2024-02-01", key="r1", rule=rule)
    assert dup.value.existing == entry


def test_points_past_expiry_are_not_redeemable_before_the_job_runs():
    ledger = [earn(1, 100, "2023-01-01", "2024-01-01", "old"), earn(1, 10, "2023-06-01", "2024-06-01", "new")]
    assert balance(ledger).loc[1] == 110
    assert available_points(ledger, customer_id=1, as_of="2024-02-01") == 10
    with pytest.raises(InsufficientPoints):
        plan_redemption(ledger, customer_id=1, points=50, as_of="2024-02-01", key="r")


def test_lots_earned_later_are_not_usable_and_other_customers_ignored():
    ledger = [
        earn(1, 10, "2024-01-01", None, "a"),
        earn(1, 90, "2024-03-01", None, "b"),
        earn(2, 500, "2024-01-01", None, "c"),
    ]
    with pytest.raises(InsufficientPoints):
        plan_redemption(ledger, customer_id=1, points=50, as_of="2024-02-01", key="r")
    entry = plan_redemption(ledger, customer_id=1, points=50, as_of="2024-03-02", key="r")
    assert entry.allocations == (("a", 10), ("b", 40))


def test_negative_adjustment_consumes_fifo_and_cannot_overdraw():
    rule = PointsRule(expiry_months=6)
    ledger = [earn(1, 40, "2024-01-01", "2024-12-01", "late"), earn(1, 40, "2024-01-02", "2024-07-01", "early")]
    neg = adjustment_entry(ledger, customer_id=1, points=-50, as_of="2024-02-01", key="adj:1", note="correction")
    assert neg.allocations == (("early", 40), ("late", 10))
    with pytest.raises(InsufficientPoints):
        adjustment_entry([*ledger, neg], customer_id=1, points=-31, as_of="2024-02-01", key="adj:2")
    pos = adjustment_entry(ledger, customer_id=1, points=25, as_of="2024-02-15", key="adj:3", rule=rule)
    assert pos.expires_at == pd.Timestamp("2024-08-15") and pos.lot_key == "adj:3"


def test_entry_validation():
    with pytest.raises(ValueError):
        LedgerEntry(1, "earn", -5, T0, "k")
    with pytest.raises(ValueError):
        LedgerEntry(1, "redeem", 5, T0, "k")
    with pytest.raises(ValueError):
        LedgerEntry(1, "redeem", -5, T0, "k", allocations=(("a", 4),))
    with pytest.raises(ValueError):
        LedgerEntry(1, "adjust", 0, T0, "k")
    with pytest.raises(ValueError):
        LedgerEntry(1, "bonus", 5, T0, "k")  # type: ignore[arg-type]


def test_unknown_lot_and_duplicate_key_are_ledger_errors():
    lot = earn(1, 10, "2024-01-01", None, "a")
    with pytest.raises(LedgerError):
        validate_ledger([lot, LedgerEntry(1, "redeem", -5, T0, "r", allocations=(("zzz", 5),))])
    with pytest.raises(LedgerError):
        validate_ledger([lot, LedgerEntry(2, "redeem", -5, T0, "r", allocations=(("a", 5),))])
    with pytest.raises(LedgerError):
        validate_ledger([lot, earn(1, 3, "2024-01-02", None, "a")])


def test_legacy_debits_without_allocations_are_replayed_fifo():
    ledger = [
        earn(1, 50, "2023-07-01", "2024-06-30", "june"),
        earn(1, 50, "2023-08-01", "2024-01-31", "jan"),
        LedgerEntry(1, "redeem", -60, pd.Timestamp("2024-01-10"), "legacy:1"),
    ]
    lots = open_lots(ledger)
    assert lots.set_index("lot_key")["points_remaining"].to_dict() == {"june": 40}


def test_frame_round_trip():
    ledger = [earn(1, 50, "2023-07-01", "2024-06-30", "a"), earn(2, 5, "2023-07-01", None, "b")]
    ledger.append(plan_redemption(ledger, customer_id=1, points=20, as_of="2023-08-01", key="r"))
    frame = entries_to_frame(ledger)
    assert entries_from_frame(frame) == ledger
    assert balance(frame).to_dict() == {1: 30, 2: 5}
    assert open_lots(frame).equals(open_lots(ledger))


# --------------------------------------------------------------------------- reconcile


def test_reconcile_reports_mismatches():
    ledger = [earn(1, 50, "2024-01-01", None, "a"), earn(2, 10, "2024-01-01", None, "b")]
    stored = pd.Series({1: 50, 2: 9, 3: 7})
    out = reconcile(stored, ledger)
    assert out[["customer_id", "issue", "difference"]].values.tolist() == [
        [2, "balance_mismatch", -1],
        [3, "missing_ledger", 7],
    ]
    out = reconcile(pd.DataFrame({"customer_id": [1], "balance": [50]}), ledger)
    assert out["issue"].tolist() == ["missing_stored_balance"]


# --------------------------------------------------------------------------- earning


def visits_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "booking_id": [1, 2, 3, 4],
            "customer_id": [10, 10, 11, 11],
            "scheduled_at": pd.to_datetime(
                ["2024-03-05 10:00", "2024-05-01 00:00", "2024-03-09 00:00", "2024-03-10 00:00"]
            ),
            "status": ["completed", "completed", "cancelled", "completed"],
            "amount": [1234.0, 800.0, 500.0, 95.0],
            "addon_amount": [100.0, 0.0, 0.0, 0.0],
        }
    )


def test_earn_entries_rates_multipliers_and_stable_keys():
    rule = PointsRule(earn_per_currency_unit=0.1, birthday_multiplier=2.0, expiry_months=12)
    tiers = pd.Series({10: 1.5})
    birthdays = pd.Series({10: pd.Timestamp("1990-03-20"), 11: pd.Timestamp("1991-03-01")})
    out = earn_entries(visits_frame(), rule=rule, tier_multiplier=tiers, birthdays=birthdays)
    got = {(e.idempotency_key, e.customer_id, e.points) for e in out}
    # 1334 * 0.1 * 1.5 * 2 = 400.2 → 400; 800 * 0.1 * 1.5 = 120; 95 * 0.1 * 2 = 19
    assert got == {("earn:booking:1", 10, 400), ("earn:booking:2", 10, 120), ("earn:booking:4", 11, 19)}
    assert out[0].expires_at == pd.Timestamp("2025-03-05")
    again = earn_entries(visits_frame(), rule=rule, tier_multiplier=tiers, birthdays=birthdays)
    assert again == out
    assert new_entries(again, out) == []


def test_earn_rounding_is_floor_without_float_drift():
    rule = PointsRule(earn_per_currency_unit=0.1)
    assert rule.points_for(290.0) == 29
    assert rule.points_for(9.99) == 0
    assert rule.points_for(-100) == 0


# --------------------------------------------------------------------------- quotes


def test_redemption_quotes():
    rule = PointsRule(point_cash_value=0.2, min_redemption=100)
    assert redemption_quote(500, 100, points_available=800, rule=rule).cash_to_pay == 100
    q = redemption_quote(500, 100, points_available=300, rule=rule)
    assert not q.feasible and q.reason == "insufficient_points" and q.shortfall_points == 200
    q = redemption_quote(500, 100, points_available=300, rule=rule, allow_cash_for_shortfall=True)
    assert q.feasible and q.points_to_use == 300 and q.cash_to_pay == 140
    assert redemption_quote(50, 0, points_available=300, rule=rule).reason == "below_min_redemption"
    item = RedemptionItem("護髮療程", "service", 500, 0, stock=0)
    assert quote_item(item, points_available=1000, rule=rule).reason == "out_of_stock"


# --------------------------------------------------------------------------- properties

CUSTOMERS = (1, 2)
op_strategy = st.one_of(
    st.tuples(
        st.just("earn"),
        st.sampled_from(CUSTOMERS),
        st.integers(1, 200),
        st.integers(0, 20),
        st.one_of(st.none(), st.integers(1, 120)),
    ),
    st.tuples(st.just("redeem"), st.sampled_from(CUSTOMERS), st.integers(1, 300), st.integers(0, 20)),
    st.tuples(st.just("adjust"), st.sampled_from(CUSTOMERS), st.integers(-200, 200).filter(bool), st.integers(0, 20)),
    st.tuples(st.just("expire"), st.integers(0, 20)),
)


def _fifo_key(e: LedgerEntry) -> tuple:
    return (e.expires_at is None, e.expires_at or pd.Timestamp.max, e.occurred_at, e.idempotency_key)


class Model:
    """Independent reference: remaining points per lot key."""

    def __init__(self) -> None:
        self.lots: dict[str, LedgerEntry] = {}
        self.remaining: dict[str, int] = {}

    def usable(self, cid: int, when: pd.Timestamp) -> list[str]:
        keys = [
            k
            for k, e in self.lots.items()
            if e.customer_id == cid
            and self.remaining[k] > 0
            and e.occurred_at <= when
            and (e.expires_at is None or e.expires_at > when)
        ]
        return sorted(keys, key=lambda k: _fifo_key(self.lots[k]))

    def apply(self, e: LedgerEntry) -> None:
        if e.points > 0:
            self.lots[e.idempotency_key] = e
            self.remaining[e.idempotency_key] = e.points
        for k, p in e.allocations:
            self.remaining[k] -= p
            assert self.remaining[k] >= 0


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op_strategy, max_size=30))
def test_ledger_properties(ops):
    rule = PointsRule(expiry_months=3)
    ledger: list[LedgerEntry] = []
    model = Model()
    now = T0
    for n, op in enumerate(ops):
        kind = op[0]
        now = now + pd.Timedelta(days=op[-1] if kind == "expire" else op[3])
        if kind == "earn":
            _, cid, pts, _, exp_days = op
            e = LedgerEntry(
                cid, "earn", pts, now, f"earn:{n}", None if exp_days is None else now + pd.Timedelta(days=exp_days)
            )
            ledger.append(e)
            model.apply(e)
        elif kind in ("redeem", "adjust"):
            _, cid, pts, _ = op
            expected = model.usable(cid, now)
            available = sum(model.remaining[k] for k in expected)
            want = pts if kind == "redeem" else -pts
            try:
                if kind == "redeem":
                    e = plan_redemption(ledger, customer_id=cid, points=pts, as_of=now, key=f"{kind}:{n}")
                else:
                    e = adjustment_entry(ledger, customer_id=cid, points=pts, as_of=now, key=f"{kind}:{n}", rule=rule)
            except InsufficientPoints as err:
                assert want > 0 and available < want and err.available == available
                continue
            if want > 0:
                assert available >= want
                # oldest-expiring lots first: allocations are a prefix of the FIFO order, all
                # but the last fully consumed
                used = [k for k, _ in e.allocations]
                assert used == expected[: len(used)]
                for k, p in e.allocations[:-1]:
                    assert p == model.remaining[k]
            ledger.append(e)
            model.apply(e)
        else:
            job = expiry_entries(ledger, as_of=now)
            for e in job:
                ((lot_key, p),) = e.allocations
                assert model.lots[lot_key].expires_at <= now and p == model.remaining[lot_key]
                assert e.idempotency_key == f"expire:{lot_key}"
            ledger += job
            for e in job:
                model.apply(e)
            assert expiry_entries(ledger, as_of=now) == []  # the job run twice: nothing more
            # nothing past expiry keeps points
            assert all(
                r == 0
                for k, r in model.remaining.items()
                if model.lots[k].expires_at is not None and model.lots[k].expires_at <= now
            )

        validate_ledger(ledger)
        bal = balance(ledger)
        for cid in CUSTOMERS:
            ledger_sum = sum(e.points for e in ledger if e.customer_id == cid)
            assert bal.get(cid, 0) == ledger_sum >= 0
            assert ledger_sum == sum(r for k, r in model.remaining.items() if model.lots[k].customer_id == cid)
        lots = open_lots(ledger, include_closed=True)
        assert lots.set_index("lot_key")["points_remaining"].to_dict() == model.remaining
        assert reconcile(bal, ledger).empty
    keys = [e.idempotency_key for e in ledger]
    assert len(keys) == len(set(keys))
