"""What the campaign tick hands a channel and what a channel answers (pure types, no I/O).

The channel clients (``dashboard/channels/``) implement :class:`Channel`; the tick
(``services/campaign_tick.py``) reaches them through a :class:`ChannelDirectory` its caller passes
in, so the use case never imports the application shell. Channels never raise for provider or
network errors: every such failure is a :class:`SendResult`, so the tick can decide between
retrying, pausing the campaign or giving up.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one recipient on one channel, as composed by the campaign tick."""

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


class ChannelDirectory(Protocol):
    """Where the tick finds a channel by name: the client, or None when it has no credentials
    (its messages then wait, flagged ``channel_not_configured``)."""

    def channel(self, name: str) -> Channel | None: ...
