"""Twilio Programmable Messaging SMS channel."""

from __future__ import annotations

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

# Twilio error codes that mean "this recipient must not be messaged again on SMS".
OPT_OUT_CODES = frozenset({21610})  # 21610: recipient replied STOP


class TwilioSmsChannel:
    """Send SMS via POST /2010-04-01/Accounts/{sid}/Messages.json (form-encoded, basic auth)."""

    name = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str = "https://api.twilio.com",
        timeout: float = 10,
        client: httpx.Client | None = None,
    ) -> None:
        if not (account_sid and auth_token and from_number):
            raise ValueError("Twilio account_sid, auth_token and from_number are required")
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from = from_number
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def send(self, message: OutboundMessage) -> SendResult:
        check_channel(self.name, message)
        form = {"To": message.to, "From": self._from, "Body": message.body}
        # Twilio has no documented idempotency for Messages; the header is harmless and lets
        # a proxy or our logs correlate retries. Real protection is the worker's dedupe.
        headers = {"Idempotency-Key": str(idempotency_uuid(message.dedupe_key))}
        try:
            response = self._client.post(
                self._url,
                data=form,
                headers=headers,
                auth=self._auth,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        return self._map(response)

    def _map(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        data = json_or_empty(response)
        if status in (200, 201):
            sid = data.get("sid")
            return SendResult(SendOutcome.DELIVERED, str(sid) if sid else None, status_code=status)
        if status == 429:
            return SendResult(
                SendOutcome.RETRY,
                error=_error_text(status, data),
                retry_after_seconds=parse_retry_after(response.headers.get("retry-after")),
                status_code=status,
            )
        if status >= 500:
            return server_error(response, "Twilio")
        code = data.get("code")
        return SendResult(
            SendOutcome.FAILED,
            error=_error_text(status, data),
            status_code=status,
            opted_out=code in OPT_OUT_CODES,
        )

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _error_text(status: int, data: dict[str, object]) -> str:
    code = data.get("code")
    text = str(data.get("message") or f"Twilio HTTP {status}")
    return f"Twilio {code}: {text}" if code is not None else text
