"""Campaign tick benchmark: one worker tick for a 100,000-recipient campaign into the outbox.

Usage::

    PYTHONPATH=. .venv/bin/python bench/campaign_bench.py [--customers 100000] [--pg-admin-url URL] [--skip-pg]

Builds a store with N customers (LINE id + consent, two visits each so they are scored) with
``db/bulk.py``, approves a one-off broadcast to everyone (10 % holdout, two A/B variants), then
times one ``CampaignWorker.tick``: scoring + audience + trigger + consent/cap/holdout/variants +
rendering N bodies with deep links + insert-if-absent into the outbox (+ flagging the rows
``channel_not_configured``, as no LINE credentials are given). A second tick is timed too (it
must add nothing). SQLite goes to a temp file; PostgreSQL to a scratch database that is dropped.
Prints a Markdown table (copied into bench/README.md, "Campaign tick").
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from core.scope import Scope  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from dashboard.worker import CampaignWorker, WorkerOptions  # noqa: E402
from db import campaigns as campaign_repo  # noqa: E402
from db.bulk import bulk_insert, reset_sequences  # noqa: E402
from db.engine import make_engine, session_scope  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Booking, Customer, Message, Service, Store  # noqa: E402

NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)


def build_world(engine, n: int) -> None:
    tables = [Store.__table__, Service.__table__, Customer.__table__, Booking.__table__]
    ids = np.arange(1, n + 1)
    customers = pd.DataFrame({
        "id": ids, "external_id": [f"M{i:07d}" for i in ids], "name": [f"客人{i}" for i in ids],
        "phone": [f"+8869{i:08d}" for i in ids], "line_id": [f"U{i:032x}" for i in ids],
        "home_store_id": 1, "consent_line": True, "consent_sms": True, "consent_email": False,
        "consent_wechat": False, "tags": [[] for _ in ids], "attributes": [{} for _ in ids],
        "joined_on": pd.Timestamp("2024-01-01"),
    })
    when = pd.Timestamp("2026-03-01 03:00", tz="UTC") - pd.to_timedelta(ids % 60, unit="D")
    bookings = pd.concat([
        pd.DataFrame({"dedupe_key": [f"b{i}-{k}" for i in ids], "store_id": 1, "customer_id": ids, "service_id": 1,
                      "status": "completed", "amount": 1000.0, "addon_amount": 0.0, "deposit": 0.0,
                      "designated": False, "scheduled_at": when - pd.Timedelta(days=35 * k), "created_at": when})
        for k in range(2)], ignore_index=True)
    with engine.begin() as connection:
        bulk_insert(connection, Store.__table__, pd.DataFrame({"id": [1], "code": ["TPE01"], "name": ["信義店"],
                                                               "timezone": ["Asia/Taipei"]}))
        bulk_insert(connection, Service.__table__, pd.DataFrame({"id": [1], "name": ["Groom"], "category": ["grooming"]}))
        bulk_insert(connection, Customer.__table__, customers)
        bulk_insert(connection, Booking.__table__, bookings)
        reset_sequences(connection, tables)
    system = Scope.system("bench")
    with session_scope(engine) as session:
        c = campaign_repo.create_campaign(
            session, scope=system, name="bench broadcast", store_id=None, audience={},
            trigger={"kind": "one_off", "at": "2026-05-04T10:00"}, channel="line", holdout_pct=10,
            frequency_cap_days=1,
            templates={"variants": [{"key": "A", "weight": 1, "templates": {"zh-TW": "{name} 您好:{booking_link}"}},
                                    {"key": "B", "weight": 1, "templates": {"zh-TW": "{name},預約:{booking_link}"}}]})
        campaign_repo.approve_campaign(session, scope=system, campaign_id=c.id)


def run(label: str, url: str, n: int) -> list[dict[str, object]]:
    engine = make_engine(url)
    upgrade(engine)
    build_world(engine, n)
    worker = CampaignWorker(engine, settings=Settings(database_url=url),
                            options=WorkerOptions(worker_id="bench", claim_timeout_seconds=300))
    rows = []
    for tick in ("first tick", "second tick (idempotent)"):
        started = time.perf_counter()
        counts = worker.tick(NOW)
        seconds = time.perf_counter() - started
        with session_scope(engine) as session:
            total = session.scalar(select(func.count()).select_from(Message))
        written = counts["queued"] + counts["holdout"] + counts["suppressed"]
        rows.append({"run": f"{label}: {tick}", "recipients": n, "outbox rows": total, "new rows": written,
                     "seconds": seconds, "rows/s": (written / seconds) if written else 0.0})
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results += run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args.customers)
    if not args.skip_pg:
        admin = make_engine(args.pg_admin_url).execution_options(isolation_level="AUTOCOMMIT")
        name = f"revisit_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text('CREATE DATABASE "' + name + '"'))
        try:
            results += run("PostgreSQL", args.pg_admin_url.rsplit("/", 1)[0] + "/" + name, args.customers)
        finally:
            with admin.connect() as connection:
                connection.execute(text('DROP DATABASE IF EXISTS "' + name + '" WITH (FORCE)'))
            admin.dispose()
    print("| run | recipients | outbox rows | new rows | seconds | rows/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['run']} | {r['recipients']:,} | {r['outbox rows']:,} | {r['new rows']:,} | "
              f"{r['seconds']:.1f} | {r['rows/s']:,.0f} |")


if __name__ == "__main__":
    main()
