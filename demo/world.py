"""Reproducible demo chain with a known ground truth.

`generate_world` / `iter_world_chunks` build stores, staff, services, customers, pets, bookings,
feedback, monthly plans, stored value, referrals and a ``truth`` table describing the process that
generated the bookings (true cadence, churn moment, no-show propensity, designated staff,
archetype). Models and KPIs in `core/` are checked against that truth, so every signal here is
deliberately real and learnable:

* each *subject* (a customer, or a pet at a pet store) revisits on its own cadence; intervals are
  ``cadence × lognormal`` so the median observed interval recovers the cadence;
* churn is driven by a per-visit hazard raised by complaints and no-shows (plus planned drifters
  and one-timers); the 2–3 intervals before churn stretch ×1.3–1.6;
* the no-show probability grows with lead time, web bookings and evening slots, falls with a
  deposit, on top of a per-customer propensity;
* Lunar New Year rush, summer grooming bump, designated staff, add-ons, cross-store visits.

Everything is vectorised with numpy over the slots of a chunk of customers; the only Python
loops are per chunk, per store or per kind. Timestamps are store-local naive ``datetime64[ns]``.

The parts: `demo.catalog` (columns and vocabulary), `demo.archetypes` (behaviour parameters),
`demo.chain` (stores, staff, services), `demo.simulation` (one chunk of customers and their
history), `demo.arrays` (vectorised helpers); this module assembles them.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, timedelta

import numpy as np
import pandas as pd

from demo.archetypes import LUNAR_NEW_YEAR
from demo.arrays import _empty_like
from demo.catalog import (
    DEMO_BOOKING_COLUMNS,
    DEMO_CUSTOMER_COLUMNS,
    FEEDBACK_COLUMNS,
    PET_COLUMNS,
    PLAN_COLUMNS,
    REFERRAL_COLUMNS,
    REMINDER_COLUMNS,
    SERVICE_COLUMNS,
    STAFF_COLUMNS,
    STORE_COLUMNS,
    STORED_VALUE_COLUMNS,
    TRUTH_COLUMNS,
)
from demo.chain import _build_chain
from demo.simulation import _chunk, _Offsets

__all__ = [
    "DEMO_BOOKING_COLUMNS",
    "DEMO_CUSTOMER_COLUMNS",
    "FEEDBACK_COLUMNS",
    "LUNAR_NEW_YEAR",
    "PET_COLUMNS",
    "PLAN_COLUMNS",
    "REFERRAL_COLUMNS",
    "REMINDER_COLUMNS",
    "SERVICE_COLUMNS",
    "STAFF_COLUMNS",
    "STORED_VALUE_COLUMNS",
    "STORE_COLUMNS",
    "TRUTH_COLUMNS",
    "DemoWorld",
    "generate_world",
    "iter_world_chunks",
]


@dataclass(frozen=True)
class DemoWorld:
    """All tables of a demo chain; every field is a DataFrame (see the ``*_COLUMNS`` tuples)."""

    stores: pd.DataFrame
    staff: pd.DataFrame
    services: pd.DataFrame
    customers: pd.DataFrame
    pets: pd.DataFrame
    bookings: pd.DataFrame
    feedback: pd.DataFrame
    plans: pd.DataFrame
    stored_value: pd.DataFrame
    referrals: pd.DataFrame
    truth: pd.DataFrame
    reminders: pd.DataFrame


# --------------------------------------------------------------------------------------------
# public API


def iter_world_chunks(
    *,
    n_stores: int = 4,
    n_customers: int = 1_000_000,
    seed: int = 7,
    end_date: date = date(2026, 11, 22),
    years: float = 2.5,
    chunk_customers: int = 50_000,
) -> Iterator[DemoWorld]:
    """Yield the demo world in chunks of customers, with bounded memory.

    Parameters
    ----------
    n_stores, n_customers, seed, end_date, years
        As in `generate_world`.
    chunk_customers
        Customers per chunk.

    Yields
    ------
    DemoWorld
        The first chunk carries stores, staff and services; later chunks carry empty frames with
        the same columns there. Ids of every table are globally unique across chunks.
    """
    if n_customers < 0 or chunk_customers < 1:
        raise ValueError("n_customers must be >= 0 and chunk_customers >= 1")
    origin = end_date - timedelta(days=round(years * 365.25))
    chain = _build_chain(np.random.default_rng([seed, 0]), n_stores, n_customers)
    off = _Offsets()
    n_chunks = max(1, math.ceil(n_customers / chunk_customers))
    for i in range(n_chunks):
        n = min(chunk_customers, n_customers - i * chunk_customers)
        tables = _chunk(np.random.default_rng([seed, 1 + i]), chain, max(n, 0), off, origin, end_date)
        static = (chain.stores, chain.staff, chain.services)
        if i > 0:
            static = tuple(_empty_like(f) for f in static)
        yield DemoWorld(stores=static[0], staff=static[1], services=static[2], **tables)


def generate_world(
    *,
    n_stores: int = 4,
    n_customers: int = 5000,
    seed: int = 7,
    end_date: date = date(2026, 11, 22),
    years: float = 2.5,
) -> DemoWorld:
    """Generate a whole demo chain in memory (the concatenation of `iter_world_chunks`).

    Parameters
    ----------
    n_stores
        Stores in the chain; the first four are the Taipei salon, Taipei groomer, Shanghai
        adoption shop and Taichung nail studio, further ones cycle kinds over more cities.
    n_customers
        Customers in the chain.
    seed
        Random seed; the same arguments always give the same data.
    end_date
        Last day of history; only ``booked`` bookings lie after it (up to 21 days).
    years
        Length of the history window before ``end_date``.

    Returns
    -------
    DemoWorld
        All tables, with ground truth in ``truth``.
    """
    chunks = list(
        iter_world_chunks(n_stores=n_stores, n_customers=n_customers, seed=seed, end_date=end_date, years=years)
    )
    merged = {}
    for f in fields(DemoWorld):
        frames = [getattr(ch, f.name) for ch in chunks]
        non_empty = [fr for fr in frames if len(fr)]
        merged[f.name] = (
            pd.concat(non_empty, ignore_index=True)
            if len(non_empty) > 1
            else (non_empty[0] if non_empty else frames[0]).reset_index(drop=True)
        )
    return DemoWorld(**merged)


def _main() -> None:
    parser = argparse.ArgumentParser(description="Time the demo generator (no files written).")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args()
    started = time.perf_counter()
    counts: dict[str, int] = {}
    for world in iter_world_chunks(
        n_stores=args.stores, n_customers=args.customers, seed=args.seed, chunk_customers=args.chunk
    ):
        for f in fields(DemoWorld):
            counts[f.name] = counts.get(f.name, 0) + len(getattr(world, f.name))
    print(f"{args.customers} customers in {time.perf_counter() - started:.1f} s: {counts}")


if __name__ == "__main__":
    _main()
