"""Complaint recovery scripts (core/campaigns/recovery.py): topic, language, the customer's words."""

from __future__ import annotations

import pytest

from core.campaigns.recovery import complaint_topic, recovery_script


@pytest.mark.parametrize(
    ("comment", "topic"),
    [
        ("等太久", "wait"),
        ("預約時間被延誤", "wait"),
        ("预约时间被延误", "wait"),
        ("Had to wait 40 minutes", "wait"),
        ("結果不如預期", "result"),
        ("效果不如预期", "result"),
        ("態度不好", "attitude"),
        ("态度不好", "attitude"),
        ("The stylist was rude", "attitude"),
        ("價格太貴", "price"),
        ("价格太贵", "price"),
        ("Too expensive", "price"),
        ("做得太趕", "rushed"),
        ("做得太赶", "rushed"),
        ("停車不方便", "other"),
        ("", "other"),
        (None, "other"),
    ],
)
def test_topic_of_the_demo_and_common_complaints(comment: str | None, topic: str) -> None:
    assert complaint_topic(comment) == topic


def test_script_quotes_the_customer_and_offers_a_way_back() -> None:
    zh_tw = recovery_script("結果不如預期", name="林小美", locale="zh-TW")
    assert zh_tw.startswith("林小美您好") and "「結果不如預期」" in zh_tw and "免費" in zh_tw
    zh_cn = recovery_script("等太久", name="王芳", locale="zh-CN")
    assert "“等太久”" in zh_cn and "优先时段" in zh_cn
    en = recovery_script("態度不好", name="Amy", locale="en")
    assert en.startswith("Hello Amy") and '"態度不好"' in en and "apologise" in en


def test_empty_comment_and_unknown_locale() -> None:
    assert "上次的體驗不太好" in recovery_script(None, name="陳先生", locale="zh-TW")
    assert recovery_script("價格太貴", name="A", locale="ja") == recovery_script("價格太貴", name="A", locale="zh-TW")


def test_a_script_is_text_even_for_markup_in_the_comment() -> None:
    script = recovery_script("<img src=x onerror=alert(1)>", name="{name}", locale="en")
    assert "<img src=x onerror=alert(1)>" in script and script.startswith("Hello {name}")
