"""Cookies, demo mode and sign-in answers (RELIABILITY 1, 5, 32).

The demo cookie key is random per installation and kept across restarts; a cookie cannot claim a
longer life than configured; placeholder keys are refused outside demo mode; an unknown username
gets exactly what a wrong password gets, including the lockout.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from dashboard.auth import cookie_key, cookie_username
from dashboard.demo_key import DEMO_KEY_FILE, DemoKeyError, installation_demo_key
from dashboard.settings import Settings
from db.engine import session_scope
from db.users import attempt_login
from tests.support.factories import PASSWORD, small_world

ROOT = Path(__file__).resolve().parents[2]
SAME_URL = "postgresql+psycopg://revisit@db.example/revisit"


def _key_in_a_new_process(data_dir: Path) -> str:
    """What a freshly started app process reads as its demo key (a restart, in miniature)."""
    code = (
        "import sys; from dashboard.settings import Settings; from dashboard.auth import cookie_key; "
        "print(cookie_key(Settings(demo_mode=True, database_url=sys.argv[1], data_dir=sys.argv[2])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, SAME_URL, str(data_dir)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    return done.stdout.strip()


# --- the demo key ---------------------------------------------------------------------------------


def test_demo_key_survives_a_restart_and_differs_between_installations(tmp_path) -> None:
    first, second = tmp_path / "shop-one" / "data", tmp_path / "shop-two" / "data"
    key_one = _key_in_a_new_process(first)
    assert _key_in_a_new_process(first) == key_one  # the restarted app signs with the same key
    key_two = _key_in_a_new_process(second)  # same DATABASE_URL, another installation
    assert key_two != key_one
    # Nothing guessable: not the key the old code derived from the database URL.
    assert hashlib.sha256(("revisit-demo:" + SAME_URL).encode()).hexdigest() not in (key_one, key_two)
    # The file is readable by its owner only.
    assert stat.S_IMODE((first / DEMO_KEY_FILE).stat().st_mode) == 0o600
    assert (first / DEMO_KEY_FILE).read_text().strip() == key_one


def test_a_cookie_signed_with_a_guessable_key_does_not_sign_in(engine, tmp_path) -> None:
    small_world(engine)
    settings = Settings(demo_mode=True, database_url=str(engine.url), data_dir=str(tmp_path))
    key = cookie_key(settings)
    expires = (datetime.now(UTC) + timedelta(days=1)).timestamp()  # issued now
    for guess in (hashlib.sha256(("revisit-demo:" + str(engine.url)).encode()).hexdigest(), "demo-cookie-key"):
        forged = jwt.encode({"username": "admin", "exp_date": expires}, guess, algorithm="HS256")
        assert cookie_username(forged, key=key, expiry_days=1.0, engine=engine) is None
    genuine = jwt.encode({"username": "admin", "exp_date": expires}, key, algorithm="HS256")
    assert cookie_username(genuine, key=key, expiry_days=1.0, engine=engine) == "admin"


def test_key_file_made_loose_is_tightened_and_a_damaged_one_is_refused(tmp_path) -> None:
    key = installation_demo_key(tmp_path)
    path = tmp_path / DEMO_KEY_FILE
    path.chmod(0o644)
    assert installation_demo_key(tmp_path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short\n")
    with pytest.raises(DemoKeyError, match="delete it"):
        installation_demo_key(tmp_path)


def test_a_copied_installation_folder_keeps_its_key_but_a_new_one_does_not(tmp_path) -> None:
    original = tmp_path / "a"
    key = installation_demo_key(original)
    shutil.copytree(original, tmp_path / "restored")  # a backup restored: same installation
    assert installation_demo_key(tmp_path / "restored") == key
    assert installation_demo_key(tmp_path / "fresh") != key


def test_the_app_in_demo_mode_signs_in_with_the_installation_key(sqlite_engine, monkeypatch, tmp_path) -> None:
    from dashboard import settings
    from tests.support.apptest_helpers import run_as, texts, use_database

    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_DEMO_MODE", "1")
    monkeypatch.setenv("REVISIT_COOKIE_KEY", "changethis")
    monkeypatch.setenv("REVISIT_DATA_DIR", str(tmp_path / "data"))
    settings.load_settings.cache_clear()
    app = run_as(None)
    app.text_input(key="login.username").input("mgr_a")
    app.text_input(key="login.password").input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception and "Signed in as mgr_a" in texts(app)
    token, _expires = app.session_state["auth.cookie"]
    key = (tmp_path / "data" / DEMO_KEY_FILE).read_text().strip()
    assert jwt.decode(token, key, algorithms=["HS256"])["username"] == "mgr_a"  # signed with the file's key


# --- placeholder keys -----------------------------------------------------------------------------


def _example_cookie_key() -> str:
    """The REVISIT_COOKIE_KEY value of .streamlit/secrets.toml.example, as a user would uncomment it."""
    lines = (ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8").splitlines()
    uncommented = "\n".join(line.lstrip("# ") for line in lines if "REVISIT_COOKIE_KEY" in line)
    return tomllib.loads(uncommented)["REVISIT_COOKIE_KEY"]


@pytest.mark.parametrize(
    "placeholder",
    ["example", "changethis", "CHANGEME", "<put a long random key here!!!>", "secret", "", "short-but-real-9"],
)
def test_placeholder_keys_are_refused_outside_demo_mode(placeholder, tmp_path) -> None:
    value = _example_cookie_key() if placeholder == "example" else placeholder
    assert len(_example_cookie_key()) >= 32  # long enough that only the placeholder rule catches it
    with pytest.raises(RuntimeError, match="REVISIT_COOKIE_KEY"):
        Settings.from_env({"REVISIT_COOKIE_KEY": value}).effective_cookie_key()
    # In demo mode the placeholder is not used either: the installation's random key is.
    demo = Settings.from_env({"REVISIT_COOKIE_KEY": value, "REVISIT_DEMO_MODE": "1", "REVISIT_DATA_DIR": str(tmp_path)})
    assert cookie_key(demo) == installation_demo_key(tmp_path) != value


def test_a_real_key_is_used_as_given_and_no_key_file_is_written(tmp_path) -> None:
    real = "9f2c" * 16
    for demo in ("0", "1"):
        settings = Settings.from_env(
            {"REVISIT_COOKIE_KEY": real, "REVISIT_DEMO_MODE": demo, "REVISIT_DATA_DIR": str(tmp_path)}
        )
        assert cookie_key(settings) == real
    assert not (tmp_path / DEMO_KEY_FILE).exists()


@pytest.mark.parametrize(
    ("channel", "config", "setting"),
    [
        ("line", {"LINE_CHANNEL_TOKEN": "changethis"}, "LINE_CHANNEL_TOKEN"),
        (
            "sms",
            {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "<your auth token>", "TWILIO_FROM_NUMBER": "+1555"},
            "TWILIO_AUTH_TOKEN",
        ),
        ("wechat", {"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "secret"}, "WECHAT_APP_SECRET"),
        (
            "email",
            {
                "SMTP_HOST": "mail.example",
                "SMTP_SENDER": "a@example.com",
                "SMTP_USERNAME": "a",
                "SMTP_PASSWORD": "change-me",
            },
            "SMTP_PASSWORD",
        ),
    ],
)
def test_placeholder_channel_credentials_are_refused(channel, config, setting) -> None:
    from dashboard.channels.registry import ChannelConfigError, build_channel

    with pytest.raises(ChannelConfigError, match=f"{setting}.*placeholder"):
        build_channel(channel, config)
    real = {k: ("x7Kq2-real-credential" if k == setting else v) for k, v in config.items()}
    build_channel(channel, real).close()


# --- cookie lifetime ------------------------------------------------------------------------------


@pytest.mark.parametrize("days", ["31", "365", "0", "-1", "nan", "inf"])
def test_cookie_lifetime_above_30_days_or_not_positive_is_refused(days) -> None:
    with pytest.raises(ValueError, match="REVISIT_COOKIE_EXPIRY_DAYS"):
        Settings.from_env({"REVISIT_COOKIE_EXPIRY_DAYS": days})


def test_cookie_lifetime_of_30_days_is_allowed() -> None:
    assert Settings.from_env({"REVISIT_COOKIE_EXPIRY_DAYS": "30"}).cookie_expiry_days == 30.0


def test_a_cookie_claiming_to_outlive_the_lifetime_is_rejected(engine) -> None:
    small_world(engine)
    key, now = "k" * 40, datetime.now(UTC) + timedelta(minutes=1)  # the user exists since just now

    def token(expires: datetime) -> str:
        return jwt.encode({"username": "mgr_a", "exp_date": expires.timestamp()}, key, algorithm="HS256")

    def read(expires: datetime) -> str | None:
        return cookie_username(token(expires), key=key, expiry_days=1.0, engine=engine, now=now)

    assert read(now + timedelta(days=1)) == "mgr_a"  # issued right now
    assert read(now + timedelta(days=1, seconds=30)) == "mgr_a"  # within the tolerated clock skew
    assert read(now + timedelta(days=1, minutes=5)) is None  # more than a day still to run
    assert read(now + timedelta(days=3650)) is None  # the "any expiry is accepted" forgery
    assert read(now - timedelta(seconds=1)) is None  # expired


# --- unknown username = wrong password --------------------------------------------------------------


def _answers(session, username: str, *, tries: int, now: datetime) -> list[tuple[bool, str, bool]]:
    results = [
        attempt_login(
            session,
            username=username,
            password="wrong-password",
            max_attempts=3,
            lockout_minutes=15,
            now=now + timedelta(seconds=i),
        )
        for i in range(tries)
    ]
    return [(r.ok, r.reason, r.locked_until is not None) for r in results]


def test_unknown_username_gets_the_same_answers_and_lockout_as_a_wrong_password(engine) -> None:
    small_world(engine)
    now = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        known = _answers(session, "mgr_a", tries=5, now=now)
        unknown = _answers(session, "ghost", tries=5, now=now)
    # Two wrong answers, the third locks (shown as the lockout message), then locked.
    expected = [
        (False, "bad_credentials", False),
        (False, "bad_credentials", False),
        (False, "bad_credentials", True),
        (False, "locked", True),
        (False, "locked", True),
    ]
    assert known == expected
    assert unknown == expected
    with session_scope(engine) as session:
        # Other usernames are not affected; after the window the unknown name answers as before.
        assert attempt_login(
            session,
            username="mkt_a",
            password=PASSWORD,
            max_attempts=3,
            lockout_minutes=15,
            now=now + timedelta(minutes=1),
        ).ok
        other = attempt_login(
            session, username="ghost2", password="x", max_attempts=3, lockout_minutes=15, now=now + timedelta(minutes=1)
        )
        later = attempt_login(
            session, username="ghost", password="x", max_attempts=3, lockout_minutes=15, now=now + timedelta(minutes=16)
        )
    assert (other.reason, other.locked_until) == ("bad_credentials", None)
    assert (later.reason, later.locked_until) == ("bad_credentials", None)


def test_unknown_username_costs_a_real_bcrypt_check(engine, monkeypatch) -> None:
    import bcrypt

    from db import users

    small_world(engine)
    checks: list[tuple[bytes, bool]] = []
    real_checkpw = bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        try:
            result = real_checkpw(password, hashed)
        except ValueError:
            checks.append((hashed, False))  # an invalid hash fails at once: no work done
            raise
        checks.append((hashed, True))
        return result

    monkeypatch.setattr(users.bcrypt, "checkpw", spy)
    with session_scope(engine) as session:
        attempt_login(session, username="ghost", password="anything", max_attempts=5, lockout_minutes=15)
        attempt_login(session, username="mgr_a", password="anything", max_attempts=5, lockout_minutes=15)
        real_hash = users.get_user(session, username="mgr_a").password_hash.encode()
    assert [ran for _, ran in checks] == [True, True]
    dummy, real = checks[0][0], checks[1][0]
    assert dummy != real and dummy[:7] == real_hash[:7] == b"$2b$10$"  # same algorithm and cost


def test_unknown_username_through_the_form_gets_the_generic_messages(sqlite_engine, monkeypatch) -> None:
    from dashboard import settings
    from tests.support.apptest_helpers import run_as, texts, use_database

    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_LOCKOUT_ATTEMPTS", "3")
    settings.load_settings.cache_clear()
    app = run_as(None)
    shown = []
    for attempt in range(4):
        app.text_input(key="login.username").input("nobody-here")
        app.text_input(key="login.password").input(f"guess-{attempt}")
        app.button[0].click().run()
        assert not app.exception
        shown.append("Too many failed sign-ins" in texts(app))
        assert "Wrong username or password" in texts(app) or shown[-1]
    assert shown == [False, False, True, True]


# --- make run -------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_run_listens_on_this_machine_unless_told_otherwise() -> None:
    def command(*extra: str) -> str:
        done = subprocess.run(["make", "-n", "run", *extra], cwd=ROOT, capture_output=True, text=True, check=True)
        return next(line for line in done.stdout.splitlines() if "streamlit run" in line)

    assert "--server.address 127.0.0.1" in command()
    assert "--server.address 0.0.0.0" in command("HOST=0.0.0.0")
