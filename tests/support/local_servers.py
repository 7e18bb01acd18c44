"""Local fake provider servers (LINE, Twilio, WeChat, SMTP) bound to 127.0.0.1 on a free port.

Each is a context manager exposing `.base_url` / `.port` and `.requests` (what it received).
HTTP fakes answer from a script queue when one is set (`enqueue(...)`), else a realistic
default success, so tests only script the interesting calls.
"""

from __future__ import annotations

import base64
import collections
import email
import email.message
import email.policy
import itertools
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

Headers = Mapping[str, str]


@dataclass
class RecordedRequest:
    """One request as the fake server saw it."""

    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode("utf-8").partition(":")
        return user, password


@dataclass
class ScriptedResponse:
    status: int
    body: Any = None  # dict/list → JSON, str/bytes → raw
    headers: Headers = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (to provoke client timeouts)


class FakeHTTPServer:
    """Threaded HTTP server with a response script; subclass `default_response` per provider."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._script: dict[str | None, collections.deque[ScriptedResponse]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------
    def enqueue(
        self,
        status: int,
        body: Any = None,
        headers: Headers | None = None,
        *,
        delay: float = 0.0,
        path: str | None = None,
    ) -> None:
        """Answer the next request (to `path`, or any path if None) with this response."""
        with self._lock:
            self._script[path].append(ScriptedResponse(status, body, dict(headers or {}), delay))

    def default_response(self, request: RecordedRequest) -> ScriptedResponse:
        return ScriptedResponse(200, {})

    def respond(self, request: RecordedRequest) -> ScriptedResponse:
        """Pick the response: path-specific script, then global script, then the default."""
        with self._lock:
            for key in (request.path, None):
                if self._script[key]:
                    return self._script[key].popleft()
        return self.default_response(request)

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=split.path,
                    query={k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with fake._lock:
                    fake.requests.append(request)
                reply = fake.respond(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if isinstance(reply.body, (dict, list)):
                    payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
                    content_type = "application/json; charset=utf-8"
                else:
                    raw = reply.body or b""
                    payload = raw.encode("utf-8") if isinstance(raw, str) else raw
                    content_type = "text/plain; charset=utf-8"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test); nothing to answer

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True  # a handler sleeping for a timeout test must not block shutdown
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeLineServer(FakeHTTPServer):
    """LINE Messaging API push endpoint; a retry key that was accepted once gets 409, like LINE."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted_retry_keys: dict[str, str] = {}  # retry key → request id
        self._ids = itertools.count(1)

    def respond(self, request: RecordedRequest) -> ScriptedResponse:
        key = request.headers.get("x-line-retry-key")
        with self._lock:
            accepted = self.accepted_retry_keys.get(key) if key else None
        if accepted is not None:
            return ScriptedResponse(
                409,
                {"message": "The retry key is already accepted", "sentMessages": []},
                {
                    "x-line-request-id": f"req-{next(self._ids)}",
                    "x-line-accepted-request-id": accepted,
                },
            )
        reply = super().respond(request)
        if key and 200 <= reply.status < 300:
            # LINE only blocks keys whose request was accepted; after a 5xx the key may be reused.
            with self._lock:
                self.accepted_retry_keys[key] = reply.headers.get("x-line-request-id", f"req-{key}")
        return reply

    def default_response(self, request: RecordedRequest) -> ScriptedResponse:
        n = next(self._ids)
        return ScriptedResponse(
            200,
            {"sentMessages": [{"id": f"{460000000000000000 + n}", "quoteToken": f"qt-{n}"}]},
            {"x-line-request-id": f"req-{n}"},
        )


class FakeTwilioServer(FakeHTTPServer):
    """Twilio Messages.json endpoint; default answer is 201 with a fresh SM sid."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    def default_response(self, request: RecordedRequest) -> ScriptedResponse:
        form = request.form()
        return ScriptedResponse(
            201,
            {
                "sid": f"SM{next(self._ids):032x}",
                "status": "queued",
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
            },
        )


class FakeWeChatServer(FakeHTTPServer):
    """WeChat stable token + template send; the send checks the token like WeChat does (40001).

    Like ``/cgi-bin/stable_token``: while the current token is valid every caller gets it back;
    ``force_refresh`` rotates it (the old one stops working)."""

    TOKEN_PATH = "/cgi-bin/stable_token"
    SEND_PATH = "/cgi-bin/message/template/send"

    def __init__(self, expires_in: int = 7200) -> None:
        super().__init__()
        self.expires_in = expires_in
        self.issued_tokens: list[str] = []
        self.valid_tokens: set[str] = set()
        self._msgids = itertools.count(1000)

    @property
    def token_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == self.TOKEN_PATH]

    @property
    def send_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == self.SEND_PATH]

    def invalidate_tokens(self) -> None:
        """Simulate a token revoked or rotated by another process."""
        with self._lock:
            self.valid_tokens.clear()

    def default_response(self, request: RecordedRequest) -> ScriptedResponse:
        if request.path == self.TOKEN_PATH:
            force = bool(request.json().get("force_refresh"))
            with self._lock:
                current = self.issued_tokens[-1] if self.issued_tokens else None
                if force or current not in self.valid_tokens:
                    current = f"TOKEN-{len(self.issued_tokens) + 1}"
                    self.issued_tokens.append(current)
                    self.valid_tokens = {current}
            return ScriptedResponse(200, {"access_token": current, "expires_in": self.expires_in})
        if request.path == self.SEND_PATH:
            if request.query.get("access_token") not in self.valid_tokens:
                return ScriptedResponse(
                    200,
                    {
                        "errcode": 40001,
                        "errmsg": "invalid credential, access_token is invalid or not latest",
                    },
                )
            return ScriptedResponse(200, {"errcode": 0, "errmsg": "ok", "msgid": next(self._msgids)})
        return ScriptedResponse(404, {"errcode": 404, "errmsg": "not found"})

    def respond(self, request: RecordedRequest) -> ScriptedResponse:
        # Token validity is checked before the script so a scripted send answer never hides
        # a stale-token bug in the client.
        if request.path == self.SEND_PATH and request.query.get("access_token") not in self.valid_tokens:
            return self.default_response(request)
        return super().respond(request)


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class _EphemeralController(Controller):
    """aiosmtpd Controller that can bind port 0 (it needs the real port to self-check)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSmtpServer:
    """aiosmtpd server collecting messages; set `rcpt_reply` / `data_reply` (e.g. "451 …") to refuse."""

    def __init__(self) -> None:
        self.requests: list[ReceivedMail] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self._controller: _EphemeralController | None = None

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.requests

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.requests.append(
            ReceivedMail(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
        return "250 Message accepted for delivery"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        assert self._controller is not None, "server not started"
        return self._controller.port

    @property
    def base_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> FakeSmtpServer:
        self._controller = _EphemeralController(self, hostname="127.0.0.1", port=0)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (for 'server down' tests)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
