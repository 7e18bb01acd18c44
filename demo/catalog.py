"""What the demo chain sells and who its people are: table columns, store kinds, services,
stores, cities, names, pets, tags and feedback words (static vocabulary, no behaviour)."""

from __future__ import annotations

import numpy as np

STORE_COLUMNS = ("store_id", "code", "name", "city", "timezone", "kind", "currency", "country", "daily_capacity")
STAFF_COLUMNS = ("staff_id", "store_id", "name", "role")
SERVICE_COLUMNS = ("service_id", "kind", "name", "category", "price", "duration_min", "typical_cycle_days")
DEMO_CUSTOMER_COLUMNS = (
    "customer_id",
    "external_id",
    "name",
    "phone",
    "email",
    "line_id",
    "wechat_openid",
    "birthday",
    "gender",
    "home_store_id",
    "joined_on",
    "referred_by",
    "referral_code",
    "consent_sms",
    "consent_line",
    "consent_email",
    "consent_wechat",
    "opted_out_at",
    "tags",
)
PET_COLUMNS = ("pet_id", "customer_id", "name", "species", "breed", "coat_length", "birthday", "vaccine_due")
DEMO_BOOKING_COLUMNS = (
    "booking_id",
    "external_id",
    "customer_id",
    "store_id",
    "pet_id",
    "service_id",
    "service_category",
    "staff_id",
    "designated",
    "created_at",
    "scheduled_at",
    "status",
    "amount",
    "addon_amount",
    "channel",
    "deposit",
)
FEEDBACK_COLUMNS = ("feedback_id", "booking_id", "rating", "complaint", "comment")
PLAN_COLUMNS = (
    "plan_id",
    "customer_id",
    "store_id",
    "pet_id",
    "name",
    "monthly_fee",
    "periods_total",
    "periods_paid",
    "started_on",
    "ends_on",
    "status",
)
STORED_VALUE_COLUMNS = ("entry_id", "customer_id", "store_id", "kind", "amount", "occurred_at")
REFERRAL_COLUMNS = ("referral_id", "referrer_id", "referee_id", "code", "created_at")
TRUTH_COLUMNS = (
    "customer_id",
    "pet_id",
    "true_cadence_days",
    "churned_at",
    "noshow_propensity",
    "designated_staff_id",
    "archetype",
)
#: Past reminders: ``status`` sent / holdout / suppressed (opted out), ``pulled`` = the reminder
#: brought the visit forward (ground truth; holdout and suppressed rows are never pulled).
REMINDER_COLUMNS = ("reminder_id", "customer_id", "pet_id", "store_id", "sent_at", "status", "reason", "pulled")

KINDS = ("beauty_salon", "pet_groomer", "pet_adoption", "nail_studio")
SALON, GROOMER, ADOPTION, NAILS = range(4)
CNY_PER_TWD = 1 / 4.4

# (kind, traditional name, simplified name, category, TWD price, minutes, cycle days, weight)
_SERVICES = (
    (SALON, "剪髮", "剪发", "haircut", 900, 60, 35, 0.40),
    (SALON, "洗剪吹", "洗剪吹", "haircut", 1200, 75, 35, 0.15),
    (SALON, "染髮", "染发", "color", 2800, 120, 56, 0.18),
    (SALON, "燙髮", "烫发", "perm", 3600, 150, 90, 0.07),
    (SALON, "頭皮SPA", "头皮SPA", "spa", 1600, 60, 28, 0.12),
    (SALON, "深層護髮", "深层护发", "treatment", 1800, 60, 28, 0.08),
    (GROOMER, "洗澡", "洗澡", "bath", 800, 60, 21, 0.40),
    (GROOMER, "全套美容", "全套美容", "grooming", 1800, 120, 42, 0.40),
    (GROOMER, "SPA護毛", "SPA护毛", "spa", 1300, 90, 35, 0.20),
    (ADOPTION, "領養計劃月領", "领养计划月领", "plan_pickup", 1300, 30, 30, 0.82),
    (ADOPTION, "健康檢查", "健康检查", "checkup", 900, 45, 90, 0.12),
    (ADOPTION, "洗護", "洗护", "bath", 1100, 60, 30, 0.06),
    (NAILS, "凝膠指甲", "凝胶美甲", "nails", 1200, 90, 21, 0.45),
    (NAILS, "手足保養", "手足护理", "spa", 900, 60, 28, 0.15),
    (NAILS, "美睫嫁接", "美睫嫁接", "lashes", 1500, 90, 28, 0.25),
    (NAILS, "足部凝膠", "足部凝胶", "nails", 1400, 90, 35, 0.15),
)
_DEPOSIT_CATEGORIES = {"color", "perm", "grooming", "lashes"}

