"""Pure campaign logic: calendars, triggers, templates, A/B split, statistics, sending rules,
audience builder and results (no database, no Streamlit)."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from core.campaigns import ab, audience, playbook, results, sending_rules, stats, templates, triggers
from core.campaigns.outbox import CampaignPlan, StoreInfo, Variant, plan_outbox


# ----------------------------------------------------------------------------- calendars
@pytest.mark.parametrize(
    "year, lny, mid_autumn",
    [
        (2024, date(2024, 2, 10), date(2024, 9, 17)),
        (2025, date(2025, 1, 29), date(2025, 10, 6)),
        (2026, date(2026, 2, 17), date(2026, 9, 25)),
        (2027, date(2027, 2, 6), date(2027, 9, 15)),
    ],
)
def test_festival_dates(year, lny, mid_autumn) -> None:
    assert triggers.festival_date("lunar_new_year", year) == lny
    assert triggers.festival_date("mid_autumn", year) == mid_autumn


@pytest.mark.parametrize(
    "birthday, lunar_md, year, expected",
    [
        (date(1990, 1, 27), (1, 1), 2026, date(2026, 2, 17)),  # born on Lunar New Year 1990
        (date(1985, 9, 29), (8, 15), 2026, date(2026, 9, 25)),  # born on Mid-Autumn 1985
        (date(2000, 2, 4), (12, 29), 2026, date(2026, 2, 16)),  # 除夕 birthday → January/February
        (date(2000, 2, 4), (12, 29), 2025, date(2025, 1, 28)),
        (date(2023, 4, 1), (2, 11), 2026, date(2026, 3, 29)),  # leap 2nd month counts as the 2nd month
    ],
)
def test_lunar_birthday_maps_to_this_years_solar_date(birthday, lunar_md, year, expected) -> None:
    assert triggers.lunar_birthday_md(birthday) == lunar_md
    assert triggers.lunar_birthday_in_year(birthday, year) == expected


def test_seasonal_trigger_fires_n_days_before_lny_once_per_occurrence() -> None:
    frame = pd.DataFrame({"customer_id": [1, 2]})
    trig = {"kind": "seasonal", "festival": "lunar_new_year", "days_before": 14, "tolerance_days": 2}
    fired = triggers.evaluate_trigger(trig, frame, today=date(2026, 2, 3))
    assert list(fired["customer_id"]) == [1, 2]
    assert set(fired["occurrence"]) == {"lunar_new_year-14@2026-02-17"}
    later = triggers.evaluate_trigger(trig, frame, today=date(2026, 2, 5))
    assert set(later["occurrence"]) == {"lunar_new_year-14@2026-02-17"}  # same key: no resend
    assert triggers.evaluate_trigger(trig, frame, today=date(2026, 2, 6)).empty


def test_due_triggers_relative_to_each_customers_window() -> None:
    frame = pd.DataFrame(
        {"customer_id": [1, 2, 3], "next_due_date": pd.to_datetime(["2026-05-11", "2026-05-07", "2026-04-20"])}
    )
    today = date(2026, 5, 4)
    due7 = triggers.evaluate_trigger({"kind": "due", "offset_days": -7, "tolerance_days": 0}, frame, today=today)
    assert list(due7["customer_id"]) == [1] and due7["occurrence"][0] == "due-7@2026-05-04"
    due3 = triggers.evaluate_trigger({"kind": "due", "offset_days": -3, "tolerance_days": 0}, frame, today=today)
    assert list(due3["customer_id"]) == [2]
    over14 = triggers.evaluate_trigger({"kind": "due", "offset_days": 14, "tolerance_days": 0}, frame, today=today)
    assert list(over14["customer_id"]) == [3] and over14["occurrence"][0].startswith("overdue+14@")


def test_birthday_lunar_birthday_sleeping_vaccine_and_cron() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "birthday": pd.to_datetime(["1990-05-11", "1990-01-27", "2000-02-29"]),
            "recency_days": [180, 30, 179],
            "pet_birthday": pd.to_datetime([None, None, None]),
            "pet_vaccine_due": pd.to_datetime(["2026-05-11", None, None]),
        }
    )
    today = date(2026, 5, 4)
    bday = triggers.evaluate_trigger({"kind": "birthday", "offset_days": -7, "tolerance_days": 0}, frame, today=today)
    assert list(bday["customer_id"]) == [1]
    lunar = triggers.evaluate_trigger(
        {"kind": "lunar_birthday", "offset_days": 0, "tolerance_days": 0}, frame, today=date(2026, 2, 17)
    )
    assert list(lunar["customer_id"]) == [2]
    leap = triggers.evaluate_trigger({"kind": "birthday", "tolerance_days": 0}, frame, today=date(2026, 2, 28))
    assert list(leap["customer_id"]) == [3]  # 29 Feb → 28 Feb in a common year
    sleeping = triggers.evaluate_trigger(
        {"kind": "sleeping", "threshold_days": 180, "tolerance_days": 0}, frame, today=today
    )
    assert list(sleeping["customer_id"]) == [1]
    vaccine = triggers.evaluate_trigger(
        {"kind": "vaccine_due", "offset_days": -7, "tolerance_days": 0}, frame, today=today
    )
    assert list(vaccine["customer_id"]) == [1]
    cron = triggers.evaluate_trigger(
        {"kind": "recurring", "cron": "0 10 * * 1"}, frame, today=today, now_local=datetime(2026, 5, 4, 10, 30)
    )  # a Monday
    assert set(cron["occurrence"]) == {"cron@2026-05-04T10:00"}
    assert triggers.evaluate_trigger(
        {"kind": "recurring", "cron": "0 10 * * 1"}, frame, today=today, now_local=datetime(2026, 5, 5, 10, 30)
    ).empty


def test_points_tier_and_plan_triggers() -> None:
    frame = pd.DataFrame({"customer_id": [1, 2, 3]})
    today = date(2026, 5, 4)
    inputs = triggers.TriggerInputs(
        points_expiring=pd.DataFrame(
            {"customer_id": [1, 2], "expires_on": pd.to_datetime(["2026-05-20", "2026-08-01"]), "points": [50, 80]}
        ),
        tier_events=pd.DataFrame(
            {"customer_id": [2, 3], "direction": ["up", "down"], "on": pd.to_datetime(["2026-05-04", "2026-05-04"])}
        ),
        plans=pd.DataFrame({"customer_id": [3], "plan_id": [9], "ends_on": pd.to_datetime(["2026-06-03"])}),
    )
    pts = triggers.evaluate_trigger({"kind": "points_expiring", "within_days": 30}, frame, today=today, inputs=inputs)
    assert list(pts["customer_id"]) == [1]
    up = triggers.evaluate_trigger({"kind": "tier_change", "direction": "up"}, frame, today=today, inputs=inputs)
    assert list(up["customer_id"]) == [2]
    plan = triggers.evaluate_trigger(
        {"kind": "plan_renewal", "days_before": 30, "tolerance_days": 0}, frame, today=today, inputs=inputs
    )
    assert list(plan["customer_id"]) == [3]


# ----------------------------------------------------------------------------- templates
def test_render_fills_known_variables_and_never_evaluates_attributes() -> None:
    text = "Hi {name}, {pet_name} is due in {window_days} days {booking_link} {name.__class__} {nope}"
    out = templates.render(
        text, {"name": "王小美", "pet_name": "Mochi", "window_days": 28, "booking_link": "https://b/x?t=1"}
    )
    assert out == "Hi 王小美, Mochi is due in 28 days https://b/x?t=1 {name.__class__} {nope}"
    assert templates.unknown_variables(text) == ["name.__class__", "nope"]
    assert templates.render("broken {name", {"name": "x"}) == "broken {name"


def test_tracking_codes_and_links_are_stable() -> None:
    code = templates.tracking_code("c1:u2:due-7@2026-05-04")
    assert code == templates.tracking_code("c1:u2:due-7@2026-05-04") and len(code) == 16
    assert code != templates.tracking_code("c1:u3:due-7@2026-05-04")
    assert templates.booking_link("https://book.example/", "TPE01", code) == f"https://book.example/TPE01?t={code}"


def test_playbook_has_nine_messages_in_three_locales() -> None:
    assert len(playbook.PLAYBOOK) == 9
    assert {e.segment for e in playbook.PLAYBOOK} == {"stable", "at_risk", "high_value"}
    for entry in playbook.PLAYBOOK:
        assert set(entry.templates) == {"zh-TW", "zh-CN", "en"}
        for text in entry.templates.values():
            assert templates.unknown_variables(text) == [] and "{booking_link}" in text
        triggers.validate_trigger(entry.trigger)
        audience.AudienceSpec.from_dict(entry.audience)


# ----------------------------------------------------------------------------- A/B and stats
def test_variant_and_holdout_split_is_deterministic_and_balanced() -> None:
    ids = np.arange(20_000)
    v1 = ab.assign_variants(ids, campaign_id=3, variants=[("A", 1), ("B", 1)])
    v2 = ab.assign_variants(ids, campaign_id=3, variants=[("A", 1), ("B", 1)])
    assert (v1 == v2).all() and abs((v1 == "A").mean() - 0.5) < 0.02
    hold = ab.holdout_mask(ids, campaign_id=3, holdout_pct=10)
    assert abs(hold.mean() - 0.10) < 0.01
    # Independent of the variant: the holdout has the same A/B mix.
    assert abs((v1[hold] == "A").mean() - 0.5) < 0.04
    other = ab.holdout_mask(ids, campaign_id=4, holdout_pct=10)
    assert (hold != other).any()


def test_ab_winner_only_when_fisher_is_significant() -> None:
    clear = pd.DataFrame({"variant": ["A", "B"], "sent": [200, 200], "converted": [60, 30]})
    verdict = results.ab_verdict(clear)
    assert verdict["significant"] and verdict["winner"] == "A" and verdict["p_value"] < 0.01
    noisy = pd.DataFrame({"variant": ["A", "B"], "sent": [40, 40], "converted": [9, 6]})
    verdict = results.ab_verdict(noisy)
    assert not verdict["significant"] and verdict["winner"] is None and verdict["p_value"] > 0.3


def test_ab_verdicts_judge_every_campaign_with_two_variants() -> None:
    by_variant = pd.DataFrame(
        {"campaign_id": [7, 7, 9], "variant": ["A", "B", "A"], "sent": [200, 200, 50], "converted": [60, 30, 10]}
    )
    verdicts = results.ab_verdicts(by_variant)
    assert verdicts["campaign_id"].tolist() == [7]  # campaign 9 has one variant: nothing to compare
    assert verdicts.loc[0, "winner"] == "A" and verdicts.loc[0, "p_value"] < 0.01
    none = results.ab_verdicts(by_variant.iloc[0:0])
    assert none.empty and {"campaign_id", "winner", "p_value"} <= set(none.columns)


def test_wilson_and_newcombe_reference_values() -> None:
    # Newcombe (1998) Table II example: 56/70 vs 48/80 → 0.2 (0.0524, 0.3339).
    d = stats.newcombe_difference(56, 70, 48, 80)
    assert d.estimate == pytest.approx(0.2)
    assert (round(d.low, 4), round(d.high, 4)) == (0.0524, 0.3339)
    w = stats.wilson_interval(0, 10)
    assert w.low == 0.0 and w.high == pytest.approx(0.2775, abs=1e-4)
    assert stats.newcombe_difference(0, 0, 1, 5).estimate is None


def test_uplift_interval_covers_the_truth_for_small_shops() -> None:
    rng = np.random.default_rng(2026)
    n, p_sent, p_hold = 40, 0.30, 0.15
    runs, covered = 1000, 0
    for _ in range(runs):
        k1, k2 = rng.binomial(n, p_sent), rng.binomial(n, p_hold)
        ci = stats.newcombe_difference(int(k1), n, int(k2), n)
        covered += ci.low <= p_sent - p_hold <= ci.high
    assert covered / runs >= 0.90


# ----------------------------------------------------------------------------- sending rules
@pytest.mark.parametrize(
    "local, expected",
    [
        (datetime(2026, 5, 4, 23, 30), datetime(2026, 5, 5, 9, 0)),
        (datetime(2026, 5, 4, 6, 0), datetime(2026, 5, 4, 9, 0)),
        (datetime(2026, 5, 4, 11, 0), datetime(2026, 5, 4, 11, 0)),
        (datetime(2026, 5, 4, 21, 0), datetime(2026, 5, 5, 9, 0)),
    ],
)
def test_quiet_hours(local, expected) -> None:
    assert sending_rules.defer_quiet_hours(local, quiet_start=21, quiet_end=9) == expected


def test_frequency_cap_and_capacity_spreading() -> None:
    contacts = pd.DataFrame({"customer_id": [1, 2], "day": [date(2026, 5, 4), date(2026, 5, 1)]})
    capped = sending_rules.frequency_capped([1, 2, 3], [date(2026, 5, 4)] * 3, contacts, cap_days=1)
    assert capped.tolist() == [True, False, False]
    capped = sending_rules.frequency_capped([1, 2, 3], [date(2026, 5, 4)] * 3, contacts, cap_days=7)
    assert capped.tolist() == [True, True, False]
    days = [date(2026, 5, 4), date(2026, 5, 5), date(2026, 5, 6)]
    # Day 1 nearly full (3 free slots → 10 invites at 30 %), day 2 has room for 20, day 3 for 100.
    spread = sending_rules.spread_over_capacity(
        50, days=days, free_slots={days[0]: 3, days[1]: 6, days[2]: 30}, booking_rate=0.3
    )
    assert np.bincount(spread, minlength=3).tolist() == [10, 20, 20]
    assert sending_rules.backoff_seconds(3, base=60) == 240
    assert sending_rules.backoff_seconds(1, base=60, retry_after=900) == 900


# ----------------------------------------------------------------------------- audience + outbox
def _audience() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "external_id": ["e1", "e2", "e3", '=HYPERLINK("x")'],
            "name": ["王小美", "Bob", "Cat", "Dan"],
            "home_store_id": [1, 1, 1, 2],
            "phone": ["+886912345678", None, "+886911111111", "+886922222222"],
            "email": [None] * 4,
            "line_id": ["U1", "U2", None, "U4"],
            "wechat_openid": [None] * 4,
            "birthday": pd.to_datetime([None] * 4),
            "tags": [["長毛"], [], ["敏感肌"], []],
            "opted_out_at": pd.to_datetime([None, None, None, "2026-01-01"]),
            "consent_sms": [True, False, True, True],
            "consent_line": [True, False, True, True],
            "consent_email": [False] * 4,
            "consent_wechat": [False] * 4,
            "rfm_segment": ["Champions", "At Risk", "Champions", "Lost"],
            "lifecycle_segment": ["stable", "churn_risk", "stable", "lost"],
            "is_high_value": [True, False, False, False],
            "recency_days": [21, 60, 10, 400],
            "revisit_window_days": [28.0, 30.0, 21.0, 30.0],
            "next_due_date": pd.to_datetime(["2026-05-11"] * 4),
            "days_overdue": [-7, 30, -11, 370],
            "churn_risk": [0.05, 0.6, 0.02, 0.99],
            "p_alive": [1.0, 0.5, 1.0, 0.01],
            "monetary": [5000.0, 800.0, 1200.0, 0.0],
            "tier": ["Gold", None, "Silver", None],
            "last_service": ["grooming", "bath", "grooming", "bath"],
            "last_staff": ["Amy", None, "Ken", None],
            "pet_name": ["Mochi", None, "Lucky", None],
            "pet_species": ["dog", None, "cat", None],
            "pet_breed": ["poodle", None, "persian", None],
            "pet_birthday": pd.to_datetime([None] * 4),
            "pet_vaccine_due": pd.to_datetime([None] * 4),
        }
    )


def test_kept_audience_facts_take_current_consent_and_contacts() -> None:
    from core.campaigns.audience import PERSON_COLUMNS, audience_facts, with_person_columns

    frame = _audience()
    facts = audience_facts(frame)
    assert not set(PERSON_COLUMNS) & set(facts.columns)
    customers = frame.loc[:, ["customer_id", "home_store_id", *PERSON_COLUMNS]]
    pd.testing.assert_frame_equal(with_person_columns(facts, customers), frame)
    # Bob consented and changed his phone since; customer 3 was anonymised (left out of the load).
    now = customers[customers["customer_id"] != 3].copy()
    now.loc[now["customer_id"] == 2, ["consent_sms", "phone"]] = [True, "+886933333333"]
    fresh = with_person_columns(facts, now).set_index("customer_id")
    assert 3 not in fresh.index
    assert bool(fresh.loc[2, "consent_sms"]) and fresh.loc[2, "phone"] == "+886933333333"
    assert fresh.loc[1, "tier"] == "Gold" and fresh.loc[1, "pet_name"] == "Mochi"


def test_audience_filters_and_safe_masked_export() -> None:
    frame = _audience()
    spec = audience.AudienceSpec(
        lifecycle_segments=("stable",), tags_any=("長毛", "敏感肌"), pet_species=("dog",), consent_channel="line"
    )
    assert audience.filter_audience(frame, spec)["customer_id"].tolist() == [1]
    assert audience.AudienceSpec.from_dict(spec.to_dict()) == spec
    assert audience.filter_audience(frame, audience.AudienceSpec(days_overdue_min=0))["customer_id"].tolist() == [2, 4]
    assert audience.contactable(frame, "line").tolist() == [None, "no_consent", "no_address", "opted_out"]
    masked = audience.export_frame(frame, masks_pii=True)
    assert masked.loc[0, "phone"] == "'+886912***678" and masked.loc[0, "name"] == "王**"
    assert masked.loc[3, "external_id"].startswith("'=")  # formula neutralised
    plain = audience.export_frame(frame, masks_pii=False)
    assert plain.loc[0, "phone"] == "'+886912345678"  # kept as text
    assert audience.export_xlsx(frame, masks_pii=True)[:2] == b"PK"
    assert audience.export_csv(frame, masks_pii=True).startswith(b"\xef\xbb\xbf")


def test_plan_outbox_orders_consent_cap_holdout_and_renders_links() -> None:
    frame = _audience()
    fired = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "occurrence": ["due-7@2026-05-04"] * 4,
            "target_date": [date(2026, 5, 4)] * 4,
            "send_at": pd.NaT,
        }
    )
    plan = CampaignPlan(
        campaign_id=5,
        channel="line",
        variants=(Variant("A", 1, {"zh-TW": "{name}:{booking_link}"}),),
        holdout_pct=0,
        frequency_cap_days=1,
        quiet_start=21,
        quiet_end=9,
        send_hour=22,
    )
    contacts = pd.DataFrame({"customer_id": [3], "day": [date(2026, 5, 4)]})
    out = plan_outbox(
        fired,
        frame,
        plan,
        today=date(2026, 5, 4),
        stores={1: StoreInfo("TPE01", "信義店"), 2: StoreInfo("TPE02", "大安店")},
        contacts=contacts,
    )
    by = out.set_index("customer_id")
    assert by.loc[1, "status"] == "queued"
    assert by.loc[1, "body"] == f"王小美:https://book.example/TPE01?t={by.loc[1, 'tracking_code']}"
    assert (by.loc[2, "status"], by.loc[2, "reason"]) == ("suppressed", "no_consent")
    assert by.loc[3, "reason"] == "no_address"
    assert by.loc[4, "reason"] == "opted_out"
    # send_hour 22 is inside quiet hours: deferred to 09:00 next day, local.
    assert pd.Timestamp(by.loc[1, "scheduled_local"]) == pd.Timestamp("2026-05-05 09:00")


def test_capacity_spreading_defers_part_of_the_audience_within_tolerance() -> None:
    n = 30
    frame = pd.DataFrame(
        {
            "customer_id": range(1, n + 1),
            "home_store_id": 1,
            "line_id": "U",
            "consent_line": True,
            "opted_out_at": pd.NaT,
            "name": "x",
        }
    )
    fired = pd.DataFrame(
        {
            "customer_id": range(1, n + 1),
            "occurrence": "due-7@2026-05-04",
            "target_date": date(2026, 5, 4),
            "send_at": pd.NaT,
        }
    )
    plan = CampaignPlan(
        campaign_id=1,
        channel="line",
        variants=(Variant("A", 1, {"zh-TW": "hi"}),),
        holdout_pct=0,
        tolerance_days=2,
        booking_rate=0.5,
        quiet_start=21,
        quiet_end=9,
    )
    # Capacity 10 a day; today has 8 booked (room for 4 invitations), tomorrow 5 (room for 10).
    booked = {(1, date(2026, 5, 4)): 8, (1, date(2026, 5, 5)): 5}
    out = plan_outbox(
        fired,
        frame,
        plan,
        today=date(2026, 5, 4),
        stores={1: StoreInfo("S", "S", daily_capacity=10)},
        booked_per_day=booked,
    )
    days = pd.to_datetime(out["scheduled_local"]).dt.date.value_counts().sort_index()
    assert days.to_dict() == {date(2026, 5, 4): 4, date(2026, 5, 5): 10, date(2026, 5, 6): 16}
    assert out["dedupe_key"].str.endswith("due-7@2026-05-04").all()  # same occurrence: no resend later


def test_variants_are_compared_only_while_both_ran_and_once_judged() -> None:
    """Variant A sent since January, B added on June 1: the comparison uses June 1 on (both live)
    up to as-of minus the window (messages sent later cannot have converted yet)."""
    from core.campaigns.results import comparable_variant_messages

    sent = pd.to_datetime(
        [
            "2024-01-10",
            "2024-05-20",
            "2024-06-02",
            "2024-06-20",
            "2024-06-28",
            "2024-06-01",
            "2024-06-15",
            "2024-06-27",
            "2024-03-01",
        ]
    )
    messages = pd.DataFrame(
        {
            "message_id": range(9),
            "campaign_id": [1] * 8 + [2],
            "variant": ["A", "A", "A", "A", "A", "B", "B", "B", "A"],
            "sent_at": sent,
        }
    )
    kept = comparable_variant_messages(messages, as_of="2024-06-30", window_days=7)
    assert kept.loc[kept["campaign_id"].eq(1), "message_id"].tolist() == [2, 3, 5, 6]
    assert kept.loc[kept["campaign_id"].eq(2), "message_id"].tolist() == [8]  # one variant: all judged ones


# ----------------------------------------------------------------------------- results: judged only
def _results_world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One campaign judged on 2026-05-20 with a 7-day window: messages sent (holdout: scheduled)
    before May 14 have had their whole window; later ones are still open."""
    ts = pd.Timestamp
    messages = pd.DataFrame(
        [
            # id, customer, status, sent_at (holdout: scheduled), cost, variant
            (1, 1, "sent", ts("2026-05-01 10:00"), 0.5, "A"),  # closed, booked → converted, NT$1,000
            (2, 2, "sent", ts("2026-05-02 10:00"), 0.5, "A"),  # closed, no booking → not converted
            (3, 7, "sent", ts("2026-05-13 10:00"), 0.5, "B"),  # window closed May 20 10:00 → judged
            (4, 3, "sent", ts("2026-05-18 10:00"), 0.5, "A"),  # open, already booked NT$500 → pending
            (5, 4, "sent", ts("2026-05-14 10:00"), 0.5, "B"),  # closes May 21 10:00 → pending
            (6, 5, "holdout", ts("2026-05-01 10:00"), 0.0, "A"),  # closed, booked → holdout converted
            (7, 6, "holdout", ts("2026-05-15 10:00"), 0.0, "B"),  # open, booked → holdout pending
            (8, 8, "queued", pd.NaT, 0.5, "A"),
        ],
        columns=["message_id", "customer_id", "status", "sent_at", "cost", "variant"],
    )
    messages = messages.assign(campaign_id=1, store_id=1)
    bookings = pd.DataFrame(
        [
            # id, customer, made, visit, status, amount
            (11, 1, ts("2026-05-03 09:00"), ts("2026-05-05 10:00"), "completed", 1000.0),
            (13, 3, ts("2026-05-18 12:00"), ts("2026-05-19 10:00"), "completed", 500.0),
            (15, 5, ts("2026-05-04 09:00"), ts("2026-05-06 10:00"), "completed", 800.0),
            (16, 6, ts("2026-05-16 09:00"), ts("2026-05-17 10:00"), "completed", 800.0),
        ],
        columns=["booking_id", "customer_id", "created_at", "scheduled_at", "status", "amount"],
    )
    return messages, bookings.assign(store_id=1, addon_amount=0.0)


