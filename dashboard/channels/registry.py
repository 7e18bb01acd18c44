"""Build a channel from settings (`Settings.channel_config`), never from the process environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dashboard.settings import is_placeholder_secret

from .base import Channel, OutboundMessage
from .email import SmtpChannel
from .line import LineChannel
from .sms import TwilioSmsChannel
from .task import StaffTaskChannel
from .wechat import WeChatTemplateChannel

CHANNEL_NAMES = ("email", "line", "sms", "wechat", "task")
_ALIASES = {"smtp": "email", "twilio": "sms"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ChannelConfigError(ValueError):
    """A channel setting is missing or malformed; the message names the setting(s)."""


_SECRET_SUFFIXES = ("PASSWORD", "TOKEN", "SECRET")


def _required(config: Mapping[str, str], channel: str, *keys: str) -> list[str]:
    missing = [k for k in keys if not str(config.get(k, "")).strip()]
    if missing:
        raise ChannelConfigError(f"channel {channel!r} needs setting(s): {', '.join(missing)}")
    # A credential copied from an example (changethis, <your token>) is as good as none.
    copied = [k for k in keys if k.endswith(_SECRET_SUFFIXES) and is_placeholder_secret(str(config[k]))]
    if copied:
        raise ChannelConfigError(
            f"channel {channel!r}: setting(s) {', '.join(copied)} hold a placeholder, not a real credential"
        )
    return [str(config[k]).strip() for k in keys]


def _optional(config: Mapping[str, str], key: str) -> str | None:
    value = str(config.get(key, "")).strip()
    return value or None


def _number(config: Mapping[str, str], key: str, default: float) -> float:
    raw = _optional(config, key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ChannelConfigError(f"setting {key} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ChannelConfigError(f"setting {key} must be positive, got {raw!r}")
    return value


def _flag(config: Mapping[str, str], key: str) -> bool:
    raw = (_optional(config, key) or "").lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ChannelConfigError(f"setting {key} must be true/false, got {raw!r}")


def build_channel(
    name: str,
    config: Mapping[str, str],
    *,
    create_task: Callable[[OutboundMessage], int] | None = None,
) -> Channel:
    """Channel for `name` (email|smtp, line, sms|twilio, wechat, task).

    Settings: SMTP_HOST, SMTP_PORT (587), SMTP_SENDER, SMTP_USERNAME, SMTP_PASSWORD,
    SMTP_STARTTLS, SMTP_TIMEOUT; LINE_CHANNEL_TOKEN, LINE_API_BASE, LINE_TIMEOUT;
    TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, TWILIO_API_BASE, TWILIO_TIMEOUT;
    WECHAT_APP_ID, WECHAT_APP_SECRET, WECHAT_API_BASE, WECHAT_TIMEOUT.
    The task channel takes `create_task` (from the DB layer) instead of settings.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key == "email":
        host, sender = _required(config, key, "SMTP_HOST", "SMTP_SENDER")
        port = _number(config, "SMTP_PORT", 587)
        if port != int(port) or not 0 < port < 65536:
            raise ChannelConfigError(f"setting SMTP_PORT must be a TCP port, got {config['SMTP_PORT']!r}")
        username = _optional(config, "SMTP_USERNAME")
        if username:
            _required(config, key, "SMTP_PASSWORD")
        return SmtpChannel(
            host,
            int(port),
            sender,
            username=username,
            password=_optional(config, "SMTP_PASSWORD"),
            starttls=_flag(config, "SMTP_STARTTLS"),
            timeout=_number(config, "SMTP_TIMEOUT", 10),
        )
    if key == "line":
        (token,) = _required(config, key, "LINE_CHANNEL_TOKEN")
        return LineChannel(
            token,
            base_url=_optional(config, "LINE_API_BASE") or "https://api.line.me",
            timeout=_number(config, "LINE_TIMEOUT", 10),
        )
    if key == "sms":
        sid, auth, sender = _required(config, key, "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
        return TwilioSmsChannel(
            sid,
            auth,
            sender,
            base_url=_optional(config, "TWILIO_API_BASE") or "https://api.twilio.com",
            timeout=_number(config, "TWILIO_TIMEOUT", 10),
        )
    if key == "wechat":
        app_id, secret = _required(config, key, "WECHAT_APP_ID", "WECHAT_APP_SECRET")
        return WeChatTemplateChannel(
            app_id,
            secret,
            base_url=_optional(config, "WECHAT_API_BASE") or "https://api.weixin.qq.com",
            timeout=_number(config, "WECHAT_TIMEOUT", 10),
        )
    if key == "task":
        if create_task is None:
            raise ChannelConfigError("channel 'task' needs a create_task callable from the DB layer")
        return StaffTaskChannel(create_task)
    raise ValueError(f"unknown channel {name!r}; expected one of {', '.join(CHANNEL_NAMES)}")
