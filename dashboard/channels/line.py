"""LINE Messaging API push channel."""

from __future__ import annotations

from typing import Any

import httpx

from .base import (
    OutboundMessage,
    SendOutcome,
    SendResult,
    check_channel,
    idempotency_uuid,
    json_or_empty,
    parse_retry_after,
    server_error,
    transport_failure,
)

PUSH_PATH = "/v2/bot/message/push"
# LINE's wording for the two 429s; only the monthly one must pause the campaign.
MONTHLY_LIMIT_MESSAGE = "you have reached your monthly limit"
RETRY_KEY_ACCEPTED_MESSAGE = "retry key is already accepted"
MAX_TEXT_LENGTH = 5000  # LINE rejects longer text messages with a 400


def line_retry_key(dedupe_key: str) -> str:
    """X-Line-Retry-Key for a dedupe key: the same key after a crash makes LINE answer 409."""
    return str(idempotency_uuid(dedupe_key))


class LineChannel:
    """Push text messages to a LINE user id via POST /v2/bot/message/push."""

    name = "line"

    def __init__(
        self,
        access_token: str,
        base_url: str = "https://api.line.me",
        timeout: float = 10,
        client: httpx.Client | None = None,
    ) -> None:
        if not access_token:
            raise ValueError("LINE access token is required")
        self._token = access_token
        self._url = base_url.rstrip("/") + PUSH_PATH
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._timeout = timeout

    def send(self, message: OutboundMessage) -> SendResult:
        check_channel(self.name, message)
        if len(message.body) > MAX_TEXT_LENGTH:
            return SendResult(
                SendOutcome.FAILED,
                error=f"text longer than {MAX_TEXT_LENGTH} characters",
            )
        headers = {
            "Authorization": f"Bearer {self._token}",
            "X-Line-Retry-Key": line_retry_key(message.dedupe_key),
        }
        payload = {
            "to": message.to,
            "messages": [{"type": "text", "text": message.body}],
        }
        try:
            response = self._client.post(self._url, json=payload, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        return self._map(response)

    def _map(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        data = json_or_empty(response)
        text = str(data.get("message", ""))
        if 200 <= status < 300:
            return SendResult(SendOutcome.DELIVERED, _provider_id(response, data), status_code=status)
        if status == 409 and RETRY_KEY_ACCEPTED_MESSAGE in text.lower():
            # An earlier attempt with this retry key was accepted (e.g. before a crash).
            request_id = response.headers.get("x-line-accepted-request-id")
            return SendResult(
                SendOutcome.DELIVERED,
                _provider_id(response, data, request_id),
                status_code=status,
            )
        if status == 429:
            if MONTHLY_LIMIT_MESSAGE in text.lower():
                return SendResult(SendOutcome.QUOTA_EXHAUSTED, error=text, status_code=status)
            return SendResult(
                SendOutcome.RETRY,
                error=text or "LINE rate limit",
                retry_after_seconds=parse_retry_after(response.headers.get("retry-after")),
                status_code=status,
            )
        if status >= 500:
            return server_error(response, "LINE")
        return SendResult(SendOutcome.FAILED, error=_error_text(status, data), status_code=status)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _provider_id(response: httpx.Response, data: dict[str, Any], request_id: str | None = None) -> str | None:
    """Prefer the sent message id; fall back to LINE's request id."""
    sent = data.get("sentMessages")
    if isinstance(sent, list) and sent and isinstance(sent[0], dict) and sent[0].get("id"):
        return str(sent[0]["id"])
    return request_id or response.headers.get("x-line-request-id")


def _error_text(status: int, data: dict[str, Any]) -> str:
    """LINE's message plus its per-property details, e.g. 'The request body has 1 error(s) [messages[0].text: ...]'."""
    text = str(data.get("message") or f"LINE HTTP {status}")
    details = data.get("details")
    if isinstance(details, list) and details:
        parts = [f"{d.get('property', '?')}: {d.get('message', '')}" for d in details if isinstance(d, dict)]
        text += " [" + "; ".join(parts) + "]"
    return text
