"""Channel contract: the message handed to a channel and the result it returns.

Channels never raise for provider or network errors: every such failure is mapped to a
`SendResult` so the worker can decide between retrying, pausing the campaign or giving up.
They raise only for programming errors (e.g. a message routed to the wrong channel).
"""

from __future__ import annotations

import email.utils
import enum
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

# Fixed namespace so the provider-side idempotency key derived from a dedupe key is the
# same in every process and after every restart (RELIABILITY item 17).
REVISIT_NAMESPACE = uuid.UUID("6f1c7a52-3d7e-5b0e-9a4c-2f4b8d1e0c11")

# Provider retry-after values above this are treated as "pause", not "sleep in the worker".
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0


def idempotency_uuid(dedupe_key: str) -> uuid.UUID:
    """Deterministic UUID for a dedupe key (uuid5), stable across processes and restarts."""
    if not dedupe_key:
        raise ValueError("dedupe_key must be a non-empty string")
    return uuid.uuid5(REVISIT_NAMESPACE, dedupe_key)


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one recipient on one channel, as composed by the campaign worker."""

    message_id: str
    dedupe_key: str
    channel: str
    to: str
    body: str
    subject: str = ""
    locale: str = "zh-TW"
    template_id: str | None = None
    template_data: Mapping[str, str] = field(default_factory=dict)
    link: str | None = None
    unsubscribe_url: str | None = None

    def __post_init__(self) -> None:
        # A missing dedupe key would silently disable crash-safe retries: refuse it early.
        if not self.dedupe_key:
            raise ValueError("OutboundMessage.dedupe_key is required")


class SendOutcome(enum.StrEnum):
    """What the worker should do next with a message."""

    DELIVERED = "delivered"  # provider accepted it (or already had it): mark sent
    RETRY = "retry"  # transient: back off and retry with the same dedupe key
    FAILED = "failed"  # permanent: record the error, do not retry
    QUOTA_EXHAUSTED = "quota_exhausted"  # pause the campaign; retrying cannot help


@dataclass(frozen=True)
class SendResult:
    """Outcome of one send attempt; `opted_out` tells the worker to record an opt-out."""

    outcome: SendOutcome
    provider_message_id: str | None = None
    error: str | None = None
    retry_after_seconds: float | None = None
    status_code: int | None = None
    opted_out: bool = False

    @property
    def delivered(self) -> bool:
        return self.outcome is SendOutcome.DELIVERED


@runtime_checkable
class Channel(Protocol):
    """A message channel. `send` must not raise for provider errors."""

    name: str

    def send(self, message: OutboundMessage) -> SendResult: ...

    def close(self) -> None: ...


def check_channel(channel_name: str, message: OutboundMessage) -> None:
    """Raise if the worker routed a message to the wrong channel (a programming error)."""
    if message.channel != channel_name:
        raise ValueError(
            f"message {message.message_id} is for channel {message.channel!r}, not {channel_name!r}"
        )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def transport_failure(exc: httpx.HTTPError) -> SendResult:
    """Map a network-level httpx error to RETRY without leaking the URL (it may hold a token)."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        # Nothing reached the provider: a retry cannot duplicate.
        detail = "connection failed"
    elif isinstance(exc, httpx.TimeoutException):
        # The provider may have accepted the request: retry must reuse the dedupe key.
        detail = "timed out (delivery unknown)"
    else:
        detail = "transport error (delivery unknown)"
    return SendResult(SendOutcome.RETRY, error=f"{detail}: {type(exc).__name__}")


def json_or_empty(response: httpx.Response) -> dict[str, Any]:
    """Response JSON object, or {} when the body is not a JSON object (e.g. a proxy's HTML)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def server_error(response: httpx.Response, provider: str) -> SendResult:
    """5xx → RETRY, keeping any Retry-After the provider sent."""
    return SendResult(
        SendOutcome.RETRY,
        error=f"{provider} HTTP {response.status_code}",
        retry_after_seconds=parse_retry_after(response.headers.get("retry-after")),
        status_code=response.status_code,
    )
