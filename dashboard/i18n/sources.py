"""The Data page's database tab: registered SQL sources."""

STRINGS = {
    "sources.register": {
        "zh-TW": "登記店家資料庫(限總部管理員)",
        "zh-CN": "登记门店数据库(限总部管理员)",
        "en": "Register a shop database (chain admins)",
    },
    "sources.register_help": {
        "zh-TW": "請使用只有讀取權限的資料庫帳號。連線網址會加密保存,之後不再顯示;各店店長只能依名稱同步指定門市的資料。",
        "zh-CN": "请使用只有读取权限的数据库账号。连接地址会加密保存,之后不再显示;各店店长只能按名称同步指定门店的数据。",
        "en": "Use a database user that can only read. The URL is stored encrypted and never shown again; "
        "store managers sync the source by name, for their own stores only.",
    },
    "sources.name": {"zh-TW": "來源名稱", "zh-CN": "来源名称", "en": "Source name"},
    "sources.name_help": {
        "zh-TW": "例如 pos-taipei(英文字母、數字、. _ -)",
        "zh-CN": "例如 pos-taipei(英文字母、数字、. _ -)",
        "en": "e.g. pos-taipei (letters, digits, . _ -)",
    },
    "sources.url": {
        "zh-TW": "連線網址(唯讀帳號)",
        "zh-CN": "连接地址(只读账号)",
        "en": "Connection URL (read-only user)",
    },
    "sources.url_help": {
        "zh-TW": "例如 postgresql://revisit_reader:密碼@db.example/pos;主機須在允許清單中。",
        "zh-CN": "例如 postgresql://revisit_reader:密码@db.example/pos;主机须在允许列表中。",
        "en": "e.g. postgresql://revisit_reader:password@db.example/pos; the host must be on the allow-list.",
    },
    "sources.table": {"zh-TW": "資料表", "zh-CN": "数据表", "en": "Table"},
    "sources.query": {"zh-TW": "或一段 SELECT 查詢", "zh-CN": "或一段 SELECT 查询", "en": "or one SELECT query"},
    "sources.query_help": {
        "zh-TW": "只接受單一 SELECT;寫入、多段指令與讀取檔案的函式都會被拒絕。",
        "zh-CN": "只接受单一 SELECT;写入、多段指令与读取文件的函数都会被拒绝。",
        "en": "One SELECT only; writes, several statements and file functions are refused.",
    },
    "sources.watermark": {"zh-TW": "增量同步欄位", "zh-CN": "增量同步字段", "en": "Watermark column"},
    "sources.watermark_help": {
        "zh-TW": "每次新增或修改都會變大的欄位(如 updated_at),下次只讀新的資料。",
        "zh-CN": "每次新增或修改都会变大的字段(如 updated_at),下次只读新的数据。",
        "en": "A column that grows with every new or changed row (e.g. updated_at).",
    },
    "sources.allowed_tables": {
        "zh-TW": "店長可查詢的資料表",
        "zh-CN": "店长可查询的数据表",
        "en": "Tables managers may query",
    },
    "sources.allowed_tables_help": {
        "zh-TW": "以逗號分隔,例如 visits, pos.*;留空則只能讀取上面登記的資料。",
        "zh-CN": "以逗号分隔,例如 visits, pos.*;留空则只能读取上面登记的数据。",
        "en": "Comma-separated, e.g. visits, pos.*; empty: only what is registered above.",
    },
    "sources.stores": {"zh-TW": "供應門市", "zh-CN": "供应门店", "en": "Stores it feeds"},
    "sources.stores_help": {"zh-TW": "留空表示全部門市。", "zh-CN": "留空表示全部门店。", "en": "Empty: every store."},
    "sources.register_button": {"zh-TW": "測試並登記", "zh-CN": "测试并登记", "en": "Test and register"},
    "sources.registered": {
        "zh-TW": "已登記來源「{name}」,連線測試成功。",
        "zh-CN": "已登记来源「{name}」,连接测试成功。",
        "en": "Source “{name}” registered; the test read worked.",
    },
    "sources.removed": {
        "zh-TW": "已移除來源「{name}」。",
        "zh-CN": "已移除来源「{name}」。",
        "en": "Source “{name}” removed.",
    },
    "sources.all_stores": {"zh-TW": "全部門市", "zh-CN": "全部门店", "en": "All stores"},
    "sources.col_address": {"zh-TW": "位址(不含密碼)", "zh-CN": "地址(不含密码)", "en": "Address (no password)"},
    "sources.col_reads": {"zh-TW": "讀取", "zh-CN": "读取", "en": "Reads"},
    "sources.col_query": {"zh-TW": "查詢", "zh-CN": "查询", "en": "a query"},
    "sources.none": {
        "zh-TW": "尚未登記可用的資料庫來源,請總部管理員先登記。",
        "zh-CN": "尚未登记可用的数据库来源,请总部管理员先登记。",
        "en": "No database source is registered for your stores yet; ask a chain admin to register one.",
    },
    "sources.none_admin": {
        "zh-TW": "尚未登記任何資料庫來源。",
        "zh-CN": "尚未登记任何数据库来源。",
        "en": "No database source is registered yet.",
    },
    "sources.pick": {"zh-TW": "資料來源", "zh-CN": "数据来源", "en": "Source"},
    "sources.mapping": {
        "zh-TW": "欄位對應(每行 欄位=欄名,可留空)",
        "zh-CN": "字段对应(每行 字段=列名,可留空)",
        "en": "Mapping, one FIELD=COLUMN per line (optional)",
    },
    "sources.mapping_help": {
        "zh-TW": "例如 customer_id=member_no;留空時沿用上次的對應或自動判斷。",
        "zh-CN": "例如 customer_id=member_no;留空时沿用上次的对应或自动判断。",
        "en": "e.g. customer_id=member_no; empty: the last mapping or the suggestion.",
    },
    "sources.sync": {"zh-TW": "同步", "zh-CN": "同步", "en": "Sync"},
    "sources.remove": {"zh-TW": "移除此來源", "zh-CN": "移除此来源", "en": "Remove this source"},
    "sources.error.table_or_query": {
        "zh-TW": "請填寫資料表或 SELECT 查詢其中一項。",
        "zh-CN": "请填写数据表或 SELECT 查询其中一项。",
        "en": "Fill in either a table or a SELECT query.",
    },
    "sources.error.not_registered": {
        "zh-TW": "找不到名為「{name}」的已登記來源。",
        "zh-CN": "找不到名为「{name}」的已登记来源。",
        "en": "No registered source named “{name}”.",
    },
    "sources.error.host_not_allowed": {
        "zh-TW": "主機 {host} 不在允許的來源主機清單中(REVISIT_SOURCE_HOSTS)。",
        "zh-CN": "主机 {host} 不在允许的来源主机列表中(REVISIT_SOURCE_HOSTS)。",
        "en": "The host {host} is not on the allowed source hosts (REVISIT_SOURCE_HOSTS).",
    },
    "sources.error.app_database": {
        "zh-TW": "這是 Revisit 自己的資料庫,請登記店家的預約系統資料庫。",
        "zh-CN": "这是 Revisit 自己的数据库,请登记门店的预约系统数据库。",
        "en": "This is Revisit's own database; register the shop's booking database instead.",
    },
    "sources.error.local_file": {
        "zh-TW": "不接受本機資料庫檔案,除非它位於允許的資料夾(REVISIT_SOURCE_DIRS)。",
        "zh-CN": "不接受本机数据库文件,除非它位于允许的文件夹(REVISIT_SOURCE_DIRS)。",
        "en": "Local database files are refused unless they are in an allowed folder (REVISIT_SOURCE_DIRS).",
    },
    "sources.error.missing_file": {
        "zh-TW": "找不到這個資料庫檔案。",
        "zh-CN": "找不到这个数据库文件。",
        "en": "That database file does not exist.",
    },
    "sources.error.bad_name": {
        "zh-TW": "來源名稱需為 1–64 個英文字母、數字或 . _ -。",
        "zh-CN": "来源名称需为 1–64 个英文字母、数字或 . _ -。",
        "en": "A source name is 1–64 letters, digits, '.', '_' or '-'.",
    },
    "sources.error.unknown_store": {
        "zh-TW": "沒有門市代碼 {store}。",
        "zh-CN": "没有门店代码 {store}。",
        "en": "There is no store with code {store}.",
    },
    "sources.error.no_override": {
        "zh-TW": "此來源不允許自訂查詢,請洽總部管理員。",
        "zh-CN": "此来源不允许自定义查询,请联系总部管理员。",
        "en": "This source allows no query of your own; ask a chain admin.",
    },
    "sources.error.key_changed": {
        "zh-TW": "此來源的連線資訊無法以目前的金鑰解開,請總部管理員重新登記。",
        "zh-CN": "此来源的连接信息无法以当前的密钥解开,请总部管理员重新登记。",
        "en": "This source's credentials cannot be read with the current key; a chain admin must register it again.",
    },
    "sources.error.no_key": {
        "zh-TW": "尚未設定加密金鑰(REVISIT_SOURCE_KEY),無法保存連線資訊。",
        "zh-CN": "尚未设置加密密钥(REVISIT_SOURCE_KEY),无法保存连接信息。",
        "en": "No encryption key is set (REVISIT_SOURCE_KEY), so credentials cannot be stored.",
    },
    "sources.error.query_refused": {
        "zh-TW": "查詢被拒絕:{detail}",
        "zh-CN": "查询被拒绝:{detail}",
        "en": "Query refused: {detail}",
    },
    "sources.error.read_failed": {
        "zh-TW": "無法讀取資料庫:{detail}",
        "zh-CN": "无法读取数据库:{detail}",
        "en": "Cannot read the database: {detail}",
    },
    "sources.error.bad_url": {
        "zh-TW": "連線網址無法使用,請確認格式(例如 postgresql://帳號@主機/資料庫)。",
        "zh-CN": "连接地址无法使用,请确认格式(例如 postgresql://账号@主机/数据库)。",
        "en": "The URL cannot be used; check its form (e.g. postgresql://user@host/db).",
    },
    "sources.error.other": {
        "zh-TW": "無法使用此來源:{detail}",
        "zh-CN": "无法使用此来源:{detail}",
        "en": "This source cannot be used: {detail}",
    },
}
