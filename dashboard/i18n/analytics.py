"""Strings of the analytics pages: KPIs (names, meaning, what to do), segments and their actions,
priority reasons, Segments, Customer 360 and Stores."""

from __future__ import annotations


def _t(zh_tw: str, zh_cn: str, en: str) -> dict[str, str]:
    return {"zh-TW": zh_tw, "zh-CN": zh_cn, "en": en}


# kpi key -> (name, meaning, what to do), each as (zh-TW, zh-CN, en)
_KPIS = {
    "revisit_rate_30": (
        ("30 天回訪率", "30 天回访率", "Revisit rate, 30 days"),
        (
            "到店後 30 天內再回到同一門市(多店合看時:其中任一門市)的比例;只算已滿 30 天的到店。",
            "到店后 30 天内再回到同一门店(多店合看时:其中任一门店)的比例;只算已满 30 天的到店。",
            "Share of visits followed by another visit at the same store (several stores together: at any of them) within 30 days; visits at least 30 days old.",
        ),
        (
            "偏低時:結帳時就預約下次、到期前 3 天提醒。",
            "偏低时:结账时就预约下次、到期前 3 天提醒。",
            "If low: book the next visit at checkout; remind 3 days before due.",
        ),
    ),
    "revisit_rate_60": (
        ("60 天回訪率", "60 天回访率", "Revisit rate, 60 days"),
        (
            "到店後 60 天內再回到同一門市(多店合看時:其中任一門市)的比例;只算已滿 60 天的到店。",
            "到店后 60 天内再回到同一门店(多店合看时:其中任一门店)的比例;只算已满 60 天的到店。",
            "Share of visits followed by another visit at the same store (several stores together: at any of them) within 60 days; visits at least 60 days old.",
        ),
        (
            "偏低時:檢查逾期名單,主動聯繫。",
            "偏低时:检查逾期名单,主动联系。",
            "If low: work the overdue list and reach out.",
        ),
    ),
    "revisit_rate_90": (
        ("90 天回訪率", "90 天回访率", "Revisit rate, 90 days"),
        (
            "到店後 90 天內再回到同一門市(多店合看時:其中任一門市)的比例;只算已滿 90 天的到店。",
            "到店后 90 天内再回到同一门店(多店合看时:其中任一门店)的比例;只算已满 90 天的到店。",
            "Share of visits followed by another visit at the same store (several stores together: at any of them) within 90 days; visits at least 90 days old.",
        ),
        (
            "偏低時:為沉睡客人安排喚醒活動。",
            "偏低时:为沉睡客人安排唤醒活动。",
            "If low: schedule a wake-up campaign for sleeping customers.",
        ),
    ),
    "first_revisit_rate_30": (
        ("新客 30 天回訪率", "新客 30 天回访率", "First-visit revisit, 30 days"),
        (
            "第一次到這間門市的客人 30 天內再回來的比例。",
            "第一次到这间门店的客人 30 天内再回来的比例。",
            "Share of first visits to the store followed by a second there within 30 days.",
        ),
        (
            "偏低時:新客離店前預約第二次,並送回訪禮。",
            "偏低时:新客离店前预约第二次,并送回访礼。",
            "If low: book the second visit before new customers leave; add a return gift.",
        ),
    ),
    "first_revisit_rate_60": (
        ("新客 60 天回訪率", "新客 60 天回访率", "First-visit revisit, 60 days"),
        (
            "第一次到這間門市的客人 60 天內再回來的比例。",
            "第一次到这间门店的客人 60 天内再回来的比例。",
            "Share of first visits to the store followed by a second there within 60 days.",
        ),
        (
            "偏低時:檢視新客的服務體驗與追蹤訊息。",
            "偏低时:检视新客的服务体验与追踪消息。",
            "If low: review the first-visit experience and follow-up messages.",
        ),
    ),
    "first_revisit_rate_90": (
        ("新客 90 天回訪率", "新客 90 天回访率", "First-visit revisit, 90 days"),
        (
            "第一次到這間門市的客人 90 天內再回來的比例。",
            "第一次到这间门店的客人 90 天内再回来的比例。",
            "Share of first visits to the store followed by a second there within 90 days.",
        ),
        ("偏低時:調整新客歡迎流程。", "偏低时:调整新客欢迎流程。", "If low: rework the welcome series."),
    ),
    "revisit_interval_days": (
        ("回訪間隔(天)", "回访间隔(天)", "Revisit interval (days)"),
        (
            "同一門市兩次到店之間的中位天數,越短越好。",
            "同一门店两次到店之间的中位天数,越短越好。",
            "Median days between consecutive visits at the store; shorter is better.",
        ),
        (
            "變長時:依個人週期提早提醒。",
            "变长时:依个人周期提早提醒。",
            "If it grows: remind earlier, on each customer's own cycle.",
        ),
    ),
    "wake_up_rate": (
        ("沉睡喚醒率", "沉睡唤醒率", "Wake-up rate"),
        (
            "聯繫過的沉睡客人在 30 天內回來的比例(只算已滿 30 天的聯繫)。",
            "联系过的沉睡客人在 30 天内回来的比例(只算已满 30 天的联系)。",
            "Contacted sleeping customers who visit within 30 days (contacts at least 30 days old).",
        ),
        (
            "偏低時:換更個人化的訊息或更有吸引力的優惠。",
            "偏低时:换更个性化的消息或更有吸引力的优惠。",
            "If low: make the message more personal or the offer stronger.",
        ),
    ),
    "push_conversion_rate": (
        ("推播轉預約率", "推播转预约率", "Push-to-booking conversion"),
        (
            "送達的訊息在 7 天內帶來預約的比例(只算已滿 7 天的訊息)。",
            "送达的消息在 7 天内带来预约的比例(只算已满 7 天的消息)。",
            "Delivered messages followed by a booking within 7 days (messages at least 7 days old).",
        ),
        (
            "偏低時:測試不同文案與發送時段。",
            "偏低时:测试不同文案与发送时段。",
            "If low: test other wording and send times.",
        ),
    ),
    "push_holdout_conversion_rate": (
        ("對照組轉換率", "对照组转换率", "Holdout conversion"),
        (
            "未發送的對照組自然回來預約的比例。",
            "未发送的对照组自然回来预约的比例。",
            "Bookings of the random holdout that got no message.",
        ),
        ("用來衡量推播的真實效果。", "用来衡量推播的真实效果。", "The baseline that shows what messages really add."),
    ),
    "push_uplift": (
        ("推播增益", "推播增益", "Push uplift"),
        (
            "發送組轉換率減對照組轉換率。",
            "发送组转换率减对照组转换率。",
            "Conversion of sent minus conversion of the holdout.",
        ),
        (
            "接近 0 時:訊息沒有帶來額外預約,應調整或停發。",
            "接近 0 时:消息没有带来额外预约,应调整或停发。",
            "Near zero: messages add no bookings; change or stop them.",
        ),
    ),
    "high_value_repurchase_rate": (
        ("高價值回購率", "高价值回购率", "High-value repurchase"),
        (
            "高價值客人在 30 天內回來消費的比例。",
            "高价值客人在 30 天内回来消费的比例。",
            "High-value customers with a visit within 30 days.",
        ),
        (
            "偏低時:由店長親自聯繫,提供專屬禮遇。",
            "偏低时:由店长亲自联系,提供专属礼遇。",
            "If low: the manager calls them personally with a VIP perk.",
        ),
    ),
    "task_completion_rate": (
        ("任務完成率", "任务完成率", "Task completion"),
        (
            "派給櫃台的追蹤任務完成的比例。",
            "派给前台的追踪任务完成的比例。",
            "Follow-up tasks completed out of those issued.",
        ),
        (
            "偏低時:減少每日任務量,排定固定回電時段。",
            "偏低时:减少每日任务量,安排固定回电时段。",
            "If low: fewer tasks per day and a fixed call-back slot.",
        ),
    ),
    "complaint_rate": (
        ("客訴率", "客诉率", "Complaint rate"),
        ("客訴數除以到店數,越低越好。", "客诉数除以到店数,越低越好。", "Complaints per visit; lower is better."),
        (
            "升高時:當天回覆客訴並安排補救。",
            "升高时:当天回复客诉并安排补救。",
            "If rising: answer complaints the same day and offer a fix.",
        ),
    ),
    "no_show_rate": (
        ("爽約率", "爽约率", "No-show rate"),
        ("預約未到的比例,越低越好。", "预约未到的比例,越低越好。", "Share of bookings not attended; lower is better."),
        (
            "升高時:前一天提醒,高風險客人收訂金。",
            "升高时:前一天提醒,高风险客人收订金。",
            "If rising: remind the day before; take deposits from risky bookers.",
        ),
    ),
    "cancel_rate": (
        ("取消率", "取消率", "Cancellation rate"),
        ("預約被取消的比例。", "预约被取消的比例。", "Share of bookings cancelled."),
        (
            "升高時:提供改期而非取消的選項。",
            "升高时:提供改期而非取消的选项。",
            "If rising: offer rescheduling instead of cancelling.",
        ),
    ),
    "reschedule_rate": (
        ("改期率", "改期率", "Reschedule rate"),
        ("預約被改期的比例。", "预约被改期的比例。", "Share of bookings rescheduled."),
        (
            "升高時:檢查熱門時段是否供不應求。",
            "升高时:检查热门时段是否供不应求。",
            "If rising: check whether peak slots are overbooked.",
        ),
    ),
    "cross_store_share": (
        ("跨店消費占比", "跨店消费占比", "Cross-store share"),
        (
            "到店中,客人的主要門市是別家店的比例(跨店回訪只算在這裡,不算進回訪率)。",
            "到店中,客人的主要门店是别家店的比例(跨店回访只算在这里,不算进回访率)。",
            "Visits by customers whose home store is another store (cross-store visits count here, never in a revisit rate).",
        ),
        (
            "升高時:確認會員權益在各店一致。",
            "升高时:确认会员权益在各店一致。",
            "If rising: make sure member benefits work in every store.",
        ),
    ),
    "campaign_roi": (
        ("活動投資報酬率(增量)", "活动投资回报率(增量)", "Campaign ROI (incremental)"),
        (
            "比隨機對照組多出的營收(每則訊息營收 − 每位對照客人營收,× 發送數)除以成本。",
            "比随机对照组多出的营收(每条消息营收 − 每位对照客人营收,× 发送数)除以成本。",
            "Revenue beyond the random holdout (revenue per sent message − per holdout customer, × messages sent) divided by cost.",
        ),
        (
            "區間跨過 0 時:還無法證明活動有效,擴大對照組或延長觀察。",
            "区间跨过 0 时:还无法证明活动有效,扩大对照组或延长观察。",
            "If its range spans 0: the effect is not shown yet; enlarge the holdout or wait longer.",
        ),
    ),
    "campaign_gross_roi": (
        ("歸因總營收 ÷ 成本", "归因总营收 ÷ 成本", "Gross attributed revenue ÷ cost"),
        (
            "訊息後 7 天內的所有預約營收除以成本,包含不發訊息也會來的客人,所以不是投資報酬率。",
            "消息后 7 天内的所有预约营收除以成本,包含不发消息也会来的客人,所以不是投资回报率。",
            "All booking revenue within 7 days of a message divided by cost, including customers who would have come anyway: not the ROI.",
        ),
        (
            "只作參考;判斷成效請看增量投資報酬率。",
            "只作参考;判断成效请看增量投资回报率。",
            "For reference only; judge a campaign by the incremental ROI.",
        ),
    ),
    "high_value_complaint_rate": (
        ("高價值客訴率", "高价值客诉率", "High-value complaints"),
        (
            "高價值客人的到店中有客訴的比例,越低越好。",
            "高价值客人的到店中有客诉的比例,越低越好。",
            "Complaints per visit of high-value customers; lower is better.",
        ),
        (
            "升高時:店長當天致電並安排補救。",
            "升高时:店长当天致电并安排补救。",
            "If rising: the manager calls the same day and offers a fix.",
        ),
    ),
    "model_accuracy": (
        ("模型準確率", "模型准确率", "Model accuracy"),
        (
            "店長覆核的模型判斷中,店長同意的比例。",
            "店长复核的模型判断中,店长同意的比例。",
            "Model calls reviewed by a manager that the manager agreed with.",
        ),
        (
            "偏低時:在顧客 360 多覆核幾位,並回報模型判斷錯的原因。",
            "偏低时:在顾客 360 多复核几位,并反馈模型判断错的原因。",
            "If low: review more calls in Customer 360 and note why the model was wrong.",
        ),
    ),
}

