"""The starter library: nine playbook messages (3 segments × 3 timings) in zh-TW, zh-CN and en.

Segments follow the retention playbook: *stable returners* (book them in before the window
opens), *at risk* (bring them back gently once past due) and *high value* (make it personal).
Texts are Revisit's own wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class PlaybookEntry:
    key: str
    segment: str  # stable | at_risk | high_value
    audience: dict[str, Any]
    trigger: dict[str, Any]
    templates: dict[str, str]
    names: dict[str, str]  # campaign name per locale


_STABLE = {"lifecycle_segments": ["stable"]}
_AT_RISK = {"lifecycle_segments": ["churn_risk"]}
_HIGH = {"high_value": True}

PLAYBOOK: Final[tuple[PlaybookEntry, ...]] = (
    PlaybookEntry(
        "stable_due_7",
        "stable",
        _STABLE,
        {"kind": "due", "offset_days": -7, "tolerance_days": 2},
        {
            "zh-TW": "{name} 您好!距離上次來店快 {window_days} 天了,要不要先幫您保留熟悉的時段?點這裡一鍵預約:{booking_link}",
            "zh-CN": "{name} 您好!距离上次到店快 {window_days} 天了,要不要先帮您留好习惯的时段?点这里一键预约:{booking_link}",
            "en": "Hi {name}! It's almost {window_days} days since your last visit. Shall we hold your usual time slot? Book in one tap: {booking_link}",
        },
        {"zh-TW": "穩定客・到期前 7 天", "zh-CN": "稳定客・到期前 7 天", "en": "Stable · 7 days before due"},
    ),
    PlaybookEntry(
        "stable_due_3",
        "stable",
        _STABLE,
        {"kind": "due", "offset_days": -3, "tolerance_days": 1},
        {
            "zh-TW": "{name},這週{store}的熱門時段所剩不多,想幫您先排一個嗎?{booking_link}",
            "zh-CN": "{name},这周{store}的热门时段不多了,需要先帮您排一个吗?{booking_link}",
            "en": "{name}, popular slots at {store} are filling up this week. Want us to pencil you in? {booking_link}",
        },
        {"zh-TW": "穩定客・到期前 3 天", "zh-CN": "稳定客・到期前 3 天", "en": "Stable · 3 days before due"},
    ),
    PlaybookEntry(
        "stable_due_week",
        "stable",
        _STABLE,
        {"kind": "due", "offset_days": 0, "tolerance_days": 1},
        {
            "zh-TW": "{name} 您好,想延續上次由 {staff} 服務嗎?我們可以先替您保留 {staff} 的時段:{booking_link}",
            "zh-CN": "{name} 您好,想继续让 {staff} 为您服务吗?我们可以先帮您保留 {staff} 的时段:{booking_link}",
            "en": "Hi {name}, would you like {staff} again? We can keep one of {staff}'s slots for you: {booking_link}",
        },
        {"zh-TW": "穩定客・到期當週", "zh-CN": "稳定客・到期当周", "en": "Stable · due this week"},
    ),
    PlaybookEntry(
        "at_risk_overdue_7",
        "at_risk",
        _AT_RISK,
        {"kind": "due", "offset_days": 7, "tolerance_days": 2},
        {
            "zh-TW": "{name},最近天氣忽冷忽熱,{pet_name}的毛髮和肌膚也需要照顧喔~要幫您安排一次快速整理嗎?{booking_link}",
            "zh-CN": "{name},最近天气忽冷忽热,{pet_name}的毛发和皮肤也需要照顾哦~要帮您安排一次快速护理吗?{booking_link}",
            "en": "{name}, with the weather swinging, {pet_name}'s coat and skin could use some care. Shall we book a quick tidy-up? {booking_link}",
        },
        {"zh-TW": "流失風險・逾期 7 天", "zh-CN": "流失风险・逾期 7 天", "en": "At risk · 7 days overdue"},
    ),
    PlaybookEntry(
        "at_risk_overdue_14",
        "at_risk",
        _AT_RISK,
        {"kind": "due", "offset_days": 14, "tolerance_days": 3},
        {
            "zh-TW": "{name} 您好,想關心一下上次服務後的狀況還滿意嗎?若需要,我們幫您找一個最方便的時間:{booking_link}",
            "zh-CN": "{name} 您好,想关心一下上次服务后的效果还满意吗?如有需要,我们帮您找个最方便的时间:{booking_link}",
            "en": "Hi {name}, just checking in: were you happy with your last visit? If you'd like, we'll find the most convenient time for you: {booking_link}",
        },
        {"zh-TW": "流失風險・逾期 14 天", "zh-CN": "流失风险・逾期 14 天", "en": "At risk · 14 days overdue"},
    ),
    PlaybookEntry(
        "at_risk_season",
        "at_risk",
        _AT_RISK,
        {"kind": "seasonal", "festival": "mid_autumn", "days_before": 10, "tolerance_days": 2},
        {
            "zh-TW": "換季了!{name},這段時間特別需要深層護理,要不要先預約一次洗護?{booking_link}",
            "zh-CN": "换季啦!{name},这段时间特别需要深层护理,要不要先预约一次洗护?{booking_link}",
            "en": "The season is changing, {name}. It's the best time for a deep-care treatment. Book yours here: {booking_link}",
        },
        {"zh-TW": "流失風險・換季提醒", "zh-CN": "流失风险・换季提醒", "en": "At risk · season change"},
    ),
    PlaybookEntry(
        "high_value_due_10",
        "high_value",
        _HIGH,
        {"kind": "due", "offset_days": -10, "tolerance_days": 2},
        {
            "zh-TW": "{name} 您好,{staff} 下週多出兩個時段,想優先留一個給您,方便嗎?{booking_link}",
            "zh-CN": "{name} 您好,{staff} 下周空出两个时段,想优先给您留一个,方便吗?{booking_link}",
            "en": "Hi {name}, {staff} has two extra slots next week and we'd like to offer you one first. Interested? {booking_link}",
        },
        {"zh-TW": "高價值・到期前 10 天", "zh-CN": "高价值・到期前 10 天", "en": "High value · 10 days before due"},
    ),
    PlaybookEntry(
        "high_value_addon",
        "high_value",
        _HIGH,
        {"kind": "due", "offset_days": -5, "tolerance_days": 2},
        {
            "zh-TW": "{name},上次的護理效果很不錯,這次要不要延續同一套療程?我們已為您準備好:{booking_link}",
            "zh-CN": "{name},上次的护理效果很好,这次要不要继续同一套疗程?我们已为您准备好:{booking_link}",
            "en": "{name}, your last treatment worked beautifully. Would you like the same routine again? It's ready for you: {booking_link}",
        },
        {"zh-TW": "高價值・專屬加購建議", "zh-CN": "高价值・专属加购建议", "en": "High value · tailored add-on"},
    ),
    PlaybookEntry(
        "high_value_lny",
        "high_value",
        _HIGH,
        {"kind": "seasonal", "festival": "lunar_new_year", "days_before": 21, "tolerance_days": 3},
        {
            "zh-TW": "{name},年前預約總是最搶手,我們先為您保留一個最舒服的時段,需要嗎?{booking_link}",
            "zh-CN": "{name},年前预约总是最抢手,我们先为您保留一个最舒服的时段,需要吗?{booking_link}",
            "en": "{name}, the weeks before Lunar New Year book up fast. Shall we reserve your favourite time now? {booking_link}",
        },
        {"zh-TW": "高價值・春節前預約", "zh-CN": "高价值・春节前预约", "en": "High value · before Lunar New Year"},
    ),
)

PLAYBOOK_KEYS: Final = tuple(entry.key for entry in PLAYBOOK)
#: Description prefix of a campaign made from playbook entry ``key``: ``playbook:<key>``.
PLAYBOOK_PREFIX: Final = "playbook:"


def playbook_entry(key: str) -> PlaybookEntry:
    for entry in PLAYBOOK:
        if entry.key == key:
            return entry
    raise KeyError(key)
