"""Channel clients against local fake providers (RELIABILITY items 15, 17, 18)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.channels import (
    Channel,
    ChannelConfigError,
    LineChannel,
    OutboundMessage,
    SendOutcome,
    SmtpChannel,
    StaffTaskChannel,
    TwilioSmsChannel,
    WeChatTemplateChannel,
    build_channel,
    line_retry_key,
)
from tests.support.local_servers import (
    FakeLineServer,
    FakeSmtpServer,
    FakeTwilioServer,
    FakeWeChatServer,
    closed_port,
)

FAST = 0.2  # client timeout for timeout tests; fake servers sleep longer than this


def msg(channel: str, **overrides: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "message_id": "m-1",
        "dedupe_key": "campaign-7:customer-42:2024-05-01",
        "channel": channel,
        "to": "U4af4980629",
        "body": "王小姐您好，好久不見！本週回訪享 9 折。",
        "subject": "好久不見",
        "template_id": None,
        "template_data": {},
        "link": "https://shop.example.tw/book",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)


# --------------------------------------------------------------------------- LINE


@pytest.fixture
def line_server() -> Iterator[FakeLineServer]:
    with FakeLineServer() as server:
        yield server


@pytest.fixture
def line(line_server: FakeLineServer) -> Iterator[LineChannel]:
    channel = LineChannel("line-token", base_url=line_server.base_url, timeout=FAST)
    yield channel
    channel.close()


def test_line_push_request_shape(line_server: FakeLineServer, line: LineChannel) -> None:
    result = line.send(msg("line"))

    assert result.outcome is SendOutcome.DELIVERED
    assert result.provider_message_id == "460000000000000001"
    (req,) = line_server.requests
    assert (req.method, req.path) == ("POST", "/v2/bot/message/push")
    assert req.headers["authorization"] == "Bearer line-token"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-line-retry-key"] == line_retry_key("campaign-7:customer-42:2024-05-01")
    assert req.json() == {
        "to": "U4af4980629",
        "messages": [{"type": "text", "text": "王小姐您好，好久不見！本週回訪享 9 折。"}],
    }


def test_line_retry_key_is_a_stable_uuid_per_dedupe_key() -> None:
    key = line_retry_key("k-1")
    assert key == line_retry_key("k-1")  # same in every process: uuid5, no randomness
    assert key != line_retry_key("k-2")
    assert str(uuid.UUID(key)) == key  # hyphenated hex UUID, as LINE requires


def test_line_replay_after_crash_is_deduplicated(line_server: FakeLineServer) -> None:
    """Item 17: accepted, then killed before marking sent → the replay gets 409 → DELIVERED once."""
    first = LineChannel("t", base_url=line_server.base_url, timeout=FAST)
    assert first.send(msg("line")).delivered
    first.close()

    restarted = LineChannel("t", base_url=line_server.base_url, timeout=FAST)
    replay = restarted.send(msg("line", message_id="m-1-again"))
    restarted.close()

    assert replay.outcome is SendOutcome.DELIVERED
    assert replay.status_code == 409
    assert replay.provider_message_id == "req-1"  # x-line-accepted-request-id of the original
    keys = {r.headers["x-line-retry-key"] for r in line_server.requests}
    assert len(line_server.requests) == 2 and len(keys) == 1
    assert len(line_server.accepted_retry_keys) == 1  # one delivery on LINE's side


def test_line_timeout_then_retry_is_one_delivery(line_server: FakeLineServer, line: LineChannel) -> None:
    """LINE accepted the push but answered too slowly: RETRY, and the retry is a 409 duplicate."""
    line_server.enqueue(
        200,
        {"sentMessages": [{"id": "1"}]},
        {"x-line-request-id": "slow"},
        delay=FAST * 3,
    )

    first = line.send(msg("line"))
    second = line.send(msg("line"))

    assert first.outcome is SendOutcome.RETRY and "timed out" in (first.error or "")
    assert second.outcome is SendOutcome.DELIVERED and second.status_code == 409


def test_line_monthly_limit_pauses_campaign(line_server: FakeLineServer, line: LineChannel) -> None:
    line_server.enqueue(429, {"message": "You have reached your monthly limit."})
    result = line.send(msg("line"))
    assert result.outcome is SendOutcome.QUOTA_EXHAUSTED
    assert result.retry_after_seconds is None


def test_line_rate_limit_retries_with_retry_after(line_server: FakeLineServer, line: LineChannel) -> None:
    line_server.enqueue(429, {"message": "Too Many Requests"}, {"Retry-After": "7"})
    result = line.send(msg("line"))
    assert result.outcome is SendOutcome.RETRY
    assert result.retry_after_seconds == 7.0
    assert result.status_code == 429


def test_line_server_error_retries_and_key_stays_usable(line_server: FakeLineServer, line: LineChannel) -> None:
    line_server.enqueue(500, {"message": "Internal Server Error"})
    assert line.send(msg("line")).outcome is SendOutcome.RETRY
    # LINE does not block a retry key whose request failed with 5xx.
    assert line.send(msg("line")).outcome is SendOutcome.DELIVERED
    assert line_server.requests[1].headers["x-line-retry-key"] == line_server.requests[0].headers["x-line-retry-key"]


def test_line_bad_request_fails_with_line_message(line_server: FakeLineServer, line: LineChannel) -> None:
    line_server.enqueue(
        400,
        {
            "message": "The request body has 1 error(s)",
            "details": [{"message": "May not be empty", "property": "messages[0].text"}],
        },
    )
    result = line.send(msg("line"))
    assert result.outcome is SendOutcome.FAILED
    assert result.error == "The request body has 1 error(s) [messages[0].text: May not be empty]"
    assert result.status_code == 400


def test_line_connection_refused_retries() -> None:
    channel = LineChannel("t", base_url=f"http://127.0.0.1:{closed_port()}", timeout=FAST)
    result = channel.send(msg("line"))
    channel.close()
    assert result.outcome is SendOutcome.RETRY and "connection failed" in (result.error or "")


# --------------------------------------------------------------------------- Twilio


@pytest.fixture
def twilio_server() -> Iterator[FakeTwilioServer]:
    with FakeTwilioServer() as server:
        yield server


@pytest.fixture
def sms(twilio_server: FakeTwilioServer) -> Iterator[TwilioSmsChannel]:
    channel = TwilioSmsChannel("AC123", "secret", "+15005550006", base_url=twilio_server.base_url, timeout=FAST)
    yield channel
    channel.close()


def test_twilio_request_shape(twilio_server: FakeTwilioServer, sms: TwilioSmsChannel) -> None:
    result = sms.send(msg("sms", to="+886912345678"))

    assert result.outcome is SendOutcome.DELIVERED
    assert result.provider_message_id == "SM" + "0" * 31 + "1"
    (req,) = twilio_server.requests
    assert (req.method, req.path) == (
        "POST",
        "/2010-04-01/Accounts/AC123/Messages.json",
    )
    assert req.basic_auth() == ("AC123", "secret")
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.form() == {
        "To": "+886912345678",
        "From": "+15005550006",
        "Body": msg("sms").body,
    }
    assert req.headers["idempotency-key"] == line_retry_key(msg("sms").dedupe_key)


def test_twilio_stop_reply_is_an_opt_out(twilio_server: FakeTwilioServer, sms: TwilioSmsChannel) -> None:
    twilio_server.enqueue(
        400,
        {
            "code": 21610,
            "message": "Attempt to send to unsubscribed recipient",
            "status": 400,
        },
    )
    result = sms.send(msg("sms", to="+886912345678"))
    assert result.outcome is SendOutcome.FAILED
    assert result.opted_out is True
    assert "21610" in (result.error or "")


def test_twilio_invalid_number_fails_without_opt_out(twilio_server: FakeTwilioServer, sms: TwilioSmsChannel) -> None:
    twilio_server.enqueue(400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
    result = sms.send(msg("sms", to="+886000"))
    assert result.outcome is SendOutcome.FAILED and result.opted_out is False


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [(429, {"Retry-After": "3"}, 3.0), (503, {}, None)],
)
def test_twilio_transient_errors_retry(
    twilio_server: FakeTwilioServer,
    sms: TwilioSmsChannel,
    status: int,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    twilio_server.enqueue(status, {"code": 20429, "message": "Too Many Requests"}, headers)
    result = sms.send(msg("sms", to="+886912345678"))
    assert result.outcome is SendOutcome.RETRY
    assert result.retry_after_seconds == retry_after


def test_twilio_timeout_retries(twilio_server: FakeTwilioServer, sms: TwilioSmsChannel) -> None:
    twilio_server.enqueue(201, {"sid": "SMslow"}, delay=FAST * 3)
    assert sms.send(msg("sms", to="+886912345678")).outcome is SendOutcome.RETRY


# --------------------------------------------------------------------------- WeChat


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wechat_server() -> Iterator[FakeWeChatServer]:
    with FakeWeChatServer() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wechat(wechat_server: FakeWeChatServer, clock: FakeClock) -> Iterator[WeChatTemplateChannel]:
    channel = WeChatTemplateChannel("wxapp", "wxsecret", base_url=wechat_server.base_url, timeout=FAST, clock=clock)
    yield channel
    channel.close()


def wechat_msg(**overrides: Any) -> OutboundMessage:
    base: dict[str, Any] = {
        "to": "oO-sX1GYvqVAXaeiA6wvf8kfz_OE",
        "template_id": "TPL-revisit",
        "template_data": {"thing1": "王小姐", "time2": "2024年5月1日"},
    }
    base.update(overrides)
    return msg("wechat", **base)


def test_wechat_token_and_send_request_shape(wechat_server: FakeWeChatServer, wechat: WeChatTemplateChannel) -> None:
    result = wechat.send(wechat_msg())

    assert result.outcome is SendOutcome.DELIVERED and result.provider_message_id == "1000"
    token_req, send_req = wechat_server.requests
    assert (token_req.method, token_req.path) == ("POST", "/cgi-bin/stable_token")
    assert token_req.json() == {
        "grant_type": "client_credential",
        "appid": "wxapp",
        "secret": "wxsecret",
        "force_refresh": False,
    }
    assert (send_req.method, send_req.path) == (
        "POST",
        "/cgi-bin/message/template/send",
    )
    assert send_req.query == {"access_token": "TOKEN-1"}
    body = send_req.json()
    assert body == {
        "touser": "oO-sX1GYvqVAXaeiA6wvf8kfz_OE",
        "template_id": "TPL-revisit",
        "url": "https://shop.example.tw/book",
        "data": {"thing1": {"value": "王小姐"}, "time2": {"value": "2024年5月1日"}},
        "client_msg_id": uuid.UUID(line_retry_key(msg("wechat").dedupe_key)).hex,
    }
    assert "王小姐".encode() in send_req.body  # raw UTF-8, not \\u escapes


def test_wechat_token_cached_until_expiry_margin(
    wechat_server: FakeWeChatServer, wechat: WeChatTemplateChannel, clock: FakeClock
) -> None:
    assert wechat.send(wechat_msg()).delivered
    clock.now += 7200 - 300 - 1
    assert wechat.send(wechat_msg()).delivered
    assert len(wechat_server.token_requests) == 1
    clock.now += 2  # now inside the 300 s safety margin: ask WeChat again (not forced)
    assert wechat.send(wechat_msg()).delivered
    assert [r.json()["force_refresh"] for r in wechat_server.token_requests] == [False, False]
    assert wechat_server.send_requests[-1].query["access_token"] == wechat_server.issued_tokens[-1]


def test_wechat_refreshes_token_once_on_40001(wechat_server: FakeWeChatServer, wechat: WeChatTemplateChannel) -> None:
    assert wechat.send(wechat_msg()).delivered
    wechat_server.invalidate_tokens()  # e.g. another process fetched a new token

    result = wechat.send(wechat_msg())

    assert result.outcome is SendOutcome.DELIVERED
    assert [r.query["access_token"] for r in wechat_server.send_requests] == [
        "TOKEN-1",
        "TOKEN-1",
        "TOKEN-2",
    ]
    assert len(wechat_server.token_requests) == 2


def test_wechat_token_still_invalid_after_one_refresh_retries_later(
    wechat_server: FakeWeChatServer, wechat: WeChatTemplateChannel
) -> None:
    for _ in range(2):
        wechat_server.enqueue(
            200,
            {"errcode": 42001, "errmsg": "access_token expired"},
            path=FakeWeChatServer.SEND_PATH,
        )
    result = wechat.send(wechat_msg())
    assert result.outcome is SendOutcome.RETRY
    # The plain refresh returned the rejected token, so it was rotated once; then no loop.
    forced = [r.json()["force_refresh"] for r in wechat_server.token_requests]
    assert len(wechat_server.send_requests) == 2 and forced == [False, False, True]


def test_two_workers_share_one_wechat_token(wechat_server: FakeWeChatServer, clock: FakeClock) -> None:
    """Two worker processes each fetch the stable token: neither invalidates the other's."""
    workers = [
        WeChatTemplateChannel("wxapp", "wxsecret", base_url=wechat_server.base_url, timeout=FAST, clock=clock)
        for _ in range(2)
    ]
    try:
        for _ in range(3):
            for worker in workers:
                assert worker.send(wechat_msg()).delivered
    finally:
        for worker in workers:
            worker.close()
    assert wechat_server.issued_tokens == ["TOKEN-1"]
    assert len(wechat_server.token_requests) == 2
    assert {r.query["access_token"] for r in wechat_server.send_requests} == {"TOKEN-1"}


