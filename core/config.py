"""The one settings object of Revisit, read from the environment in one place.

Every setting has a default and a help text; ``docs/SETTINGS.md`` lists them all and a test
keeps that list complete. Outside demo mode the settings refuse placeholder secrets.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "secret", "demo-cookie-key"})


def _setting(default: object, help_text: str, env: str) -> object:
    return field(default=default, metadata={"help": help_text, "env": env})


@dataclass(frozen=True)
class Settings:
    """Application settings; build with :func:`Settings.from_env`."""

    database_url: str = _setting(
        f"sqlite:///{PROJECT_ROOT / 'data' / 'revisit.db'}",
        "SQLAlchemy URL of the database. SQLite file by default; postgresql+psycopg://… for chains.",
        "DATABASE_URL",
    )  # type: ignore[assignment]
    demo_mode: bool = _setting(
        False,
        "Demo mode: allows the built-in demo cookie key and shows the demo logins on the login page.",
        "REVISIT_DEMO_MODE",
    )  # type: ignore[assignment]
    cookie_key: str = _setting(
        "",
        "Secret key that signs the login cookie. Required outside demo mode; at least 32 characters.",
        "REVISIT_COOKIE_KEY",
    )  # type: ignore[assignment]
    cookie_expiry_days: float = _setting(
        1.0, "Days a login cookie stays valid.", "REVISIT_COOKIE_EXPIRY_DAYS"
    )  # type: ignore[assignment]
    lockout_attempts: int = _setting(
        5, "Failed logins in the lockout window that lock an account.", "REVISIT_LOCKOUT_ATTEMPTS"
    )  # type: ignore[assignment]
    lockout_minutes: int = _setting(
        15, "Minutes an account stays locked after too many failed logins.", "REVISIT_LOCKOUT_MINUTES"
    )  # type: ignore[assignment]
    default_country: str = _setting(
        "TW", "Country used to read phone numbers without a country code (TW or CN).", "REVISIT_DEFAULT_COUNTRY"
    )  # type: ignore[assignment]
    max_upload_mb: int = _setting(
        200, "Largest file the import accepts, in megabytes.", "REVISIT_MAX_UPLOAD_MB"
    )  # type: ignore[assignment]
    reject_report_dir: str = _setting(
        str(PROJECT_ROOT / "data" / "rejects"),
        "Folder where import reject reports (CSV) are written.",
        "REVISIT_REJECT_DIR",
    )  # type: ignore[assignment]
    worker_interval_seconds: int = _setting(
        60, "Seconds between two ticks of the campaign worker.", "REVISIT_WORKER_INTERVAL"
    )  # type: ignore[assignment]
    warm_interval_seconds: int = _setting(
        60,
        "Seconds between two checks of the worker for stale page figures (a check reads four fingerprints; "
        "a pass recomputes what an import, a loyalty change or a send made stale, every user's Overview first).",
        "REVISIT_WARM_INTERVAL",
    )  # type: ignore[assignment]
    worker_claim_timeout_seconds: int = _setting(
        300,
        "Seconds after which a message claimed by a worker that died is claimed again.",
        "REVISIT_CLAIM_TIMEOUT",
    )  # type: ignore[assignment]
    worker_max_attempts: int = _setting(
        5, "Send attempts of one message before it is marked failed.", "REVISIT_WORKER_MAX_ATTEMPTS"
    )  # type: ignore[assignment]
    worker_backoff_seconds: float = _setting(
        60.0, "First retry delay of a failed send; doubles with every attempt.", "REVISIT_WORKER_BACKOFF_SECONDS"
    )  # type: ignore[assignment]
    booking_base_url: str = _setting(
        "https://book.example",
        "Start of the booking links in messages; the store code and the message's tracking code are added.",
        "REVISIT_BOOKING_BASE_URL",
    )  # type: ignore[assignment]
    source_hosts: str = _setting(
        "",
        "Database hosts a registered SQL source may point at (comma-separated host or host:port); "
        "every other host is refused. Empty: no network source is allowed.",
        "REVISIT_SOURCE_HOSTS",
    )  # type: ignore[assignment]
    source_dirs: str = _setting(
        "",
        "Folders whose SQLite files may be registered as SQL sources (comma-separated absolute paths). "
        "Empty: no SQLite source is allowed.",
        "REVISIT_SOURCE_DIRS",
    )  # type: ignore[assignment]
    source_key: str = _setting(
        "",
        "Secret key that encrypts the connection URLs of registered SQL sources (at least 32 characters). "
        "Empty: the cookie key is used; changing it means registering the sources again.",
        "REVISIT_SOURCE_KEY",
    )  # type: ignore[assignment]
    source_max_rows: int = _setting(
        500_000, "Most rows one read of a SQL source may return; a larger read is refused whole.",
        "REVISIT_SOURCE_MAX_ROWS",
    )  # type: ignore[assignment]
    source_timeout_seconds: int = _setting(
        60, "Seconds one statement against a SQL source may run before the source cancels it.",
        "REVISIT_SOURCE_TIMEOUT",
    )  # type: ignore[assignment]
    channel_config: Mapping[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "Channel credentials: every variable starting with SMTP_, LINE_, TWILIO_ or WECHAT_.",
            "env": "SMTP_* LINE_* TWILIO_* WECHAT_*",
        },
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping, converting each value to its field type."""
        values: dict[str, object] = {}
        for spec in fields(cls):
            name = spec.metadata["env"]
            if spec.name == "channel_config":
                prefixes = ("SMTP_", "LINE_", "TWILIO_", "WECHAT_")
                values[spec.name] = {k: v for k, v in env.items() if k.startswith(prefixes)}
                continue
            if name not in env or env[name] == "":
                continue
            raw = env[name]
            kind = type(spec.default)
            if kind is bool:
                values[spec.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            elif kind in (int, float):
                values[spec.name] = kind(raw)
            else:
                values[spec.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def effective_cookie_key(self) -> str:
        """The cookie key, refusing a missing or placeholder key outside demo mode."""
        key = self.cookie_key
        if key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < 32:
            if self.demo_mode:
                # Demo mode only: a key derived from the database URL keeps cookies stable across restarts.
                import hashlib

                return hashlib.sha256(("revisit-demo:" + self.database_url).encode()).hexdigest()
            raise RuntimeError(
                "REVISIT_COOKIE_KEY is missing or a placeholder: set it to a random string of at least "
                "32 characters (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
                "or set REVISIT_DEMO_MODE=1 for the demo."
            )
        return key


def describe_settings() -> list[dict[str, str]]:
    """Every setting with its environment variable, default and help text (for the docs)."""
    rows = []
    for spec in fields(Settings):
        default: object = "{}" if spec.name == "channel_config" else spec.default
        if spec.name == "database_url":
            default = "sqlite:///<project>/data/revisit.db"
        if spec.name == "reject_report_dir":
            default = "<project>/data/rejects"
        rows.append(
            {"name": spec.name, "env": spec.metadata["env"], "default": str(default), "help": spec.metadata["help"]}
        )
    return rows


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """Settings from this process's environment (the only place that reads ``os.environ``)."""
    return Settings.from_env(os.environ)