def test_results_judge_only_messages_whose_window_closed() -> None:
    messages, bookings = _results_world()
    row = results.campaign_results(messages, bookings, as_of=date(2026, 5, 20), window_days=7, judged_only=True).iloc[0]
    # A message sent two days ago is pending, not a non-conversion: 1 of 3 judged, not 2 of 5.
    assert (row["sent"], row["pending"], row["converted"]) == (3, 2, 1)
    assert row["conversion"] == pytest.approx(1 / 3)
    # The holdout arm is judged by its scheduled time the same way.
    assert (row["holdout"], row["holdout_pending"], row["holdout_converted"]) == (1, 1, 1)
    assert row["holdout_conversion"] == 1.0
    assert row["uplift"] == pytest.approx(1 / 3 - 1)
    # Revenue and cost (so ROI) only of the judged sends: NT$1,000 ÷ 3 × 0.5.
    assert (row["revenue"], row["cost"]) == (1000.0, 1.5)
    assert row["gross_roi"] == pytest.approx(1000 / 1.5)  # gross attributed revenue ÷ cost
    # ROI is incremental: NT$333.33 a judged send vs NT$800 a judged holdout row, × 3 sends.
    assert row["incremental_revenue"] == pytest.approx((1000 / 3 - 800) * 3)
    assert row["roi"] == pytest.approx((1000 / 3 - 800) * 3 / 1.5)
    assert row["roi_low"] < row["roi"] < row["roi_high"]
    assert (row["messages"], row["queued"]) == (8, 1)

    # A week later every window has closed: nothing pending, all of them judged.
    later = results.campaign_results(messages, bookings, as_of=date(2026, 5, 26), window_days=7, judged_only=True).iloc[
        0
    ]
    assert (later["sent"], later["pending"], later["converted"]) == (5, 0, 2)
    assert (later["holdout"], later["holdout_pending"], later["holdout_converted"]) == (2, 0, 2)
    assert (later["revenue"], later["cost"]) == (1500.0, 2.5)


