"""The SQL-source policy of this installation, read from the settings (allowed hosts, folders, key)."""

from __future__ import annotations

from pathlib import Path

from dashboard.settings import PLACEHOLDER_SECRETS, Settings
from db.sql_source import ReadLimits
from services.sources import SourcePolicy


def _listed(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def source_policy(settings: Settings) -> SourcePolicy:
    """Where sources may point and the key that encrypts their URLs (the cookie key if none is set)."""
    key = settings.source_key
    if key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < 32:
        try:
            key = settings.effective_cookie_key()
        except RuntimeError:
            key = ""
    return SourcePolicy(
        app_database_url=settings.database_url,
        secret_key=key,
        allowed_hosts=_listed(settings.source_hosts),
        allowed_dirs=tuple(Path(p) for p in _listed(settings.source_dirs)),
        limits=ReadLimits(max_rows=settings.source_max_rows, timeout_seconds=settings.source_timeout_seconds),
    )
