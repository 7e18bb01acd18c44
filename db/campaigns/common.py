"""Shared pieces of the campaign repository: constants and small helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

UTC = UTC
_CHUNK: Final = 5000
STOP_WORDS: Final = frozenset(
    {"STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "T", "退訂", "退订", "取消訂閱", "取消订阅"}
)
CONSENT_COLUMNS: Final = {
    "line": "consent_line",
    "sms": "consent_sms",
    "email": "consent_email",
    "wechat": "consent_wechat",
}
EDITABLE_STATUSES: Final = ("draft", "pending_approval", "paused")
MESSAGE_FRAME_COLUMNS: Final = (
    "message_id",
    "campaign_id",
    "customer_id",
    "store_id",
    "status",
    "reason",
    "sent_at",
    "cost",
    "variant",
    "channel",
    "scheduled_for",
    "attempts",
    "error",
    "tracking_code",
    "locale",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