# kpi key -> why it has no value (its base is empty), as (zh-TW, zh-CN, en)
_EMPTY = {
    "revisit_interval_days": (
        "這段期間沒有客人回到同一門市。",
        "这段期间没有客人回到同一门店。",
        "No customer came back to the store in the period.",
    ),
    "wake_up_rate": (
        "這段期間沒有聯繫過沉睡客人(只算已滿 30 天的聯繫)。",
        "这段期间没有联系过沉睡客人(只算已满 30 天的联系)。",
        "No sleeping customer was contacted in the window (contacts at least 30 days old).",
    ),
    "push_conversion_rate": (
        "這段期間沒有送達的訊息(只算已滿 7 天的訊息)。",
        "这段期间没有送达的消息(只算已满 7 天的消息)。",
        "No message was delivered in the window (messages at least 7 days old).",
    ),
    "push_holdout_conversion_rate": (
        "這段期間沒有對照組客人。",
        "这段期间没有对照组客人。",
        "No customer was held out in the window.",
    ),
    "push_uplift": (
        "需要同一段期間的送達訊息與對照組。",
        "需要同一段期间的送达消息与对照组。",
        "Needs both delivered messages and a holdout in the window.",
    ),
    "high_value_repurchase_rate": (
        "這些門市還沒有高價值客人。",
        "这些门店还没有高价值客人。",
        "No high-value customer at these stores yet.",
    ),
    "task_completion_rate": (
        "這段期間沒有派出追蹤任務。",
        "这段期间没有派出追踪任务。",
        "No follow-up task was issued in the period.",
    ),
    "complaint_rate": ("這段期間沒有到店。", "这段期间没有到店。", "No visit in the period."),
    "high_value_complaint_rate": (
        "這段期間沒有高價值客人到店。",
        "这段期间没有高价值客人到店。",
        "No high-value customer visited in the period.",
    ),
    "no_show_rate": ("這段期間沒有預約。", "这段期间没有预约。", "No booking in the period."),
    "cancel_rate": ("這段期間沒有預約。", "这段期间没有预约。", "No booking in the period."),
    "reschedule_rate": ("這段期間沒有預約。", "这段期间没有预约。", "No booking in the period."),
    "cross_store_share": (
        "這段期間沒有已知主要門市的客人到店。",
        "这段期间没有已知主要门店的客人到店。",
        "No visit by a customer with a known home store in the period.",
    ),
    "campaign_roi": (
        "需要同一段期間有成本的送達訊息與對照組。",
        "需要同一段期间有成本的送达消息与对照组。",
        "Needs delivered messages with a cost and a holdout in the window.",
    ),
    "campaign_gross_roi": (
        "這段期間沒有記錄訊息成本。",
        "这段期间没有记录消息成本。",
        "No message cost was recorded in the window.",
    ),
    "model_accuracy": (
        "這段期間沒有店長覆核模型判斷(在顧客 360 覆核)。",
        "这段期间没有店长复核模型判断(在顾客 360 复核)。",
        "No manager reviewed a model call in the period (review in Customer 360).",
    ),
}
for _n in (30, 60, 90):
    _EMPTY[f"revisit_rate_{_n}"] = (
        f"這段期間沒有已滿 {_n} 天、可判斷的到店。",
        f"这段期间没有已满 {_n} 天、可判断的到店。",
        f"No visit in the period is old enough ({_n} days) to judge.",
    )
    _EMPTY[f"first_revisit_rate_{_n}"] = (
        f"這段期間沒有已滿 {_n} 天的首次到店。",
        f"这段期间没有已满 {_n} 天的首次到店。",
        f"No first visit in the period is old enough ({_n} days) to judge.",
    )