@pytest.mark.parametrize(
    ("errcode", "outcome", "opted_out"),
    [
        (45009, SendOutcome.QUOTA_EXHAUSTED, False),
        (43004, SendOutcome.FAILED, True),
        (-1, SendOutcome.RETRY, False),
        (40037, SendOutcome.FAILED, False),
    ],
)
def test_wechat_errcode_mapping(
    wechat_server: FakeWeChatServer,
    wechat: WeChatTemplateChannel,
    errcode: int,
    outcome: SendOutcome,
    opted_out: bool,
) -> None:
    wechat_server.enqueue(200, {"errcode": errcode, "errmsg": "x"}, path=FakeWeChatServer.SEND_PATH)
    result = wechat.send(wechat_msg())
    assert result.outcome is outcome
    assert result.opted_out is opted_out
    assert str(errcode) in (result.error or "")


def test_wechat_bad_secret_fails_without_sending(
    wechat_server: FakeWeChatServer, wechat: WeChatTemplateChannel
) -> None:
    wechat_server.enqueue(
        200,
        {"errcode": 40125, "errmsg": "invalid appsecret"},
        path=FakeWeChatServer.TOKEN_PATH,
    )
    result = wechat.send(wechat_msg())
    assert result.outcome is SendOutcome.FAILED and "40125" in (result.error or "")
    assert wechat_server.send_requests == []


