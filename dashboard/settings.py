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
#: The value `.streamlit/secrets.toml.example` shows for REVISIT_COOKIE_KEY (a test reads it from there).
SECRETS_EXAMPLE_COOKIE_KEY = "<64 random hex characters: python -c 'import secrets; print(secrets.token_hex(32))'>"
PLACEHOLDER_SECRETS = frozenset(
    {"", "changethis", "change-me", "changeme", "secret", "demo-cookie-key", SECRETS_EXAMPLE_COOKIE_KEY.lower()}
)
MIN_COOKIE_KEY_LENGTH = 32
#: Longest a sign-in cookie may stay valid; longer settings are refused.
MAX_COOKIE_EXPIRY_DAYS = 30.0


def is_placeholder_secret(value: str) -> bool:
    """A value copied from an example rather than chosen: a known placeholder, or ``<…>`` text."""
    text = value.strip()
    return text.lower() in PLACEHOLDER_SECRETS or (text.startswith("<") and text.endswith(">"))


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
        "Demo mode: without REVISIT_COOKIE_KEY, cookies are signed with a random key made once for this "
        "installation (kept in REVISIT_DATA_DIR); shows the demo logins on the login page.",
        "REVISIT_DEMO_MODE",
    )  # type: ignore[assignment]
    cookie_key: str = _setting(
        "",
        "Secret key that signs the login cookie. Required outside demo mode; at least 32 characters; "
        "placeholders (changethis, the value in secrets.toml.example, any <…>) are refused.",
        "REVISIT_COOKIE_KEY",
    )  # type: ignore[assignment]
    cookie_expiry_days: float = _setting(
        1.0,
        "Days a login cookie stays valid (more than 0, at most 30); a cookie claiming a later expiry is refused.",
        "REVISIT_COOKIE_EXPIRY_DAYS",
    )  # type: ignore[assignment]
    data_dir: str = _setting(
        str(PROJECT_ROOT / "data"),
        "Folder of this installation's own files; demo mode keeps its random cookie key there "
        "(.demo_cookie_key, readable by the owner only).",
        "REVISIT_DATA_DIR",
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
    max_upload_mb: int = _setting(200, "Largest file the import accepts, in megabytes.", "REVISIT_MAX_UPLOAD_MB")  # type: ignore[assignment]
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
        500_000,
        "Most rows one read of a SQL source may return; a larger read is refused whole.",
        "REVISIT_SOURCE_MAX_ROWS",
    )  # type: ignore[assignment]
    source_timeout_seconds: int = _setting(
        60,
        "Seconds one statement against a SQL source may run before the source cancels it.",
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

    def __post_init__(self) -> None:
        days = self.cookie_expiry_days
        if not (0 < days <= MAX_COOKIE_EXPIRY_DAYS):  # also refuses NaN
            raise ValueError(
                f"REVISIT_COOKIE_EXPIRY_DAYS must be more than 0 and at most {MAX_COOKIE_EXPIRY_DAYS:g} days, "
                f"not {days!r}"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_demo_key(self) -> bool:
        """True when cookies are signed with the installation's demo key (demo mode, no real key)."""
        return self.demo_mode and not self._usable_cookie_key()

    def _usable_cookie_key(self) -> bool:
        return not is_placeholder_secret(self.cookie_key) and len(self.cookie_key) >= MIN_COOKIE_KEY_LENGTH

    def effective_cookie_key(self, *, demo_key: str | None = None) -> str:
        """The cookie key, refusing a missing or placeholder key outside demo mode.

        In demo mode without a real key, ``demo_key`` is used: the random key this installation
        keeps in its data folder (``dashboard.demo_key.installation_demo_key``), never a value
        derived from anything guessable.
        """
        if self._usable_cookie_key():
            return self.cookie_key
        if self.demo_mode:
            if not demo_key or len(demo_key) < MIN_COOKIE_KEY_LENGTH:
                raise RuntimeError("demo mode needs the installation's random demo key (dashboard.auth.cookie_key)")
            return demo_key
        raise RuntimeError(
            "REVISIT_COOKIE_KEY is missing or a placeholder: set it to a random string of at least "
            "32 characters (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
            "or set REVISIT_DEMO_MODE=1 for the demo."
        )


def describe_settings() -> list[dict[str, str]]:
    """Every setting with its environment variable, default and help text (for the docs)."""
    rows = []
    for spec in fields(Settings):
        default: object = "{}" if spec.name == "channel_config" else spec.default
        if spec.name == "database_url":
            default = "sqlite:///<project>/data/revisit.db"
        if spec.name == "reject_report_dir":
            default = "<project>/data/rejects"
        if spec.name == "data_dir":
            default = "<project>/data"
        rows.append(
            {"name": spec.name, "env": spec.metadata["env"], "default": str(default), "help": spec.metadata["help"]}
        )
    return rows


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """Settings from this process's environment (the only place that reads ``os.environ``)."""
    return Settings.from_env(os.environ)