# segment name key -> (zh-TW, zh-CN, en)
_SEGMENTS = {
    "champions": ("冠軍客", "冠军客", "Champions"),
    "loyal": ("忠實客", "忠实客", "Loyal"),
    "potential_loyalist": ("潛力忠實客", "潜力忠实客", "Potential loyalists"),
    "new_customers": ("新客", "新客", "New customers"),
    "promising": ("潛力新客", "潜力新客", "Promising"),
    "need_attention": ("需要關注", "需要关注", "Need attention"),
    "about_to_sleep": ("即將沉睡", "即将沉睡", "About to sleep"),
    "at_risk": ("流失風險", "流失风险", "At risk"),
    "cannot_lose_them": ("不能失去的客人", "不能失去的客人", "Cannot lose them"),
    "hibernating": ("冬眠客", "冬眠客", "Hibernating"),
    "lost": ("已流失", "已流失", "Lost"),
    "important_value": ("重要價值客戶", "重要价值客户", "Important value"),
    "important_develop": ("重要發展客戶", "重要发展客户", "Important to develop"),
    "important_retain": ("重要保持客戶", "重要保持客户", "Important to retain"),
    "important_winback": ("重要挽留客戶", "重要挽留客户", "Important to win back"),
    "general_value": ("一般價值客戶", "一般价值客户", "General value"),
    "general_develop": ("一般發展客戶", "一般发展客户", "General to develop"),
    "general_retain": ("一般保持客戶", "一般保持客户", "General to retain"),
    "general_winback": ("一般挽留客戶", "一般挽留客户", "General to win back"),
}

