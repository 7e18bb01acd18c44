"""Duplicate members page: one person, one member (candidates, merge, undo)."""

STRINGS = {
    "page.duplicates": {"zh-TW": "重複會員", "zh-CN": "重复会员", "en": "Duplicate members"},
    "members.intro": {
        "zh-TW": "同一支手機、LINE 或電子郵件出現在不同會員編號下(常見於各門市各自建檔,或換系統後匯入),"
        "多半是同一個人。合併後,預約、寵物、點數、標籤與推薦都歸到保留的會員,跨店消費與流失才會以「人」計算。"
        "每次合併都會寫入稽核紀錄,也可以復原。",
        "zh-CN": "同一个手机、LINE 或电子邮件出现在不同会员编号下(常见于各门店各自建档,或换系统后导入),"
        "多半是同一个人。合并后,预约、宠物、积分、标签与推荐都归到保留的会员,跨店消费与流失才会以“人”计算。"
        "每次合并都会写入审计日志,也可以撤销。",
        "en": "The same phone, LINE id or email under different member numbers (each store kept its own cards, "
        "or a switch of systems) is usually one person. A merge moves bookings, pets, points, tags and "
        "referrals to the member you keep, so cross-store visits and churn are judged on the person. "
        "Every merge is audited and can be undone.",
    },
    "members.forbidden": {
        "zh-TW": "您的角色無法合併會員。",
        "zh-CN": "您的角色无法合并会员。",
        "en": "Your role may not merge members.",
    },
    "data_import.possible_duplicates": {
        "zh-TW": "發現 {count} 組可能是同一人的會員(相同電話、LINE 或 Email),請到「{page}」頁確認並合併。",
        "zh-CN": "发现 {count} 组可能是同一人的会员(相同电话、LINE 或 Email),请到「{page}」页确认并合并。",
        "en": "{count} pairs of members may be the same person (same phone, LINE id or email): check and merge "
        "them on the {page} page.",
    },
    "members.candidates": {"zh-TW": "可能重複的會員", "zh-CN": "可能重复的会员", "en": "Probable duplicates"},
    "members.none": {
        "zh-TW": "目前沒有可能重複的會員。",
        "zh-CN": "目前没有可能重复的会员。",
        "en": "No probable duplicates right now.",
    },
    "members.count": {
        "zh-TW": "共 {count} 組可能重複",
        "zh-CN": "共 {count} 组可能重复",
        "en": "{count} probable duplicate pair(s)",
    },
    "members.col.score": {"zh-TW": "相符程度", "zh-CN": "相符程度", "en": "Match"},
    "members.col.member_a": {"zh-TW": "會員一", "zh-CN": "会员一", "en": "Member 1"},
    "members.col.store_a": {"zh-TW": "會員一門市", "zh-CN": "会员一门店", "en": "Member 1 store"},
    "members.col.visits_a": {"zh-TW": "會員一到店次數", "zh-CN": "会员一到店次数", "en": "Member 1 visits"},
    "members.col.member_b": {"zh-TW": "會員二", "zh-CN": "会员二", "en": "Member 2"},
    "members.col.store_b": {"zh-TW": "會員二門市", "zh-CN": "会员二门店", "en": "Member 2 store"},
    "members.col.visits_b": {"zh-TW": "會員二到店次數", "zh-CN": "会员二到店次数", "en": "Member 2 visits"},
    "members.col.evidence": {"zh-TW": "依據", "zh-CN": "依据", "en": "Evidence"},
    "members.evidence.same_phone": {"zh-TW": "手機號碼相同", "zh-CN": "手机号码相同", "en": "same phone"},
    "members.evidence.same_line_id": {"zh-TW": "LINE ID 相同", "zh-CN": "LINE ID 相同", "en": "same LINE id"},
    "members.evidence.same_email": {"zh-TW": "電子郵件相同", "zh-CN": "电子邮件相同", "en": "same email"},
    "members.evidence.same_name": {"zh-TW": "姓名相同", "zh-CN": "姓名相同", "en": "same name"},
    "members.evidence.similar_name": {"zh-TW": "姓名相近", "zh-CN": "姓名相近", "en": "similar name"},
    "members.evidence.different_names": {
        "zh-TW": "姓名不同(可能是同住家人共用)",
        "zh-CN": "姓名不同(可能是同住家人共用)",
        "en": "different names (perhaps a household sharing it)",
    },
    "members.no_store": {"zh-TW": "未指定門市", "zh-CN": "未指定门店", "en": "No store"},
    "members.pick_pair": {"zh-TW": "要合併的一組", "zh-CN": "要合并的一组", "en": "Pair to merge"},
    "members.keep": {"zh-TW": "保留哪一位會員編號", "zh-CN": "保留哪一个会员编号", "en": "Member number to keep"},
    "members.keep_help": {
        "zh-TW": "另一張會員卡的紀錄會移到保留的會員,並從名單與指標中隱藏。",
        "zh-CN": "另一张会员卡的记录会移到保留的会员,并从名单与指标中隐藏。",
        "en": "The other card's history moves to the member you keep; the card is hidden from lists and KPIs.",
    },
    "members.merge": {"zh-TW": "合併", "zh-CN": "合并", "en": "Merge"},
    "members.merged": {
        "zh-TW": "已將 {absorb} 合併到 {keep}(移動 {bookings} 筆預約)。",
        "zh-CN": "已将 {absorb} 合并到 {keep}(移动 {bookings} 笔预约)。",
        "en": "Merged {absorb} into {keep} ({bookings} booking(s) moved).",
    },
    "members.history": {"zh-TW": "合併紀錄", "zh-CN": "合并记录", "en": "Merges"},
    "members.history_none": {"zh-TW": "還沒有合併紀錄。", "zh-CN": "还没有合并记录。", "en": "No merges yet."},
    "members.col.kept": {"zh-TW": "保留的會員", "zh-CN": "保留的会员", "en": "Kept member"},
    "members.col.absorbed": {"zh-TW": "併入的會員", "zh-CN": "并入的会员", "en": "Merged card"},
    "members.col.by": {"zh-TW": "操作者", "zh-CN": "操作者", "en": "By"},
    "members.col.merged_at": {"zh-TW": "合併時間", "zh-CN": "合并时间", "en": "Merged at"},
    "members.col.status": {"zh-TW": "狀態", "zh-CN": "状态", "en": "Status"},
    "members.status.merged": {"zh-TW": "已合併", "zh-CN": "已合并", "en": "Merged"},
    "members.status.undone": {"zh-TW": "已復原", "zh-CN": "已撤销", "en": "Undone"},
    "members.pick_undo": {"zh-TW": "要復原的合併", "zh-CN": "要撤销的合并", "en": "Merge to undo"},
    "members.undo": {"zh-TW": "復原合併", "zh-CN": "撤销合并", "en": "Undo merge"},
    "members.undone": {
        "zh-TW": "已復原:{keep} 與 {absorb} 恢復為兩位會員。",
        "zh-CN": "已撤销:{keep} 与 {absorb} 恢复为两位会员。",
        "en": "Undone: {keep} and {absorb} are two members again.",
    },
    "members.error.same_member": {
        "zh-TW": "不能把會員合併到自己。",
        "zh-CN": "不能把会员合并到自己。",
        "en": "A member cannot be merged into itself.",
    },
    "members.error.not_found": {
        "zh-TW": "找不到這位會員(或不屬於您的門市)。",
        "zh-CN": "找不到这位会员(或不属于您的门店)。",
        "en": "Member not found (or not one of your stores').",
    },
    "members.error.already_merged": {
        "zh-TW": "其中一張會員卡已經合併過了。",
        "zh-CN": "其中一张会员卡已经合并过了。",
        "en": "One of the cards is already merged.",
    },
    "members.error.already_undone": {
        "zh-TW": "這次合併已經復原過了。",
        "zh-CN": "这次合并已经撤销过了。",
        "en": "This merge was already undone.",
    },
    "members.error.merged_again": {
        "zh-TW": "保留的會員之後又被合併了,請先復原那次合併。",
        "zh-CN": "保留的会员之后又被合并了,请先撤销那次合并。",
        "en": "The kept member was merged again since; undo that merge first.",
    },
    "members.error.points_redeemed": {
        "zh-TW": "合併後已兌換了原會員卡的點數,無法復原。",
        "zh-CN": "合并后已兑换了原会员卡的积分,无法撤销。",
        "en": "Points of the merged card were redeemed since the merge; it cannot be undone.",
    },
}