def test_wechat_timeout_retries(wechat_server: FakeWeChatServer, wechat: WeChatTemplateChannel) -> None:
    wechat_server.enqueue(200, {"errcode": 0, "msgid": 1}, delay=FAST * 3, path=FakeWeChatServer.SEND_PATH)
    result = wechat.send(wechat_msg())
    assert result.outcome is SendOutcome.RETRY
    assert "wxsecret" not in (result.error or "") and "TOKEN" not in (result.error or "")


def test_wechat_missing_template_fails_without_calling(
    wechat_server: FakeWeChatServer, wechat: WeChatTemplateChannel
) -> None:
    assert wechat.send(wechat_msg(template_id=None)).outcome is SendOutcome.FAILED
    assert wechat_server.requests == []


# --------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer() as server:
        yield server


def email_msg(**overrides: Any) -> OutboundMessage:
    base: dict[str, Any] = {
        "to": "wang@example.tw",
        "subject": "好久不見，王小姐",
        "body": "<img src=x onerror=alert(1)> 您好！\n本週回訪享 9 折。",
        "unsubscribe_url": "https://shop.example.tw/u/abc",
    }
    base.update(overrides)
    return msg("email", **base)


def test_smtp_delivers_chinese_multipart_with_unsubscribe(
    smtp_server: FakeSmtpServer,
) -> None:
    channel = SmtpChannel("127.0.0.1", smtp_server.port, "美髮店 <shop@revisit.example>", timeout=2)
    result = channel.send(email_msg())

    assert result.outcome is SendOutcome.DELIVERED
    (mail,) = smtp_server.messages
    assert mail.mail_from == "shop@revisit.example"
    assert mail.rcpt_tos == ["wang@example.tw"]
    raw_headers = mail.data.split(b"\r\n\r\n", 1)[0]
    assert "好久不見".encode() not in raw_headers  # RFC 2047-encoded on the wire
    parsed = mail.message
    assert parsed["Subject"] == "好久不見，王小姐"
    assert parsed["List-Unsubscribe"] == "<https://shop.example.tw/u/abc>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["X-Revisit-Dedupe"] == "campaign-7:customer-42:2024-05-01"
    assert parsed["Message-ID"] == result.provider_message_id
    assert parsed["Message-ID"] == f"<{line_retry_key('campaign-7:customer-42:2024-05-01')}@revisit.example>"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content()
    html_part = parsed.get_body(("html",)).get_content()
    assert "本週回訪享 9 折" in text and "https://shop.example.tw/book" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_part and "<img" not in html_part
    assert "本週回訪享 9 折" in html_part