_ACTIONS = {
    "reward_and_refer": (
        "給予回饋、邀請推薦朋友、優先體驗新服務",
        "给予回馈、邀请推荐朋友、优先体验新服务",
        "Reward them; ask for referrals; offer early access",
    ),
    "upsell_membership": (
        "推薦高單價服務或會員方案,邀請留下評價",
        "推荐高单价服务或会员方案,邀请留下评价",
        "Upsell higher-value services or a membership; ask for reviews",
    ),
    "offer_membership": (
        "推薦會員或集點方案,建議下一項服務",
        "推荐会员或积分方案,建议下一项服务",
        "Offer a membership or loyalty plan; recommend a next service",
    ),
    "onboard": (
        "歡迎新客,離店前預約第二次",
        "欢迎新客,离店前预约第二次",
        "Welcome them; book the second visit before they leave",
    ),
    "build_habit": (
        "給一個盡快回來的理由:小額回訪優惠",
        "给一个尽快回来的理由:小额回访优惠",
        "Give a reason to come back soon: a small return-visit offer",
    ),
    "limited_offer": (
        "依過去服務寄送限時優惠",
        "依过去服务发送限时优惠",
        "Send a time-limited offer based on past services",
    ),
    "reconnect": (
        "寄送提醒與熱門服務,重新建立聯繫",
        "发送提醒与热门服务,重新建立联系",
        "Reconnect with a reminder and a popular service",
    ),
    "personal_winback": (
        "發送個人化訊息,提供他們曾喜歡的服務",
        "发送个性化消息,提供他们曾喜欢的服务",
        "Send a personal message; offer something they valued before",
    ),
    "call_personally": (
        "親自致電,安排熟悉的設計師挽回",
        "亲自致电,安排熟悉的设计师挽回",
        "Call them personally; win them back with their favourite staff",
    ),
    "reactivation_offer": (
        "寄送喚醒優惠,其餘降低成本",
        "发送唤醒优惠,其余降低成本",
        "Send a reactivation offer; otherwise keep costs low",
    ),
    "low_cost_winback": (
        "嘗試一次低成本挽回活動後停止發送",
        "尝试一次低成本挽回活动后停止发送",
        "Try one low-cost win-back campaign, then stop messaging",
    ),
    "vip_care": (
        "維持滿意度:VIP 服務、優先預約、專屬禮遇",
        "维持满意度:VIP 服务、优先预约、专属礼遇",
        "Keep them delighted: VIP care, priority booking, exclusive perks",
    ),
    "raise_frequency": (
        "提高到店頻率:套票或會員、預約下次",
        "提高到店频率:套票或会员、预约下次",
        "Raise visit frequency: package or membership, next-visit booking",
    ),
    "recall_now": (
        "立即召回:曾經常來,個人提醒或致電",
        "立即召回:曾经常来,个人提醒或致电",
        "Recall now: they used to come often; personal reminder or call",
    ),
    "winback_high_value": (
        "在流失前以有力的個人優惠挽回",
        "在流失前以有力的个人优惠挽回",
        "Win back with a strong personal offer before they are lost",
    ),
    "upsell": (
        "提高客單價:加購、進階服務、組合方案",
        "提高客单价:加购、进阶服务、组合方案",
        "Raise spend: add-ons, premium services, bundles",
    ),
    "nurture": (
        "培養關係:歡迎訊息與回訪券",
        "培养关系:欢迎消息与回访券",
        "Nurture: welcome series and a return-visit coupon",
    ),
    "reactivate": ("以提醒與適度優惠喚醒", "以提醒与适度优惠唤醒", "Reactivate with a reminder and a modest offer"),
    "low_priority": (
        "低優先:只放入低成本大量活動",
        "低优先:只放入低成本大量活动",
        "Low priority: include only in low-cost mass campaigns",
    ),
}