# (code prefix, city, country, timezone, Chinese city name)
_DEFAULT_STORES = (
    ("TPE", "Taipei", "TW", "Asia/Taipei", SALON, "美麗信義店"),
    ("TPE", "Taipei", "TW", "Asia/Taipei", GROOMER, "毛孩時光內湖店"),
    ("SHA", "Shanghai", "CN", "Asia/Shanghai", ADOPTION, "宠爱之家静安店"),
    ("TXG", "Taichung", "TW", "Asia/Taipei", NAILS, "指尖美學公益店"),
)
_MORE_CITIES = (
    ("KHH", "Kaohsiung", "TW", "Asia/Taipei", "高雄"),
    ("HGH", "Hangzhou", "CN", "Asia/Shanghai", "杭州"),
    ("TNN", "Tainan", "TW", "Asia/Taipei", "台南"),
    ("PEK", "Beijing", "CN", "Asia/Shanghai", "北京"),
    ("HSZ", "Hsinchu", "TW", "Asia/Taipei", "新竹"),
    ("SZX", "Shenzhen", "CN", "Asia/Shanghai", "深圳"),
    ("TYN", "Taoyuan", "TW", "Asia/Taipei", "桃園"),
    ("CTU", "Chengdu", "CN", "Asia/Shanghai", "成都"),
    ("TPE", "Taipei", "TW", "Asia/Taipei", "台北"),
    ("SHA", "Shanghai", "CN", "Asia/Shanghai", "上海"),
    ("TXG", "Taichung", "TW", "Asia/Taipei", "台中"),
)
_BRANDS = {
    SALON: ("美麗", "美丽"),
    GROOMER: ("毛孩時光", "毛孩时光"),
    ADOPTION: ("寵愛之家", "宠爱之家"),
    NAILS: ("指尖美學", "指尖美学"),
}
_STORE_WEIGHT = np.array([0.32, 0.25, 0.18, 0.25])  # by kind: salons draw the most customers
_SERVICE_ROLE = {SALON: "stylist", GROOMER: "groomer", ADOPTION: "groomer", NAILS: "technician"}

