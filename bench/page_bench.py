"""Page speed in the real app: cold, warm in-app navigation and warm full reload of every page, in Chromium.

Usage (a large demo database first):
    DATABASE_URL=sqlite:///data/bench100k.db .venv/bin/python -m dashboard.cli demo --customers 100000
    PYTHONPATH=. .venv/bin/python bench/page_bench.py sqlite:///data/bench100k.db --user manager
    PYTHONPATH=. .venv/bin/python bench/page_bench.py sqlite:///data/bench100k.db --user admin

One server is started for the run (empty in-memory caches) and one browser tab signs in once;
every page of the user's menu is then measured three ways, in this order:

* **cold**: the first render of each page after the server started, in menu order (so a page
  may profit from a cache an earlier page filled, as it does for a manager who opens the
  Overview first). The first page is the landing page after "Sign in" (timed from the click);
  the others are full page loads signed in by cookie;
* **warm, full reload**: every page again as a full page load (a new Streamlit session and the
  cookie sign-in round trip each time, ≈ the login-page row);
* **warm, in-app**: what a manager feels when clicking around — a click on the page's sidebar
  link (a script rerun over the open websocket: no reload, no sign-in). The menu is walked
  ``--rounds`` times and the median per page is shown.

A page counts as rendered when its title is on screen and Streamlit reports the script run as
finished (``stApp[data-test-script-state=notRunning]``), timed from the click or the ``goto``.
The baseline row is the login page (a full load of the sign-in form). The server's output goes
to a log file in the temp folder.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.cli import DEMO_PASSWORD  # noqa: E402
from dashboard.i18n import DEFAULT_LOCALE, translate  # noqa: E402
from dashboard.navigation import pages_for  # noqa: E402
from demo.accounts import DEMO_ACCOUNTS  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS, chromium_path, streamlit_server  # noqa: E402

TIMEOUT_MS = 900_000
SETTLED_JS = ("() => document.querySelector(\"[data-testid='stApp']\")"
              "?.getAttribute('data-test-script-state') === 'notRunning'")
# True once the page's own title is shown and the script run (rerun) has finished.
RENDERED_JS = """(title) => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
  const heading = document.querySelector("[data-testid='stMain'] h1");
  return !!heading && heading.innerText.includes(title);
}"""


def _rendered(page, title: str, started: float) -> float:  # type: ignore[no-untyped-def]
    try:
        page.wait_for_function(RENDERED_JS, arg=title, timeout=TIMEOUT_MS)
    except Exception:
        # Say which page never finished, and keep what the browser showed, instead of a bare timeout.
        shot = Path(tempfile.gettempdir()) / "page_bench_timeout.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"  {title}: not rendered after {time.perf_counter() - started:.0f} s at {page.url}; "
              f"screenshot {shot}", file=sys.stderr, flush=True)
        raise
    seconds = time.perf_counter() - started
    print(f"  {title}: {seconds:.2f} s", file=sys.stderr, flush=True)
    return seconds


def _sign_in(page, base: str, username: str, specs, timings: dict[str, list[float]]) -> None:  # type: ignore[no-untyped-def]
    """Login-page baseline, then sign in: the app lands on the first page of the menu, which is
    that page's cold render (timed from the click on "Sign in", like a full load's cookie sign-in)."""
    started = time.perf_counter()
    page.goto(base)
    page.get_by_role("button").first.wait_for()
    timings.setdefault("(login page)", []).append(time.perf_counter() - started)
    page.get_by_label("Username").or_(page.get_by_label("帳號")).first.fill(username)
    page.get_by_label("Password").or_(page.get_by_label("密碼")).first.fill(DEMO_PASSWORD)
    started = time.perf_counter()
    page.get_by_role("button", name="Sign in").or_(page.get_by_role("button", name="登入")).first.click()
    first = specs[0]
    timings.setdefault(first.key, []).append(_rendered(page, translate(f"page.{first.key}", DEFAULT_LOCALE), started))
    assert page.locator("[data-testid='stSidebarNav'] a").count() == len(specs)


def _settled(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS)


def _reload_pass(page, base: str, specs, timings: dict[str, list[float]], skip: int = 0) -> None:  # type: ignore[no-untyped-def]
    for spec in specs[skip:]:
        started = time.perf_counter()
        page.goto(f"{base}/{spec.key}", timeout=TIMEOUT_MS)
        timings.setdefault(spec.key, []).append(_rendered(page, translate(f"page.{spec.key}", DEFAULT_LOCALE), started))


@contextmanager
def browser() -> Iterator[Callable[[], Any]]:
    """One Chromium for the run; each call of the yielded function opens a page in a fresh context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield lambda: chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        finally:
            chromium.close()


def measure(url: str, username: str, rounds: int) -> tuple[list[tuple[str, float, float | None, float | None]], list[dict[str, float]]]:
    role = DEMO_ACCOUNTS[username][0]
    specs = pages_for(role)
    reload: dict[str, list[float]] = {}
    in_app: list[dict[str, float]] = []
    log_path = Path(tempfile.gettempdir()) / "page_bench_server.log"
    print(f"server log: {log_path}", file=sys.stderr)
    # No file watcher: editing the worktree during a run must not reload the app under test.
    with streamlit_server(url, log_path=log_path, extra_env={"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}) as base, \
            browser() as new_page:
        page = new_page()
        _sign_in(page, base, username, specs, reload)
        _reload_pass(page, base, specs, reload, skip=1)  # cold (the first page was the landing page)
        _reload_pass(page, base, specs, reload)  # warm, full reload (a new Streamlit session each load)
        links = page.locator("[data-testid='stSidebarNav'] a")
        for _round in range(rounds):  # warm, in-app: a click on the sidebar link
            timings: dict[str, float] = {}
            for index, spec in enumerate(specs):
                started = time.perf_counter()
                links.nth(index).click()
                timings[spec.key] = _rendered(page, translate(f"page.{spec.key}", DEFAULT_LOCALE), started)
            in_app.append(timings)
    rows = []
    for key, values in reload.items():
        nav = [t[key] for t in in_app if key in t]
        rows.append((key, values[0], statistics.median(nav) if nav else None, values[-1] if len(values) > 1 else None))
    return rows, in_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("--user", default="admin", choices=sorted(DEMO_ACCOUNTS))
    parser.add_argument("--rounds", type=int, default=3, help="in-app walks of the menu (median shown)")
    args = parser.parse_args()
    rows, in_app = measure(args.database_url, args.user, args.rounds)
    print(f"page speed, user {args.user} ({DEMO_ACCOUNTS[args.user][0]}), "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.rounds} in-app rounds")
    print("| page | cold s | warm in-app s | warm full reload s |")
    print("|---|---:|---:|---:|")
    for key, cold, nav, warm in rows:
        nav_text = "–" if nav is None else f"{nav:.2f}"
        warm_text = "–" if warm is None else f"{warm:.2f}"
        print(f"| {key} | {cold:.2f} | {nav_text} | {warm_text} |")
    print("in-app rounds (s): " + "; ".join(
        ", ".join(f"{k} {v:.2f}" for k, v in timings.items()) for timings in in_app))
    return 0


if __name__ == "__main__":
    sys.exit(main())
