"""Browser-test plumbing: a real Streamlit server on a free port and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ENGLISH = "English"

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    """Debian's chromium; under CI=true its absence fails the run, elsewhere the test skips."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed (make test installs it under CI=true)", pytrace=False)
        pytest.skip("chromium not installed: apt-get install chromium")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def streamlit_server(
    database_url: str, *, extra_env: dict[str, str] | None = None, log_path: Path | None = None
) -> Iterator[str]:
    """Serve dashboard/app.py against ``database_url``; yield its base URL.

    ``log_path`` takes the server's output; long runs need it, because nobody reads the pipe
    and a server that fills it (Prophet logs a lot) blocks on its next write.
    """
    port = free_port()
    # Demo mode off (TESTING rule 4): a random key, as a production installation has.
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REVISIT_DEMO_MODE": "0",
        "REVISIT_COOKIE_KEY": secrets.token_hex(32),
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    log = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log or subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not start within 60 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if log is not None:
            log.close()


@contextmanager
def browser_page(viewport: dict[str, int] | None = None) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000})
            yield context.new_page()
        finally:
            browser.close()


def sign_in(page, base: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base)
    page.get_by_label("Username").or_(page.get_by_label("帳號")).first.fill(username)
    page.get_by_label("Password").or_(page.get_by_label("密碼")).first.fill(password)
    page.get_by_role("button", name="Sign in").or_(page.get_by_role("button", name="登入")).first.click()


def build_demo(path: Path, *, customers: int) -> str:
    """The demo chain with ``customers`` customers in a new SQLite file; returns its URL."""
    url = f"sqlite:///{path}"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "demo", "--customers", str(customers)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return url


def run_cli(url: str, *args: str) -> str:
    """``python -m dashboard.cli ARGS`` against ``url``; returns its standard output."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def use_english(page) -> None:  # type: ignore[no-untyped-def]
    """Switch the signed-in session's language to English with the sidebar picker."""
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name=ENGLISH).click()
    page.get_by_text("Language").first.wait_for(timeout=30_000)


def settle(page, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished the current run (its running indicator is gone)."""
    page.wait_for_timeout(300)
    deadline = time.monotonic() + timeout_s
    while page.locator("[data-testid='stStatusWidgetRunningIcon']").count() and time.monotonic() < deadline:
        page.wait_for_timeout(100)


def assert_no_exception(page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator("[data-testid='stException']").count() == 0, page.inner_text("body")[:2000]
