"""Complaint recovery: what the front desk says when it calls a customer who complained.

A recovery task stores the customer's own words; the call script is built from them when shown,
in the reader's language: the complaint is named back to the customer, an apology fits what went
wrong (waiting, the result, attitude, price, being rushed) and a concrete way back is offered.
"""

from __future__ import annotations

from typing import Final

#: Words that reveal what a complaint is about, checked in this order (first match wins).
TOPIC_WORDS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("wait", ("等太久", "等很久", "延誤", "延误", "遲到", "迟到", "久候", "wait", "late", "delay")),
    ("result", ("結果", "结果", "效果", "不如預期", "不如预期", "不滿意", "不满意", "result", "not as expected")),
    ("attitude", ("態度", "态度", "不禮貌", "不礼貌", "服務差", "服务差", "rude", "attitude", "impolite")),
    ("price", ("價格", "价格", "太貴", "太贵", "收費", "收费", "price", "expensive", "overcharged")),
    ("rushed", ("太趕", "太赶", "匆忙", "草率", "rushed", "hurried")),
)

SCRIPTS: Final[dict[str, dict[str, str]]] = {
    "wait": {
        "zh-TW": "{name}您好,我是店長。您上次提到「{comment}」,讓您久等真的很抱歉。下次為您保留準時的優先時段,"
        "並招待一次加值護理,幫您安排哪天比較方便?",
        "zh-CN": "{name}您好,我是店长。您上次提到“{comment}”,让您久等真的很抱歉。下次为您保留准时的优先时段,"
        "并赠送一次加值护理,帮您安排哪天比较方便?",
        "en": 'Hello {name}, this is the store manager. You told us "{comment}" after your last visit, and we are '
        "sorry you had to wait. We will hold an on-time priority slot for you with a complimentary "
        "treatment; which day suits you?",
    },
    "result": {
        "zh-TW": "{name}您好,我是店長。您上次提到「{comment}」,很抱歉沒有達到您的期待。想邀請您回來,"
        "由資深師傅免費為您調整,您哪天方便?",
        "zh-CN": "{name}您好,我是店长。您上次提到“{comment}”,很抱歉没有达到您的期待。想邀请您回来,"
        "由资深师傅免费为您调整,您哪天方便?",
        "en": 'Hello {name}, this is the store manager. You told us "{comment}", and we are sorry the result was '
        "not what you hoped for. Please come back for a free adjustment by a senior stylist; which day "
        "suits you?",
    },
    "attitude": {
        "zh-TW": "{name}您好,我是店長。您上次提到「{comment}」,這不是我們該有的服務,我向您道歉,也已和同仁檢討。"
        "下次由我親自為您安排,並送上一份小心意。",
        "zh-CN": "{name}您好,我是店长。您上次提到“{comment}”,这不是我们该有的服务,我向您道歉,也已和同事复盘。"
        "下次由我亲自为您安排,并送上一份小心意。",
        "en": 'Hello {name}, this is the store manager. You told us "{comment}". That is not the service we stand '
        "for: I apologise, and I have talked it through with the team. I will look after your next visit "
        "myself, with a small thank-you gift.",
    },
    "price": {
        "zh-TW": "{name}您好,我是店長。謝謝您告訴我們「{comment}」。想跟您說明這次項目的內容,也介紹更划算的方案"
        "與點數折抵,下次來店為您折抵一次費用。",
        "zh-CN": "{name}您好,我是店长。谢谢您告诉我们“{comment}”。想跟您说明这次项目的内容,也介绍更划算的方案"
        "与积分抵扣,下次到店为您抵扣一次费用。",
        "en": 'Hello {name}, this is the store manager. Thank you for telling us "{comment}". Let me explain what '
        "the service included and show you our better-value plans and points; your next visit comes with "
        "a discount.",
    },
    "rushed": {
        "zh-TW": "{name}您好,我是店長。您上次提到「{comment}」,很抱歉讓您覺得匆忙。下次為您安排更充裕的時段,"
        "並免費加做一項您想要的細節。",
        "zh-CN": "{name}您好,我是店长。您上次提到“{comment}”,很抱歉让您觉得匆忙。下次为您安排更充裕的时段,"
        "并免费加做一项您想要的细节。",
        "en": 'Hello {name}, this is the store manager. You told us "{comment}", and we are sorry it felt '
        "rushed. Next time we will book you a longer slot and add a detail of your choice for free.",
    },
    "other": {
        "zh-TW": "{name}您好,我是店長。您上次提到「{comment}」,非常抱歉。想先了解當時的狀況,再為您安排補救,"
        "方便聊幾分鐘嗎?",
        "zh-CN": "{name}您好,我是店长。您上次提到“{comment}”,非常抱歉。想先了解当时的情况,再为您安排补救,"
        "方便聊几分钟吗?",
        "en": 'Hello {name}, this is the store manager. You told us "{comment}", and we are sorry. Could we talk '
        "for a few minutes, so I understand what happened and can put it right?",
    },
}

NO_COMMENT: Final[dict[str, str]] = {
    "zh-TW": "上次的體驗不太好",
    "zh-CN": "上次的体验不太好",
    "en": "your last visit was disappointing",
}


def complaint_topic(comment: str | None) -> str:
    """What a complaint is about: ``wait``, ``result``, ``attitude``, ``price``, ``rushed`` or ``other``."""
    text = (comment or "").strip().lower()
    for topic, words in TOPIC_WORDS:
        if any(word in text for word in words):
            return topic
    return "other"


def recovery_script(comment: str | None, *, name: str | None, locale: str) -> str:
    """The call script for a complaint, in ``locale`` (``zh-TW``, ``zh-CN`` or ``en``; others read
    as ``zh-TW``), quoting the customer's own words."""
    scripts = SCRIPTS[complaint_topic(comment)]
    language = locale if locale in scripts else "zh-TW"
    said = (comment or "").strip() or NO_COMMENT[language]
    return scripts[language].format(name=(name or "").strip(), comment=said)
