"""The demo's day-to-day activity, so every KPI has data on a fresh demo.

The generated world (``demo.world``) holds bookings and the "due in 7 days" reminders. A shop also
contacts its sleeping customers, works follow-up tasks and reviews the model's calls; without
those the wake-up rate, task completion and model accuracy read "—" on every store.

- :func:`seed_demo_followups` (after the world is loaded, before points and snapshots): a
  monthly wake-up message to every customer asleep for 180–365 days (a tenth held out at
  random), with a known effect — about 15% of contacted sleepers and 3% of held-out ones come
  back within four weeks (a copy of their last booking; the ground truth's churn moment moves
  to that visit) — and a follow-up task for the front desk when a customer is three weeks past
  their usual interval (worked: booked, done or no answer; the last week's partly open).
- :func:`seed_demo_reviews` (after the score snapshots): each store's manager reviews a few
  customers' lifecycle calls at every snapshot, agreeing with about 85% of them.

Everything is drawn from ``numpy.random.default_rng([seed, …])``: the same demo every time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from core.campaigns.outbox import dedupe_key
from core.campaigns.templates import tracking_code
from db.engine import session_scope
from db.models import Booking, Campaign, Customer, Message, ModelReview, ScoreSnapshot, Task
from demo.truth import demo_truth

WAKE_DESCRIPTION = "demo:wake_up"
SLEEPING_DAYS = 180
WAKE_HOLDOUT = 0.10
WAKE_EFFECT = {"sent": 0.15, "holdout": 0.03}
WAKE_COST = 0.5
TASK_LATE_DAYS = 21
REVIEW_AGREEMENT = 0.85
REVIEWS_PER_SNAPSHOT = 6

_WAKE_TEMPLATES = {
    "variants": [
        {
            "key": "A",
            "weight": 1.0,
            "templates": {
                "zh-TW": "好久不見!我們想念您,這個月回來享有專屬回店禮,歡迎預約。",
                "zh-CN": "好久不见!我们想念您,这个月回来享有专属回店礼,欢迎预约。",
                "en": "It has been a while! Come back this month for a welcome-back gift; we would love to see you.",
            },
        }
    ]
}
_TASK_REASON = "overdue"
_TASK_SCRIPT = "您好,距離上次來店已經超過平常的週期,想幫您安排下次的時間嗎?"


def _aware(moment: pd.Timestamp) -> datetime:
    """A naive UTC timestamp as an aware ``datetime`` (the storage convention)."""
    return moment.tz_localize("UTC").to_pydatetime()


def _visits(engine: Engine) -> pd.DataFrame:
    """Completed bookings, one row per customer and visit day (the day's last booking)."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                Booking.id,
                Booking.customer_id,
                Booking.store_id,
                Booking.pet_id,
                Booking.service_id,
                Booking.staff_id,
                Booking.scheduled_at,
                Booking.amount,
                Booking.addon_amount,
            ).where(Booking.status == "completed")
        ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "booking_id",
            "customer_id",
            "store_id",
            "pet_id",
            "service_id",
            "staff_id",
            "scheduled_at",
            "amount",
            "addon_amount",
        ],
    )
    frame["scheduled_at"] = pd.to_datetime(frame["scheduled_at"], utc=True).dt.tz_localize(None)
    frame["day"] = frame["scheduled_at"].dt.normalize()
    frame = frame.sort_values(["customer_id", "scheduled_at"]).drop_duplicates(["customer_id", "day"], keep="last")
    frame["next_day"] = frame.groupby("customer_id")["day"].shift(-1)
    frame["gap_before"] = (frame["day"] - frame.groupby("customer_id")["day"].shift(1)).dt.days
    return frame.reset_index(drop=True)