def test_results_without_judged_only_count_every_send_and_nothing_pending() -> None:
    messages, bookings = _results_world()
    row = results.campaign_results(messages, bookings, as_of=date(2026, 5, 20), window_days=7).iloc[0]
    assert (row["sent"], row["pending"], row["converted"]) == (5, 0, 2)
    assert (row["holdout"], row["holdout_pending"], row["holdout_converted"]) == (2, 0, 2)
    assert (row["revenue"], row["cost"]) == (1500.0, 2.5)


def test_results_by_variant_split_the_judged_and_pending_counts() -> None:
    messages, bookings = _results_world()
    by_variant = results.campaign_results(
        messages, bookings, as_of=date(2026, 5, 20), window_days=7, by=("variant",), judged_only=True
    ).set_index("variant")
    assert by_variant[["sent", "pending", "converted", "holdout", "holdout_pending"]].to_dict("index") == {
        "A": {"sent": 2, "pending": 1, "converted": 1, "holdout": 1, "holdout_pending": 0},
        "B": {"sent": 1, "pending": 1, "converted": 0, "holdout": 0, "holdout_pending": 1},
    }


def test_results_of_a_subset_keep_the_attribution_of_all_messages() -> None:
    """Campaign 2 messaged customer 1 after campaign 1 and before the booking: the booking is
    campaign 2's (latest message before it), also in a table that reads campaign 1 alone."""
    messages, bookings = _results_world()
    other = messages.iloc[[0]].assign(message_id=9, campaign_id=2, sent_at=pd.Timestamp("2026-05-02 08:00"))
    messages = pd.concat([messages, other], ignore_index=True)
    as_of = date(2026, 5, 20)
    outcomes = results.message_outcomes(messages, bookings, as_of=as_of, window_days=7)
    assert dict(zip(outcomes["message_id"], outcomes["revenue"], strict=True)) == {
        9: 1000.0,
        4: 500.0,
        6: 800.0,
        7: 800.0,
    }
    everything = results.campaign_results(
        messages, bookings, as_of=as_of, judged_only=True, outcomes=outcomes
    ).set_index("campaign_id")
    first = messages.loc[messages["campaign_id"].eq(1)]
    alone = results.campaign_results(first, bookings, as_of=as_of, judged_only=True, outcomes=outcomes)
    assert (alone.iloc[0]["converted"], alone.iloc[0]["revenue"]) == (0, 0.0)
    assert alone.iloc[0].to_dict() == everything.loc[1].to_dict() | {"campaign_id": 1}
    assert everything.loc[2, "converted"] == 1 and everything.loc[2, "revenue"] == 1000.0
    # Without the shared outcomes the subset would credit the booking to campaign 1 as well.
    assert results.campaign_results(first, bookings, as_of=as_of, judged_only=True).iloc[0]["converted"] == 1


