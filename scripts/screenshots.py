"""Take the README screenshots from a demo database in Debian's Chromium.

Usage:
    .venv/bin/python scripts/screenshots.py [--database-url sqlite:///data/shots.db] [--out docs/screenshots]

Without ``--database-url`` a 5,000-customer demo is built into a temporary file and one worker
tick is run, so the front desk has today's follow-ups. Pages are shown in Traditional Chinese,
the language most of the product's users read.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.cli import DEMO_PASSWORD  # noqa: E402
from dashboard.navigation import pages_for  # noqa: E402
from demo.accounts import DEMO_ACCOUNTS  # noqa: E402
from tests.support.browser import browser_page, build_demo, run_cli, settle, sign_in, streamlit_server  # noqa: E402

# (file name, demo user, page key)
SHOTS = (
    ("overview.png", "manager", "overview"),
    ("segments.png", "manager", "segments"),
    ("tasks.png", "frontdesk", "tasks"),
    ("campaign_results.png", "manager", "campaign_results"),
    ("models.png", "manager", "models"),
)


def take(url: str, out: Path) -> list[Path]:
    """Sign in as each shot's user, open its page and save a screenshot; return the files."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with streamlit_server(url) as base:
        for name, user, key in SHOTS:
            with browser_page(viewport={"width": 1400, "height": 1500}) as page:
                sign_in(page, base, user, DEMO_PASSWORD)
                page.locator("[data-testid='stSidebarNav']").wait_for(timeout=300_000)
                settle(page, 300)
                keys = [spec.key for spec in pages_for(DEMO_ACCOUNTS[user][0])]
                position = keys.index(key)
                page.locator("[data-testid='stSidebarNav'] a").nth(position).click()
                if position:  # the first page lives at the root URL
                    page.wait_for_url(f"**/{key}", timeout=300_000)
                page.wait_for_timeout(500)
                settle(page, 300)
                page.wait_for_timeout(2500)  # charts finish drawing after the run
                path = out / name
                page.screenshot(path=str(path))
                written.append(path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url
        if url is None:
            url = build_demo(Path(scratch) / "shots.db", customers=5000)
            run_cli(url, "campaigns", "run-due")
        for path in take(url, Path(args.out)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
