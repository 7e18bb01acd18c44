"""How the demo's customers behave: cadences, archetypes and their churn hazards, booking
statuses and channels, the Lunar New Year rush and the reminder history's true effect."""

from __future__ import annotations

from datetime import date

import numpy as np

# Lunar New Year's day; the three weeks before it are the busiest of the year.
LUNAR_NEW_YEAR: tuple[date, ...] = (
    date(2020, 1, 25),
    date(2021, 2, 12),
    date(2022, 2, 1),
    date(2023, 1, 22),
    date(2024, 2, 10),
    date(2025, 1, 29),
    date(2026, 2, 17),
    date(2027, 2, 6),
    date(2028, 1, 26),
    date(2029, 2, 13),
    date(2030, 2, 3),
)

BOOKED_HORIZON_DAYS = 21
# Reminder history: for the last half year the shop called each subject due in a week ("due −7"),
# holding out a random 10 %. A reminder brings a subject who would have booked later than the week
# in within the week with probability REMINDER_LIFT: the true effect campaign results must find.
REMINDER_HISTORY_DAYS = 182
REMINDER_LEAD_DAYS = 7
REMINDER_HOLDOUT = 0.10
REMINDER_LIFT = 0.25
REMINDER_HOUR = 11.0
REMINDER_SEED = 20_261_202
CADENCES = np.array([14, 21, 28, 35, 42, 56])
ARCHETYPES = np.array(["loyal", "drifter", "one_timer", "seasonal"], dtype=object)
LOYAL, DRIFTER, ONE_TIMER, SEASONAL = range(4)
STATUS = np.array(["booked", "completed", "cancelled", "no_show", "rescheduled"], dtype=object)
BOOKED, COMPLETED, CANCELLED, NO_SHOW, RESCHEDULED = range(5)
CHANNELS = np.array(["line", "phone", "walk_in", "web", "wechat"], dtype=object)
LINE, PHONE, WALK_IN, WEB, WECHAT = range(5)
# Preferred-channel mix per country (TW, CN) over CHANNELS.
CHANNEL_MIX = np.array([[0.45, 0.22, 0.10, 0.23, 0.00], [0.00, 0.18, 0.10, 0.12, 0.60]])
LEAD_MEAN_DAYS = np.array([5.0, 3.0, 0.0, 9.0, 5.0])  # by channel, for customers who book ad hoc

# Cadence mix (over CADENCES) per store kind.
CADENCE_MIX = np.array(
    [
        [0.03, 0.15, 0.27, 0.25, 0.20, 0.10],  # salon
        [0.03, 0.07, 0.25, 0.20, 0.25, 0.20],  # groomer
        [0.00, 0.00, 0.80, 0.20, 0.00, 0.00],  # adoption: monthly pickups
        [0.05, 0.30, 0.30, 0.20, 0.10, 0.05],  # nails
    ]
)
ARCHETYPE_MIX = np.array([0.50, 0.10, 0.20, 0.20])
# Per-visit churn hazard by archetype; complaints and no-shows add to it (the learnable signal).
BASE_HAZARD = np.array([0.0005, 0.0, 0.0, 0.001])
COMPLAINT_HAZARD = 0.20
NOSHOW_HAZARD = 0.05

#: Bookings a customer makes per day on average (all statuses), as the chunks generate them.
_BOOKINGS_PER_CUSTOMER_DAY = 0.0275
#: Capacity over the average day: weekends, the Lunar New Year rush and store-kind differences.
_PEAK_HEADROOM = 1.6