_LIFECYCLE = {
    "new": ("新客", "新客", "New"),
    "stable": ("穩定回訪", "稳定回访", "Stable returner"),
    "churn_risk": ("流失風險", "流失风险", "Churn risk"),
    "high_value": ("高價值", "高价值", "High value"),
    "rescheduler": ("常改期/取消", "常改期/取消", "Frequent rescheduler"),
    "sleeping": ("沉睡", "沉睡", "Sleeping"),
    "lost": ("已流失", "已流失", "Lost"),
}

STRINGS: dict[str, dict[str, str]] = {
    "page.segments": _t("客群分析", "客群分析", "Segments"),
    "page.customer_360": _t("顧客 360", "顾客 360", "Customer 360"),
    "page.stores": _t("門市比較", "门店比较", "Stores"),
    # shared
    "analytics.empty": _t(
        "目前沒有到店資料。請先匯入預約紀錄。",
        "目前没有到店数据。请先导入预约记录。",
        "No visits yet. Import your booking history first.",
    ),
    "analytics.target": _t("目標 {target}", "目标 {target}", "Target {target}"),
    "analytics.meets_target": _t("✓ 達標(目標 {target})", "✓ 达标(目标 {target})", "✓ On target ({target})"),
    "analytics.below_target": _t("⚠️ 未達標(目標 {target})", "⚠️ 未达标(目标 {target})", "⚠️ Below target ({target})"),
    "analytics.targets_edit": _t("調整這間門市的目標", "调整这间门店的目标", "Edit this store's targets"),
    "analytics.targets_help": _t(
        "預設值依店家實務:高價值回購 ≥ 40%、喚醒 ≥ 20%、任務完成 ≥ 85%、高價值客訴 ≤ 2%、模型準確率 ≥ 80%。留空表示沿用總部或預設目標。",
        "默认值依店家实务:高价值回购 ≥ 40%、唤醒 ≥ 20%、任务完成 ≥ 85%、高价值客诉 ≤ 2%、模型准确率 ≥ 80%。留空表示沿用总部或默认目标。",
        "Defaults follow the shops' practice: high-value repurchase ≥ 40%, wake-up ≥ 20%, task completion ≥ 85%, high-value complaints ≤ 2%, model accuracy ≥ 80%. Leave empty to use the chain's or the default target.",
    ),
    "analytics.target_for": _t("{kpi}({unit})", "{kpi}({unit})", "{kpi} ({unit})"),
    "analytics.unit.share": _t("%", "%", "%"),
    "analytics.unit.days": _t("天", "天", "days"),
    "analytics.unit.multiple": _t("倍", "倍", "×"),
    "analytics.unit.points": _t("百分點", "百分点", "pp"),
    "analytics.targets_save": _t("儲存目標", "保存目标", "Save targets"),
    "analytics.targets_saved": _t(
        "已儲存,下次載入時套用。", "已保存,下次加载时套用。", "Saved; they apply from the next load."
    ),
    "analytics.no_target": _t("未設目標", "未设目标", "No target set"),
    "analytics.interval": _t(
        "95% 區間 {low} – {high}(n = {n})", "95% 区间 {low} – {high}(n = {n})", "95% range {low} – {high} (n = {n})"
    ),
    "analytics.interval_only": _t("95% 區間 {low} – {high}", "95% 区间 {low} – {high}", "95% range {low} – {high}"),
    "analytics.gross_beside": _t(
        "歸因總營收 ÷ 成本(含原本就會來的客人):{value}",
        "归因总营收 ÷ 成本(含原本就会来的客人):{value}",
        "Gross attributed revenue ÷ cost (includes customers who would have come anyway): {value}",
    ),
    "analytics.no_value": _t("資料不足", "数据不足", "Not enough data"),
    "analytics.days_unit": _t("{value} 天", "{value} 天", "{value} days"),
    "analytics.customers": _t("顧客數", "顾客数", "Customers"),
    "analytics.customers_axis": _t("顧客數(人)", "顾客数(人)", "Customers (people)"),
    "analytics.month_axis": _t("月份", "月份", "Month"),
    "analytics.kpi_section": _t(
        "關鍵指標(近 30 天,與前 30 天比較)",
        "关键指标(近 30 天,与前 30 天比较)",
        "Key indicators (last 30 days vs the 30 days before)",
    ),
    "analytics.trend_section": _t("指標趨勢", "指标趋势", "KPI trend"),
    "analytics.trend_pick": _t("選擇指標", "选择指标", "Indicator"),
    "analytics.trend_title": _t("{kpi}:每月變化", "{kpi}:每月变化", "{kpi} by month"),
    "analytics.value_axis": _t("數值", "数值", "Value"),
    "analytics.target_line": _t("目標", "目标", "Target"),
    "analytics.priority_section": _t(
        "今日優先聯繫名單(前 20 名)", "今日优先联系名单(前 20 名)", "Today's priority list (top 20)"
    ),
    "analytics.priority_help": _t(
        "依「可能流失的消費金額」排序:近一年消費 × 流失風險。",
        "按“可能流失的消费金额”排序:近一年消费 × 流失风险。",
        "Ranked by spend at stake: last-year spend × churn risk.",
    ),
    "analytics.priority_empty": _t(
        "今天沒有需要聯繫的客人。", "今天没有需要联系的客人。", "Nobody needs a call today."
    ),
    "analytics.col.rank": _t("排名", "排名", "Rank"),
    "analytics.col.name": _t("姓名", "姓名", "Name"),
    "analytics.col.external_id": _t("會員編號", "会员编号", "Member id"),
    "analytics.col.phone": _t("電話", "电话", "Phone"),
    "analytics.col.segment": _t("分群", "分群", "Segment"),
    "analytics.col.reason": _t("原因", "原因", "Why"),
    "analytics.col.churn_risk": _t("流失風險", "流失风险", "Churn risk"),
    "analytics.col.monetary": _t("近一年消費({currency})", "近一年消费({currency})", "Spend, last year ({currency})"),
    "analytics.col.expected_value": _t(
        "可能流失金額({currency})", "可能流失金额({currency})", "Spend at stake ({currency})"
    ),
    "analytics.col.recency": _t("距上次到店(天)", "距上次到店(天)", "Days since visit"),
    "analytics.col.frequency": _t("近一年到店(次)", "近一年到店(次)", "Visits, last year"),
    "analytics.col.window": _t("回訪週期(天)", "回访周期(天)", "Revisit window (days)"),
    "analytics.col.next_due": _t("下次應到日", "下次应到日", "Next due"),
    "analytics.col.lifecycle": _t("生命週期", "生命周期", "Lifecycle"),
    "analytics.col.action": _t("建議行動", "建议行动", "Recommended action"),
    "analytics.col.share": _t("占比", "占比", "Share"),
    "analytics.col.avg_monetary": _t("平均消費({currency})", "平均消费({currency})", "Avg spend ({currency})"),
    "analytics.col.avg_recency": _t("平均距上次到店(天)", "平均距上次到店(天)", "Avg days since visit"),
    "analytics.col.store": _t("門市", "门店", "Store"),
    "reason.sleeping": _t(
        "已 {days_since_visit} 天沒有到店", "已 {days_since_visit} 天没有到店", "No visit for {days_since_visit} days"
    ),
    "reason.overdue": _t(
        "超過平常 {window} 天週期 {days_overdue} 天",
        "超过平常 {window} 天周期 {days_overdue} 天",
        "{days_overdue} days past the usual {window}-day cycle",
    ),
    "reason.due_today": _t(
        "今天是平常 {window} 天週期的應到日",
        "今天是平常 {window} 天周期的应到日",
        "Due today on the usual {window}-day cycle",
    ),
    "reason.churn_risk": _t(
        "可能不再回來(風險 {churn_risk_pct}%)",
        "可能不再回来(风险 {churn_risk_pct}%)",
        "At risk of not coming back ({churn_risk_pct}% risk)",
    ),
    "reason.on_track": _t(
        "照平常週期,下次約在 {next_due}",
        "按平常周期,下次约在 {next_due}",
        "On cycle; next visit expected around {next_due}",
    ),
    "reason.no_visit": _t("尚未到店", "尚未到店", "No visit yet"),
    # Segments page
    "segment.scheme": _t("分群方式", "分群方式", "Segment scheme"),
    "segment.scheme.rfm11": _t("RFM 11 群", "RFM 11 群", "RFM, 11 segments"),
    "segment.scheme.rfm8": _t(
        "RFM 8 群(與門市平均比較)", "RFM 8 群(与门店平均比较)", "RFM, 8 segments (vs store mean)"
    ),
    "segment.scheme.lifecycle": _t("生命週期", "生命周期", "Lifecycle"),
    "segment.heatmap_title": _t(
        "R × F 分布:人數與平均消費", "R × F 分布:人数与平均消费", "R × F grid: customers and average spend"
    ),
    "segment.r_axis": _t("R 分數(5 = 最近到店)", "R 分数(5 = 最近到店)", "R score (5 = most recent)"),
    "segment.f_axis": _t("F 分數(5 = 最常到店)", "F 分数(5 = 最常到店)", "F score (5 = most frequent)"),
    "segment.cell_text": _t(
        "{customers} 人<br>均 {avg}", "{customers} 人<br>均 {avg}", "{customers} people<br>avg {avg}"
    ),
    "segment.treemap_title": _t(
        "各客群人數(顏色 = 平均消費 {currency})",
        "各客群人数(颜色 = 平均消费 {currency})",
        "Customers per segment (colour = average spend, {currency})",
    ),
    "segment.migration_title": _t(
        "客群移動:{start} → {end}", "客群移动:{start} → {end}", "Segment migration: {start} → {end}"
    ),
    "segment.migration_from": _t("起始日", "起始日", "From"),
    "segment.migration_to": _t("結束日", "结束日", "To"),
    "segment.migration_none": _t(
        "尚無足夠的每日快照,排程每日評分後即可顯示客群移動。",
        "尚无足够的每日快照,排程每日评分后即可显示客群移动。",
        "Not enough daily snapshots yet; migration shows once daily scoring has run.",
    ),
    "segment.table_title": _t("客群與建議行動", "客群与建议行动", "Segments and recommended actions"),
    "segment.drill_title": _t("查看客群名單", "查看客群名单", "Customers in a segment"),
    "segment.drill_pick": _t("選擇客群", "选择客群", "Segment"),
    "segment.open_customer": _t("選擇顧客", "选择顾客", "Customer"),
    "segment.open_button": _t("開啟顧客 360", "打开顾客 360", "Open Customer 360"),
    "segment.none": _t("無(尚未到店)", "无(尚未到店)", "None (no visit yet)"),
    # Customer 360
    "c360.search": _t("搜尋姓名、電話或會員編號", "搜索姓名、电话或会员编号", "Search name, phone or member id"),
    "c360.pick": _t("顧客", "顾客", "Customer"),
    "c360.no_match": _t("找不到符合的顧客。", "找不到符合的顾客。", "No matching customer."),
    "c360.hint": _t(
        "輸入關鍵字後選擇一位顧客。", "输入关键字后选择一位顾客。", "Type to search, then pick a customer."
    ),
    "c360.priority_pick": _t(
        "或從今日優先聯繫名單開啟", "或从今日优先联系名单打开", "Or open one from today's priority list"
    ),
    "c360.priority_placeholder": _t("選擇一位顧客", "选择一位顾客", "Pick a customer"),
    "c360.not_found": _t(
        "找不到這位顧客,或您沒有權限查看。",
        "找不到这位顾客,或您没有权限查看。",
        "Customer not found, or you may not see this customer.",
    ),
    "c360.profile": _t("基本資料", "基本资料", "Profile"),
    "c360.home_store": _t("主要門市:{store}", "主要门店:{store}", "Home store: {store}"),
    "c360.joined": _t("加入日期:{day}", "加入日期:{day}", "Joined: {day}"),
    "c360.contact": _t(
        "電話:{phone} · Email:{email}", "电话:{phone} · Email:{email}", "Phone: {phone} · Email: {email}"
    ),
    "c360.visits": _t("到店次數", "到店次数", "Visits"),
    "c360.spend": _t("累計消費", "累计消费", "Total spend"),
    "c360.points": _t("點數餘額", "积分余额", "Points balance"),
    "c360.tier": _t("會員等級", "会员等级", "Tier"),
    "c360.no_tier": _t("未分級", "未分级", "No tier"),
    "c360.timeline_title": _t("到店時間軸", "到店时间轴", "Visit timeline"),
    "c360.date_axis": _t("日期", "日期", "Date"),
    "c360.service_axis": _t("服務類別", "服务类别", "Service category"),
    "c360.amount_hover": _t("金額({currency})", "金额({currency})", "Amount ({currency})"),
    "c360.scores": _t("評分與原因", "评分与原因", "Scores and why"),
    "c360.churn_risk": _t("流失風險", "流失风险", "Churn risk"),
    "c360.window": _t("回訪週期", "回访周期", "Revisit window"),
    "c360.next_due": _t("下次應到日", "下次应到日", "Next due"),
    "c360.rfm": _t("RFM 客群", "RFM 客群", "RFM segment"),
    "c360.lifecycle": _t("生命週期", "生命周期", "Lifecycle"),
    "c360.why": _t("原因:{reason}", "原因:{reason}", "Why: {reason}"),
    "c360.action": _t("建議:{action}", "建议:{action}", "Suggested: {action}"),
    "c360.pets": _t("寵物", "宠物", "Pets"),
    "c360.no_pets": _t("沒有登記寵物。", "没有登记宠物。", "No pets on file."),
    "c360.ledger": _t("點數紀錄", "积分记录", "Points history"),
    "c360.messages": _t("收到的訊息", "收到的消息", "Messages received"),
    "c360.no_messages": _t("尚未收到任何訊息。", "尚未收到任何消息。", "No messages yet."),
    "c360.tags": _t("顧客標籤", "顾客标签", "Customer tags"),
    "c360.tag_category.coat_type": _t("毛質", "毛质", "Coat type"),
    "c360.tag_category.skin_type": _t("膚質", "肤质", "Skin type"),
    "c360.tag_category.preferred_slot": _t("偏好時段", "偏好时段", "Preferred time slot"),
    "c360.tag_category.preference": _t("服務偏好", "服务偏好", "Preferences"),
    "c360.tag_category.other": _t("其他", "其他", "Other"),
    "c360.other_tags": _t("其他標籤:{tags}", "其他标签:{tags}", "Other tags: {tags}"),
    "c360.save_tags": _t("儲存標籤", "保存标签", "Save tags"),
    "c360.tags_saved": _t("標籤已儲存。", "标签已保存。", "Tags saved."),
    "c360.review": _t("人工複核", "人工复核", "Manual review"),
    "c360.review_help": _t(
        "模型判斷為「{label}」。您的判斷是?(用於 AI 準確率)",
        "模型判断为“{label}”。您的判断是?(用于 AI 准确率)",
        'The model says "{label}". What do you say? (for the AI-accuracy KPI)',
    ),
    "c360.review_pick": _t("店長判斷", "店长判断", "Manager's label"),
    "c360.review_save": _t("送出複核", "提交复核", "Record review"),
    "c360.review_saved": _t("複核已記錄。", "复核已记录。", "Review recorded."),
    "c360.reviews_count": _t("已複核 {count} 次", "已复核 {count} 次", "{count} review(s) so far"),
    "c360.opted_out": _t("此顧客已取消訂閱訊息。", "此顾客已退订消息。", "This customer has opted out of messages."),
    "c360.col.date": _t("日期", "日期", "Date"),
    "c360.col.service": _t("服務", "服务", "Service"),
    "c360.col.status": _t("狀態", "状态", "Status"),
    "c360.col.channel": _t("管道", "渠道", "Channel"),
    "c360.col.campaign": _t("活動", "活动", "Campaign"),
    "c360.col.points": _t("點數", "积分", "Points"),
    "c360.col.kind": _t("類型", "类型", "Kind"),
    # Stores page
    "stores.pick_kpis": _t("比較的指標", "比较的指标", "Indicators to compare"),
    "stores.table_title": _t("各門市指標(近 30 天)", "各门店指标(近 30 天)", "Indicators per store (last 30 days)"),
    "stores.rank_kpi": _t("排名依據", "排名依据", "Rank by"),
    "stores.rank_title": _t(
        "{kpi}:各門市與全體中位數", "{kpi}:各门店与全体中位数", "{kpi}: stores vs the chain median"
    ),
    "stores.median": _t("全體中位數", "全体中位数", "Chain median"),
    "stores.vs_median": _t("與中位數差", "与中位数差", "vs median"),
    "stores.rank": _t("名次", "名次", "Rank"),
    "stores.cohort_title": _t("新客回訪(依首次到店月份)", "新客回访(按首次到店月份)", "Retention by first-visit month"),
    "stores.cohort_x": _t("首次到店後第幾個月", "首次到店后第几个月", "Months after the first visit"),
    "stores.cohort_y": _t("首次到店月份", "首次到店月份", "First-visit month"),
    "stores.cohort_color": _t("回訪比例(%)", "回访比例(%)", "Returning (%)"),
    "stores.empty_title": _t("沒有數值的指標", "没有数值的指标", "Indicators without a value"),
    "stores.empty_line": _t("{store} · {kpi}:{reason}", "{store} · {kpi}:{reason}", "{store} · {kpi}: {reason}"),
    "stores.interval_note": _t(
        "括號內為 95% 區間:樣本小(單一門市一個月)時範圍較寬。",
        "括号内为 95% 区间:样本小(单一门店一个月)时范围较宽。",
        "In brackets: the 95% range; it is wide on a small base (one store's month).",
    ),
    "stores.need_two": _t(
        "選擇兩間以上門市即可比較。", "选择两间以上门店即可比较。", "Pick two or more stores to compare them."
    ),
}

for _key, (_name, _meaning, _action) in _KPIS.items():
    STRINGS[f"kpi.{_key}"] = _t(*_name)
    STRINGS[f"kpi.{_key}.meaning"] = _t(*_meaning)
    STRINGS[f"kpi.{_key}.action"] = _t(*_action)
for _key, _why in _EMPTY.items():
    STRINGS[f"kpi.{_key}.empty"] = _t(*_why)
for _key, _texts in _SEGMENTS.items():
    STRINGS[f"segment.{_key}"] = _t(*_texts)
for _key, _texts in _ACTIONS.items():
    STRINGS[f"segment.action.{_key}"] = _t(*_texts)
for _key, _texts in _LIFECYCLE.items():
    STRINGS[f"segment.lifecycle.{_key}"] = _t(*_texts)
