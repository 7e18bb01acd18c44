"""Import benchmark: a realistic 1,000,000-row booking export into SQLite and PostgreSQL.

Usage::

    PYTHONPATH=. .venv/bin/python bench/import_bench.py [--rows 1000000] [--pg-admin-url URL]

Generates a CSV like a Taiwanese salon chain's POS export (Chinese names, phones written several
ways, ROC and ISO dates, NT$ amounts, status words, a free-text note column) in a temporary
folder, then measures, each in its own child process so peak memory is per run:

* ``pandas.read_csv`` of the same file (all columns as text): the floor for reading it at all;
* the full import (read → map → parse/validate → resolve → bulk write in one transaction) into a
  fresh SQLite file and into a scratch PostgreSQL database (COPY), which is dropped afterwards.

Peak memory is the child's ``ru_maxrss``. Prints a Markdown table (copied into bench/README.md).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SURNAMES = list("王李張劉陳楊黃趙吳周徐孫馬朱胡郭何林羅高鄭梁謝宋唐許韓馮鄧曹彭曾蕭田董潘袁蔡蔣余杜葉程蘇魏呂丁任沈")
GIVEN = list("美麗雅婷怡君家豪志明俊傑淑芬惠玲佳穎宜庭冠宇承恩子涵品妤欣怡建宏文彥柏翰詩涵雅筑")
SERVICES = ["洗剪吹", "染髮", "燙髮", "護髮", "剪髮", "頭皮護理", "美甲", "美睫", "臉部保養", "寵物洗澡", "寵物美容"]
STAFF = ["Amy", "Bob", "小芳", "阿杰", "Cindy", "小美", "Kevin", "雅婷"]
STATUSES = ["完成"] * 14 + ["已預約", "取消", "未到", "改期"]
NOTES = ["", "", "", "VIP", "生日客", "指定設計師", "第一次來", "朋友介紹", "=HYPERLINK(\"x\")"]
HEADER = ["預約編號", "會員編號", "姓名", "手機", "預約日期", "時間", "服務項目", "美容師", "金額", "狀態", "門市", "備註"]


def generate_csv(path: Path, rows: int, *, seed: int = 7) -> None:
    """Write ``rows`` bookings of ~rows/10 members over four stores to ``path`` (UTF-8 BOM)."""
    rng = np.random.default_rng(seed)
    n_customers = max(rows // 10, 1)
    customer = rng.integers(0, n_customers, rows)
    names = np.array([s + g1 + g2 for s, g1, g2 in zip(
        rng.choice(SURNAMES, n_customers), rng.choice(GIVEN, n_customers), rng.choice(GIVEN, n_customers), strict=True)])
    digits = rng.integers(10_000_000, 99_999_999, n_customers)
    style = rng.integers(0, 3, n_customers)
    phones = np.where(style == 0, np.char.add("09", digits.astype(str)),
                      np.where(style == 1, np.char.add("+886 9", digits.astype(str)), np.char.add("9", digits.astype(str))))
    start = np.datetime64("2021-01-01")
    days = rng.integers(0, 365 * 4, rows)
    dates = (start + days.astype("timedelta64[D]")).astype(str)
    roc = rng.random(rows) < 0.5
    parsed = pd.to_datetime(pd.Series(dates))
    roc_text = (parsed.dt.year - 1911).astype(str) + "/" + parsed.dt.strftime("%m/%d")
    date_col = np.where(roc, roc_text.to_numpy(), dates)
    hours = rng.integers(10, 21, rows)
    minutes = rng.choice(["00", "30"], rows)
    times = np.char.add(np.char.add(hours.astype(str), ":"), minutes)
    amounts = rng.choice([500, 600, 800, 1200, 1500, 2000, 2500, 3200], rows)
    frame = pd.DataFrame({
        "預約編號": np.char.add("R", np.arange(1, rows + 1).astype(str)),
        "會員編號": np.char.add("M", customer.astype(str)),
        "姓名": names[customer],
        "手機": phones[customer],
        "預約日期": date_col,
        "時間": times,
        "服務項目": rng.choice(SERVICES, rows),
        "美容師": rng.choice(STAFF, rows),
        "金額": np.char.add("NT$", amounts.astype(str)),
        "狀態": rng.choice(STATUSES, rows),
        "門市": rng.choice(["TP01", "TP02", "TC01", "KH01"], rows),
        "備註": rng.choice(NOTES, rows),
    }, columns=HEADER)
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child_pandas(csv_path: str) -> dict[str, object]:
    started = time.perf_counter()
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    return {"rows": len(frame), "seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def child_import(csv_path: str, url: str) -> dict[str, object]:
    from core.importing import ImportOptions
    from core.scope import Scope
    from db import importer
    from db.engine import make_engine
    from db.migrate import upgrade
    from services import importing

    engine = make_engine(url)
    upgrade(engine)
    with tempfile.TemporaryDirectory() as rejects:
        started = time.perf_counter()
        data = Path(csv_path).read_bytes()
        prepared = importing.read_and_prepare(data, Path(csv_path).name, kind="bookings",
                                             options=ImportOptions(), max_bytes=len(data) + 1, reject_dir=rejects)
        middle = time.perf_counter()
        del data
        result = importing.import_prepared(engine, prepared_file=prepared, scope=Scope.system("bench"),
                                          create_stores=True, reject_dir=rejects)
        finished = time.perf_counter()
    counts = importer.booking_counts(engine)
    engine.dispose()
    return {
        "rows": result.read, "imported": result.imported, "rejected": result.rejected, "status": result.status,
        "seconds": finished - started, "prepare_seconds": middle - started, "write_seconds": finished - middle,
        "peak_mb": _peak_mb(), "bookings_in_db": counts["booking"], "error": result.error,
    }


def _run_child(*args: str) -> dict[str, object]:
    completed = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                               cwd=ROOT, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _pg(admin_url: str, statement: str) -> None:
    from sqlalchemy import text

    from db.engine import make_engine

    admin = make_engine(admin_url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        out = child_pandas(rest[0]) if kind == "pandas" else child_import(rest[0], rest[1])
        print(json.dumps(out))
        return 0

    with tempfile.TemporaryDirectory(prefix="revisit-bench-") as folder:
        csv_path = Path(folder) / "bookings.csv"
        started = time.perf_counter()
        generate_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
        results: dict[str, dict[str, object]] = {}
        results["pandas.read_csv (text only)"] = _run_child("pandas", str(csv_path))
        print("pandas:", results["pandas.read_csv (text only)"], flush=True)
        results["import → SQLite"] = _run_child("import", str(csv_path), f"sqlite:///{folder}/bench.db")
        print("sqlite:", results["import → SQLite"], flush=True)
        if not args.skip_pg:
            name = f"revisit_bench_{uuid.uuid4().hex[:8]}"
            _pg(args.pg_admin_url, f'CREATE DATABASE "{name}"')
            try:
                url = args.pg_admin_url.rsplit("/", 1)[0] + "/" + name
                results["import → PostgreSQL (COPY)"] = _run_child("import", str(csv_path), url)
                print("postgresql:", results["import → PostgreSQL (COPY)"], flush=True)
            finally:
                _pg(args.pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print()
    print(f"{args.rows:,} rows, {size_mb:.0f} MB CSV")
    print()
    print("| run | rows | seconds | rows/s | parse s | write s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        seconds = float(r["seconds"])  # type: ignore[arg-type]
        rows = int(r["rows"])  # type: ignore[call-overload]
        parse = f"{float(r['prepare_seconds']):.1f}" if "prepare_seconds" in r else "–"  # type: ignore[arg-type]
        write = f"{float(r['write_seconds']):.1f}" if "write_seconds" in r else "–"  # type: ignore[arg-type]
        print(f"| {label} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | {parse} | {write} | {float(r['peak_mb']):,.0f} |")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
