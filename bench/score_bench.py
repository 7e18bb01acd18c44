"""Scoring benchmark: full ``score`` (RFM + revisit windows + lifecycle) and the KPI board on
10,000,000 bookings of 1,000,000 customers, against DuckDB doing the same per-customer R/F/M
and median visit interval in the same process.

Usage::

    PYTHONPATH=. .venv/bin/python bench/score_bench.py [--bookings 10000000] [--customers 1000000]

The synthetic chain (numpy, a few seconds): 8 stores, each customer with a home store and an own
cadence (14–56 days, with jitter), 85% completed bookings and the rest booked/cancelled/no-show/
rescheduled, service categories and amounts; ``status`` and ``service_category`` are pandas
categoricals (how a loader would keep them), timestamps store-local ``datetime64[ns]``.

Each step runs in its own forked child (the input frames shared copy-on-write), timed with
``time.perf_counter``; memory is the child's peak RSS (``ru_maxrss``, the input data included) and
its growth during the step. (``tracemalloc`` was tried first: it slows pandas fivefold.) Prints a
Markdown table (copied into bench/README.md).
"""
from __future__ import annotations

import argparse
import gc
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.kpi import kpi_board  # noqa: E402
from core.scoring import score_customers  # noqa: E402

AS_OF = pd.Timestamp("2026-11-22")
CATEGORIES = ["haircut", "color", "perm", "care", "grooming", "bath", "nails", "lashes"]
STATUSES = ["completed", "booked", "cancelled", "no_show", "rescheduled"]