def test_smtp_without_unsubscribe_link_has_no_header(
    smtp_server: FakeSmtpServer,
) -> None:
    channel = SmtpChannel("127.0.0.1", smtp_server.port, "shop@revisit.example", timeout=2)
    assert channel.send(email_msg(unsubscribe_url=None)).delivered
    assert "List-Unsubscribe" not in smtp_server.messages[0].message


def test_smtp_server_down_retries() -> None:
    channel = SmtpChannel("127.0.0.1", closed_port(), "shop@revisit.example", timeout=FAST)
    result = channel.send(email_msg())
    assert result.outcome is SendOutcome.RETRY


@pytest.mark.parametrize(
    ("where", "reply", "outcome"),
    [
        ("rcpt", "450 4.2.1 Mailbox busy", SendOutcome.RETRY),
        ("rcpt", "550 5.1.1 No such user", SendOutcome.FAILED),
        ("data", "451 4.3.0 Try again later", SendOutcome.RETRY),
        ("data", "554 5.7.1 Rejected as spam", SendOutcome.FAILED),
    ],
)
def test_smtp_reply_codes(smtp_server: FakeSmtpServer, where: str, reply: str, outcome: SendOutcome) -> None:
    setattr(smtp_server, f"{where}_reply", reply)
    channel = SmtpChannel("127.0.0.1", smtp_server.port, "shop@revisit.example", timeout=2)
    result = channel.send(email_msg())
    assert result.outcome is outcome
    assert result.status_code == int(reply[:3])
    assert smtp_server.messages == []


