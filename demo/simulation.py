"""The per-chunk simulation of the demo world: customers, pets, bookings, feedback, plans, stored
value, referrals, reminders and the ground truth that generated them (see `demo.world`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from demo.archetypes import (
    ARCHETYPE_MIX,
    ARCHETYPES,
    BASE_HAZARD,
    BOOKED,
    BOOKED_HORIZON_DAYS,
    CADENCE_MIX,
    CADENCES,
    CANCELLED,
    CHANNEL_MIX,
    CHANNELS,
    COMPLAINT_HAZARD,
    COMPLETED,
    DRIFTER,
    LEAD_MEAN_DAYS,
    LUNAR_NEW_YEAR,
    NO_SHOW,
    NOSHOW_HAZARD,
    ONE_TIMER,
    REMINDER_HISTORY_DAYS,
    REMINDER_HOLDOUT,
    REMINDER_HOUR,
    REMINDER_LEAD_DAYS,
    REMINDER_LIFT,
    REMINDER_SEED,
    RESCHEDULED,
    SEASONAL,
    STATUS,
    WALK_IN,
    WEB,
)
from demo.arrays import _codes, _days_to_date, _days_to_ts, _int64_na, _names, _ragged, _random_codes, _seg_cumsum
from demo.catalog import (
    _BREEDS,
    _COMMENTS_BAD,
    _COMMENTS_GOOD,
    _DEPOSIT_CATEGORIES,
    _EMAIL_DOMAINS,
    _EMAIL_HANDLES,
    _EVENING_TAG,
    _PET_NAMES,
    _TAGS,
    ADOPTION,
    GROOMER,
    NAILS,
    SALON,
)
from demo.chain import _Chain


@dataclass
class _Offsets:
    customer: int = 0
    pet: int = 0
    booking: int = 0
    feedback: int = 0
    plan: int = 0
    stored_value: int = 0
    referral: int = 0
    reminder: int = 0


def _lny_days(origin: date) -> np.ndarray:
    return np.array([(d - origin).days for d in LUNAR_NEW_YEAR], dtype=float)


def _chunk(
    rng: np.random.Generator, chain: _Chain, n: int, off: _Offsets, origin: date, end_date: date
) -> dict[str, pd.DataFrame]:
    """Customer-dependent tables for ``n`` customers with ids after the offsets in ``off``."""
    o64 = np.datetime64(origin, "D")
    cutoff = float((end_date - origin).days + 1)  # midnight after end_date: the "now" of the world
    horizon = cutoff + BOOKED_HORIZON_DAYS

    # ---- customers ---------------------------------------------------------------------------
    cust_id = off.customer + 1 + np.arange(n)
    home = rng.choice(len(chain.store_weight), size=n, p=chain.store_weight)
    kind = chain.store_kind[home]
    country = chain.store_country[home]
    is_pet_store = np.isin(kind, (GROOMER, ADOPTION))
    female = rng.random(n) < np.where(is_pet_store, 0.65, 0.88)
    pre_window = rng.random(n) < 0.22
    joined_t = np.where(pre_window, -rng.uniform(1, 730, n), rng.uniform(0, cutoff, n))
    propensity = rng.beta(1.5, 23.5, n)  # mean 6% no-show propensity
    wants_staff = rng.random(n) < 0.40
    evening_pref = rng.random(n) < 0.20
    pref_hour = np.where(evening_pref, rng.choice([18.0, 18.5, 19.0], n), 10.0 + 0.5 * rng.integers(0, 16, n))
    pref_channel = np.empty(n, dtype=np.int64)
    for c in (0, 1):
        m = country == c
        pref_channel[m] = rng.choice(len(CHANNELS), size=int(m.sum()), p=CHANNEL_MIX[c])
    # Prebookers book the next visit at checkout: long lead times, the classic no-show risk.
    prebooker = rng.random(n) < np.where(kind == ADOPTION, 0.6, 0.35)
    designated_staff = np.zeros(n, dtype=np.int64)
    for s in range(len(chain.staff_count)):
        m = home == s
        if m.any():
            popularity = rng.dirichlet(np.full(chain.staff_count[s], 1.5))
            designated_staff[m] = chain.staff_table[s, rng.choice(chain.staff_count[s], int(m.sum()), p=popularity)]
    designated_staff = np.where(wants_staff, designated_staff, 0)

    # ---- subjects: the customer, or each pet of a pet-store household ------------------------
    n_pets = np.where(is_pet_store, rng.choice([1, 2, 3], size=n, p=[0.62, 0.27, 0.11]), 0)
    n_sub = np.maximum(n_pets, 1)
    sc, spos, _ = _ragged(n_sub)  # subject -> customer index, pet rank in household
    m_sub = len(sc)
    s_kind = kind[sc]
    s_is_pet = is_pet_store[sc]
    pet_id = np.zeros(m_sub, dtype=np.int64)
    pet_id[s_is_pet] = off.pet + 1 + np.arange(int(s_is_pet.sum()))
    cadence = np.empty(m_sub, dtype=np.int64)
    for k in range(4):
        m = s_kind == k
        cadence[m] = rng.choice(CADENCES, size=int(m.sum()), p=CADENCE_MIX[k])
    arche = rng.choice(4, size=m_sub, p=ARCHETYPE_MIX)
    sigma = rng.uniform(0.05, 0.10, m_sub)
    t0 = np.where(
        pre_window[sc], rng.uniform(0, cadence), joined_t[sc] + np.where(spos > 0, rng.uniform(0, 120, m_sub), 0.0)
    )
    monthly_fee = rng.choice([199.0, 299.0, 399.0, 499.0, 599.0], size=m_sub, p=[0.2, 0.35, 0.25, 0.12, 0.08])
    # Pets: size/coat drive grooming prices.
    breed_w = np.array([b[4] for b in _BREEDS])
    breed_idx = rng.choice(len(_BREEDS), size=m_sub, p=breed_w / breed_w.sum())
    coat = np.array([b[3] for b in _BREEDS], dtype=object)[breed_idx]
    coat_mult = np.where(coat == "long", 1.3, np.where(coat == "medium", 1.15, 1.0))

    # ---- slots: planned visits on the subject's cadence --------------------------------------
    K = np.maximum(np.ceil((horizon + 1 - t0) / (0.65 * cadence)).astype(np.int64) + 1, 1)
    own, pos, starts = _ragged(K)
    n_slot = len(own)
    cust = sc[own]
    cad = cadence[own].astype(float)
    x = cad * rng.lognormal(0.0, sigma[own])
    x[pos == 0] = 0.0
    base_t = t0[own] + _seg_cumsum(x, own, starts)
    # Summer bump for pet grooming: dogs get groomed more often in the heat.
    month = (
        (o64 + np.floor(base_t).astype(np.int64).astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64) % 12
    ) + 1
    summer = (s_kind[own] == GROOMER) & np.isin(month, (6, 7, 8)) & (pos > 0)
    x[summer] *= 0.9
    base_t = t0[own] + _seg_cumsum(x, own, starts)

    # Booking attributes that do not depend on the final date.
    hour = np.where(rng.random(n_slot) < 0.75, pref_hour[cust], 10.0 + 0.5 * rng.integers(0, 19, n_slot))
    evening = hour >= 18.0
    channel = np.where(rng.random(n_slot) < 0.85, pref_channel[cust], -1)
    redraw = channel < 0
    for c in (0, 1):
        m = redraw & (country[cust] == c)
        channel[m] = rng.choice(len(CHANNELS), size=int(m.sum()), p=CHANNEL_MIX[c])
    walk_in = channel == WALK_IN

    # Store of the visit: home, or now and then another store of the same kind/family.
    store_idx = home[cust].copy()
    cross_u = rng.random(n_slot)
    for s, cand in enumerate(chain.cross_candidates):
        if cand.size:
            m = (store_idx == s) & (cross_u < 0.05)
            store_idx[m] = cand[rng.integers(0, cand.size, int(m.sum()))]
    v_kind = chain.store_kind[store_idx]
    v_country = chain.store_country[store_idx]
    # Service: the subject's usual service most of the time.
    service = np.zeros(n_slot, dtype=np.int64)
    main_service = np.zeros(m_sub, dtype=np.int64)
    for (k, c), ids in chain.service_ids.items():
        w = chain.service_weights[(k, c)]
        ms = (s_kind == k) & (chain.store_country[home[sc]] == c)
        main_service[ms] = ids[rng.choice(ids.size, int(ms.sum()), p=w)]
        m = (v_kind == k) & (v_country == c)
        service[m] = ids[rng.choice(ids.size, int(m.sum()), p=w)]
    same_kind = v_kind == s_kind[own]
    use_main = same_kind & (rng.random(n_slot) < 0.75)
    service[use_main] = main_service[own][use_main]
    category = chain.service_category[service]
    price = chain.service_price[service] * np.where(np.isin(v_kind, (GROOMER,)), coat_mult[own], 1.0)
    is_cny = v_country == 1
    round_to = np.where(is_cny, 5.0, 10.0)
    price = np.round(price * rng.uniform(0.95, 1.1, n_slot) / round_to) * round_to
    pickup = category == "plan_pickup"
    price[pickup] = np.where(is_cny, monthly_fee[own], np.round(monthly_fee[own] * 4.4, -1))[pickup]
    deposit_p = 0.06 + 0.3 * np.isin(category, list(_DEPOSIT_CATEGORIES)) + 0.15 * (channel == WEB)
    has_deposit = (rng.random(n_slot) < deposit_p) & ~walk_in & ~pickup
    deposit = np.where(has_deposit, np.round(price * 0.3 / round_to) * round_to, 0.0)

    lead = rng.exponential(LEAD_MEAN_DAYS[channel]) + rng.uniform(0.02, 0.3, n_slot)
    prebook = prebooker[cust] & (pos > 0) & (rng.random(n_slot) < 0.85) & ~walk_in
    lead = np.where(prebook, np.maximum(x - rng.uniform(0, 0.3, n_slot), 0.5), lead)
    lead = np.where(walk_in, rng.uniform(0.01, 0.04, n_slot), lead)

    # No-show: per-customer propensity shifted by lead time, channel, slot and deposit.
    p0 = propensity[cust]
    logit = (
        np.log(p0 / (1 - p0))
        - 0.2
        + 0.55 * (np.log1p(lead) - np.log1p(4.0))
        + 0.6 * (channel == WEB)
        + 0.5 * evening
        - 1.2 * has_deposit
    )
    p_noshow = np.where(walk_in, 0.0, 1.0 / (1.0 + np.exp(-logit)))
    u = rng.random(n_slot)
    outcome = np.full(n_slot, COMPLETED)
    outcome[u < p_noshow] = NO_SHOW
    u2 = rng.random(n_slot)
    ok = (outcome == COMPLETED) & ~walk_in
    outcome[ok & (u2 < 0.066)] = CANCELLED
    outcome[ok & (u2 >= 0.066) & (u2 < 0.119)] = RESCHEDULED
    failed = outcome != COMPLETED
    rebook = failed & ((outcome == RESCHEDULED) | (rng.random(n_slot) < 0.88))
    complaint = rng.random(n_slot) < 0.025

    # ---- churn -------------------------------------------------------------------------------
    noshow = outcome == NO_SHOW
    hazard = BASE_HAZARD[arche[own]] + COMPLAINT_HAZARD * complaint + NOSHOW_HAZARD * (noshow & (pos >= 1))
    trig = rng.random(n_slot) < hazard
    big = np.iinfo(np.int64).max // 4
    first = np.minimum.reduceat(np.where(trig, pos, big), starts)
    has_trig = first < big
    first_slot = starts + np.minimum(first, K - 1)
    ns_at = has_trig & noshow[first_slot] & (first >= 1)
    c_h = np.where(has_trig, np.where(ns_at, first, first + 1), big)
    n_before = np.add.reduceat((base_t < cutoff).astype(np.int64), starts)
    c_plan = rng.integers(2, np.maximum(n_before, 2) + 1)
    c = np.where(arche == DRIFTER, np.minimum(c_h, c_plan), c_h)
    c = np.where(arche == ONE_TIMER, 1, c)
    noshow_churn = ns_at & (c == first) & (arche != ONE_TIMER)
    churns = c < K
    # Drift: the last 2-3 intervals before churn stretch, the observable warning sign.
    n_drift = rng.integers(2, 4, m_sub)
    c_s = c[own]
    drifting = churns[own] & (pos >= np.maximum(c_s - n_drift[own], 1)) & (pos <= c_s - 1)
    x = np.where(drifting, x * rng.uniform(1.3, 1.6, n_slot), x)

    # Reminder history on a stream of its own (without it the world would be drawn the same). A
    # subject is reminded a week before it is due after each visit in the last half year unless
    # the next visit was already booked at checkout; the visit of a reminded subject who would
    # only have booked after that week is brought forward into it with probability REMINDER_LIFT.
    crng = np.random.default_rng([off.customer, n, REMINDER_SEED])
    t_nat = t0[own] + _seg_cumsum(x, own, starts)
    prev_nat = np.where(pos > 0, np.roll(t_nat, 1), -np.inf)
    remind_nat = prev_nat + cad - REMINDER_LEAD_DAYS
    reminded = (
        (pos >= 1)
        & (pos <= c_s)
        & ~prebook
        & (remind_nat >= cutoff - REMINDER_HISTORY_DAYS)
        & (remind_nat < cutoff - 1)
    )
    held_out = crng.random(n_slot) < REMINDER_HOLDOUT
    natural_booking = np.floor(t_nat) + hour / 24.0 - lead
    too_late = natural_booking > np.floor(remind_nat) + REMINDER_HOUR / 24.0 + REMINDER_LEAD_DAYS
    pulled = reminded & ~held_out & (pos < c_s) & too_late & (crng.random(n_slot) < REMINDER_LIFT)
    x = np.where(pulled, cad - REMINDER_LEAD_DAYS + crng.uniform(1.0, 6.0, n_slot), x)
    t = t0[own] + _seg_cumsum(x, own, starts)

    # Lunar New Year: visits due in the three weeks after it are pulled into the rush before it;
    # the shop is closed from New Year's Eve to the 4th day.
    prev_t = np.where(pos > 0, np.roll(t, 1), -1e9)
    seasonal_p = np.where(arche[own] == SEASONAL, 0.9, 0.45)
    for lny in _lny_days(origin):
        closed = (t >= lny - 1) & (t < lny + 4)
        after = (t >= lny + 4) & (t < lny + 21) & (rng.random(n_slot) < seasonal_p)
        target = lny - rng.uniform(3, 21, n_slot)
        can_pull = target > prev_t + 0.5 * cad
        move = (closed | after) & can_pull
        t = np.where(move, target, t)
        t = np.where(closed & ~can_pull, lny + 4 + rng.uniform(0, 2, n_slot), t)
    # Guard against any reordering the shifts introduced (rare), keeping days distinct.
    t = np.maximum.accumulate(t + own * 1e5) - own * 1e5

    # ---- booking rows ------------------------------------------------------------------------
    keep = (pos < c_s) | ((pos == c_s) & noshow_churn[own])
    churn_slot = (pos == c_s) & noshow_churn[own]
    day = np.floor(t)
    sched = day + hour / 24.0
    created = sched - lead
    visit_before = np.where(pos > 0, np.roll(t, 1), -np.inf)
    remind_at = np.floor(visit_before + cad - REMINDER_LEAD_DAYS) + REMINDER_HOUR / 24.0
    # A reminded visit is booked after the call, some time before the visit itself.
    answered = pulled & (sched > remind_at)
    remind_base = np.where(answered, remind_at, 0.0)
    created = np.where(answered, remind_base + (sched - remind_base) * crng.uniform(0.05, 0.9, n_slot), created)
    # A failed booking is usually rebooked a few days later; a no-show calls back afterwards,
    # a cancellation or reschedule is made before the original slot.
    delay = rng.integers(2, 9, n_slot).astype(float)
    hour2 = np.where(rng.random(n_slot) < 0.7, hour, 10.0 + 0.5 * rng.integers(0, 19, n_slot))
    sched2 = day + delay + hour2 / 24.0
    created2 = np.where(
        outcome == NO_SHOW,
        sched + rng.uniform(0.05, 1.5, n_slot),
        created + (sched - created) * rng.uniform(0.3, 0.9, n_slot),
    )
    do_rebook = keep & rebook & ~churn_slot & (sched < cutoff)  # future bookings are unresolved
    att = np.flatnonzero(keep)
    reb = np.flatnonzero(do_rebook)
    # Pet owners now and then treat themselves at a sister beauty store: extra visits without a
    # pet, so the pets' own cadences stay clean.
    ex_store = np.full(n_slot, -1)
    ex_u = rng.random(n_slot)
    for s, cand in enumerate(chain.treat_candidates):
        if cand.size:
            m = keep & ~churn_slot & (store_idx == s) & (ex_u < 0.05)
            ex_store[m] = cand[rng.integers(0, cand.size, int(m.sum()))]
    ext = np.flatnonzero(ex_store >= 0)
    e_store = ex_store[ext]
    e_service = np.zeros(ext.size, dtype=np.int64)
    for (k, cn), ids in chain.service_ids.items():
        m = (chain.store_kind[e_store] == k) & (chain.store_country[e_store] == cn)
        e_service[m] = ids[rng.choice(ids.size, int(m.sum()), p=chain.service_weights[(k, cn)])]
    e_round = np.where(chain.store_country[e_store] == 1, 5.0, 10.0)
    e_price = np.round(chain.service_price[e_service] * rng.uniform(0.95, 1.1, ext.size) / e_round) * e_round
    e_sched = day[ext] + rng.integers(1, 11, ext.size) + hour[ext] / 24.0

    slot = np.concatenate([att, reb, ext])
    b_sched = np.concatenate([sched[att], sched2[reb], e_sched])
    b_created = np.concatenate([created[att], created2[reb], e_sched - lead[ext]])
    b_status = np.concatenate([outcome[att], np.full(reb.size, COMPLETED), np.full(ext.size, COMPLETED)])
    b_extra = np.concatenate([np.zeros(att.size + reb.size, bool), np.ones(ext.size, bool)])
    b_store = np.concatenate([store_idx[att], store_idx[reb], e_store])
    b_service = np.concatenate([service[att], service[reb], e_service])
    b_price = np.concatenate([price[att], price[reb], e_price])
    b_deposit = np.concatenate([deposit[att], deposit[reb], np.zeros(ext.size)])

    # Truth: churn is realised only when the whole pre-churn history lies before the cutoff.
    full_hist_max = np.full(m_sub, -np.inf)
    np.maximum.at(full_hist_max, own[slot], b_sched)

    keep_b = (b_created < cutoff - 1 / 1440) & (b_sched < horizon)
    keep_b &= ~(b_extra & (b_sched >= cutoff))
    order = np.flatnonzero(keep_b)
    order = order[np.lexsort((b_sched[order], own[slot[order]]))]
    slot, b_sched, b_created, b_status, b_extra, b_store, b_service, b_price, b_deposit = (
        a[order] for a in (slot, b_sched, b_created, b_status, b_extra, b_store, b_service, b_price, b_deposit)
    )
    b_status = np.where(b_sched >= cutoff, BOOKED, b_status)
    nb = slot.size
    b_own = own[slot]
    b_cust = cust[slot]
    completed = b_status == COMPLETED

    last_row = np.full(m_sub, -np.inf)
    np.maximum.at(last_row, b_own, b_sched)
    last_done = np.full(m_sub, -np.inf)
    np.maximum.at(last_done, b_own[completed], b_sched[completed])
    realised = churns & np.isfinite(last_row) & (full_hist_max < cutoff - 1)
    anchor = np.where(np.isfinite(last_done), last_done, last_row)
    churn_t = np.maximum(anchor + rng.uniform(1.0, np.maximum(1.5, 0.5 * cadence)), last_row + 1 / 24)
    churn_t = np.minimum(churn_t, cutoff - 1 / 1440)

    b_channel = channel[slot]
    # Designated customers get their stylist at home; others whoever is free.
    d_staff = designated_staff[b_cust]
    at_home = b_store == home[b_cust]
    b_designated = (d_staff > 0) & at_home & (rng.random(nb) < 0.95)
    free_staff = chain.staff_table[b_store, np.floor(rng.random(nb) * chain.staff_count[b_store]).astype(np.int64)]
    b_staff = np.where(b_designated, d_staff, free_staff)
    b_addon = np.where(
        completed & (rng.random(nb) < 0.25),
        np.where(
            chain.store_country[b_store] == 1,
            rng.choice([30.0, 50.0, 80.0, 120.0], nb),
            rng.choice([200.0, 300.0, 500.0, 800.0], nb),
        ),
        0.0,
    )
    b_id = off.booking + 1 + np.arange(nb)
    b_pet = np.where(b_extra, 0, pet_id[b_own])
    bookings = pd.DataFrame(
        {
            "booking_id": b_id,
            "external_id": _codes("B", b_id, 9),
            "customer_id": cust_id[b_cust],
            "store_id": b_store + 1,
            "pet_id": _int64_na(b_pet, b_pet == 0),
            "service_id": b_service,
            "service_category": chain.service_category[b_service],
            "staff_id": b_staff,
            "designated": b_designated,
            "created_at": _days_to_ts(o64, b_created),
            "scheduled_at": _days_to_ts(o64, b_sched),
            "status": STATUS[b_status],
            "amount": b_price,
            "addon_amount": b_addon,
            "channel": CHANNELS[b_channel],
            "deposit": b_deposit,
        }
    )

    # ---- feedback ----------------------------------------------------------------------------
    b_complaint = completed & complaint[slot] & ~b_extra
    in_drift = drifting[slot] & ~b_extra
    fb = completed & (b_complaint | (rng.random(nb) < 0.3))
    fidx = np.flatnonzero(fb)
    f_complaint = b_complaint[fidx]
    rating = rng.choice([5, 4, 3, 2], size=fidx.size, p=[0.6, 0.3, 0.08, 0.02])
    rating = np.where(in_drift[fidx] & (rng.random(fidx.size) < 0.35), rating - 1, rating)
    rating = np.where(f_complaint, rng.choice([1, 2], fidx.size, p=[0.6, 0.4]), np.maximum(rating, 1))
    f_cn = chain.store_country[b_store[fidx]] == 1
    good = np.where(
        f_cn,
        _COMMENTS_GOOD[1][rng.integers(0, len(_COMMENTS_GOOD[1]), fidx.size)],
        _COMMENTS_GOOD[0][rng.integers(0, len(_COMMENTS_GOOD[0]), fidx.size)],
    )
    bad = np.where(
        f_cn,
        _COMMENTS_BAD[1][rng.integers(0, len(_COMMENTS_BAD[1]), fidx.size)],
        _COMMENTS_BAD[0][rng.integers(0, len(_COMMENTS_BAD[0]), fidx.size)],
    )
    comment = np.where(rating <= 2, bad, np.where(rng.random(fidx.size) < 0.5, good, None))
    feedback = pd.DataFrame(
        {
            "feedback_id": off.feedback + 1 + np.arange(fidx.size),
            "booking_id": b_id[fidx],
            "rating": rating.astype(np.int64),
            "complaint": f_complaint,
            "comment": comment,
        }
    )

    # ---- customers ---------------------------------------------------------------------------
    first_created = np.full(n, np.inf)
    np.minimum.at(first_created, b_cust, b_created)
    joined_final = np.floor(np.minimum(joined_t, first_created))
    tw_num = (cust_id * 7_919_113) % 100_000_000  # bijective: unique phones per id
    cn_num = (cust_id * 7_919_113) % 1_000_000_000
    phone = np.where(
        country == 1,
        _codes("+861", (3 + rng.integers(0, 7, n)) * 1_000_000_000 + cn_num, 10),
        _codes("+8869", tw_num, 8),
    )
    has_email = rng.random(n) < 0.55
    email = (
        _EMAIL_HANDLES[rng.integers(0, len(_EMAIL_HANDLES), n)]
        + cust_id.astype(str).astype(object)
        + np.where(country == 1, _EMAIL_DOMAINS[1][rng.integers(0, 3, n)], _EMAIL_DOMAINS[0][rng.integers(0, 3, n)])
    )
    email = np.where(has_email, email, None)
    has_line = (country == 0) & (rng.random(n) < 0.8)
    line_id = np.where(has_line, _random_codes(rng, "U", n, 32, "0123456789abcdef"), None)
    has_wechat = (country == 1) & (rng.random(n) < 0.95)
    wechat = np.where(
        has_wechat,
        _random_codes(rng, "o", n, 27, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        None,
    )
    age_days = rng.uniform(18, 65, n) * 365.25
    birthday = _days_to_date(o64, cutoff - age_days)
    referral_code = _codes("RV", (cust_id * 2_654_435_761) % 36**7, 7, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    opted = rng.random(n) < 0.03
    opt_t = joined_final + rng.uniform(0, 1, n) * np.maximum(cutoff - joined_final, 1)
    # Reminders stop at an opt-out, so a customer whose visit a reminder brought forward opted out
    # only after that reminder; later reminders to them are suppressed.
    answered_at = np.full(n, -np.inf)
    np.maximum.at(answered_at, cust[pulled], remind_at[pulled])
    opt_t = np.where(opted, np.maximum(opt_t, answered_at + 1.0), opt_t)
    consent_sms = (rng.random(n) < np.where(country == 1, 0.55, 0.6)) & ~opted
    consent_line = has_line & (rng.random(n) < 0.85) & ~opted
    consent_email = has_email & (rng.random(n) < 0.45) & ~opted
    consent_wechat = has_wechat & (rng.random(n) < 0.8) & ~opted
    # Tags: the evening tag mirrors the real slot preference (a learnable, honest tag).
    tag1 = np.empty(n, dtype=object)
    tag2 = np.empty(n, dtype=object)
    for k, tags in _TAGS.items():
        m = kind == k
        arr = np.array(tags, dtype=object)
        tag1[m] = arr[rng.integers(0, arr.size, int(m.sum()))]
        tag2[m] = arr[rng.integers(0, arr.size, int(m.sum()))]
    n_tags = rng.choice([0, 1, 2], size=n, p=[0.55, 0.33, 0.12])
    ev_tag = np.where(country == 1, _EVENING_TAG[1], _EVENING_TAG[0])
    parts = [
        np.where(evening_pref, ev_tag, ""),
        np.where(n_tags >= 1, tag1, ""),
        np.where((n_tags >= 2) & (tag2 != tag1), tag2, ""),
    ]
    tags = pd.Series(parts[0]).str.cat([pd.Series(parts[1]), pd.Series(parts[2])], sep=",")
    tags = tags.str.replace(r",+", ",", regex=True).str.strip(",")

    referred_by = np.zeros(n, dtype=np.int64)
    ref_rows = []
    for s in np.unique(home):
        idx = np.flatnonzero(home == s)
        order_s = idx[np.argsort(joined_final[idx], kind="stable")]
        rank = np.arange(order_s.size)
        is_ref = (rng.random(order_s.size) < 0.15) & (rank > 0)
        ref_pos = np.flatnonzero(is_ref)
        before = np.cumsum(is_ref) - is_ref
        # Prefer referrers who were referred themselves so chains A->B->C->D form.
        chain_pick = is_ref & (before > 0) & (rng.random(order_s.size) < 0.45)
        pick_rank = np.floor(rng.random(order_s.size) * np.maximum(rank, 1)).astype(np.int64)
        pick_chain = (
            ref_pos[
                np.minimum(
                    np.floor(rng.random(order_s.size) * np.maximum(before, 1)).astype(np.int64),
                    max(ref_pos.size - 1, 0),
                )
            ]
            if ref_pos.size
            else pick_rank
        )
        referrer_rank = np.where(chain_pick, pick_chain, pick_rank)
        referee = order_s[is_ref]
        referrer = order_s[referrer_rank[is_ref]]
        referred_by[referee] = cust_id[referrer]
        ref_rows.append((referrer, referee))
    if ref_rows:
        referrer = np.concatenate([r[0] for r in ref_rows])
        referee = np.concatenate([r[1] for r in ref_rows])
    else:
        referrer = referee = np.array([], dtype=np.int64)
    ordr = np.argsort(cust_id[referee], kind="stable")
    referrer, referee = referrer[ordr], referee[ordr]
    referrals = pd.DataFrame(
        {
            "referral_id": off.referral + 1 + np.arange(referee.size),
            "referrer_id": cust_id[referrer],
            "referee_id": cust_id[referee],
            "code": referral_code[referrer],
            "created_at": _days_to_ts(o64, joined_final[referee] + rng.uniform(0.42, 0.83, referee.size)),
        }
    )

    customers = pd.DataFrame(
        {
            "customer_id": cust_id,
            "external_id": _codes("C", cust_id, 7),
            "name": _names(rng, country, female),
            "phone": phone,
            "email": email,
            "line_id": line_id,
            "wechat_openid": wechat,
            "birthday": birthday,
            "gender": np.where(female, "F", "M"),
            "home_store_id": home + 1,
            "joined_on": _days_to_date(o64, joined_final),
            "referred_by": _int64_na(referred_by, referred_by == 0),
            "referral_code": referral_code,
            "consent_sms": consent_sms,
            "consent_line": consent_line,
            "consent_email": consent_email,
            "consent_wechat": consent_wechat,
            "opted_out_at": np.where(
                opted, _days_to_ts(o64, np.minimum(opt_t, cutoff - 0.01)), np.datetime64("NaT", "ns")
            ).astype("datetime64[ns]"),
            "tags": tags.to_numpy(object),
        }
    )

    # ---- pets --------------------------------------------------------------------------------
    pidx = np.flatnonzero(s_is_pet)
    p_cn = country[sc[pidx]] == 1
    species = np.array([b[2] for b in _BREEDS], dtype=object)[breed_idx[pidx]]
    breed = np.where(
        p_cn,
        np.array([b[1] for b in _BREEDS], dtype=object)[breed_idx[pidx]],
        np.array([b[0] for b in _BREEDS], dtype=object)[breed_idx[pidx]],
    )
    pet_names = np.where(
        p_cn,
        _PET_NAMES[1][rng.integers(0, len(_PET_NAMES[1]), pidx.size)],
        _PET_NAMES[0][rng.integers(0, len(_PET_NAMES[0]), pidx.size)],
    )
    pets = pd.DataFrame(
        {
            "pet_id": pet_id[pidx],
            "customer_id": cust_id[sc[pidx]],
            "name": pet_names,
            "species": species,
            "breed": breed,
            "coat_length": coat[pidx],
            "birthday": _days_to_date(o64, cutoff - rng.uniform(0.4, 14, pidx.size) * 365.25),
            "vaccine_due": _days_to_date(o64, cutoff + rng.uniform(-60, 365, pidx.size)),
        }
    )

    # ---- monthly plans (adoption store): renewed back to back until churn --------------------
    month_days = 30.44
    first_done = np.full(m_sub, np.inf)
    np.minimum.at(first_done, b_own[completed], b_sched[completed])
    plan_sub = np.flatnonzero((s_kind == ADOPTION) & np.isfinite(first_done))
    periods = rng.choice([12, 18, 24], size=plan_sub.size, p=[0.5, 0.2, 0.3])
    p_start = np.floor(first_done[plan_sub])
    p_end_active = np.where(realised[plan_sub], churn_t[plan_sub], cutoff)
    n_plans = (np.floor((p_end_active - p_start) / (periods * month_days)).astype(np.int64) + 1).clip(1)
    powner, ppos, _ = _ragged(n_plans) if plan_sub.size else (np.array([], int),) * 3
    ps = p_start[powner] + ppos * periods[powner] * month_days
    pe = ps + periods[powner] * month_days
    last_plan = ppos == n_plans[powner] - 1
    p_churned = realised[plan_sub][powner]
    p_status = np.where(~last_plan, "completed", np.where(p_churned, "cancelled", "active"))
    stop = np.where(p_churned, churn_t[plan_sub][powner], cutoff)
    elapsed = np.ceil((stop - ps) / month_days).astype(np.int64)
    paid = np.where(
        p_status == "completed",
        periods[powner],
        np.where(
            p_status == "cancelled", np.clip(elapsed, 1, periods[powner] - 1), np.clip(elapsed, 1, periods[powner])
        ),
    )
    p_sub = plan_sub[powner]
    plan_cn = country[sc[p_sub]] == 1
    plans = pd.DataFrame(
        {
            "plan_id": off.plan + 1 + np.arange(p_sub.size),
            "customer_id": cust_id[sc[p_sub]],
            "store_id": home[sc[p_sub]] + 1,
            "pet_id": pet_id[p_sub],
            "name": np.where(plan_cn, "领养月度计划 ", "領養月度計劃 ").astype(object)
            + periods[powner].astype(str).astype(object)
            + "期",
            "monthly_fee": np.where(plan_cn, monthly_fee[p_sub], np.round(monthly_fee[p_sub] * 4.4, -1)),
            "periods_total": periods[powner].astype(np.int64),
            "periods_paid": paid.astype(np.int64),
            "started_on": _days_to_date(o64, ps),
            "ends_on": _days_to_date(o64, pe),
            "status": p_status.astype(object),
        }
    )

    # ---- stored value (salon / nails): top up whenever the balance would go negative ---------
    sv_holder = (rng.random(n) < 0.3) & np.isin(kind, (SALON, NAILS))
    sv_rows = np.flatnonzero(completed & sv_holder[b_cust] & at_home & (b_sched < cutoff))
    spend = b_price[sv_rows] + b_addon[sv_rows]
    sv_cust = b_cust[sv_rows]
    unit = np.where(
        country[sv_cust] == 1,
        rng.choice([500.0, 1000.0, 2000.0], n)[sv_cust],
        rng.choice([3000.0, 5000.0, 10000.0], n)[sv_cust],
    )
    o_sv = np.lexsort((b_sched[sv_rows], sv_cust))
    sv_rows, spend, sv_cust, unit = sv_rows[o_sv], spend[o_sv], sv_cust[o_sv], unit[o_sv]
    _, cnt = np.unique(sv_cust, return_counts=True)
    sv_own, _, sv_starts = _ragged(cnt)
    cum = _seg_cumsum(spend, sv_own, sv_starts)
    n_units = np.ceil(cum / unit)
    prev_units = np.where(np.arange(cum.size) == sv_starts[sv_own], 0.0, np.roll(n_units, 1))
    top = n_units > prev_units
    t_when = b_sched[sv_rows]
    sv = pd.DataFrame(
        {
            "customer_id": np.concatenate([cust_id[sv_cust[top]], cust_id[sv_cust]]),
            "store_id": np.concatenate([b_store[sv_rows[top]], b_store[sv_rows]]) + 1,
            "kind": np.concatenate([np.full(int(top.sum()), "topup", object), np.full(sv_rows.size, "debit", object)]),
            "amount": np.concatenate([(n_units - prev_units)[top] * unit[top], spend]),
            "occurred_at": _days_to_ts(o64, np.concatenate([t_when[top] - 5 / 1440, t_when + 1 / 24])),
        }
    ).sort_values(["customer_id", "occurred_at"], kind="stable", ignore_index=True)
    sv.insert(0, "entry_id", off.stored_value + 1 + np.arange(len(sv)))
    sv_entries = sv

    # ---- truth -------------------------------------------------------------------------------
    truth = pd.DataFrame(
        {
            "customer_id": cust_id[sc],
            "pet_id": _int64_na(pet_id, pet_id == 0),
            "true_cadence_days": cadence.astype(np.int64),
            "churned_at": np.where(
                realised, _days_to_ts(o64, np.where(realised, churn_t, 0.0)), np.datetime64("NaT", "ns")
            ).astype("datetime64[ns]"),
            "noshow_propensity": propensity[sc],
            "designated_staff_id": _int64_na(designated_staff[sc], designated_staff[sc] == 0),
            "archetype": ARCHETYPES[arche],
        }
    )

    # ---- reminder history --------------------------------------------------------------------
    r_slot = np.flatnonzero(reminded & (remind_at < cutoff))
    r_cust = cust[r_slot]
    r_pet = pet_id[own[r_slot]]
    r_opted = opted[r_cust] & (remind_at[r_slot] >= opt_t[r_cust])
    r_status = np.where(held_out[r_slot], "holdout", np.where(r_opted, "suppressed", "sent")).astype(object)
    reminders = pd.DataFrame(
        {
            "reminder_id": off.reminder + 1 + np.arange(r_slot.size),
            "customer_id": cust_id[r_cust],
            "pet_id": _int64_na(r_pet, r_pet == 0),
            "store_id": home[r_cust] + 1,
            "sent_at": _days_to_ts(o64, remind_at[r_slot]),
            "status": r_status,
            "reason": np.where(r_status == "suppressed", "opted_out", None).astype(object),
            "pulled": pulled[r_slot],
        }
    )

    off.customer += n
    off.reminder += len(reminders)
    off.pet += int(s_is_pet.sum())
    off.booking += nb
    off.feedback += len(feedback)
    off.plan += len(plans)
    off.stored_value += len(sv_entries)
    off.referral += len(referrals)
    return {
        "customers": customers,
        "pets": pets,
        "bookings": bookings,
        "feedback": feedback,
        "plans": plans,
        "stored_value": sv_entries,
        "referrals": referrals,
        "truth": truth,
        "reminders": reminders,
    }
