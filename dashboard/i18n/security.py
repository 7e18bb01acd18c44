"""Users page, Audit page and security messages (cookie key, exports, privacy)."""

STRINGS = {
    "page.users": {"zh-TW": "使用者管理", "zh-CN": "用户管理", "en": "Users"},
    "page.audit": {"zh-TW": "稽核紀錄", "zh-CN": "审计日志", "en": "Audit log"},
    # --- users page ---
    "users.intro": {
        "zh-TW": "新增帳號、停用或啟用、重設密碼,並指派可查看的門市。所有變更都會寫入稽核紀錄。",
        "zh-CN": "新增账号、停用或启用、重置密码,并分配可查看的门店。所有变更都会写入审计日志。",
        "en": "Add accounts, disable or enable them, reset passwords and assign stores. Every change is audited.",
    },
    "users.list": {"zh-TW": "帳號列表", "zh-CN": "账号列表", "en": "Accounts"},
    "users.col.username": {"zh-TW": "帳號", "zh-CN": "账号", "en": "Username"},
    "users.col.display_name": {"zh-TW": "顯示名稱", "zh-CN": "显示名称", "en": "Display name"},
    "users.col.role": {"zh-TW": "角色", "zh-CN": "角色", "en": "Role"},
    "users.col.stores": {"zh-TW": "門市", "zh-CN": "门店", "en": "Stores"},
    "users.col.status": {"zh-TW": "狀態", "zh-CN": "状态", "en": "Status"},
    "users.col.created_at": {"zh-TW": "建立時間", "zh-CN": "创建时间", "en": "Created"},
    "users.status.active": {"zh-TW": "啟用中", "zh-CN": "启用中", "en": "Active"},
    "users.status.disabled": {"zh-TW": "已停用", "zh-CN": "已停用", "en": "Disabled"},
    "users.status.locked": {"zh-TW": "暫時鎖定", "zh-CN": "暂时锁定", "en": "Locked"},
    "users.all_stores": {"zh-TW": "全部門市", "zh-CN": "全部门店", "en": "All stores"},
    "users.add": {"zh-TW": "新增帳號", "zh-CN": "新增账号", "en": "Add an account"},
    "users.username": {"zh-TW": "帳號", "zh-CN": "账号", "en": "Username"},
    "users.username_help": {
        "zh-TW": "2–64 個字元:英文字母、數字、_ . @ -",
        "zh-CN": "2–64 个字符:英文字母、数字、_ . @ -",
        "en": "2–64 characters: letters, digits, _ . @ -",
    },
    "users.display_name": {"zh-TW": "顯示名稱", "zh-CN": "显示名称", "en": "Display name"},
    "users.email": {"zh-TW": "電子郵件", "zh-CN": "电子邮件", "en": "Email"},
    "users.role": {"zh-TW": "角色", "zh-CN": "角色", "en": "Role"},
    "users.stores": {"zh-TW": "可查看的門市", "zh-CN": "可查看的门店", "en": "Stores"},
    "users.stores_help": {
        "zh-TW": "總部管理員可查看全部門市,不需指派。",
        "zh-CN": "总部管理员可查看全部门店,无需分配。",
        "en": "Chain admins see every store; no assignment needed.",
    },
    "users.locale": {"zh-TW": "介面語言", "zh-CN": "界面语言", "en": "Language"},
    "users.password": {"zh-TW": "初始密碼", "zh-CN": "初始密码", "en": "Initial password"},
    "users.password_help": {
        "zh-TW": "至少 {length} 個字元;請以安全的方式告知使用者。",
        "zh-CN": "至少 {length} 个字符;请以安全的方式告知用户。",
        "en": "At least {length} characters; give it to the user in person or by a safe channel.",
    },
    "users.create": {"zh-TW": "建立帳號", "zh-CN": "创建账号", "en": "Create account"},
    "users.created": {
        "zh-TW": "已建立帳號 {username}。",
        "zh-CN": "已创建账号 {username}。",
        "en": "Account {username} created.",
    },
    "users.manage": {"zh-TW": "管理帳號", "zh-CN": "管理账号", "en": "Manage an account"},
    "users.pick": {"zh-TW": "選擇帳號", "zh-CN": "选择账号", "en": "Account"},
    "users.disable": {"zh-TW": "停用帳號", "zh-CN": "停用账号", "en": "Disable account"},
    "users.enable": {"zh-TW": "啟用帳號", "zh-CN": "启用账号", "en": "Enable account"},
    "users.disabled_done": {
        "zh-TW": "已停用 {username},其所有登入立即失效。",
        "zh-CN": "已停用 {username},其所有登录立即失效。",
        "en": "{username} is disabled; all of their sessions have ended.",
    },
    "users.enabled_done": {
        "zh-TW": "已啟用 {username}。",
        "zh-CN": "已启用 {username}。",
        "en": "{username} is enabled.",
    },
    "users.reset_password": {"zh-TW": "重設密碼", "zh-CN": "重置密码", "en": "Reset password"},
    "users.new_password": {"zh-TW": "新密碼", "zh-CN": "新密码", "en": "New password"},
    "users.password_done": {
        "zh-TW": "已重設 {username} 的密碼,舊的登入已失效。",
        "zh-CN": "已重置 {username} 的密码,旧的登录已失效。",
        "en": "Password of {username} reset; their old sessions have ended.",
    },
    "users.assign_stores": {"zh-TW": "儲存門市指派", "zh-CN": "保存门店分配", "en": "Save store assignment"},
    "users.stores_done": {
        "zh-TW": "已更新 {username} 的門市。",
        "zh-CN": "已更新 {username} 的门店。",
        "en": "Stores of {username} updated.",
    },
    "users.invalid": {"zh-TW": "無法儲存:{reason}", "zh-CN": "无法保存:{reason}", "en": "Not saved: {reason}"},
    # --- audit page ---
    "audit.intro": {
        "zh-TW": "誰在何時做了什麼:登入、匯入、規則變更、活動核准與發送、匯出。",
        "zh-CN": "谁在何时做了什么:登录、导入、规则变更、活动审批与发送、导出。",
        "en": "Who did what, and when: sign-ins, imports, rule changes, campaign approvals and sends, exports.",
    },
    "audit.actor": {"zh-TW": "操作者", "zh-CN": "操作者", "en": "Actor"},
    "audit.any_actor": {"zh-TW": "全部操作者", "zh-CN": "全部操作者", "en": "Any actor"},
    "audit.actions": {"zh-TW": "動作", "zh-CN": "动作", "en": "Actions"},
    "audit.actions_help": {
        "zh-TW": "不選則顯示全部動作。",
        "zh-CN": "不选则显示全部动作。",
        "en": "Leave empty for every action.",
    },
    "audit.since": {"zh-TW": "起始日", "zh-CN": "起始日", "en": "From"},
    "audit.until": {"zh-TW": "結束日", "zh-CN": "结束日", "en": "To"},
    "audit.limit": {"zh-TW": "最多顯示筆數", "zh-CN": "最多显示条数", "en": "Show at most"},
    "audit.count": {
        "zh-TW": "共 {count} 筆(時間為 UTC)。",
        "zh-CN": "共 {count} 条(时间为 UTC)。",
        "en": "{count} entries (times in UTC).",
    },
    "audit.empty": {
        "zh-TW": "沒有符合條件的紀錄。",
        "zh-CN": "没有符合条件的记录。",
        "en": "No entries match these filters.",
    },
    "audit.col.at": {"zh-TW": "時間", "zh-CN": "时间", "en": "When"},
    "audit.col.actor": {"zh-TW": "操作者", "zh-CN": "操作者", "en": "Who"},
    "audit.col.action": {"zh-TW": "動作", "zh-CN": "动作", "en": "Action"},
    "audit.col.entity": {"zh-TW": "對象", "zh-CN": "对象", "en": "What"},
    "audit.col.entity_id": {"zh-TW": "對象編號", "zh-CN": "对象编号", "en": "Id"},
    "audit.col.store_id": {"zh-TW": "門市", "zh-CN": "门店", "en": "Store"},
    "audit.col.before": {"zh-TW": "變更前", "zh-CN": "变更前", "en": "Before"},
    "audit.col.after": {"zh-TW": "變更後", "zh-CN": "变更后", "en": "After"},
    "audit.download": {"zh-TW": "下載 CSV", "zh-CN": "下载 CSV", "en": "Download CSV"},
    # --- security messages ---
    "security.forbidden": {
        "zh-TW": "您的角色無法使用此功能。",
        "zh-CN": "您的角色无法使用此功能。",
        "en": "Your role cannot use this.",
    },
    "security.config_error_title": {
        "zh-TW": "Revisit 尚未完成設定",
        "zh-CN": "Revisit 尚未完成配置",
        "en": "Revisit is not configured yet",
    },
    "security.cookie_key_missing": {
        "zh-TW": "缺少登入 Cookie 簽章金鑰(REVISIT_COOKIE_KEY),或仍是預設值。請設定至少 32 個字元的隨機字串"
        "(環境變數或 .streamlit/secrets.toml),或以 REVISIT_DEMO_MODE=1 啟動示範模式,然後重新啟動。",
        "zh-CN": "缺少登录 Cookie 签名密钥(REVISIT_COOKIE_KEY),或仍是默认值。请设置至少 32 个字符的随机字符串"
        "(环境变量或 .streamlit/secrets.toml),或以 REVISIT_DEMO_MODE=1 启动演示模式,然后重新启动。",
        "en": "The login cookie key (REVISIT_COOKIE_KEY) is missing or a placeholder. Set a random string of at "
        "least 32 characters (environment variable or .streamlit/secrets.toml), or start in demo mode with "
        "REVISIT_DEMO_MODE=1, then restart.",
    },
    "security.cookie_key_hint": {
        "zh-TW": "產生金鑰:python -c 'import secrets; print(secrets.token_hex(32))'",
        "zh-CN": "生成密钥:python -c 'import secrets; print(secrets.token_hex(32))'",
        "en": "Generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
    },
    "security.export_denied": {
        "zh-TW": "您的角色無法匯出資料。",
        "zh-CN": "您的角色无法导出数据。",
        "en": "Your role cannot export data.",
    },
    "security.masked_note": {
        "zh-TW": "個人資料已遮罩(依您的角色)。",
        "zh-CN": "个人资料已遮盖(依您的角色)。",
        "en": "Personal data is masked for your role.",
    },
}
