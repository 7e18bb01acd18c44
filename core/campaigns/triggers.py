"""Triggers: when a campaign speaks to a customer, and the occurrence key of each firing.

A trigger is a JSON-able mapping stored on the campaign, e.g. ``{"kind": "due", "offset_days":
-7}``. :func:`evaluate_trigger` returns who fires *today* and an ``occurrence`` string per
customer; the worker builds the outbox dedupe key from (campaign, customer, occurrence), so a
trigger that stays true for several ticks (its tolerance window) still sends once.

Kinds (:data:`TRIGGER_KINDS`):

- ``due``: ``offset_days`` relative to the customer's next due date (−10/−7/−3 before,
  +7/+14 overdue);
- ``sleeping``: the day the customer's days-since-last-visit crosses ``threshold_days``;
- ``birthday`` / ``lunar_birthday`` (農曆生日) / ``pet_birthday``: ``offset_days`` around this
  year's (lunar) birthday;
- ``vaccine_due``: ``offset_days`` around the pet's vaccine due date;
- ``points_expiring``: points expiring within ``within_days``;
- ``tier_change``: an upgrade/downgrade (``direction`` ``up``/``down``/``any``);
- ``plan_renewal``: ``days_before`` the end of a monthly plan (default 30);
- ``seasonal``: ``days_before`` a festival (``lunar_new_year``, ``mid_autumn``), computed per
  year with ``lunardate``;
- ``one_off``: at a local date-time ``at``; ``recurring``: a crontab ``cron`` (APScheduler's
  ``CronTrigger``), in the store's time zone.

Every kind fires while ``target_date <= today <= target_date + tolerance_days``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import numpy as np
import pandas as pd
from apscheduler.triggers.cron import CronTrigger
from lunardate import LunarDate

from core.columns import require_columns

FESTIVALS: Final = ("lunar_new_year", "mid_autumn")
TIER_DIRECTIONS: Final = ("up", "down", "any")

#: Columns of :func:`evaluate_trigger`.
FIRED_COLUMNS: Final = ("customer_id", "occurrence", "target_date", "send_at")


@dataclass
class TriggerInputs:
    """Facts some triggers need beyond the audience frame (all optional, store-local dates).

    points_expiring : ``customer_id``, ``expires_on``, ``points``
    tier_events : ``customer_id``, ``direction`` (up/down), ``on``
    plans : ``customer_id``, ``plan_id``, ``ends_on`` (active plans)
    """

    points_expiring: pd.DataFrame | None = None
    tier_events: pd.DataFrame | None = None
    plans: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- calendars
def festival_date(name: str, year: int) -> date:
    """The solar date of a festival in a Gregorian year (Lunar New Year = lunar 1/1, Mid-Autumn = 8/15)."""
    if name == "lunar_new_year":
        return LunarDate(year, 1, 1).to_solar_date()
    if name == "mid_autumn":
        return LunarDate(year, 8, 15).to_solar_date()
    raise ValueError(f"unknown festival {name!r}; expected one of {', '.join(FESTIVALS)}")


def _lunar_to_solar(lunar_year: int, month: int, day: int) -> date | None:
    """Lunar (year, month, day) → solar; a 30th in a 29-day month becomes the 29th."""
    for d in (day, day - 1):
        try:
            return LunarDate(lunar_year, month, d).to_solar_date()
        except ValueError:
            continue
    return None


@lru_cache(maxsize=65536)
def lunar_birthday_md(birthday: date) -> tuple[int, int]:
    """The lunar (month, day) of a solar birthday (a leap-month birthday counts as that month)."""
    lunar = LunarDate.from_solar_date(birthday.year, birthday.month, birthday.day)
    return lunar.month, lunar.day


def lunar_birthdays_in_year(birthday: date, year: int) -> list[date]:
    """Solar dates in Gregorian ``year`` of the customer's lunar birthday (usually one).

    A lunar birthday late in the 12th month can fall in January of the next Gregorian year, so
    both lunar years ``year − 1`` and ``year`` are mapped and those landing in ``year`` kept.
    """
    month, day = lunar_birthday_md(birthday)
    found = []
    for lunar_year in (year - 1, year):
        solar = _lunar_to_solar(lunar_year, month, day)
        if solar is not None and solar.year == year:
            found.append(solar)
    return found


def lunar_birthday_in_year(birthday: date, year: int) -> date | None:
    """The first solar date in ``year`` of the lunar birthday, or None in the rare year without one."""
    dates = lunar_birthdays_in_year(birthday, year)
    return dates[0] if dates else None


def _solar_birthday(birthday: pd.Series, year: int) -> pd.Series:
    """This year's date of each birthday (29 February → 28 February in common years)."""
    b = pd.to_datetime(birthday)
    month = b.dt.month
    day = b.dt.day
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    day = day.where(~((month == 2) & (day == 29)) | leap, 28)
    parts = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(parts.where(b.notna()), errors="coerce")