def synthetic_chain(n_bookings: int, n_customers: int, *, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bookings and customers frames with the ``core`` column contracts (vectorised numpy)."""
    rng = np.random.default_rng(seed)
    per = rng.multinomial(n_bookings - n_customers, np.full(n_customers, 1 / n_customers)) + 1
    customer = np.repeat(np.arange(1, n_customers + 1, dtype=np.int64), per)
    home = rng.integers(1, 9, n_customers)
    cadence = rng.choice([14, 21, 28, 35, 42, 56], n_customers)
    start = rng.integers(0, 900, n_customers)  # days before as-of of the first booking
    index_in_customer = np.arange(n_bookings) - np.repeat(np.cumsum(per) - per, per)
    jitter = rng.normal(0, 3, n_bookings)
    day_offset = np.repeat(start, per) - index_in_customer * np.repeat(cadence, per) + jitter + 30
    minutes = rng.integers(10 * 60, 20 * 60, n_bookings)
    scheduled = (AS_OF.to_datetime64() - day_offset.astype(np.int64).astype("timedelta64[D]")
                 + minutes.astype("timedelta64[m]")).astype("datetime64[ns]")
    other_store = rng.random(n_bookings) < 0.1
    store = np.where(other_store, rng.integers(1, 9, n_bookings), np.repeat(home, per))
    status = rng.choice(len(STATUSES), n_bookings, p=[0.85, 0.03, 0.06, 0.03, 0.03])
    category = np.repeat(rng.integers(0, len(CATEGORIES), n_customers), per)
    amount = np.round(rng.gamma(4.0, 300.0, n_bookings), 0)
    bookings = pd.DataFrame({
        "booking_id": np.arange(1, n_bookings + 1, dtype=np.int64),
        "customer_id": customer,
        "store_id": store.astype(np.int64),
        "service_category": pd.Categorical.from_codes(category, CATEGORIES),
        "scheduled_at": scheduled,
        "status": pd.Categorical.from_codes(status, STATUSES),
        "amount": amount,
        "addon_amount": np.where(rng.random(n_bookings) < 0.2, 200.0, 0.0),
    })
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n_customers + 1, dtype=np.int64),
        "home_store_id": home.astype(np.int64),
        "joined_on": pd.Timestamp("2023-01-01"),
    })
    return bookings, customers


def duckdb_rfm(bookings: pd.DataFrame, as_of: pd.Timestamp, lookback_days: int = 365) -> pd.DataFrame:
    """R, F, M and the median interval between visit days per customer, in DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.register("bookings", bookings)
    cutoff = (as_of + pd.Timedelta(days=1)).to_pydatetime()
    since = (as_of - pd.Timedelta(days=lookback_days)).date()
    query = """
        WITH v AS (
            SELECT customer_id, CAST(scheduled_at AS DATE) AS d, amount + addon_amount AS spend
            FROM bookings WHERE status = 'completed' AND scheduled_at < $cutoff),
        rfm AS (
            SELECT customer_id, $as_of - max(d) AS recency_days,
                   count(*) FILTER (WHERE d > $since) AS frequency,
                   coalesce(sum(spend) FILTER (WHERE d > $since), 0) AS monetary
            FROM v GROUP BY customer_id),
        days AS (SELECT DISTINCT customer_id, d FROM v),
        iv AS (SELECT customer_id, d - lag(d) OVER (PARTITION BY customer_id ORDER BY d) AS iv FROM days),
        med AS (SELECT customer_id, median(iv) AS median_interval FROM iv WHERE iv IS NOT NULL GROUP BY customer_id)
        SELECT rfm.*, med.median_interval FROM rfm LEFT JOIN med USING (customer_id) ORDER BY customer_id
    """
    out = con.execute(query, {"cutoff": cutoff, "since": since, "as_of": as_of.date()}).df()
    con.close()
    return out


def _digest(frame: pd.DataFrame) -> tuple[int, int, int, float]:
    """Customers, sum of R, sum of F and sum of M (to check both engines agree)."""
    scored = frame.dropna(subset=["recency_days"])
    return (len(scored), int(scored["recency_days"].astype(np.int64).sum()),
            int(scored["frequency"].astype(np.int64).sum()), round(float(scored["monetary"].sum()), 2))


def _child(func: Callable[[], Any], conn: Any) -> None:
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    digest = _digest(result) if isinstance(result, pd.DataFrame) and "recency_days" in result else None
    conn.send((seconds, peak / 2**20, (peak - before) / 2**20, digest))
    conn.close()


def measure(name: str, func: Callable[[], Any]) -> tuple[str, float, float, float, Any]:
    """Run ``func`` in a forked child (the input frames are shared copy-on-write): seconds, the
    child's peak RSS (GiB, input data included) and its growth during the step."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(func, child))
    process.start()
    seconds, peak, growth, digest = parent.recv()
    process.join()
    return name, seconds, peak, growth, digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()

    started = time.perf_counter()
    bookings, customers = synthetic_chain(args.bookings, args.customers)
    print(f"generated {len(bookings):,} bookings / {len(customers):,} customers in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)

    # Warm up lazy imports and code paths on a tiny chain, so no step pays for first use.
    small_b, small_c = synthetic_chain(20_000, 2_000, seed=1)
    duckdb_rfm(small_b, AS_OF), score_customers(small_b, small_c, as_of=AS_OF), kpi_board(small_b, small_c, as_of=AS_OF)

    rows = [measure("DuckDB: R/F/M + median interval per customer", lambda: duckdb_rfm(bookings, AS_OF))]
    rows.append(measure("Revisit `score` (RFM + windows + lifecycle + churn)",
                        lambda: score_customers(bookings, customers, as_of=AS_OF)))
    rows.append(measure("KPI board (19 KPIs, this and the previous period)",
                        lambda: kpi_board(bookings, customers, as_of=AS_OF)))

    same = rows[0][4] == rows[1][4]
    base = rows[0][1]
    print(f"\n{len(bookings):,} bookings, {len(customers):,} customers, {multiprocessing.cpu_count()} CPU(s) "
          f"(R/F/M sums identical to DuckDB: {'yes' if same else 'NO'})\n")
    print("| step | seconds | × DuckDB | peak RSS of the step (GiB, data included) | growth during the step (GiB) |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, peak, growth, _ in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / base:.1f} | {peak:.2f} | {growth:.2f} |")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\nParent process peak RSS (generating the data): {rss:.2f} GiB")


if __name__ == "__main__":
    main()
