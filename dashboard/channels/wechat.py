"""WeChat Official Account template-message channel."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from .base import (
    OutboundMessage,
    SendOutcome,
    SendResult,
    check_channel,
    idempotency_uuid,
    json_or_empty,
    server_error,
    transport_failure,
)

# The stable token: within its lifetime every caller gets the same token, so several workers
# share one without a token server; only a forced refresh rotates it (20 a day, 30 s apart).
TOKEN_PATH = "/cgi-bin/stable_token"
SEND_PATH = "/cgi-bin/message/template/send"
TOKEN_SAFETY_MARGIN_SECONDS = 300  # refresh early: WeChat's clock and ours differ

TOKEN_INVALID_CODES = frozenset({40001, 40014, 42001})  # invalid / malformed / expired token
OPT_OUT_CODES = frozenset({43004})  # user no longer follows the account
QUOTA_CODES = frozenset({45009})  # daily API quota reached
BUSY_CODES = frozenset({-1})  # "system busy"
# WeChat's "this client_msg_id was already used" answer: an earlier attempt got through.
DUPLICATE_CODES = frozenset({45065})


class _TokenError(Exception):
    """Token fetch failed; carries the SendResult to return instead of sending."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.error)
        self.result = result


class WeChatTemplateChannel:
    """Send template messages to an openid; caches the stable access token per process."""

    name = "wechat"

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        base_url: str = "https://api.weixin.qq.com",
        timeout: float = 10,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (app_id and app_secret):
            raise ValueError("WeChat app_id and app_secret are required")
        self._app_id = app_id
        self._secret = app_secret
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._clock = clock
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._token: str | None = None
        self._token_expires_at = 0.0
        # Several worker threads may share one channel: one fetch serves them all.
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        check_channel(self.name, message)
        if not message.template_id:
            return SendResult(SendOutcome.FAILED, error="WeChat template message needs a template_id")
        payload = self._payload(message)
        try:
            token = self._access_token()
            result, errcode = self._post(token, payload)
            if errcode in TOKEN_INVALID_CODES:
                # Token revoked or rotated elsewhere: refresh once and retry the send once.
                # Safe: WeChat rejected the call, so nothing was sent.
                token = self._access_token(force_refresh_of=token)
                result, errcode = self._post(token, payload)
                if errcode in TOKEN_INVALID_CODES:
                    return SendResult(
                        SendOutcome.RETRY,
                        error=f"WeChat token still invalid after refresh: {result.error}",
                    )
            return result
        except _TokenError as exc:
            return exc.result

    def _payload(self, message: OutboundMessage) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "touser": message.to,
            "template_id": message.template_id,
            "data": {key: {"value": str(value)} for key, value in message.template_data.items()},
            # WeChat deduplicates openid + client_msg_id for ~10 minutes (limit 64 bytes).
            "client_msg_id": idempotency_uuid(message.dedupe_key).hex,
        }
        if message.link:
            payload["url"] = message.link
        return payload

    def _access_token(self, force_refresh_of: str | None = None) -> str:
        with self._lock:
            now = self._clock()
            stale = force_refresh_of is not None and self._token == force_refresh_of
            if self._token and not stale and now < self._token_expires_at:
                return self._token
            token, lifetime = self._fetch_token(force=False)
            if stale and token == force_refresh_of:
                # WeChat still hands out the token it just rejected: rotate it, once.
                token, lifetime = self._fetch_token(force=True)
            self._token = token
            self._token_expires_at = now + max(lifetime - TOKEN_SAFETY_MARGIN_SECONDS, 0)
            return self._token

    def _fetch_token(self, *, force: bool) -> tuple[str, float]:
        payload = {
            "grant_type": "client_credential",
            "appid": self._app_id,
            "secret": self._secret,
            "force_refresh": force,
        }
        try:
            response = self._client.post(self._base + TOKEN_PATH, json=payload, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise _TokenError(transport_failure(exc)) from None
        if response.status_code >= 500:
            raise _TokenError(server_error(response, "WeChat token"))
        data = json_or_empty(response)
        token = data.get("access_token")
        if response.status_code == 200 and isinstance(token, str) and token:
            return token, float(data.get("expires_in", 7200))
        errcode = data.get("errcode")
        outcome = SendOutcome.RETRY if errcode in BUSY_CODES else SendOutcome.FAILED
        # Wrong secret / IP not whitelisted are configuration errors: no point retrying.
        raise _TokenError(
            SendResult(
                outcome,
                error=f"WeChat token error {errcode}: {data.get('errmsg', '')}",
                status_code=response.status_code,
            )
        )

    def _post(self, token: str, payload: dict[str, Any]) -> tuple[SendResult, int | None]:
        # ensure_ascii=False: WeChat shows \\uXXXX escapes literally in some templates.
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            response = self._client.post(
                self._base + SEND_PATH,
                params={"access_token": token},
                content=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            return transport_failure(exc), None
        if response.status_code >= 500:
            return server_error(response, "WeChat"), None
        data = json_or_empty(response)
        if response.status_code != 200 or "errcode" not in data:
            return SendResult(
                SendOutcome.FAILED,
                error=f"WeChat HTTP {response.status_code}",
                status_code=response.status_code,
            ), None
        return _map_errcode(data, response.status_code), data["errcode"]

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _map_errcode(data: dict[str, Any], status: int) -> SendResult:
    errcode = data.get("errcode")
    error = f"WeChat {errcode}: {data.get('errmsg', '')}"
    if errcode == 0:
        msgid = data.get("msgid")
        return SendResult(
            SendOutcome.DELIVERED,
            str(msgid) if msgid is not None else None,
            status_code=status,
        )
    if errcode in DUPLICATE_CODES:
        return SendResult(SendOutcome.DELIVERED, None, error=error, status_code=status)
    if errcode in QUOTA_CODES:
        return SendResult(SendOutcome.QUOTA_EXHAUSTED, error=error, status_code=status)
    if errcode in OPT_OUT_CODES:
        return SendResult(SendOutcome.FAILED, error=error, status_code=status, opted_out=True)
    if errcode in BUSY_CODES:
        return SendResult(SendOutcome.RETRY, error=error, status_code=status)
    return SendResult(SendOutcome.FAILED, error=error, status_code=status)
