"""Channel contract: the message handed to a channel and the result it returns.

Channels never raise for provider or network errors: every such failure is mapped to a
`SendResult` so the worker can decide between retrying, pausing the campaign or giving up.
They raise only for programming errors (e.g. a message routed to the wrong channel).
"""

from __future__ import annotations

import email.utils
import time
import uuid
from typing import Any

import httpx

# The message, the result and the channel protocol are pure types of the campaign tick.
from core.campaigns.delivery import Channel, OutboundMessage, SendOutcome, SendResult

__all__ = ["Channel", "OutboundMessage", "SendOutcome", "SendResult"]

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


def check_channel(channel_name: str, message: OutboundMessage) -> None:
    """Raise if the worker routed a message to the wrong channel (a programming error)."""
    if message.channel != channel_name:
        raise ValueError(f"message {message.message_id} is for channel {message.channel!r}, not {channel_name!r}")


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