def test_window_closed_matches_the_kpi_boards_judged_cut() -> None:
    from core.kpi import push_to_booking_conversion

    messages, bookings = _results_world()
    as_of = date(2026, 5, 20)
    row = results.campaign_results(messages, bookings, as_of=as_of, judged_only=True).iloc[0]
    for arm, column in (("sent", "conversion"), ("holdout", "holdout_conversion")):
        board = push_to_booking_conversion(
            messages, bookings, as_of=as_of, window_days=7, period_days=365, arm=arm, judged_only=True
        )
        assert board.value == pytest.approx(row[column])
    closed = results.window_closed(messages["sent_at"], as_of=as_of, window_days=7)
    assert messages.loc[closed, "message_id"].tolist() == [1, 2, 3, 6]


def test_every_trigger_kind_and_setting_speaks_three_languages() -> None:
    """The editor draws each kind's settings from the registry: every label and choice is translated."""
    from dashboard.i18n import LOCALES, catalog

    strings = catalog()
    needed = ["campaigns.tolerance_days"]
    for kind in triggers.TRIGGER_REGISTRY.values():
        needed.append(f"campaigns.kind_{kind.name}")
        for param in kind.params:
            needed.append(param.label_key)
            needed += [f"{param.label_key}_{choice}" for choice in param.choices]
    missing = [key for key in needed if any(not strings.get(key, {}).get(locale) for locale in LOCALES)]
    assert missing == []