def _wake_campaign(engine: Engine) -> int:
    with session_scope(engine) as session:
        found = session.scalars(select(Campaign.id).where(Campaign.description == WAKE_DESCRIPTION)).first()
        if found is not None:
            return int(found)
        campaign = Campaign(
            store_id=None,
            name="沉睡客・喚醒",
            description=WAKE_DESCRIPTION,
            audience={"lifecycle_segments": ["sleeping"]},
            trigger={"kind": "recurring", "cron": "0 11 1 * *"},
            templates=_WAKE_TEMPLATES,
            channel="line",
            send_hour=11,
            holdout_pct=WAKE_HOLDOUT * 100,
            frequency_cap_days=3,
            cost_per_message=WAKE_COST,
            status="ended",
            created_by="demo",
            approved_by="admin",
            approved_at=datetime.now(UTC),
        )
        session.add(campaign)
        session.flush()
        return int(campaign.id)  # type: ignore[arg-type]


def seed_demo_followups(engine: Engine, *, end_date: date, seed: int) -> dict[str, int]:
    """Wake-up messages (with their effect) and worked follow-up tasks; returns rows written."""
    rng = np.random.default_rng([seed, 9001])
    end = pd.Timestamp(end_date)
    visits = _visits(engine)
    if visits.empty:
        return {"wake_up_messages": 0, "woken": 0, "tasks": 0}
    with session_scope(engine) as session:
        homes = dict(session.execute(select(Customer.id, Customer.home_store_id)).all())
        opted = {cid for (cid,) in session.execute(select(Customer.id).where(Customer.opted_out_at.is_not(None)))}

    # ---- wake-up: on the 1st of each month, every customer asleep for 180–365 days --------------
    campaign_id = _wake_campaign(engine)
    first = (end - pd.Timedelta(days=240)).to_period("M").to_timestamp()
    months = pd.date_range(first, end - pd.Timedelta(days=1), freq="MS")
    asleep_from = visits["day"] + pd.Timedelta(days=SLEEPING_DAYS)
    episodes = visits.loc[
        (
            (visits["next_day"].isna() | (visits["next_day"] > asleep_from))
            & (asleep_from < end)
            & ~visits["customer_id"].isin(opted)
        ).to_numpy()
    ]
    messages, bookings, truth = [], [], []
    for row in episodes.itertuples():
        until = min(row.day + pd.Timedelta(days=365), end if pd.isna(row.next_day) else min(row.next_day, end))
        for month in months[(months >= row.day + pd.Timedelta(days=SLEEPING_DAYS)) & (months < until)]:
            contact = month + pd.Timedelta(hours=3)  # 11:00 in Taipei and Shanghai
            status = "holdout" if rng.random() < WAKE_HOLDOUT else "sent"
            key = dedupe_key(campaign_id, int(row.customer_id), f"sleeping:{month:%Y-%m}")
            messages.append(
                {
                    "campaign_id": campaign_id,
                    "customer_id": int(row.customer_id),
                    "store_id": int(homes.get(int(row.customer_id)) or row.store_id),
                    "channel": "line",
                    "variant": "A",
                    "locale": "zh-TW",
                    "dedupe_key": key,
                    "tracking_code": tracking_code(key),
                    "status": status,
                    "body": _WAKE_TEMPLATES["variants"][0]["templates"]["zh-TW"],
                    "scheduled_for": _aware(contact),
                    "attempts": int(status == "sent"),
                    "sent_at": _aware(contact) if status == "sent" else None,
                    "cost": WAKE_COST if status == "sent" else 0.0,
                    "created_at": _aware(contact),
                }
            )
            # A known effect: some contacted sleepers come back within four weeks (a copy of
            # their last booking, booked a few days after the message).
            come = contact + pd.Timedelta(days=int(rng.integers(5, 28)))
            if rng.random() >= WAKE_EFFECT[status] or come >= until:
                continue
            at = row.scheduled_at.replace(year=come.year, month=come.month, day=come.day)
            bookings.append(
                {
                    "external_id": f"W{row.booking_id}",
                    "dedupe_key": f"demo:wake:{row.booking_id}",
                    "store_id": int(row.store_id),
                    "customer_id": int(row.customer_id),
                    "pet_id": None if pd.isna(row.pet_id) else int(row.pet_id),
                    "service_id": None if pd.isna(row.service_id) else int(row.service_id),
                    "staff_id": None if pd.isna(row.staff_id) else int(row.staff_id),
                    "designated": False,
                    "created_at": _aware(contact + pd.Timedelta(days=int(rng.integers(1, 5)))),
                    "scheduled_at": _aware(at),
                    "status": "completed",
                    "amount": float(row.amount),
                    "addon_amount": float(row.addon_amount),
                    "channel": "line",
                    "deposit": 0.0,
                    "tracking_code": tracking_code(key) if status == "sent" else None,
                }
            )
            truth.append((int(row.customer_id), _aware(at)))
            break

    # ---- follow-up tasks: three weeks past the customer's usual interval ----------------------
    usual = visits.groupby("customer_id")["gap_before"].transform("median")
    due = visits["day"] + pd.to_timedelta(usual.fillna(60).clip(14, 180) + TASK_LATE_DAYS, unit="D")
    overdue = (
        (visits["next_day"].isna() | (visits["next_day"] > due)) & (due < end) & (due > end - pd.Timedelta(days=150))
    )
    late = visits.loc[overdue.to_numpy()].assign(due=due[overdue])
    tasks = []
    for row in late.itertuples():
        created = row.due + pd.Timedelta(hours=2)
        came = pd.notna(row.next_day) and row.next_day <= row.due + pd.Timedelta(days=14)
        fresh = created > end - pd.Timedelta(days=7)
        draw = rng.random()
        if came:
            outcome = "booked"
        elif fresh and draw < 0.5:
            outcome = "open"
        else:
            outcome = "done" if draw < 0.78 else "no_answer"
        closed = None if outcome == "open" else min(created + pd.Timedelta(days=int(rng.integers(0, 3))), end)
        tasks.append(
            {
                "store_id": int(homes.get(int(row.customer_id)) or row.store_id),
                "customer_id": int(row.customer_id),
                "kind": "follow_up",
                "reason": _TASK_REASON,
                "script": _TASK_SCRIPT,
                "due_on": row.due.date(),
                "status": outcome,
                "idempotency_key": f"demo:task:{row.booking_id}",
                "created_at": _aware(created),
                "completed_at": None if closed is None else _aware(closed),
                "completed_by": None if closed is None else "frontdesk",
            }
        )

    with session_scope(engine) as session:
        if messages:
            session.execute(insert(Message), messages)
        if bookings:
            session.execute(insert(Booking), bookings)
        for customer_id, at in truth:  # the comeback is their last visit now
            session.execute(
                update(demo_truth)
                .where(
                    demo_truth.c.customer_id == customer_id,
                    demo_truth.c.churned_at.is_not(None),
                    demo_truth.c.churned_at < at,
                )
                .values(churned_at=at)
            )
        if tasks:
            session.execute(insert(Task), tasks)
    return {"wake_up_messages": len(messages), "woken": len(bookings), "tasks": len(tasks)}