# ----------------------------------------------------------------------------- helpers
def tolerance(trigger: Mapping[str, Any]) -> int:
    """Days after the target date during which the trigger still fires (default per kind)."""
    kind = TRIGGER_REGISTRY.get(str(trigger.get("kind", "")))
    return int(trigger.get("tolerance_days", kind.default_tolerance if kind else 1))


def trigger_label(trigger: Mapping[str, Any]) -> str:
    """A short code of the timing, e.g. ``due-7``, ``overdue+14``, ``lunar_new_year-14``.

    It is part of every occurrence key (so it must never change for a stored campaign); screens
    describe a trigger through the i18n layer instead.
    """
    kind = TRIGGER_REGISTRY.get(str(trigger.get("kind", "")))
    return kind.label(trigger) if kind else str(trigger.get("kind", ""))


def validate_trigger(trigger: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` with a clear message when a trigger cannot be evaluated."""
    kind = TRIGGER_REGISTRY.get(str(trigger.get("kind")))
    if kind is None:
        raise ValueError(f"unknown trigger kind {trigger.get('kind')!r}; expected one of {', '.join(TRIGGER_KINDS)}")
    for param in kind.params:
        value = trigger.get(param.name) if param.required else trigger.get(param.name, param.default)
        if param.choices and value not in param.choices:
            raise ValueError(f"{kind.name} trigger needs {param.name} in {param.choices}")
    if kind.validate is not None:
        kind.validate(trigger)


def _fire(ids: pd.Series, target: pd.Series, *, today: date, tol: int, prefix: str) -> pd.DataFrame:
    """Rows whose target date is in [today − tol, today]: occurrence ``prefix@target``."""
    t = pd.to_datetime(target)
    day = pd.Timestamp(today)
    ok = t.notna() & t.le(day) & t.ge(day - pd.Timedelta(days=tol))
    ok = ok.to_numpy()
    fired_t = t[ok]
    return pd.DataFrame(
        {
            "customer_id": ids[ok].to_numpy().astype(np.int64),
            "occurrence": (prefix + "@" + fired_t.dt.strftime("%Y-%m-%d")).to_numpy(dtype=object),
            "target_date": fired_t.dt.date.to_numpy(),
            "send_at": pd.NaT,
        }
    )


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype=np.int64),
            "occurrence": pd.Series(dtype=object),
            "target_date": pd.Series(dtype=object),
            "send_at": pd.Series(dtype="datetime64[ns]"),
        }
    )


def _yearly(
    frame: pd.DataFrame, column: str, *, today: date, offset: int, tol: int, prefix: str, lunar: bool = False
) -> pd.DataFrame:
    """Fire around this year's (or the neighbouring years') anniversary of a date column."""
    parts = []
    has = frame.loc[frame[column].notna()]
    for year in (today.year - 1, today.year, today.year + 1):
        if lunar:
            dates = [lunar_birthday_in_year(pd.Timestamp(b).date(), year) for b in has[column]]
            anniversary = pd.to_datetime(pd.Series(dates, index=has.index, dtype=object))
        else:
            anniversary = _solar_birthday(has[column], year)
        target = anniversary + pd.Timedelta(days=offset)
        parts.append(_fire(has["customer_id"], target, today=today, tol=tol, prefix=prefix))
    out = pd.concat(parts, ignore_index=True)
    return out.drop_duplicates("customer_id", keep="last")


_DOW_NAMES: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expr: str) -> CronTrigger:
    """A CronTrigger for a standard 5-field crontab (numeric day of week 0/7 = Sunday).

    APScheduler 3 reads a numeric day of week as 0 = Monday; numbers are translated to day
    names so ``0 10 * * 1`` means Monday 10:00 as in every crontab.
    """
    fields_ = expr.split()
    if len(fields_) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday), got {expr!r}")
    dow = fields_[4]
    if dow in ("0-6", "0-7", "1-7"):
        dow = "*"
    else:
        dow = re.sub(r"\d+", lambda m: _DOW_NAMES[int(m.group())] if int(m.group()) <= 7 else m.group(), dow)
    return CronTrigger(
        minute=fields_[0], hour=fields_[1], day=fields_[2], month=fields_[3], day_of_week=dow, timezone="UTC"
    )


def latest_cron_fire(cron: str, *, now_local: datetime, lookback: timedelta) -> datetime | None:
    """The latest fire time of a crontab expression in ``(now − lookback, now]`` (naive local)."""
    trigger = cron_trigger(cron)
    start = (now_local - lookback).replace(tzinfo=None)
    cursor = pd.Timestamp(start, tz="UTC").to_pydatetime()
    end = pd.Timestamp(now_local.replace(tzinfo=None), tz="UTC").to_pydatetime()
    latest = None
    previous = None
    for _ in range(10_000):  # bounded: a minutely cron over a day is 1,440 fires
        fire = trigger.get_next_fire_time(previous, cursor)
        if fire is None or fire > end:
            break
        latest = fire
        previous = fire
        cursor = fire + timedelta(seconds=1)
    return None if latest is None else latest.replace(tzinfo=None)


# ----------------------------------------------------------------------------- the kinds
@dataclass(frozen=True)
class FireContext:
    """What every kind's fire function gets besides the trigger and the audience."""

    today: date
    now_local: datetime
    tolerance: int
    inputs: TriggerInputs


@dataclass(frozen=True)
class TriggerParam:
    """One setting of a trigger kind, as the campaign editor shows it.

    ``label_key`` is the i18n key of its label; a choice ``c`` is labelled ``{label_key}_{c}``.
    """

    name: str
    label_key: str
    default: int | str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class TriggerKind:
    """One trigger kind: its settings, what it reads, how it fires and names its occurrences.

    audience_columns
        Columns of the audience frame the kind reads.
    inputs
        Extra facts (attributes of :class:`TriggerInputs`) the caller must load for this kind.
    broadcast
        Fires for the whole audience at a time (no per-customer date).
    """

    name: str
    fire: Callable[[Mapping[str, Any], pd.DataFrame, FireContext], pd.DataFrame]
    label: Callable[[Mapping[str, Any]], str]
    params: tuple[TriggerParam, ...] = ()
    audience_columns: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    default_tolerance: int = 1
    uses_tolerance: bool = True
    broadcast: bool = False
    validate: Callable[[Mapping[str, Any]], object] | None = None  # raises ValueError; result unused


def _offset(trigger: Mapping[str, Any]) -> int:
    return int(trigger.get("offset_days", 0))


def _fire_due(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    target = pd.to_datetime(frame["next_due_date"]) + pd.Timedelta(days=_offset(trigger))
    return _fire(frame["customer_id"], target, today=at.today, tol=at.tolerance, prefix=trigger_label(trigger))


def _fire_sleeping(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    threshold = int(trigger.get("threshold_days", 180))
    recency = pd.to_numeric(frame["recency_days"], errors="coerce").astype(float)
    last_visit = pd.Timestamp(at.today) - pd.to_timedelta(recency, unit="D")
    target = last_visit + pd.Timedelta(days=threshold)
    return _fire(frame["customer_id"], target, today=at.today, tol=at.tolerance, prefix=trigger_label(trigger))


def _yearly_kind(
    column: str, *, lunar: bool = False
) -> Callable[[Mapping[str, Any], pd.DataFrame, FireContext], pd.DataFrame]:
    def fire(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
        return _yearly(
            frame,
            column,
            today=at.today,
            offset=_offset(trigger),
            tol=at.tolerance,
            prefix=trigger_label(trigger),
            lunar=lunar,
        )

    return fire


def _fire_vaccine(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    target = pd.to_datetime(frame["pet_vaccine_due"]) + pd.Timedelta(days=_offset(trigger))
    return _fire(frame["customer_id"], target, today=at.today, tol=at.tolerance, prefix=trigger_label(trigger))


def _fire_points(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    within = int(trigger.get("within_days", 30))
    lots = at.inputs.points_expiring
    if lots is None or lots.empty:
        return _empty()
    lots = lots.loc[lots["customer_id"].isin(frame["customer_id"])]
    expires = pd.to_datetime(lots["expires_on"]).dt.normalize()
    day = pd.Timestamp(at.today)
    soon = lots.loc[(expires > day) & (expires <= day + pd.Timedelta(days=within))]
    soon = soon.assign(expires_on=pd.to_datetime(soon["expires_on"]).dt.normalize())
    first = soon.sort_values("expires_on").drop_duplicates("customer_id")
    return pd.DataFrame(
        {
            "customer_id": first["customer_id"].to_numpy().astype(np.int64),
            "occurrence": ("points@" + first["expires_on"].dt.strftime("%Y-%m-%d")).to_numpy(dtype=object),
            "target_date": first["expires_on"].dt.date.to_numpy(),
            "send_at": pd.NaT,
        }
    )


def _fire_tier(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    events = at.inputs.tier_events
    if events is None or events.empty:
        return _empty()
    direction = trigger.get("direction", "any")
    events = events.loc[events["customer_id"].isin(frame["customer_id"])]
    if direction != "any":
        events = events.loc[events["direction"].eq(direction)]
    events = events.sort_values("on")
    out = _fire(events["customer_id"], events["on"], today=at.today, tol=at.tolerance, prefix=f"tier_{direction}")
    return out.drop_duplicates("customer_id", keep="last")


def _fire_plan(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    plans = at.inputs.plans
    if plans is None or plans.empty:
        return _empty()
    before = int(trigger.get("days_before", 30))
    plans = plans.loc[plans["customer_id"].isin(frame["customer_id"])]
    target = pd.to_datetime(plans["ends_on"]) - pd.Timedelta(days=before)
    parts = [
        _fire(
            group["customer_id"], group["_t"], today=at.today, tol=at.tolerance, prefix=f"plan{int(plan_id)}-{before}"
        )
        for plan_id, group in plans.assign(_t=target).groupby("plan_id")
    ]
    out = pd.concat(parts, ignore_index=True) if parts else _empty()
    return out.drop_duplicates("customer_id")


def _everyone(frame: pd.DataFrame, occurrence: str, target: date, send_at: Any = pd.NaT) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy().astype(np.int64),
            "occurrence": occurrence,
            "target_date": target,
            "send_at": send_at,
        }
    )


def _fire_seasonal(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    festival = trigger["festival"]
    before = int(trigger.get("days_before", 14))
    for year in (at.today.year, at.today.year + 1):
        feast = festival_date(festival, year)
        target = feast - timedelta(days=before)
        if target <= at.today <= target + timedelta(days=at.tolerance):
            return _everyone(frame, f"{festival}-{before}@{feast.isoformat()}", target)
    return _empty()


def _fire_one_off(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    when = datetime.fromisoformat(str(trigger["at"])).replace(tzinfo=None)
    if when <= at.now_local.replace(tzinfo=None) <= when + timedelta(days=at.tolerance):
        return _everyone(frame, f"once@{when.isoformat(timespec='minutes')}", when.date(), pd.Timestamp(when))
    return _empty()


def _fire_recurring(trigger: Mapping[str, Any], frame: pd.DataFrame, at: FireContext) -> pd.DataFrame:
    lookback = timedelta(days=max(at.tolerance, 0), hours=int(trigger.get("lookback_hours", 23)))
    fire = latest_cron_fire(str(trigger["cron"]), now_local=at.now_local, lookback=lookback)
    if fire is None:
        return _empty()
    return _everyone(frame, f"cron@{fire.isoformat(timespec='minutes')}", fire.date(), pd.Timestamp(fire))


def _offset_label(trigger: Mapping[str, Any]) -> str:
    kind, offset = str(trigger.get("kind", "")), _offset(trigger)
    return f"{kind}{offset:+d}" if offset else kind


def _due_label(trigger: Mapping[str, Any]) -> str:
    offset = _offset(trigger)
    return f"due{offset}" if offset <= 0 else f"overdue+{offset}"


_OFFSET = TriggerParam("offset_days", "campaigns.offset_days", -7, minimum=-60, maximum=60)
_TRIGGERS: Final = (
    TriggerKind(
        "due", _fire_due, _due_label, params=(_OFFSET,), audience_columns=("next_due_date",), default_tolerance=2
    ),
    TriggerKind(
        "sleeping",
        _fire_sleeping,
        lambda t: f"sleeping{int(t.get('threshold_days', 180))}",
        params=(TriggerParam("threshold_days", "campaigns.threshold_days", 180, minimum=30, maximum=720),),
        audience_columns=("recency_days",),
        default_tolerance=3,
    ),
    TriggerKind("birthday", _yearly_kind("birthday"), _offset_label, params=(_OFFSET,), audience_columns=("birthday",)),
    TriggerKind(
        "lunar_birthday",
        _yearly_kind("birthday", lunar=True),
        _offset_label,
        params=(_OFFSET,),
        audience_columns=("birthday",),
    ),
    TriggerKind(
        "pet_birthday",
        _yearly_kind("pet_birthday"),
        _offset_label,
        params=(_OFFSET,),
        audience_columns=("pet_birthday",),
    ),
    TriggerKind("vaccine_due", _fire_vaccine, _offset_label, params=(_OFFSET,), audience_columns=("pet_vaccine_due",)),
    TriggerKind(
        "points_expiring",
        _fire_points,
        lambda t: f"points_expiring{int(t.get('within_days', 30))}",
        params=(TriggerParam("within_days", "campaigns.within_days", 30, minimum=1, maximum=180),),
        inputs=("points_expiring",),
    ),
    TriggerKind(
        "tier_change",
        _fire_tier,
        lambda t: f"tier_{t.get('direction', 'any')}",
        params=(TriggerParam("direction", "campaigns.direction", "up", choices=TIER_DIRECTIONS),),
        inputs=("tier_events",),
    ),
    TriggerKind(
        "plan_renewal",
        _fire_plan,
        lambda t: f"plan_renewal-{int(t.get('days_before', 30))}",
        params=(TriggerParam("days_before", "campaigns.days_before", 30, minimum=1, maximum=90),),
        inputs=("plans",),
    ),
    TriggerKind(
        "seasonal",
        _fire_seasonal,
        lambda t: f"{t.get('festival', '')}-{int(t.get('days_before', 0))}",
        params=(
            TriggerParam("festival", "campaigns.festival", FESTIVALS[0], choices=FESTIVALS, required=True),
            TriggerParam("days_before", "campaigns.days_before", 14, minimum=0, maximum=90),
        ),
        broadcast=True,
    ),
    TriggerKind(
        "one_off",
        _fire_one_off,
        lambda t: "one_off",
        params=(TriggerParam("at", "campaigns.at", ""),),
        uses_tolerance=False,
        broadcast=True,
        validate=lambda t: datetime.fromisoformat(str(t.get("at", ""))),
    ),
    TriggerKind(
        "recurring",
        _fire_recurring,
        lambda t: "recurring",
        params=(TriggerParam("cron", "campaigns.cron", "0 11 * * 1"),),
        default_tolerance=0,
        uses_tolerance=False,
        broadcast=True,
        validate=lambda t: cron_trigger(str(t.get("cron", ""))),
    ),
)
#: Every trigger kind by name, in the order the campaign editor offers them.
TRIGGER_REGISTRY: Final[dict[str, TriggerKind]] = {kind.name: kind for kind in _TRIGGERS}
TRIGGER_KINDS: Final = tuple(TRIGGER_REGISTRY)


# ----------------------------------------------------------------------------- evaluation
def evaluate_trigger(
    trigger: Mapping[str, Any],
    frame: pd.DataFrame,
    *,
    today: date,
    now_local: datetime | None = None,
    inputs: TriggerInputs | None = None,
) -> pd.DataFrame:
    """Customers of ``frame`` for whom the trigger fires today.

    Parameters
    ----------
    trigger : mapping
        See the module docstring.
    frame : DataFrame
        The (already filtered) audience: ``customer_id`` plus the kind's ``audience_columns`` —
        ``next_due_date`` (due), ``recency_days`` (sleeping), ``birthday``, ``pet_birthday``,
        ``pet_vaccine_due``.
    today : date
        The store-local day of the tick.
    now_local : datetime, optional
        Store-local time of the tick (one-off and recurring; default: start of ``today``).
    inputs : TriggerInputs, optional
        The facts named by the kind's ``inputs``.

    Returns
    -------
    DataFrame
        :data:`FIRED_COLUMNS`; ``send_at`` is a local time for one-off / recurring, else NaT.
        One row per customer.
    """
    validate_trigger(trigger)
    require_columns(frame, ("customer_id",), what="audience")
    kind = TRIGGER_REGISTRY[str(trigger["kind"])]
    if frame.empty and not kind.inputs:
        return _empty()
    require_columns(frame, kind.audience_columns, what="audience")
    at = FireContext(
        today=today,
        now_local=now_local or datetime.combine(today, datetime.min.time()),
        tolerance=tolerance(trigger),
        inputs=inputs or TriggerInputs(),
    )
    out = kind.fire(trigger, frame, at)
    out = out.drop_duplicates("customer_id").reset_index(drop=True)
    out["send_at"] = pd.to_datetime(out["send_at"])
    return out.loc[:, list(FIRED_COLUMNS)]
