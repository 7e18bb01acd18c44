"""Hand-computed cases for every KPI of DESIGN.md's metric dictionary (core/kpi.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.kpi import (
    BOARD_COLUMNS,
    KPI_KEYS,
    KpiValue,
    attribute_bookings,
    campaign_gross_roi,
    campaign_roi,
    complaint_rate,
    cross_store_share,
    high_value_repurchase_rate,
    kpi_board,
    kpi_by,
    kpi_trend,
    push_to_booking_conversion,
    push_uplift,
    revisit_interval,
    revisit_rate,
    status_rates,
    task_completion_rate,
    wake_up_rate,
)

AS_OF = "2024-06-30"


def bookings(*rows: tuple) -> pd.DataFrame:
    """Rows of (customer_id, scheduled_at[, status[, store_id[, amount[, created_at]]]])."""
    records = []
    for i, row in enumerate(rows, start=1):
        cust, when, *rest = row
        status = rest[0] if len(rest) > 0 else "completed"
        store = rest[1] if len(rest) > 1 else 1
        amount = rest[2] if len(rest) > 2 else 100.0
        created = rest[3] if len(rest) > 3 else when
        records.append(
            {
                "booking_id": i,
                "customer_id": cust,
                "store_id": store,
                "pet_id": pd.NA,
                "service_id": 1,
                "service_category": "hair",
                "staff_id": 1,
                "designated": False,
                "created_at": pd.Timestamp(created),
                "scheduled_at": pd.Timestamp(when),
                "status": status,
                "amount": float(amount),
                "addon_amount": 0.0,
                "channel": "line",
                "deposit": 0.0,
            }
        )
    return pd.DataFrame.from_records(records)


def messages(*rows: tuple) -> pd.DataFrame:
    """Rows of (message_id, customer_id, status, sent_at[, store_id[, cost[, campaign_id]]])."""
    records = []
    for row in rows:
        mid, cust, status, sent, *rest = row
        records.append(
            {
                "message_id": mid,
                "campaign_id": rest[2] if len(rest) > 2 else 1,
                "customer_id": cust,
                "store_id": rest[0] if len(rest) > 0 else 1,
                "status": status,
                "sent_at": pd.Timestamp(sent) if sent else pd.NaT,
                "cost": float(rest[1]) if len(rest) > 1 else 1.0,
            }
        )
    return pd.DataFrame.from_records(records)


# ----------------------------------------------------------------------------- revisit rate
REVISIT = bookings(
    (1, "2024-05-01"),
    (1, "2024-05-20"),
    (1, "2024-06-25"),
    (2, "2024-05-10"),
    (2, "2024-05-20", "cancelled"),
    (2, "2024-07-05"),  # after as_of
    (3, "2024-06-15"),  # too recent for N=30: censored
    (4, "2024-05-15", "completed", 1),
    (4, "2024-05-15", "completed", 2),
    (4, "2024-06-20"),
    (5, "2024-05-01"),
    (5, "2024-05-31"),  # exactly N days later counts
)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # cohort (dates <= 05-31): c1 05-01 ✓(19d), c1 05-20 ✗(36d), c2 05-10 ✗ (07-05 unseen,
        # cancelled does not count), c4 05-15 (two bookings, one day) ✗(36d), c5 05-01 ✓(30d),
        # c5 05-31 ✗
        ({"n_days": 30}, KpiValue(2 / 6, 2, 6)),
        ({"n_days": 30, "first_visits_only": True}, KpiValue(2 / 4, 2, 4)),
        # cohort <= 05-01: c1 05-01 (next 05-20 ✓), c5 05-01 (next 05-31 ✓)
        ({"n_days": 60}, KpiValue(1.0, 2, 2)),
        ({"n_days": 30, "store_ids": [2]}, KpiValue(0.0, 0, 1)),
        # cohort = dates in (05-21, 05-31]: only c5 05-31 ✗
        ({"n_days": 30, "period_days": 40}, KpiValue(0.0, 0, 1)),
    ],
)
def test_revisit_rate(kwargs: dict, expected: KpiValue) -> None:
    assert revisit_rate(REVISIT, as_of=AS_OF, **kwargs) == expected


def test_revisit_rate_ignores_later_bookings() -> None:
    later = pd.concat([REVISIT, bookings((3, "2024-07-01"), (5, "2024-07-02"))], ignore_index=True)
    assert revisit_rate(later, as_of=AS_OF, n_days=30) == revisit_rate(REVISIT, as_of=AS_OF, n_days=30)


def test_revisit_rate_empty_is_none() -> None:
    assert revisit_rate(REVISIT, as_of="2024-01-01", n_days=30) == KpiValue(None, 0, 0)


def test_revisit_interval() -> None:
    # intervals ending by 06-30: c1 19, 36; c4 36; c5 30 → median 33
    assert revisit_interval(REVISIT, as_of=AS_OF) == KpiValue(33.0, None, 4)
    # ending at store 2: none (c4's store-2 visit starts the interval)
    assert revisit_interval(REVISIT, as_of=AS_OF, store_ids=[2]) == KpiValue(None, None, 0)


# ----------------------------------------------------------------------------- wake-up rate
WAKE_BOOKINGS = bookings(
    (10, "2023-01-01"),
    (10, "2024-06-20"),
    (11, "2024-05-01"),
    (11, "2024-06-10"),
    (12, "2023-06-01"),
    (12, "2024-07-15"),  # after the window and after as_of
)
WAKE_MESSAGES = messages(
    ("m1", 10, "sent", "2024-06-05 09:00"),
    ("m2", 11, "sent", "2024-06-05 09:00"),  # c11 is not sleeping
    ("m3", 12, "sent", "2024-06-01 09:00"),
    ("m4", 12, "holdout", "2024-06-01 09:00"),
    ("m5", 10, "failed", None),
    ("m6", 10, "sent", "2024-04-01 09:00"),  # before the period
)


@pytest.mark.parametrize(
    ("sleeping", "expected"),
    [
        (None, KpiValue(0.5, 1, 2)),  # c10 woken, c12 not
        ([10, 11], KpiValue(1.0, 2, 2)),  # caller says c10, c11 are the sleepers
        ([], KpiValue(None, 0, 0)),
    ],
)
def test_wake_up_rate(sleeping, expected: KpiValue) -> None:
    got = wake_up_rate(WAKE_MESSAGES, WAKE_BOOKINGS, sleeping, as_of=AS_OF, window_days=30, period_days=30)
    assert got == expected


# ------------------------------------------------------------------ push conversion / uplift
PUSH_BOOKINGS = bookings(
    (20, "2024-06-10", "completed", 1, 100, "2024-06-04 12:00"),
    (21, "2024-06-25", "completed", 1, 100, "2024-06-20 12:00"),  # 10 days after: too late
    (22, "2024-06-15", "completed", 1, 100, "2024-06-11 12:00"),
    (22, "2024-06-16", "cancelled", 1, 100, "2024-06-12 12:00"),
    (23, "2024-06-20", "completed", 1, 100, "2024-06-12 12:00"),  # holdout converts
    (25, "2024-07-05", "booked", 1, 100, "2024-07-02 12:00"),  # made after as_of
    (26, "2024-06-16", "completed", 1, 80, "2024-06-16 08:00"),
    (28, "2024-06-20", "completed", 1, 100, "2024-06-09 12:00"),  # booked before the push
)
PUSH_MESSAGES = messages(
    ("m1", 20, "sent", "2024-06-01 10:00"),
    ("m2", 20, "sent", "2024-06-03 10:00"),
    ("m3", 21, "sent", "2024-06-10 10:00"),
    ("m4", 22, "sent", "2024-06-10 10:00"),
    ("m5", 25, "sent", "2024-06-28 10:00"),
    ("m6", 26, "sent", "2024-06-15 10:00"),
    ("m7", 28, "sent", "2024-06-10 10:00"),
    ("m8", 29, "failed", None),
    ("h1", 23, "holdout", "2024-06-10 10:00"),
    ("h2", 24, "holdout", "2024-06-10 10:00"),
    ("h3", 27, "holdout", "2024-06-10 10:00"),
)


def test_each_booking_credited_to_latest_message_only() -> None:
    credited = attribute_bookings(PUSH_MESSAGES, PUSH_BOOKINGS, as_of=AS_OF, window_days=7)
    pairs = dict(zip(credited["booking_id"], credited["message_id"], strict=False))
    assert pairs == {1: "m2", 3: "m4", 4: "m4", 7: "m6"}
    assert credited["booking_id"].is_unique
    revenue = dict(zip(credited["booking_id"], credited["revenue"], strict=False))
    assert revenue == {1: 100.0, 3: 100.0, 4: 0.0, 7: 80.0}  # a cancelled booking earns nothing


def test_push_conversion_and_uplift() -> None:
    kw = {"as_of": AS_OF, "window_days": 7, "period_days": 30}
    # sent m1..m7 = 7; converted: m2, m4 (twice, counted once), m6 → 3/7
    assert push_to_booking_conversion(PUSH_MESSAGES, PUSH_BOOKINGS, **kw) == KpiValue(3 / 7, 3, 7)
    # holdout h1..h3 = 3, converted h1 → 1/3
    assert push_to_booking_conversion(PUSH_MESSAGES, PUSH_BOOKINGS, arm="holdout", **kw) == KpiValue(1 / 3, 1, 3)
    uplift = push_uplift(PUSH_MESSAGES, PUSH_BOOKINGS, **kw)
    assert uplift.value == pytest.approx(3 / 7 - 1 / 3)
    assert uplift.denominator == 3


def test_push_conversion_judges_only_messages_whose_window_has_closed() -> None:
    """m5 went out two days before as-of: it cannot have converted yet, so it is left out rather
    than counted as a failure (the same censoring as the revisit rates)."""
    kw = {"as_of": AS_OF, "window_days": 7, "period_days": 30, "judged_only": True}
    assert push_to_booking_conversion(PUSH_MESSAGES, PUSH_BOOKINGS, **kw) == KpiValue(3 / 6, 3, 6)
    assert push_to_booking_conversion(PUSH_MESSAGES, PUSH_BOOKINGS, arm="holdout", **kw) == KpiValue(1 / 3, 1, 3)
    assert push_uplift(PUSH_MESSAGES, PUSH_BOOKINGS, **kw).value == pytest.approx(3 / 6 - 1 / 3)
    # Wake-up: with a 30-day window, June's contacts are not judged until July.
    assert wake_up_rate(
        WAKE_MESSAGES, WAKE_BOOKINGS, None, as_of=AS_OF, window_days=30, period_days=30, judged_only=True
    ) == KpiValue(None, 0, 0)
    assert (
        wake_up_rate(
            WAKE_MESSAGES, WAKE_BOOKINGS, None, as_of="2024-07-30", window_days=30, period_days=30, judged_only=True
        ).denominator
        == 2
    )


def test_push_without_holdout_or_messages() -> None:
    sent_only = PUSH_MESSAGES.loc[PUSH_MESSAGES["status"].ne("holdout")]
    assert push_uplift(sent_only, PUSH_BOOKINGS, as_of=AS_OF).value is None
    assert push_to_booking_conversion(PUSH_MESSAGES.iloc[:0], PUSH_BOOKINGS, as_of=AS_OF) == KpiValue(None, 0, 0)


# ------------------------------------------------------------------------ the ratio metrics
def test_high_value_repurchase_rate() -> None:
    b = bookings((1, "2024-06-25"), (2, "2024-05-10"), (3, "2024-01-01"), (4, "2024-06-20"))
    assert high_value_repurchase_rate(b, [1, 2, 3], as_of=AS_OF, window_days=30) == KpiValue(1 / 3, 1, 3)
    assert high_value_repurchase_rate(b, [], as_of=AS_OF) == KpiValue(None, 0, 0)


def test_task_completion_rate() -> None:
    tasks = pd.DataFrame(
        {
            "task_id": [1, 2, 3, 4, 5, 6],
            "store_id": [1, 1, 1, 2, 1, 1],
            "customer_id": [1, 2, 3, 4, 5, 6],
            "status": ["done", "booked", "open", "no_answer", "done", "done"],
            "created_at": pd.to_datetime(
                ["2024-06-02", "2024-06-10", "2024-06-30 23:00", "2024-06-15", "2024-05-01", "2024-07-01"],
                format="mixed",
            ),
        }
    )
    assert task_completion_rate(tasks, as_of=AS_OF) == KpiValue(0.5, 2, 4)
    assert task_completion_rate(tasks, as_of=AS_OF, store_ids=[2]) == KpiValue(0.0, 0, 1)
    assert task_completion_rate(tasks, as_of="2023-01-01") == KpiValue(None, 0, 0)


def test_complaint_rate() -> None:
    b = bookings(
        (1, "2024-06-10"), (2, "2024-06-11"), (3, "2024-06-12"), (4, "2024-06-13", "cancelled"), (5, "2024-04-01")
    )
    feedback = pd.DataFrame({"booking_id": [1, 2, 4, 5], "complaint": [True, False, True, True]})
    assert complaint_rate(feedback, b, as_of=AS_OF) == KpiValue(1 / 3, 1, 3)
    assert complaint_rate(feedback, b, as_of="2023-01-01") == KpiValue(None, 0, 0)


def test_status_rates() -> None:
    b = bookings(
        (1, "2024-06-10"),
        (2, "2024-06-11"),
        (3, "2024-06-12", "no_show"),
        (4, "2024-06-13", "cancelled"),
        (5, "2024-07-13", "cancelled"),
    )
    assert status_rates(b, as_of=AS_OF) == {
        "no_show_rate": KpiValue(0.25, 1, 4),
        "cancel_rate": KpiValue(0.25, 1, 4),
        "reschedule_rate": KpiValue(0.0, 0, 4),
    }
    assert status_rates(b, as_of="2023-01-01")["no_show_rate"] == KpiValue(None, 0, 0)


def test_cross_store_share() -> None:
    b = bookings(
        (1, "2024-06-10", "completed", 1),
        (1, "2024-06-11", "completed", 2),
        (2, "2024-06-12", "completed", 2),
        (3, "2024-06-13", "completed", 1),
        (2, "2024-06-14", "no_show", 1),
    )
    customers = pd.DataFrame({"customer_id": [1, 2, 3], "home_store_id": [1, 2, None]})
    assert cross_store_share(b, customers, as_of=AS_OF) == KpiValue(1 / 3, 1, 3)
    assert cross_store_share(b, customers, as_of=AS_OF, store_ids=[2]) == KpiValue(0.5, 1, 2)
    assert cross_store_share(b.iloc[:0], customers, as_of=AS_OF) == KpiValue(None, 0, 0)


def test_campaign_roi_is_incremental_over_the_holdout_with_its_interval() -> None:
    """Sent m1..m7 (cost 1 each) earn m2 100, m4 100 (+0, cancelled), m6 80 = 280, 40 a message;
    the holdout h1..h3 earns h1 100 = 33.33 a row. Incremental = (40 − 33.33) × 7 = 46.67 on a
    cost of 7 → ROI 6.67×; gross attributed revenue ÷ cost = 40×."""
    from statistics import variance

    kw = {"as_of": AS_OF, "window_days": 7, "period_days": 30}
    roi = campaign_roi(PUSH_MESSAGES, PUSH_BOOKINGS, **kw)
    assert roi.value == pytest.approx(20 / 3)
    assert roi.numerator == pytest.approx(140 / 3)
    assert roi.denominator == 7.0
    sent, held = [0, 100, 0, 100, 0, 80, 0], [100, 0, 0]
    half = 1.959963984540054 * (variance(sent) / 7 + variance(held) / 3) ** 0.5 * 7 / 7
    assert (roi.low, roi.high) == (pytest.approx(20 / 3 - half), pytest.approx(20 / 3 + half))
    assert roi.low < 0 < roi.high  # three holdout rows: the uplift is not established
    assert campaign_gross_roi(PUSH_MESSAGES, PUSH_BOOKINGS, **kw) == KpiValue(40.0, 280.0, 7.0)


def test_campaign_roi_without_holdout_or_cost_is_none() -> None:
    sent_only = PUSH_MESSAGES.loc[PUSH_MESSAGES["status"].ne("holdout")]
    assert campaign_roi(sent_only, PUSH_BOOKINGS, as_of=AS_OF).value is None
    free = PUSH_MESSAGES.assign(cost=0.0)
    roi = campaign_roi(free, PUSH_BOOKINGS, as_of=AS_OF, window_days=7, period_days=30)
    assert roi.value is None and roi.numerator == pytest.approx(140 / 3) and roi.denominator == 0.0


# ------------------------------------------------------------------------------- the board
def _board_inputs():
    b = pd.concat([REVISIT, PUSH_BOOKINGS, WAKE_BOOKINGS], ignore_index=True)
    b["booking_id"] = range(1, len(b) + 1)
    customers = pd.DataFrame({"customer_id": sorted(b["customer_id"].unique())})
    customers["home_store_id"] = 1
    m = pd.concat([PUSH_MESSAGES, WAKE_MESSAGES.assign(message_id=lambda f: "w" + f["message_id"])], ignore_index=True)
    tasks = pd.DataFrame(
        {
            "task_id": [1, 2],
            "store_id": [1, 1],
            "customer_id": [1, 2],
            "status": ["done", "open"],
            "created_at": pd.to_datetime(["2024-06-10", "2024-06-11"]),
        }
    )
    feedback = pd.DataFrame({"booking_id": [1], "complaint": [True]})
    return b, customers, m, tasks, feedback


def test_kpi_board_rows_and_previous_period() -> None:
    b, customers, m, tasks, feedback = _board_inputs()
    board = kpi_board(b, customers, m, tasks, feedback, as_of=AS_OF, period_days=30)
    assert list(board.columns) == list(BOARD_COLUMNS)
    assert tuple(board["kpi"]) == KPI_KEYS
    row = board.set_index("kpi")
    assert row.loc["task_completion_rate", "value"] == 0.5
    # revisit_rate_30 cohort: visit days in (05-01, 05-31]
    direct = revisit_rate(b, as_of=AS_OF, n_days=30, period_days=60)
    assert row.loc["revisit_rate_30", "value"] == pytest.approx(direct.value)
    prev = revisit_rate(b, as_of="2024-05-31", n_days=30, period_days=60)
    assert row.loc["revisit_rate_30", "previous_value"] == pytest.approx(prev.value)
    assert row.loc["revisit_rate_30", "delta"] == pytest.approx(direct.value - prev.value)
    # The board judges messages whose 7-day window has closed: sent in (05-24, 06-23] — 6 push
    # messages (m5 of 06-28 is too recent) + 3 wake-up messages.
    assert row.loc["push_conversion_rate", "denominator"] == 9


def test_kpi_board_without_messages_gives_nan_not_errors() -> None:
    b, customers, *_ = _board_inputs()
    board = kpi_board(b, customers, None, None, None, as_of=AS_OF).set_index("kpi")
    assert pd.isna(board.loc["push_uplift", "value"])
    assert pd.isna(board.loc["task_completion_rate", "value"])


def test_kpi_by_store_segment_and_trend() -> None:
    b, customers, m, tasks, feedback = _board_inputs()
    by_store = kpi_by(b, customers, m, tasks, feedback, as_of=AS_OF, by="store")
    assert set(by_store["group"]) == {1, 2}
    assert len(by_store) == 2 * len(KPI_KEYS)
    segments = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "lifecycle_segment": ["a", "b"] * (len(customers) // 2) + ["a"] * (len(customers) % 2),
        }
    )
    by_seg = kpi_by(b, customers, m, tasks, feedback, as_of=AS_OF, by="segment", segments=segments)
    assert set(by_seg["group"]) == {"a", "b"}
    trend = kpi_trend(b, customers, m, tasks, feedback, as_of=AS_OF, periods=3)
    assert sorted(trend["period_start"].unique()) == list(pd.to_datetime(["2024-04-01", "2024-05-01", "2024-06-01"]))
    june = trend.loc[trend["period_start"].eq("2024-06-01")].set_index("kpi")
    assert (
        june.loc["no_show_rate", "denominator"]
        == status_rates(b, as_of=AS_OF, period_days=30)["no_show_rate"].denominator
    )


def test_missing_columns_raise() -> None:
    with pytest.raises(ValueError, match="scheduled_at"):
        revisit_rate(REVISIT.drop(columns="scheduled_at"), as_of=AS_OF, n_days=30)
    with pytest.raises(ValueError, match="sent_at"):
        push_to_booking_conversion(PUSH_MESSAGES.drop(columns="sent_at"), PUSH_BOOKINGS, as_of=AS_OF)


# ------------------------------------------------- one definition per store and for the chain
# Two stores; A visits both; D's home is store 2 but comes back at store 1; E's visit is too
# recent to judge; F's first visit was before the period. As of 06-30, N = 30, a 30-day period:
# the revisit-30 cohort is the visit days in (05-01, 05-31].
TWO_STORES = bookings(
    ("A", "2024-05-05", "completed", 1),
    ("A", "2024-05-20", "completed", 2),
    ("A", "2024-06-25", "completed", 1),
    ("B", "2024-05-10", "completed", 1),
    ("B", "2024-06-05", "completed", 1),
    ("C", "2024-05-15", "completed", 2),
    ("C", "2024-06-10", "completed", 2),
    ("D", "2024-05-25", "completed", 2),
    ("D", "2024-06-15", "completed", 1),
    ("E", "2024-06-20", "completed", 1),
    ("F", "2024-04-20", "completed", 1),
    ("F", "2024-05-12", "completed", 1),
)
TWO_STORE_HOMES = pd.DataFrame({"customer_id": list("ABCDEF"), "home_store_id": [1, 1, 2, 2, 1, 1]})


@pytest.mark.parametrize(
    ("stores", "expected"),
    [
        # store 1: A 05-05 → next at store 1 is 06-25 (51 d) ✗; B 05-10 → 06-05 ✓; F 05-12 → none ✗.
        # First visits at store 1: A ✗, B ✓. Intervals ending in June at store 1: A 51, B 26.
        # June visits at store 1: A, B, D (home 2: away), E → 1 of 4 away.
        (
            [1],
            {
                "revisit_rate_30": (1, 3),
                "first_revisit_rate_30": (1, 2),
                "revisit_interval_days": 38.5,
                "cross_store_share": (1, 4),
            },
        ),
        # store 2: A 05-20 → none at store 2 ✗; C 05-15 → 06-10 ✓; D 05-25 → none at store 2 ✗;
        # all three are first visits at store 2. Interval: C 26. June: C only, at home.
        (
            [2],
            {
                "revisit_rate_30": (1, 3),
                "first_revisit_rate_30": (1, 3),
                "revisit_interval_days": 26.0,
                "cross_store_share": (0, 1),
            },
        ),
        # together: A 05-05 → 05-20 ✓, A 05-20 → 06-25 ✗, B ✓, C ✓, D 05-25 → 06-15 ✓, F ✗ → 4/6;
        # first visits A, B, C, D all return → 4/4. Intervals 36, 26, 26, 21 → median 26.
        (
            [1, 2],
            {
                "revisit_rate_30": (4, 6),
                "first_revisit_rate_30": (4, 4),
                "revisit_interval_days": 26.0,
                "cross_store_share": (1, 5),
            },
        ),
    ],
)
def test_revisit_rates_per_store_and_chain_by_hand(stores, expected) -> None:
    board = kpi_board(TWO_STORES, TWO_STORE_HOMES, as_of=AS_OF, store_ids=stores).set_index("kpi")
    for key, want in expected.items():
        if isinstance(want, tuple):
            assert (board.at[key, "numerator"], board.at[key, "denominator"]) == want, key
            assert board.at[key, "value"] == pytest.approx(want[0] / want[1]), key
        else:
            assert board.at[key, "value"] == want, key
    assert revisit_rate(TWO_STORES, as_of=AS_OF, n_days=30, period_days=60, store_ids=stores) == KpiValue(
        expected["revisit_rate_30"][0] / expected["revisit_rate_30"][1], *expected["revisit_rate_30"]
    )


def test_a_store_board_ignores_what_else_the_caller_sees() -> None:
    """A chain admin's frames hold both stores; store 1's manager sees store 1's bookings and,
    for the cross-store share, the home store of its visitors. Every KPI agrees."""
    b, _, m, tasks, feedback = _board_inputs()
    b = pd.concat(
        [
            b,
            TWO_STORES.assign(
                customer_id=lambda f: f["customer_id"].map({"A": 91, "B": 92, "C": 93, "D": 94, "E": 95, "F": 96})
            ),
        ],
        ignore_index=True,
    )
    b["booking_id"] = range(1, len(b) + 1)
    homes = pd.DataFrame({"customer_id": sorted(b["customer_id"].unique())})
    homes["home_store_id"] = homes["customer_id"].map({93: 2, 94: 2}).fillna(1).astype(int)
    m = m.assign(store_id=[1, 2] * (len(m) // 2) + [1] * (len(m) % 2))
    chain = kpi_by(b, homes, m, tasks, feedback, as_of=AS_OF, by="store", include_previous=False)
    for store in (1, 2):
        mine = b.loc[b["store_id"].eq(store)]
        visitors = homes.loc[homes["customer_id"].isin(mine["customer_id"])]
        own = kpi_board(
            mine,
            visitors,
            m.loc[m["store_id"].eq(store)],
            tasks.loc[tasks["store_id"].eq(store)],
            feedback.loc[feedback["booking_id"].isin(mine["booking_id"])],
            as_of=AS_OF,
            store_ids=[store],
            include_previous=False,
        )
        row = chain.loc[chain["group"].eq(store)].drop(columns="group").reset_index(drop=True)
        pd.testing.assert_frame_equal(row, own)


def test_board_rates_carry_a_wilson_interval() -> None:
    board = kpi_board(TWO_STORES, TWO_STORE_HOMES, as_of=AS_OF, store_ids=[1]).set_index("kpi")
    # 1 of 3, z = 1.96: Wilson (0.0615, 0.7923)
    assert board.at["revisit_rate_30", "low"] == pytest.approx(0.0615, abs=1e-4)
    assert board.at["revisit_rate_30", "high"] == pytest.approx(0.7923, abs=1e-4)
    assert pd.isna(board.at["revisit_interval_days", "low"])  # a median of days: no share interval