def seed_demo_reviews(engine: Engine, *, seed: int) -> int:
    """Managers' reviews of lifecycle calls at each snapshot day (a few customers per store)."""
    rng = np.random.default_rng([seed, 9002])
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                ScoreSnapshot.as_of, ScoreSnapshot.customer_id, ScoreSnapshot.store_id, ScoreSnapshot.lifecycle_segment
            ).where(ScoreSnapshot.lifecycle_segment.is_not(None))
        ).all()
    snaps = pd.DataFrame(rows, columns=["as_of", "customer_id", "store_id", "lifecycle_segment"])
    if snaps.empty:
        return 0
    labels = sorted(snaps["lifecycle_segment"].astype(str).unique())
    reviews = []
    for (day, _store), part in snaps.sort_values(["as_of", "store_id", "customer_id"]).groupby(["as_of", "store_id"]):
        picked = part.iloc[rng.permutation(len(part))[:REVIEWS_PER_SNAPSHOT]]
        for row in picked.itertuples():
            model = str(row.lifecycle_segment)
            others = [label for label in labels if label != model] or [model]
            manual = model if rng.random() < REVIEW_AGREEMENT else str(rng.choice(others))
            reviews.append(
                {
                    "customer_id": int(row.customer_id),
                    "reviewer": "manager",
                    "as_of": day,
                    "model_label": model,
                    "manual_label": manual,
                    "created_at": datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10),
                }
            )
    with session_scope(engine) as session:
        session.execute(insert(ModelReview), reviews)
    return len(reviews)
