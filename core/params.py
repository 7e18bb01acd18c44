"""Settings of the scoring and KPI functions, and the shared "as of" conventions.

Every setting is a field of a frozen dataclass with a default and a help text (in the field's
``metadata["help"]``); :func:`describe_params` lists them all so the docs can show every one.

As-of convention (used by every function in ``core/``): ``as_of`` is a date or timestamp; the
*end of that day* is the cut-off. Bookings whose ``scheduled_at`` falls after the cut-off are
ignored, so a result as of a past date is the same whether or not later bookings are loaded.
Day counts ("recency", "days overdue", intervals) are whole calendar days between the *dates*
of the store-local timestamps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, TypeAlias

import numpy as np
import pandas as pd

from core.columns import VISIT_STATUS, require_columns

AsOf: TypeAlias = "date | datetime | pd.Timestamp | str"

#: Columns every booking frame needs for the as-of filter.
AS_OF_BOOKING_COLUMNS: Final = ("customer_id", "scheduled_at", "status")


@dataclass(frozen=True)
class RfmParams:
    """Settings of the RFM table (:func:`core.rfm.rfm_table`)."""

    lookback_days: int = field(
        default=365,
        metadata={
            "help": "Days before as-of counted for frequency (F) and monetary (M); "
            "recency (R) always uses the last visit ever."
        },
    )


@dataclass(frozen=True)
class CadenceParams:
    """Settings of the revisit window (:func:`core.cadence.revisit_windows`)."""

    prior_strength: float = field(
        default=1.0,
        metadata={
            "help": "Pseudo-count of intervals given to the service/store prior: the own "
            "median gets weight n/(n+prior_strength) for n own intervals. 1.0 predicted "
            "the next interval better than 1.5-3 in backtests on the demo chain."
        },
    )
    min_window_days: int = field(
        default=7, metadata={"help": "Smallest revisit window, in days (windows are clipped)."}
    )
    max_window_days: int = field(
        default=365, metadata={"help": "Largest revisit window, in days (windows are clipped)."}
    )
    default_window_days: int = field(
        default=35,
        metadata={
            "help": "Window used when neither the service category nor the store has enough intervals to form a prior."
        },
    )
    min_prior_intervals: int = field(
        default=5,
        metadata={
            "help": "Intervals a service category (or store) needs before its median is "
            "used as the prior; otherwise the next fallback is used."
        },
    )
    default_spread_ratio: float = field(
        default=0.25,
        metadata={
            "help": "Prior spread (robust standard deviation) as a share of the prior "
            "window when the category/store has too few intervals to measure it."
        },
    )
    band_z: float = field(
        default=1.0,
        metadata={
            "help": "Half-width of the window band in robust standard deviations, before the 1/sqrt(visits) narrowing."
        },
    )
    min_band_days: float = field(default=2.0, metadata={"help": "Smallest half-width of the window band, in days."})


@dataclass(frozen=True)
class LifecycleParams:
    """Settings of the lifecycle segments (:func:`core.lifecycle.lifecycle_segments`)."""

    sleeping_days: int = field(
        default=180, metadata={"help": "Days without a visit after which a customer is sleeping."}
    )
    lost_days: int = field(default=365, metadata={"help": "Days without a visit after which a customer is lost."})
    churn_tolerance_ratio: float = field(
        default=0.25,
        metadata={
            "help": "Churn risk when days overdue exceed this share of the revisit window "
            "(or churn_tolerance_days, whichever is larger)."
        },
    )
    churn_tolerance_days: int = field(
        default=7,
        metadata={
            "help": "Churn risk when days overdue exceed this many days (or the ratio tolerance, whichever is larger)."
        },
    )
    new_max_visits: int = field(
        default=1,
        metadata={"help": "Customers with at most this many visit days (ever, up to as-of) are new."},
    )
    high_value_top_share: float = field(
        default=0.2,
        metadata={"help": "Share of spending customers (by monetary, ties included) that are high value."},
    )
    rescheduler_min_share: float = field(
        default=0.3,
        metadata={
            "help": "Share of a customer's bookings that must be cancelled/rescheduled to be a frequent rescheduler."
        },
    )
    rescheduler_min_count: int = field(
        default=3,
        metadata={"help": "Cancelled/rescheduled bookings needed to be a frequent rescheduler."},
    )
    rescheduler_lookback_days: int = field(
        default=365,
        metadata={"help": "Days before as-of whose bookings are counted for the rescheduler rule."},
    )
    rescheduler_statuses: tuple[str, ...] = field(
        default=("cancelled", "rescheduled"),
        metadata={"help": "Booking statuses that count as a reschedule/cancellation."},
    )


@dataclass(frozen=True)
class KpiParams:
    """Attribution windows of the KPIs (:mod:`core.kpi`)."""

    wake_window_days: int = field(
        default=30,
        metadata={
            "help": "A contacted sleeping customer is woken up by a visit within this many days after the message."
        },
    )
    push_window_days: int = field(
        default=7,
        metadata={"help": "A delivered message converts when the customer books within this many days after it."},
    )
    high_value_window_days: int = field(
        default=30,
        metadata={"help": "High-value customers repurchase when they visit within this many days."},
    )
    revisit_n_days: tuple[int, ...] = field(
        default=(30, 60, 90),
        metadata={"help": "The N of the revisit-rate-N KPIs shown on the board."},
    )


PARAM_CLASSES: Final = (RfmParams, CadenceParams, LifecycleParams, KpiParams)


def describe_params() -> list[dict[str, Any]]:
    """List every setting with its default and help text.

    Returns
    -------
    list of dict
        One dict per setting with keys ``group`` (the dataclass name), ``name``, ``type``,
        ``default`` and ``help``.
    """
    rows: list[dict[str, Any]] = []
    for cls in PARAM_CLASSES:
        for f in dataclasses.fields(cls):
            rows.append(
                {
                    "group": cls.__name__,
                    "name": f.name,
                    "type": str(f.type),
                    "default": f.default,
                    "help": f.metadata.get("help", ""),
                }
            )
    return rows


# --------------------------------------------------------------------------- as-of helpers
def as_of_day(as_of: AsOf) -> pd.Timestamp:
    """The as-of date as a midnight ``Timestamp`` (the time of day is dropped)."""
    ts = pd.Timestamp(as_of)
    if ts is pd.NaT:
        raise ValueError("as_of must be a date")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def as_of_cutoff(as_of: AsOf) -> pd.Timestamp:
    """First instant *after* the as-of day; rows at or after it are in the future."""
    return as_of_day(as_of) + pd.Timedelta(days=1)


def day_numbers(values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """Whole days since 1970-01-01 of datetime values (``float`` with NaN for NaT)."""
    arr = np.asarray(pd.to_datetime(values), dtype="datetime64[ns]")
    days = arr.astype("datetime64[D]")
    out = days.astype(np.int64).astype(np.float64)
    out[np.isnat(arr)] = np.nan
    return out


def day_number(as_of: AsOf) -> int:
    """Whole days since 1970-01-01 of the as-of day."""
    return int((as_of_day(as_of) - pd.Timestamp("1970-01-01")).days)


def _select(frame: pd.DataFrame, mask: np.ndarray, columns: Any) -> pd.DataFrame:
    if columns is None:
        return frame.loc[mask]
    return frame.loc[mask, list(dict.fromkeys(columns))]


def bookings_as_of(bookings: pd.DataFrame, as_of: AsOf, *, what: str = "bookings", columns: Any = None) -> pd.DataFrame:
    """Bookings scheduled up to the end of the as-of day (never later ones).

    ``columns`` keeps only those columns (cheaper on wide frames).
    """
    require_columns(bookings, AS_OF_BOOKING_COLUMNS, what=what)
    scheduled = pd.to_datetime(bookings["scheduled_at"])
    return _select(bookings, scheduled.lt(as_of_cutoff(as_of)).to_numpy(), columns)


def visits_as_of(bookings: pd.DataFrame, as_of: AsOf, *, what: str = "bookings", columns: Any = None) -> pd.DataFrame:
    """Completed bookings (visits) scheduled up to the end of the as-of day."""
    require_columns(bookings, AS_OF_BOOKING_COLUMNS, what=what)
    scheduled = pd.to_datetime(bookings["scheduled_at"])
    mask = scheduled.lt(as_of_cutoff(as_of)).to_numpy() & bookings["status"].eq(VISIT_STATUS).to_numpy()
    return _select(bookings, mask, columns)


def filter_stores(frame: pd.DataFrame, store_ids: Any, *, column: str = "store_id") -> pd.DataFrame:
    """Rows of ``frame`` whose ``column`` is in ``store_ids`` (all rows when it is ``None``)."""
    if store_ids is None:
        return frame
    if column not in frame.columns:
        raise ValueError(f"a store filter needs a {column!r} column")
    if np.isscalar(store_ids):
        store_ids = [store_ids]
    return frame.loc[frame[column].isin(list(store_ids)).to_numpy()]
