"""Staff follow-up channel: 'sending' creates a front-desk task with the suggested script."""

from __future__ import annotations

from collections.abc import Callable

from .base import OutboundMessage, SendOutcome, SendResult, check_channel


class StaffTaskChannel:
    """Delegates to an injected `create_task` (the DB layer), which should be idempotent on
    `message.dedupe_key` so a replay after a crash returns the existing task's id."""

    name = "task"

    def __init__(self, create_task: Callable[[OutboundMessage], int]) -> None:
        self._create_task = create_task

    def send(self, message: OutboundMessage) -> SendResult:
        check_channel(self.name, message)
        # Database errors propagate on purpose: they belong to the worker's transaction,
        # not to a provider, and must roll back the claim rather than be recorded as FAILED.
        task_id = self._create_task(message)
        return SendResult(SendOutcome.DELIVERED, str(task_id))

    def close(self) -> None:
        """Nothing to release."""
