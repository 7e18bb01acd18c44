"""Message channels (email, LINE, SMS, WeChat, staff task) behind one `Channel` protocol."""

from .base import Channel, OutboundMessage, SendOutcome, SendResult
from .email import SmtpChannel
from .line import LineChannel, line_retry_key
from .registry import CHANNEL_NAMES, ChannelConfigError, build_channel
from .sms import TwilioSmsChannel
from .task import StaffTaskChannel
from .wechat import WeChatTemplateChannel

__all__ = [
    "CHANNEL_NAMES",
    "Channel",
    "ChannelConfigError",
    "LineChannel",
    "OutboundMessage",
    "SendOutcome",
    "SendResult",
    "SmtpChannel",
    "StaffTaskChannel",
    "TwilioSmsChannel",
    "WeChatTemplateChannel",
    "build_channel",
    "line_retry_key",
]
