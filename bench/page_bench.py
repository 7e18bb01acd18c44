"""Page speed in the real app: cold and warm render time of every page, driven in Chromium.

Usage (a large demo database first):
    DATABASE_URL=sqlite:///data/bench100k.db .venv/bin/python -m dashboard.cli demo --customers 100000
    .venv/bin/python bench/page_bench.py sqlite:///data/bench100k.db [--user admin]

"Cold" is the first load of each page after the server starts (empty caches); "warm" is a second
load in a new browser session (caches filled). Each load is a full page load signed in by cookie. A page counts as rendered when Streamlit's running
indicator is gone and the main area shows content. The baseline row is the login page, rendered
by the same server in the same run.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.cli import DEMO_PASSWORD  # noqa: E402
from dashboard.navigation import pages_for  # noqa: E402
from db.demo_seed import DEMO_ACCOUNTS  # noqa: E402
from tests.browser import browser_page, sign_in, streamlit_server  # noqa: E402

RUNNING = "[data-testid='stStatusWidgetRunningIcon']"


def _settle(page, started: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds from ``started`` until the app has run and stopped (polled every 50 ms)."""
    try:  # the rerun may take a moment to start; a page that is already done never shows it
        page.locator(RUNNING).first.wait_for(state="attached", timeout=3000)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: nothing ran
        pass
    while page.locator(RUNNING).count() > 0:
        page.wait_for_timeout(50)
        if time.perf_counter() - started > 900:
            break
    page.locator("[data-testid='stMain']").wait_for()
    return time.perf_counter() - started


def measure(url: str, username: str) -> list[tuple[str, float, float]]:
    role = DEMO_ACCOUNTS[username][0]
    rows: list[tuple[str, float, float]] = []
    with streamlit_server(url) as base:
        timings: dict[str, list[float]] = {}
        for _visit in ("cold", "warm"):
            with browser_page() as page:
                started = time.perf_counter()
                page.goto(base)
                page.get_by_role("button").first.wait_for()
                timings.setdefault("(login page)", []).append(time.perf_counter() - started)
                sign_in(page, base, username, DEMO_PASSWORD)
                page.locator("[data-testid='stSidebarNav']").wait_for(timeout=180_000)
                links = page.locator("[data-testid='stSidebarNav'] a")
                assert links.count() == len(pages_for(role))
                for spec in pages_for(role):
                    # A fresh page load signs in by cookie and renders the page from scratch; the
                    # server's caches are what differ between the cold and the warm pass.
                    started = time.perf_counter()
                    page.goto(f"{base}/{spec.key}", timeout=900_000)
                    page.locator("[data-testid='stSidebarNav']").wait_for(timeout=900_000)
                    timings.setdefault(spec.key, []).append(_settle(page, started))
        rows = [(key, values[0], values[-1]) for key, values in timings.items()]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("--user", default="admin", choices=sorted(DEMO_ACCOUNTS))
    args = parser.parse_args()
    rows = measure(args.database_url, args.user)
    baseline = rows[0][2] or 1e-9
    print("| page | cold s | warm s | warm ÷ login page |")
    print("|---|---:|---:|---:|")
    for key, cold, warm in rows:
        print(f"| {key} | {cold:.2f} | {warm:.2f} | {warm / baseline:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