def test_smtp_header_injection_in_subject_is_flattened(
    smtp_server: FakeSmtpServer,
) -> None:
    channel = SmtpChannel("127.0.0.1", smtp_server.port, "shop@revisit.example", timeout=2)
    assert channel.send(email_msg(subject="Hi\r\nBcc: victim@example.com")).delivered
    parsed = smtp_server.messages[0].message
    assert parsed["Bcc"] is None and smtp_server.messages[0].rcpt_tos == ["wang@example.tw"]


def test_smtp_invalid_recipient_fails_without_connecting() -> None:
    channel = SmtpChannel("127.0.0.1", closed_port(), "shop@revisit.example", timeout=FAST)
    assert channel.send(email_msg(to="not-an-address")).outcome is SendOutcome.FAILED


# --------------------------------------------------------------------------- task, registry, contract


def test_staff_task_channel_returns_task_id() -> None:
    seen: list[OutboundMessage] = []

    def create_task(message: OutboundMessage) -> int:
        seen.append(message)
        return 314

    result = StaffTaskChannel(create_task).send(msg("task", to="customer:42"))
    assert result.outcome is SendOutcome.DELIVERED and result.provider_message_id == "314"
    assert seen[0].body == msg("task").body


def test_registry_builds_each_channel(line_server: FakeLineServer) -> None:
    config = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "2525",
        "SMTP_SENDER": "shop@revisit.example",
        "SMTP_STARTTLS": "false",
        "LINE_CHANNEL_TOKEN": "tok",
        "LINE_API_BASE": line_server.base_url,
        "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "t",
        "TWILIO_FROM_NUMBER": "+1500",
        "WECHAT_APP_ID": "wx",
        "WECHAT_APP_SECRET": "s",
    }
    built = {
        name: build_channel(name, config, create_task=lambda m: 1)
        for name in ("email", "smtp", "line", "sms", "twilio", "wechat", "task")
    }
    assert isinstance(built["smtp"], SmtpChannel) and isinstance(built["twilio"], TwilioSmsChannel)
    assert all(isinstance(c, Channel) for c in built.values())
    assert built["line"].send(msg("line")).delivered  # LINE_API_BASE honoured
    for channel in built.values():
        channel.close()


def test_registry_errors_name_the_setting() -> None:
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        build_channel("fax", {})
    with pytest.raises(ChannelConfigError, match="TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER"):
        build_channel("sms", {"TWILIO_ACCOUNT_SID": "AC1"})
    with pytest.raises(ChannelConfigError, match="LINE_CHANNEL_TOKEN"):
        build_channel("line", {"LINE_CHANNEL_TOKEN": "  "})
    with pytest.raises(ChannelConfigError, match="SMTP_PORT"):
        build_channel("email", {"SMTP_HOST": "h", "SMTP_SENDER": "a@b", "SMTP_PORT": "smtp"})
    with pytest.raises(ChannelConfigError, match="create_task"):
        build_channel("task", {})


def test_wrong_channel_or_missing_dedupe_key_is_a_programming_error(
    line: LineChannel,
) -> None:
    with pytest.raises(ValueError, match="not 'line'"):
        line.send(msg("sms"))
    with pytest.raises(ValueError, match="dedupe_key"):
        msg("line", dedupe_key="")


def test_smtp_silent_server_times_out_and_retries() -> None:
    """A server that accepts TCP but never greets: the client timeout maps to RETRY."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # never accept(): the kernel completes the handshake, no greeting
        channel = SmtpChannel("127.0.0.1", listener.getsockname()[1], "shop@revisit.example", timeout=FAST)
        result = channel.send(email_msg())
    assert result.outcome is SendOutcome.RETRY
    assert "timed out" in (result.error or "")