def test_registry_kinds_fire_with_their_own_columns_only() -> None:
    """A kind reads only the audience columns it declares: the frame holds those and nothing else."""
    today = date(2026, 12, 7)
    columns = {
        "next_due_date": date(2026, 12, 14),
        "recency_days": 180,
        "birthday": date(1990, 12, 14),
        "pet_birthday": date(2020, 12, 14),
        "pet_vaccine_due": date(2026, 12, 14),
    }
    fired = {}
    for kind in triggers.TRIGGER_REGISTRY.values():
        if kind.inputs or kind.broadcast or kind.name == "lunar_birthday":  # lunar dates: tested on their own
            continue
        frame = pd.DataFrame({"customer_id": [7], **{c: [columns[c]] for c in kind.audience_columns}})
        trigger = {"kind": kind.name, "offset_days": -7, "threshold_days": 180}
        fired[kind.name] = list(triggers.evaluate_trigger(trigger, frame, today=today)["occurrence"])
    assert fired == {
        "due": ["due-7@2026-12-07"],
        "sleeping": ["sleeping180@2026-12-07"],
        "birthday": ["birthday-7@2026-12-07"],
        "pet_birthday": ["pet_birthday-7@2026-12-07"],
        "vaccine_due": ["vaccine_due-7@2026-12-07"],
    }


