"""SMTP email channel (smtplib)."""

from __future__ import annotations

import html
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr

from .base import (
    OutboundMessage,
    SendOutcome,
    SendResult,
    check_channel,
    idempotency_uuid,
)

DEDUPE_HEADER = "X-Revisit-Dedupe"


def _one_line(value: str) -> str:
    """Header values must not carry CR/LF (header injection, and the email package refuses them)."""
    return " ".join(value.splitlines()).strip()


class SmtpChannel:
    """Send multipart text+HTML email; one SMTP connection per message."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10,
    ) -> None:
        if not host or not sender:
            raise ValueError("SMTP host and sender are required")
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout
        sender_addr = parseaddr(sender)[1]
        self._domain = sender_addr.rpartition("@")[2] or "revisit.local"

    def build(self, message: OutboundMessage) -> EmailMessage:
        """The MIME message that `send` transmits (public so previews and tests can inspect it)."""
        msg = EmailMessage(policy=SMTP_POLICY)
        msg["From"] = self._sender
        msg["To"] = message.to
        msg["Subject"] = _one_line(message.subject)  # policy RFC 2047-encodes non-ASCII (UTF-8)
        # Deterministic Message-ID: a resend after a crash carries the same id, so the
        # receiving side and our bounce handling can recognise it as the same message.
        msg["Message-ID"] = f"<{idempotency_uuid(message.dedupe_key)}@{self._domain}>"
        msg[DEDUPE_HEADER] = _one_line(message.dedupe_key)
        if message.unsubscribe_url:
            msg["List-Unsubscribe"] = f"<{_one_line(message.unsubscribe_url)}>"
            if message.unsubscribe_url.startswith("https://"):
                # RFC 8058 one-click; required by large mailbox providers for bulk mail.
                msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(_text_body(message), charset="utf-8")
        msg.add_alternative(_html_body(message), subtype="html", charset="utf-8")
        return msg

    def send(self, message: OutboundMessage) -> SendResult:
        check_channel(self.name, message)
        to_addr = message.to.strip()
        if "@" not in to_addr or any(c in to_addr for c in "\r\n<>,; "):
            return SendResult(SendOutcome.FAILED, error=f"invalid email recipient {message.to!r}")
        mime = self.build(message)
        message_id = str(mime["Message-ID"])
        try:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        except (OSError, smtplib.SMTPException) as exc:
            return _map_smtp_error(exc)
        try:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._username:
                smtp.login(self._username, self._password or "")
            smtp.send_message(mime, from_addr=parseaddr(self._sender)[1], to_addrs=[to_addr])
        except (OSError, smtplib.SMTPException) as exc:
            _close_quietly(smtp)
            return _map_smtp_error(exc)
        # The server accepted DATA: the message is ours no longer. A failing QUIT must not
        # turn into a RETRY, or the recipient would get it twice.
        _close_quietly(smtp)
        return SendResult(SendOutcome.DELIVERED, message_id, status_code=250)

    def close(self) -> None:
        """Nothing to release: connections are per message."""


def _text_body(message: OutboundMessage) -> str:
    parts = [message.body]
    if message.link and message.link not in message.body:
        parts.append(message.link)
    if message.unsubscribe_url:
        parts.append(f"--\n{message.unsubscribe_url}")
    return "\n\n".join(parts) + "\n"


def _html_body(message: OutboundMessage) -> str:
    lang = html.escape(message.locale, quote=True)
    # The body is customer-facing text, never markup: escape it (names can contain '<').
    body = html.escape(message.body).replace("\n", "<br>\n")
    parts = [f"<p>{body}</p>"]
    if message.link and message.link not in message.body:
        href = html.escape(message.link, quote=True)
        parts.append(f'<p><a href="{href}">{href}</a></p>')
    if message.unsubscribe_url:
        href = html.escape(message.unsubscribe_url, quote=True)
        parts.append(f'<p style="font-size:small;color:#888"><a href="{href}">unsubscribe</a></p>')
    inner = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>\n<body>\n{inner}\n</body></html>\n'
    )


def _map_smtp_error(exc: BaseException) -> SendResult:
    """SMTP 4xx → RETRY, 5xx → FAILED; network trouble → RETRY."""
    code: int | None = None
    detail = ""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # Single recipient per message, so the one entry is ours.
        for code_, resp in exc.recipients.values():
            code, detail = code_, _decode(resp)
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, detail = exc.smtp_code, _decode(exc.smtp_error)
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendResult(SendOutcome.FAILED, error=f"SMTP server does not support: {exc}")
    if code is None or code < 0:
        # Connection refused, timeout, server disconnected, TLS failure...
        kind = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else type(exc).__name__
        return SendResult(SendOutcome.RETRY, error=f"SMTP {kind}: {exc}")
    outcome = SendOutcome.RETRY if 400 <= code < 500 else SendOutcome.FAILED
    return SendResult(outcome, error=f"SMTP {code}: {detail}", status_code=code)


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