# Surnames with rough frequency weights; Taiwan (traditional) and mainland (simplified).
_SURNAMES_TW = (
    "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高",
    (
        11,
        8.3,
        6,
        5.3,
        5.1,
        4.1,
        4,
        3.2,
        2.9,
        2.6,
        2.3,
        1.9,
        1.8,
        1.5,
        1.5,
        1.5,
        1.4,
        1.3,
        1.3,
        1.3,
        1.1,
        1.1,
        1,
        0.9,
        0.9,
        0.9,
        0.8,
        0.8,
        0.8,
        0.8,
    ),
)
_SURNAMES_CN = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹",
    (
        7.1,
        7,
        6.7,
        5.4,
        4.5,
        3.1,
        2.2,
        2.2,
        2,
        1.9,
        1.5,
        1.5,
        1.4,
        1.3,
        1.3,
        1.1,
        1.1,
        1,
        1,
        0.9,
        0.9,
        0.9,
        0.8,
        0.7,
        0.7,
        0.7,
        0.6,
        0.6,
        0.6,
        0.6,
    ),
)
_GIVEN = {  # (country, female) -> characters
    (0, True): "怡婷雅淑惠美佳欣筱宜庭君慧珮詩涵萱芳瑜琪雯靜玲晴",
    (0, False): "志明家豪俊宏建傑偉信宇翔承冠哲銘嘉文柏彥廷",
    (1, True): "丽静敏婷雪琳欣怡佳慧晓玉梦雨涵思悦颖",
    (1, False): "伟强磊军洋勇杰涛明超浩宇鹏辉俊博文轩",
}
_EMAIL_HANDLES = np.array(
    [
        "amy",
        "kevin",
        "vivian",
        "jason",
        "grace",
        "eric",
        "tina",
        "alan",
        "joyce",
        "leo",
        "cindy",
        "ken",
        "iris",
        "max",
        "winnie",
        "jack",
    ],
    dtype=object,
)
_EMAIL_DOMAINS = (
    np.array(["@gmail.com", "@yahoo.com.tw", "@hotmail.com"], dtype=object),
    np.array(["@qq.com", "@163.com", "@126.com"], dtype=object),
)
_TAGS = {
    SALON: ("敏感肌", "週末優先", "怕冷", "喜歡安靜", "長髮", "常染髮", "孕婦"),
    NAILS: ("週末優先", "喜歡裸色", "指甲薄", "喜歡安靜", "新娘"),
    GROOMER: ("大型犬", "怕吹風機", "會咬人", "皮膚敏感", "老犬", "週末優先"),
    ADOPTION: ("新手主人", "多宠家庭", "周末优先", "需要提醒"),
}
_EVENING_TAG = ("晚間時段", "晚间时段")
_PET_NAMES = (
    np.array(
        [
            "豆豆",
            "球球",
            "可樂",
            "布丁",
            "妞妞",
            "小白",
            "奶茶",
            "Lucky",
            "Money",
            "Coco",
            "Mimi",
            "黑糖",
            "麻糬",
            "湯圓",
            "Momo",
            "饅頭",
            "阿福",
            "Kiki",
        ],
        dtype=object,
    ),
    np.array(
        [
            "豆豆",
            "球球",
            "可乐",
            "布丁",
            "妞妞",
            "小白",
            "奶茶",
            "旺财",
            "Lucky",
            "Coco",
            "Mimi",
            "年糕",
            "汤圆",
            "馒头",
            "来福",
            "元宝",
        ],
        dtype=object,
    ),
)
# (traditional, simplified, species, coat, weight)
_BREEDS = (
    ("貴賓", "贵宾", "dog", "medium", 0.16),
    ("柴犬", "柴犬", "dog", "short", 0.08),
    ("柯基", "柯基", "dog", "medium", 0.07),
    ("博美", "博美", "dog", "long", 0.07),
    ("瑪爾濟斯", "马尔济斯", "dog", "long", 0.06),
    ("約克夏", "约克夏", "dog", "long", 0.04),
    ("法鬥", "法斗", "dog", "short", 0.05),
    ("臘腸", "腊肠", "dog", "short", 0.04),
    ("黃金獵犬", "金毛", "dog", "long", 0.05),
    ("雪納瑞", "雪纳瑞", "dog", "medium", 0.05),
    ("米克斯", "中华田园犬", "dog", "short", 0.08),
    ("米克斯貓", "中华田园猫", "cat", "short", 0.07),
    ("英國短毛貓", "英短", "cat", "short", 0.07),
    ("美國短毛貓", "美短", "cat", "short", 0.04),
    ("布偶貓", "布偶猫", "cat", "long", 0.04),
    ("波斯貓", "波斯猫", "cat", "long", 0.02),
    ("暹羅貓", "暹罗猫", "cat", "short", 0.01),
)
_COMMENTS_GOOD = (
    np.array(["服務很好", "很滿意", "很用心", "環境乾淨", "下次還會再來", "價格合理", "很有耐心"], dtype=object),
    np.array(["服务很好", "很满意", "很用心", "环境干净", "下次还会再来", "价格合理", "很有耐心"], dtype=object),
)
_COMMENTS_BAD = (
    np.array(["等太久", "結果不如預期", "態度不好", "價格太貴", "預約時間被延誤", "做得太趕"], dtype=object),
    np.array(["等太久", "效果不如预期", "态度不好", "价格太贵", "预约时间被延误", "做得太赶"], dtype=object),
)