@pytest.mark.parametrize(
    ("trigger", "zh_tw"),
    [
        ({"kind": "due", "offset_days": -7}, "回訪到期前 7 天"),
        ({"kind": "due", "offset_days": 0}, "回訪到期當天"),
        ({"kind": "due", "offset_days": 14}, "逾期 14 天"),
        ({"kind": "sleeping", "threshold_days": 180}, "180 天未回訪(進入沉睡)"),
        ({"kind": "pet_birthday", "offset_days": -3}, "寵物生日前 3 天"),
        ({"kind": "birthday"}, "顧客生日當天"),
        ({"kind": "tier_change", "direction": "up"}, "會員等級變動:升級"),
        ({"kind": "plan_renewal", "days_before": 30}, "月付方案到期前 30 天"),
        ({"kind": "seasonal", "festival": "mid_autumn", "days_before": 14}, "中秋節前 14 天"),
        ({"kind": "points_expiring", "within_days": 30}, "點數 30 天內到期"),
        ({"kind": "recurring", "cron": "0 11 * * 1"}, "定期推播"),
    ],
)
def test_timing_is_shown_in_words_not_codes(trigger: dict, zh_tw: str) -> None:
    from dashboard.campaign_widgets import timing_text
    from dashboard.i18n import translate

    assert timing_text(triggers.trigger_label(trigger), lambda key, **p: translate(key, "zh-TW", **p)) == zh_tw
