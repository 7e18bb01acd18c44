"""Reproducible demo chain with a known ground truth.

`generate_world` / `iter_world_chunks` build stores, staff, services, customers, pets, bookings,
feedback, monthly plans, stored value, referrals and a ``truth`` table describing the process that
generated the bookings (true cadence, churn moment, no-show propensity, designated staff,
archetype). Models and KPIs in `core/` are checked against that truth, so every signal here is
deliberately real and learnable:

* each *subject* (a customer, or a pet at a pet store) revisits on its own cadence; intervals are
  ``cadence × lognormal`` so the median observed interval recovers the cadence;
* churn is driven by a per-visit hazard raised by complaints and no-shows (plus planned drifters
  and one-timers); the 2–3 intervals before churn stretch ×1.3–1.6;
* the no-show probability grows with lead time, web bookings and evening slots, falls with a
  deposit, on top of a per-customer propensity;
* Lunar New Year rush, summer grooming bump, designated staff, add-ons, cross-store visits.

Everything is vectorised with numpy over the slots of a chunk of customers; the only Python
loops are per chunk, per store or per kind. Timestamps are store-local naive ``datetime64[ns]``.
"""
from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, timedelta

import numpy as np
import pandas as pd

__all__ = [
    "DEMO_BOOKING_COLUMNS",
    "DEMO_CUSTOMER_COLUMNS",
    "FEEDBACK_COLUMNS",
    "LUNAR_NEW_YEAR",
    "PET_COLUMNS",
    "PLAN_COLUMNS",
    "REFERRAL_COLUMNS",
    "REMINDER_COLUMNS",
    "SERVICE_COLUMNS",
    "STAFF_COLUMNS",
    "STORED_VALUE_COLUMNS",
    "STORE_COLUMNS",
    "TRUTH_COLUMNS",
    "DemoWorld",
    "generate_world",
    "iter_world_chunks",
]

STORE_COLUMNS = ("store_id", "code", "name", "city", "timezone", "kind", "currency", "country",
                 "daily_capacity")
STAFF_COLUMNS = ("staff_id", "store_id", "name", "role")
SERVICE_COLUMNS = ("service_id", "kind", "name", "category", "price", "duration_min",
                   "typical_cycle_days")
DEMO_CUSTOMER_COLUMNS = (
    "customer_id", "external_id", "name", "phone", "email", "line_id", "wechat_openid",
    "birthday", "gender", "home_store_id", "joined_on", "referred_by", "referral_code",
    "consent_sms", "consent_line", "consent_email", "consent_wechat", "opted_out_at", "tags",
)
PET_COLUMNS = ("pet_id", "customer_id", "name", "species", "breed", "coat_length", "birthday",
               "vaccine_due")
DEMO_BOOKING_COLUMNS = (
    "booking_id", "external_id", "customer_id", "store_id", "pet_id", "service_id",
    "service_category", "staff_id", "designated", "created_at", "scheduled_at", "status",
    "amount", "addon_amount", "channel", "deposit",
)
FEEDBACK_COLUMNS = ("feedback_id", "booking_id", "rating", "complaint", "comment")
PLAN_COLUMNS = ("plan_id", "customer_id", "store_id", "pet_id", "name", "monthly_fee",
                "periods_total", "periods_paid", "started_on", "ends_on", "status")
STORED_VALUE_COLUMNS = ("entry_id", "customer_id", "store_id", "kind", "amount", "occurred_at")
REFERRAL_COLUMNS = ("referral_id", "referrer_id", "referee_id", "code", "created_at")
TRUTH_COLUMNS = ("customer_id", "pet_id", "true_cadence_days", "churned_at", "noshow_propensity",
                 "designated_staff_id", "archetype")
#: Past reminders: ``status`` sent / holdout / suppressed (opted out), ``pulled`` = the reminder
#: brought the visit forward (ground truth; holdout and suppressed rows are never pulled).
REMINDER_COLUMNS = ("reminder_id", "customer_id", "pet_id", "store_id", "sent_at", "status", "reason",
                    "pulled")

# Lunar New Year's day; the three weeks before it are the busiest of the year.
LUNAR_NEW_YEAR: tuple[date, ...] = (
    date(2020, 1, 25), date(2021, 2, 12), date(2022, 2, 1), date(2023, 1, 22),
    date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6),
    date(2028, 1, 26), date(2029, 2, 13), date(2030, 2, 3),
)

BOOKED_HORIZON_DAYS = 21
# Reminder history: for the last half year the shop called each subject due in a week ("due −7"),
# holding out a random 10 %. A reminder brings a subject who would have booked later than the week
# in within the week with probability REMINDER_LIFT: the true effect campaign results must find.
REMINDER_HISTORY_DAYS = 182
REMINDER_LEAD_DAYS = 7
REMINDER_HOLDOUT = 0.10
REMINDER_LIFT = 0.25
REMINDER_HOUR = 11.0
REMINDER_SEED = 20_261_202
CADENCES = np.array([14, 21, 28, 35, 42, 56])
KINDS = ("beauty_salon", "pet_groomer", "pet_adoption", "nail_studio")
SALON, GROOMER, ADOPTION, NAILS = range(4)
ARCHETYPES = np.array(["loyal", "drifter", "one_timer", "seasonal"], dtype=object)
LOYAL, DRIFTER, ONE_TIMER, SEASONAL = range(4)
STATUS = np.array(["booked", "completed", "cancelled", "no_show", "rescheduled"], dtype=object)
BOOKED, COMPLETED, CANCELLED, NO_SHOW, RESCHEDULED = range(5)
CHANNELS = np.array(["line", "phone", "walk_in", "web", "wechat"], dtype=object)
LINE, PHONE, WALK_IN, WEB, WECHAT = range(5)
# Preferred-channel mix per country (TW, CN) over CHANNELS.
CHANNEL_MIX = np.array([[0.45, 0.22, 0.10, 0.23, 0.00], [0.00, 0.18, 0.10, 0.12, 0.60]])
LEAD_MEAN_DAYS = np.array([5.0, 3.0, 0.0, 9.0, 5.0])  # by channel, for customers who book ad hoc
CNY_PER_TWD = 1 / 4.4

# Cadence mix (over CADENCES) per store kind.
CADENCE_MIX = np.array([
    [0.03, 0.15, 0.27, 0.25, 0.20, 0.10],   # salon
    [0.03, 0.07, 0.25, 0.20, 0.25, 0.20],   # groomer
    [0.00, 0.00, 0.80, 0.20, 0.00, 0.00],   # adoption: monthly pickups
    [0.05, 0.30, 0.30, 0.20, 0.10, 0.05],   # nails
])
ARCHETYPE_MIX = np.array([0.50, 0.10, 0.20, 0.20])
# Per-visit churn hazard by archetype; complaints and no-shows add to it (the learnable signal).
BASE_HAZARD = np.array([0.0005, 0.0, 0.0, 0.001])
COMPLAINT_HAZARD = 0.20
NOSHOW_HAZARD = 0.05

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
    ("KHH", "Kaohsiung", "TW", "Asia/Taipei", "高雄"), ("HGH", "Hangzhou", "CN", "Asia/Shanghai", "杭州"),
    ("TNN", "Tainan", "TW", "Asia/Taipei", "台南"), ("PEK", "Beijing", "CN", "Asia/Shanghai", "北京"),
    ("HSZ", "Hsinchu", "TW", "Asia/Taipei", "新竹"), ("SZX", "Shenzhen", "CN", "Asia/Shanghai", "深圳"),
    ("TYN", "Taoyuan", "TW", "Asia/Taipei", "桃園"), ("CTU", "Chengdu", "CN", "Asia/Shanghai", "成都"),
    ("TPE", "Taipei", "TW", "Asia/Taipei", "台北"), ("SHA", "Shanghai", "CN", "Asia/Shanghai", "上海"),
    ("TXG", "Taichung", "TW", "Asia/Taipei", "台中"),
)
_BRANDS = {SALON: ("美麗", "美丽"), GROOMER: ("毛孩時光", "毛孩时光"), ADOPTION: ("寵愛之家", "宠爱之家"),
           NAILS: ("指尖美學", "指尖美学")}
_STORE_WEIGHT = np.array([0.32, 0.25, 0.18, 0.25])  # by kind: salons draw the most customers
#: Bookings a customer makes per day on average (all statuses), as the chunks generate them.
_BOOKINGS_PER_CUSTOMER_DAY = 0.0275
#: Capacity over the average day: weekends, the Lunar New Year rush and store-kind differences.
_PEAK_HEADROOM = 1.6
_SERVICE_ROLE = {SALON: "stylist", GROOMER: "groomer", ADOPTION: "groomer", NAILS: "technician"}

# Surnames with rough frequency weights; Taiwan (traditional) and mainland (simplified).
_SURNAMES_TW = ("陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高",
                (11, 8.3, 6, 5.3, 5.1, 4.1, 4, 3.2, 2.9, 2.6, 2.3, 1.9, 1.8, 1.5, 1.5, 1.5, 1.4,
                 1.3, 1.3, 1.3, 1.1, 1.1, 1, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8))
_SURNAMES_CN = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹",
                (7.1, 7, 6.7, 5.4, 4.5, 3.1, 2.2, 2.2, 2, 1.9, 1.5, 1.5, 1.4, 1.3, 1.3, 1.1, 1.1,
                 1, 1, 0.9, 0.9, 0.9, 0.8, 0.7, 0.7, 0.7, 0.6, 0.6, 0.6, 0.6))
_GIVEN = {  # (country, female) -> characters
    (0, True): "怡婷雅淑惠美佳欣筱宜庭君慧珮詩涵萱芳瑜琪雯靜玲晴",
    (0, False): "志明家豪俊宏建傑偉信宇翔承冠哲銘嘉文柏彥廷",
    (1, True): "丽静敏婷雪琳欣怡佳慧晓玉梦雨涵思悦颖",
    (1, False): "伟强磊军洋勇杰涛明超浩宇鹏辉俊博文轩",
}
_EMAIL_HANDLES = np.array(["amy", "kevin", "vivian", "jason", "grace", "eric", "tina", "alan",
                           "joyce", "leo", "cindy", "ken", "iris", "max", "winnie", "jack"], dtype=object)
_EMAIL_DOMAINS = (np.array(["@gmail.com", "@yahoo.com.tw", "@hotmail.com"], dtype=object),
                  np.array(["@qq.com", "@163.com", "@126.com"], dtype=object))
_TAGS = {
    SALON: ("敏感肌", "週末優先", "怕冷", "喜歡安靜", "長髮", "常染髮", "孕婦"),
    NAILS: ("週末優先", "喜歡裸色", "指甲薄", "喜歡安靜", "新娘"),
    GROOMER: ("大型犬", "怕吹風機", "會咬人", "皮膚敏感", "老犬", "週末優先"),
    ADOPTION: ("新手主人", "多宠家庭", "周末优先", "需要提醒"),
}
_EVENING_TAG = ("晚間時段", "晚间时段")
_PET_NAMES = (
    np.array(["豆豆", "球球", "可樂", "布丁", "妞妞", "小白", "奶茶", "Lucky", "Money", "Coco",
              "Mimi", "黑糖", "麻糬", "湯圓", "Momo", "饅頭", "阿福", "Kiki"], dtype=object),
    np.array(["豆豆", "球球", "可乐", "布丁", "妞妞", "小白", "奶茶", "旺财", "Lucky", "Coco",
              "Mimi", "年糕", "汤圆", "馒头", "来福", "元宝"], dtype=object),
)
# (traditional, simplified, species, coat, weight)
_BREEDS = (
    ("貴賓", "贵宾", "dog", "medium", 0.16), ("柴犬", "柴犬", "dog", "short", 0.08),
    ("柯基", "柯基", "dog", "medium", 0.07), ("博美", "博美", "dog", "long", 0.07),
    ("瑪爾濟斯", "马尔济斯", "dog", "long", 0.06), ("約克夏", "约克夏", "dog", "long", 0.04),
    ("法鬥", "法斗", "dog", "short", 0.05), ("臘腸", "腊肠", "dog", "short", 0.04),
    ("黃金獵犬", "金毛", "dog", "long", 0.05), ("雪納瑞", "雪纳瑞", "dog", "medium", 0.05),
    ("米克斯", "中华田园犬", "dog", "short", 0.08),
    ("米克斯貓", "中华田园猫", "cat", "short", 0.07), ("英國短毛貓", "英短", "cat", "short", 0.07),
    ("美國短毛貓", "美短", "cat", "short", 0.04), ("布偶貓", "布偶猫", "cat", "long", 0.04),
    ("波斯貓", "波斯猫", "cat", "long", 0.02), ("暹羅貓", "暹罗猫", "cat", "short", 0.01),
)
_COMMENTS_GOOD = (np.array(["服務很好", "很滿意", "很用心", "環境乾淨", "下次還會再來", "價格合理", "很有耐心"], dtype=object),
                  np.array(["服务很好", "很满意", "很用心", "环境干净", "下次还会再来", "价格合理", "很有耐心"], dtype=object))
_COMMENTS_BAD = (np.array(["等太久", "結果不如預期", "態度不好", "價格太貴", "預約時間被延誤", "做得太趕"], dtype=object),
                 np.array(["等太久", "效果不如预期", "态度不好", "价格太贵", "预约时间被延误", "做得太赶"], dtype=object))


@dataclass(frozen=True)
class DemoWorld:
    """All tables of a demo chain; every field is a DataFrame (see the ``*_COLUMNS`` tuples)."""

    stores: pd.DataFrame
    staff: pd.DataFrame
    services: pd.DataFrame
    customers: pd.DataFrame
    pets: pd.DataFrame
    bookings: pd.DataFrame
    feedback: pd.DataFrame
    plans: pd.DataFrame
    stored_value: pd.DataFrame
    referrals: pd.DataFrame
    truth: pd.DataFrame
    reminders: pd.DataFrame


# --------------------------------------------------------------------------------------------
# small vectorised helpers


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Owner index, position within owner and segment starts for ``counts`` (all ≥ 1)."""
    starts = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(counts)), counts)
    pos = np.arange(int(counts.sum())) - starts[owner]
    return owner, pos, starts


def _seg_cumsum(x: np.ndarray, owner: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every segment."""
    total = np.cumsum(x)
    return total - (total[starts] - x[starts])[owner]


def _codes(prefix: str, values: np.ndarray, width: int, alphabet: str = "0123456789") -> np.ndarray:
    """``prefix`` + fixed-width digits of ``values`` in ``alphabet``'s base, as a str array."""
    base = len(alphabet)
    values = np.asarray(values, dtype=np.int64)
    powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers) % base
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    chars = np.empty((len(values), len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars[:, len(prefix):] = table[digits]
    return chars.view(f"S{chars.shape[1]}").ravel().astype(str).astype(object)


def _random_codes(rng: np.random.Generator, prefix: str, n: int, width: int, alphabet: str) -> np.ndarray:
    """Random fixed-width tokens (LINE ids, WeChat openids)."""
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    chars = np.empty((n, len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars[:, len(prefix):] = table[rng.integers(0, len(table), size=(n, width))]
    return chars.view(f"S{chars.shape[1]}").ravel().astype(str).astype(object)


def _days_to_ts(origin: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Float days after ``origin`` → datetime64[ns] rounded to the minute."""
    minutes = np.round(np.asarray(days, dtype=np.float64) * 1440.0).astype(np.int64)
    return (origin + minutes.astype("timedelta64[m]")).astype("datetime64[ns]")


def _days_to_date(origin: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Float days after ``origin`` → midnight datetime64[ns] of that day."""
    return (origin + np.floor(days).astype(np.int64).astype("timedelta64[D]")).astype("datetime64[ns]")


def _int64_na(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    """Nullable ``Int64`` array, ``<NA>`` where ``missing``."""
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), np.asarray(missing, bool))


def _names(rng: np.random.Generator, country: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Realistic Chinese full names: surname + one or two given-name characters."""
    n = len(country)
    out = np.empty(n, dtype=object)
    for c, (chars, weights) in enumerate((_SURNAMES_TW, _SURNAMES_CN)):
        for fem in (True, False):
            idx = np.flatnonzero((country == c) & (female == fem))
            if idx.size == 0:
                continue
            w = np.asarray(weights, float)
            sur = np.array(list(chars), dtype=object)[rng.choice(len(chars), idx.size, p=w / w.sum())]
            given = np.array(list(_GIVEN[(c, fem)]), dtype=object)
            g1 = given[rng.integers(0, len(given), idx.size)]
            g2 = given[rng.integers(0, len(given), idx.size)]
            two = rng.random(idx.size) < 0.85
            out[idx] = sur + g1 + np.where(two, g2, "")
    return out


def _empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    """Zero rows, same columns and dtypes."""
    return frame.iloc[0:0].copy()


# --------------------------------------------------------------------------------------------
# static tables


@dataclass(frozen=True)
class _Chain:
    """Static tables plus the numpy lookups the per-chunk generator needs."""

    stores: pd.DataFrame
    staff: pd.DataFrame
    services: pd.DataFrame
    store_kind: np.ndarray        # by store index
    store_country: np.ndarray     # 0 TW, 1 CN
    store_weight: np.ndarray
    staff_table: np.ndarray       # [store index, k] service staff ids, padded
    staff_count: np.ndarray
    service_ids: dict[tuple[int, int], np.ndarray]      # (kind, country) -> service ids
    service_weights: dict[tuple[int, int], np.ndarray]
    service_price: np.ndarray     # indexed by service_id
    service_category: np.ndarray  # indexed by service_id
    cross_candidates: list[np.ndarray]  # per store index: store indices for cross-store visits
    treat_candidates: list[np.ndarray]  # per pet store index: beauty stores for owners' own visits


def _build_chain(rng: np.random.Generator, n_stores: int, n_customers: int) -> _Chain:
    if n_stores < 1:
        raise ValueError("n_stores must be at least 1")
    rows = []
    prefix_count: dict[str, int] = {}
    for i in range(n_stores):
        if i < len(_DEFAULT_STORES):
            prefix, city, country, tz, kind, name = _DEFAULT_STORES[i]
        else:
            kind = i % 4
            prefix, city, country, tz, zh_city = _MORE_CITIES[(i - 4) % len(_MORE_CITIES)]
            brand = _BRANDS[kind][country == "CN"]
            nth = (i - 4) // len(_MORE_CITIES)
            name = f"{brand}{zh_city}{'' if nth == 0 else nth + 1}店"
        prefix_count[prefix] = prefix_count.get(prefix, 0) + 1
        rows.append({"store_id": i + 1, "code": f"{prefix}{prefix_count[prefix]:02d}", "name": name,
                     "city": city, "timezone": tz, "kind": KINDS[kind],
                     "currency": "CNY" if country == "CN" else "TWD", "country": country, "_kind": kind})
    stores = pd.DataFrame(rows)
    store_kind = stores["_kind"].to_numpy()
    store_country = (stores["country"] == "CN").to_numpy().astype(int)
    weight = _STORE_WEIGHT[store_kind] * rng.uniform(0.8, 1.2, n_stores)
    weight = weight / weight.sum()

    # Staff sized to the expected load so utilisation KPIs look plausible at any scale.
    daily = weight * n_customers * 0.6 / 35 * 1.15
    n_service = np.clip(np.ceil(daily / 7), 3, 60).astype(int)
    # Capacity (appointments a day) follows the bookings the chunks actually generate (about
    # 0.0275 per customer a day chain-wide, measured at 2,000 and 5,000 customers) with room for
    # busy days, so the 90-day forecast sits under it on an ordinary day; sized from the staff
    # above (7 each) it was a third of the volume and the forecast said 82 of 90 days were over.
    # (The staff count itself stays: it drives the world's random draws.)
    volume = weight * n_customers * _BOOKINGS_PER_CUSTOMER_DAY * _PEAK_HEADROOM
    stores["daily_capacity"] = np.maximum(n_service * 7, np.ceil(volume / 7) * 7).astype(int)
    staff_rows = []
    staff_table = np.zeros((n_stores, int(n_service.max())), dtype=np.int64)
    for s in range(n_stores):
        roles = ["manager", "front_desk"] + [_SERVICE_ROLE[int(store_kind[s])]] * int(n_service[s])
        names = _names(rng, np.full(len(roles), store_country[s]), rng.random(len(roles)) < 0.7)
        for role, nm in zip(roles, names, strict=False):
            staff_rows.append({"staff_id": len(staff_rows) + 1, "store_id": s + 1, "name": nm, "role": role})
            if role not in ("manager", "front_desk"):
                staff_table[s, (staff_table[s] > 0).sum()] = len(staff_rows)
    staff = pd.DataFrame(staff_rows, columns=list(STAFF_COLUMNS))

    service_rows = []
    service_ids: dict[tuple[int, int], np.ndarray] = {}
    service_weights: dict[tuple[int, int], np.ndarray] = {}
    for kind, country in sorted({(int(k), int(c)) for k, c in zip(store_kind, store_country, strict=False)}):
        ids, ws = [], []
        for k, trad, simp, category, price, minutes, cycle, w in _SERVICES:
            if k != kind:
                continue
            local = price if country == 0 else max(5 * round(price * CNY_PER_TWD / 5), 5)
            service_rows.append({"service_id": len(service_rows) + 1, "kind": KINDS[kind],
                                 "name": simp if country else trad, "category": category,
                                 "price": float(local), "duration_min": minutes,
                                 "typical_cycle_days": cycle})
            ids.append(len(service_rows))
            ws.append(w)
        service_ids[(kind, country)] = np.array(ids)
        service_weights[(kind, country)] = np.array(ws) / sum(ws)
    services = pd.DataFrame(service_rows, columns=list(SERVICE_COLUMNS))
    price = np.concatenate([[0.0], services["price"].to_numpy(float)])
    category = np.concatenate([[""], services["category"].to_numpy(object)]).astype(object)

    # Cross-store visits go to a same-kind store in the same country, else to the other beauty
    # kind (salon <-> nails); adoption customers stay home because their plan is store-bound.
    family = np.where(np.isin(store_kind, (SALON, NAILS)), 0, np.where(store_kind == GROOMER, 1, 2))
    cross = []
    for s in range(n_stores):
        others = np.flatnonzero((np.arange(n_stores) != s) & (store_country == store_country[s]))
        same = others[store_kind[others] == store_kind[s]]
        fam = others[(family[others] == family[s]) & (family[others] < 2)]
        cross.append(same if same.size else (fam if family[s] < 2 else np.array([], dtype=int)))
    treat = [np.flatnonzero((store_country == store_country[s]) & (family == 0)) if family[s] > 0
             else np.array([], dtype=int) for s in range(n_stores)]

    return _Chain(
        stores=stores[list(STORE_COLUMNS)], staff=staff, services=services, store_kind=store_kind,
        store_country=store_country, store_weight=weight, staff_table=staff_table,
        staff_count=n_service, service_ids=service_ids, service_weights=service_weights,
        service_price=price, service_category=category, cross_candidates=cross,
        treat_candidates=treat,
    )


# --------------------------------------------------------------------------------------------
# per-chunk generation


@dataclass
class _Offsets:
    customer: int = 0
    pet: int = 0
    booking: int = 0
    feedback: int = 0
    plan: int = 0
    stored_value: int = 0
    referral: int = 0
    reminder: int = 0


def _lny_days(origin: date) -> np.ndarray:
    return np.array([(d - origin).days for d in LUNAR_NEW_YEAR], dtype=float)


def _chunk(rng: np.random.Generator, chain: _Chain, n: int, off: _Offsets, origin: date,
           end_date: date) -> dict[str, pd.DataFrame]:
    """Customer-dependent tables for ``n`` customers with ids after the offsets in ``off``."""
    o64 = np.datetime64(origin, "D")
    cutoff = float((end_date - origin).days + 1)  # midnight after end_date: the "now" of the world
    horizon = cutoff + BOOKED_HORIZON_DAYS

    # ---- customers ---------------------------------------------------------------------------
    cust_id = off.customer + 1 + np.arange(n)
    home = rng.choice(len(chain.store_weight), size=n, p=chain.store_weight)
    kind = chain.store_kind[home]
    country = chain.store_country[home]
    is_pet_store = np.isin(kind, (GROOMER, ADOPTION))
    female = rng.random(n) < np.where(is_pet_store, 0.65, 0.88)
    pre_window = rng.random(n) < 0.22
    joined_t = np.where(pre_window, -rng.uniform(1, 730, n), rng.uniform(0, cutoff, n))
    propensity = rng.beta(1.5, 23.5, n)   # mean 6% no-show propensity
    wants_staff = rng.random(n) < 0.40
    evening_pref = rng.random(n) < 0.20
    pref_hour = np.where(evening_pref, rng.choice([18.0, 18.5, 19.0], n),
                         10.0 + 0.5 * rng.integers(0, 16, n))
    pref_channel = np.empty(n, dtype=np.int64)
    for c in (0, 1):
        m = country == c
        pref_channel[m] = rng.choice(len(CHANNELS), size=int(m.sum()), p=CHANNEL_MIX[c])
    # Prebookers book the next visit at checkout: long lead times, the classic no-show risk.
    prebooker = rng.random(n) < np.where(kind == ADOPTION, 0.6, 0.35)
    designated_staff = np.zeros(n, dtype=np.int64)
    for s in range(len(chain.staff_count)):
        m = home == s
        if m.any():
            popularity = rng.dirichlet(np.full(chain.staff_count[s], 1.5))
            designated_staff[m] = chain.staff_table[s, rng.choice(chain.staff_count[s], int(m.sum()), p=popularity)]
    designated_staff = np.where(wants_staff, designated_staff, 0)

    # ---- subjects: the customer, or each pet of a pet-store household ------------------------
    n_pets = np.where(is_pet_store, rng.choice([1, 2, 3], size=n, p=[0.62, 0.27, 0.11]), 0)
    n_sub = np.maximum(n_pets, 1)
    sc, spos, _ = _ragged(n_sub)           # subject -> customer index, pet rank in household
    m_sub = len(sc)
    s_kind = kind[sc]
    s_is_pet = is_pet_store[sc]
    pet_id = np.zeros(m_sub, dtype=np.int64)
    pet_id[s_is_pet] = off.pet + 1 + np.arange(int(s_is_pet.sum()))
    cadence = np.empty(m_sub, dtype=np.int64)
    for k in range(4):
        m = s_kind == k
        cadence[m] = rng.choice(CADENCES, size=int(m.sum()), p=CADENCE_MIX[k])
    arche = rng.choice(4, size=m_sub, p=ARCHETYPE_MIX)
    sigma = rng.uniform(0.05, 0.10, m_sub)
    t0 = np.where(pre_window[sc], rng.uniform(0, cadence),
                  joined_t[sc] + np.where(spos > 0, rng.uniform(0, 120, m_sub), 0.0))
    monthly_fee = rng.choice([199.0, 299.0, 399.0, 499.0, 599.0], size=m_sub, p=[0.2, 0.35, 0.25, 0.12, 0.08])
    # Pets: size/coat drive grooming prices.
    breed_w = np.array([b[4] for b in _BREEDS])
    breed_idx = rng.choice(len(_BREEDS), size=m_sub, p=breed_w / breed_w.sum())
    coat = np.array([b[3] for b in _BREEDS], dtype=object)[breed_idx]
    coat_mult = np.where(coat == "long", 1.3, np.where(coat == "medium", 1.15, 1.0))

    # ---- slots: planned visits on the subject's cadence --------------------------------------
    K = np.maximum(np.ceil((horizon + 1 - t0) / (0.65 * cadence)).astype(np.int64) + 1, 1)
    own, pos, starts = _ragged(K)
    n_slot = len(own)
    cust = sc[own]
    cad = cadence[own].astype(float)
    x = cad * rng.lognormal(0.0, sigma[own])
    x[pos == 0] = 0.0
    base_t = t0[own] + _seg_cumsum(x, own, starts)
    # Summer bump for pet grooming: dogs get groomed more often in the heat.
    month = ((o64 + np.floor(base_t).astype(np.int64).astype("timedelta64[D]")).astype("datetime64[M]")
             .astype(np.int64) % 12) + 1
    summer = (s_kind[own] == GROOMER) & np.isin(month, (6, 7, 8)) & (pos > 0)
    x[summer] *= 0.9
    base_t = t0[own] + _seg_cumsum(x, own, starts)

    # Booking attributes that do not depend on the final date.
    hour = np.where(rng.random(n_slot) < 0.75, pref_hour[cust], 10.0 + 0.5 * rng.integers(0, 19, n_slot))
    evening = hour >= 18.0
    channel = np.where(rng.random(n_slot) < 0.85, pref_channel[cust], -1)
    redraw = channel < 0
    for c in (0, 1):
        m = redraw & (country[cust] == c)
        channel[m] = rng.choice(len(CHANNELS), size=int(m.sum()), p=CHANNEL_MIX[c])
    walk_in = channel == WALK_IN

    # Store of the visit: home, or now and then another store of the same kind/family.
    store_idx = home[cust].copy()
    cross_u = rng.random(n_slot)
    for s, cand in enumerate(chain.cross_candidates):
        if cand.size:
            m = (store_idx == s) & (cross_u < 0.05)
            store_idx[m] = cand[rng.integers(0, cand.size, int(m.sum()))]
    v_kind = chain.store_kind[store_idx]
    v_country = chain.store_country[store_idx]
    # Service: the subject's usual service most of the time.
    service = np.zeros(n_slot, dtype=np.int64)
    main_service = np.zeros(m_sub, dtype=np.int64)
    for (k, c), ids in chain.service_ids.items():
        w = chain.service_weights[(k, c)]
        ms = (s_kind == k) & (chain.store_country[home[sc]] == c)
        main_service[ms] = ids[rng.choice(ids.size, int(ms.sum()), p=w)]
        m = (v_kind == k) & (v_country == c)
        service[m] = ids[rng.choice(ids.size, int(m.sum()), p=w)]
    same_kind = v_kind == s_kind[own]
    use_main = same_kind & (rng.random(n_slot) < 0.75)
    service[use_main] = main_service[own][use_main]
    category = chain.service_category[service]
    price = chain.service_price[service] * np.where(np.isin(v_kind, (GROOMER,)), coat_mult[own], 1.0)
    is_cny = v_country == 1
    round_to = np.where(is_cny, 5.0, 10.0)
    price = np.round(price * rng.uniform(0.95, 1.1, n_slot) / round_to) * round_to
    pickup = category == "plan_pickup"
    price[pickup] = np.where(is_cny, monthly_fee[own], np.round(monthly_fee[own] * 4.4, -1))[pickup]
    deposit_p = 0.06 + 0.3 * np.isin(category, list(_DEPOSIT_CATEGORIES)) + 0.15 * (channel == WEB)
    has_deposit = (rng.random(n_slot) < deposit_p) & ~walk_in & ~pickup
    deposit = np.where(has_deposit, np.round(price * 0.3 / round_to) * round_to, 0.0)

    lead = rng.exponential(LEAD_MEAN_DAYS[channel]) + rng.uniform(0.02, 0.3, n_slot)
    prebook = prebooker[cust] & (pos > 0) & (rng.random(n_slot) < 0.85) & ~walk_in
    lead = np.where(prebook, np.maximum(x - rng.uniform(0, 0.3, n_slot), 0.5), lead)
    lead = np.where(walk_in, rng.uniform(0.01, 0.04, n_slot), lead)

    # No-show: per-customer propensity shifted by lead time, channel, slot and deposit.
    p0 = propensity[cust]
    logit = (np.log(p0 / (1 - p0)) - 0.2 + 0.55 * (np.log1p(lead) - np.log1p(4.0)) + 0.6 * (channel == WEB)
             + 0.5 * evening - 1.2 * has_deposit)
    p_noshow = np.where(walk_in, 0.0, 1.0 / (1.0 + np.exp(-logit)))
    u = rng.random(n_slot)
    outcome = np.full(n_slot, COMPLETED)
    outcome[u < p_noshow] = NO_SHOW
    u2 = rng.random(n_slot)
    ok = (outcome == COMPLETED) & ~walk_in
    outcome[ok & (u2 < 0.066)] = CANCELLED
    outcome[ok & (u2 >= 0.066) & (u2 < 0.119)] = RESCHEDULED
    failed = outcome != COMPLETED
    rebook = failed & ((outcome == RESCHEDULED) | (rng.random(n_slot) < 0.88))
    complaint = rng.random(n_slot) < 0.025

    # ---- churn -------------------------------------------------------------------------------
    noshow = outcome == NO_SHOW
    hazard = BASE_HAZARD[arche[own]] + COMPLAINT_HAZARD * complaint + NOSHOW_HAZARD * (noshow & (pos >= 1))
    trig = rng.random(n_slot) < hazard
    big = np.iinfo(np.int64).max // 4
    first = np.minimum.reduceat(np.where(trig, pos, big), starts)
    has_trig = first < big
    first_slot = starts + np.minimum(first, K - 1)
    ns_at = has_trig & noshow[first_slot] & (first >= 1)
    c_h = np.where(has_trig, np.where(ns_at, first, first + 1), big)
    n_before = np.add.reduceat((base_t < cutoff).astype(np.int64), starts)
    c_plan = rng.integers(2, np.maximum(n_before, 2) + 1)
    c = np.where(arche == DRIFTER, np.minimum(c_h, c_plan), c_h)
    c = np.where(arche == ONE_TIMER, 1, c)
    noshow_churn = ns_at & (c == first) & (arche != ONE_TIMER)
    churns = c < K
    # Drift: the last 2-3 intervals before churn stretch, the observable warning sign.
    n_drift = rng.integers(2, 4, m_sub)
    c_s = c[own]
    drifting = churns[own] & (pos >= np.maximum(c_s - n_drift[own], 1)) & (pos <= c_s - 1)
    x = np.where(drifting, x * rng.uniform(1.3, 1.6, n_slot), x)

    # Reminder history on a stream of its own (without it the world would be drawn the same). A
    # subject is reminded a week before it is due after each visit in the last half year unless
    # the next visit was already booked at checkout; the visit of a reminded subject who would
    # only have booked after that week is brought forward into it with probability REMINDER_LIFT.
    crng = np.random.default_rng([off.customer, n, REMINDER_SEED])
    t_nat = t0[own] + _seg_cumsum(x, own, starts)
    prev_nat = np.where(pos > 0, np.roll(t_nat, 1), -np.inf)
    remind_nat = prev_nat + cad - REMINDER_LEAD_DAYS
    reminded = ((pos >= 1) & (pos <= c_s) & ~prebook & (remind_nat >= cutoff - REMINDER_HISTORY_DAYS)
                & (remind_nat < cutoff - 1))
    held_out = crng.random(n_slot) < REMINDER_HOLDOUT
    natural_booking = np.floor(t_nat) + hour / 24.0 - lead
    too_late = natural_booking > np.floor(remind_nat) + REMINDER_HOUR / 24.0 + REMINDER_LEAD_DAYS
    pulled = reminded & ~held_out & (pos < c_s) & too_late & (crng.random(n_slot) < REMINDER_LIFT)
    x = np.where(pulled, cad - REMINDER_LEAD_DAYS + crng.uniform(1.0, 6.0, n_slot), x)
    t = t0[own] + _seg_cumsum(x, own, starts)

    # Lunar New Year: visits due in the three weeks after it are pulled into the rush before it;
    # the shop is closed from New Year's Eve to the 4th day.
    prev_t = np.where(pos > 0, np.roll(t, 1), -1e9)
    seasonal_p = np.where(arche[own] == SEASONAL, 0.9, 0.45)
    for lny in _lny_days(origin):
        closed = (t >= lny - 1) & (t < lny + 4)
        after = (t >= lny + 4) & (t < lny + 21) & (rng.random(n_slot) < seasonal_p)
        target = lny - rng.uniform(3, 21, n_slot)
        can_pull = target > prev_t + 0.5 * cad
        move = (closed | after) & can_pull
        t = np.where(move, target, t)
        t = np.where(closed & ~can_pull, lny + 4 + rng.uniform(0, 2, n_slot), t)
    # Guard against any reordering the shifts introduced (rare), keeping days distinct.
    t = np.maximum.accumulate(t + own * 1e5) - own * 1e5

    # ---- booking rows ------------------------------------------------------------------------
    keep = (pos < c_s) | ((pos == c_s) & noshow_churn[own])
    churn_slot = (pos == c_s) & noshow_churn[own]
    day = np.floor(t)
    sched = day + hour / 24.0
    created = sched - lead
    visit_before = np.where(pos > 0, np.roll(t, 1), -np.inf)
    remind_at = np.floor(visit_before + cad - REMINDER_LEAD_DAYS) + REMINDER_HOUR / 24.0
    # A reminded visit is booked after the call, some time before the visit itself.
    answered = pulled & (sched > remind_at)
    remind_base = np.where(answered, remind_at, 0.0)
    created = np.where(answered, remind_base + (sched - remind_base) * crng.uniform(0.05, 0.9, n_slot), created)
    # A failed booking is usually rebooked a few days later; a no-show calls back afterwards,
    # a cancellation or reschedule is made before the original slot.
    delay = rng.integers(2, 9, n_slot).astype(float)
    hour2 = np.where(rng.random(n_slot) < 0.7, hour, 10.0 + 0.5 * rng.integers(0, 19, n_slot))
    sched2 = day + delay + hour2 / 24.0
    created2 = np.where(
        outcome == NO_SHOW, sched + rng.uniform(0.05, 1.5, n_slot),
        created + (sched - created) * rng.uniform(0.3, 0.9, n_slot))
    do_rebook = keep & rebook & ~churn_slot & (sched < cutoff)  # future bookings are unresolved
    att = np.flatnonzero(keep)
    reb = np.flatnonzero(do_rebook)
    # Pet owners now and then treat themselves at a sister beauty store: extra visits without a
    # pet, so the pets' own cadences stay clean.
    ex_store = np.full(n_slot, -1)
    ex_u = rng.random(n_slot)
    for s, cand in enumerate(chain.treat_candidates):
        if cand.size:
            m = keep & ~churn_slot & (store_idx == s) & (ex_u < 0.05)
            ex_store[m] = cand[rng.integers(0, cand.size, int(m.sum()))]
    ext = np.flatnonzero(ex_store >= 0)
    e_store = ex_store[ext]
    e_service = np.zeros(ext.size, dtype=np.int64)
    for (k, cn), ids in chain.service_ids.items():
        m = (chain.store_kind[e_store] == k) & (chain.store_country[e_store] == cn)
        e_service[m] = ids[rng.choice(ids.size, int(m.sum()), p=chain.service_weights[(k, cn)])]
    e_round = np.where(chain.store_country[e_store] == 1, 5.0, 10.0)
    e_price = np.round(chain.service_price[e_service] * rng.uniform(0.95, 1.1, ext.size) / e_round) * e_round
    e_sched = day[ext] + rng.integers(1, 11, ext.size) + hour[ext] / 24.0

    slot = np.concatenate([att, reb, ext])
    b_sched = np.concatenate([sched[att], sched2[reb], e_sched])
    b_created = np.concatenate([created[att], created2[reb], e_sched - lead[ext]])
    b_status = np.concatenate([outcome[att], np.full(reb.size, COMPLETED), np.full(ext.size, COMPLETED)])
    b_extra = np.concatenate([np.zeros(att.size + reb.size, bool), np.ones(ext.size, bool)])
    b_store = np.concatenate([store_idx[att], store_idx[reb], e_store])
    b_service = np.concatenate([service[att], service[reb], e_service])
    b_price = np.concatenate([price[att], price[reb], e_price])
    b_deposit = np.concatenate([deposit[att], deposit[reb], np.zeros(ext.size)])

    # Truth: churn is realised only when the whole pre-churn history lies before the cutoff.
    full_hist_max = np.full(m_sub, -np.inf)
    np.maximum.at(full_hist_max, own[slot], b_sched)

    keep_b = (b_created < cutoff - 1 / 1440) & (b_sched < horizon)
    keep_b &= ~(b_extra & (b_sched >= cutoff))
    order = np.flatnonzero(keep_b)
    order = order[np.lexsort((b_sched[order], own[slot[order]]))]
    slot, b_sched, b_created, b_status, b_extra, b_store, b_service, b_price, b_deposit = (
        a[order] for a in (slot, b_sched, b_created, b_status, b_extra, b_store, b_service, b_price, b_deposit))
    b_status = np.where(b_sched >= cutoff, BOOKED, b_status)
    nb = slot.size
    b_own = own[slot]
    b_cust = cust[slot]
    completed = b_status == COMPLETED

    last_row = np.full(m_sub, -np.inf)
    np.maximum.at(last_row, b_own, b_sched)
    last_done = np.full(m_sub, -np.inf)
    np.maximum.at(last_done, b_own[completed], b_sched[completed])
    realised = churns & np.isfinite(last_row) & (full_hist_max < cutoff - 1)
    anchor = np.where(np.isfinite(last_done), last_done, last_row)
    churn_t = np.maximum(anchor + rng.uniform(1.0, np.maximum(1.5, 0.5 * cadence)), last_row + 1 / 24)
    churn_t = np.minimum(churn_t, cutoff - 1 / 1440)

    b_channel = channel[slot]
    # Designated customers get their stylist at home; others whoever is free.
    d_staff = designated_staff[b_cust]
    at_home = b_store == home[b_cust]
    b_designated = (d_staff > 0) & at_home & (rng.random(nb) < 0.95)
    free_staff = chain.staff_table[b_store, np.floor(rng.random(nb) * chain.staff_count[b_store]).astype(np.int64)]
    b_staff = np.where(b_designated, d_staff, free_staff)
    b_addon = np.where(completed & (rng.random(nb) < 0.25),
                       np.where(chain.store_country[b_store] == 1,
                                rng.choice([30.0, 50.0, 80.0, 120.0], nb),
                                rng.choice([200.0, 300.0, 500.0, 800.0], nb)), 0.0)
    b_id = off.booking + 1 + np.arange(nb)
    b_pet = np.where(b_extra, 0, pet_id[b_own])
    bookings = pd.DataFrame({
        "booking_id": b_id,
        "external_id": _codes("B", b_id, 9),
        "customer_id": cust_id[b_cust],
        "store_id": b_store + 1,
        "pet_id": _int64_na(b_pet, b_pet == 0),
        "service_id": b_service,
        "service_category": chain.service_category[b_service],
        "staff_id": b_staff,
        "designated": b_designated,
        "created_at": _days_to_ts(o64, b_created),
        "scheduled_at": _days_to_ts(o64, b_sched),
        "status": STATUS[b_status],
        "amount": b_price,
        "addon_amount": b_addon,
        "channel": CHANNELS[b_channel],
        "deposit": b_deposit,
    })

    # ---- feedback ----------------------------------------------------------------------------
    b_complaint = completed & complaint[slot] & ~b_extra
    in_drift = drifting[slot] & ~b_extra
    fb = completed & (b_complaint | (rng.random(nb) < 0.3))
    fidx = np.flatnonzero(fb)
    f_complaint = b_complaint[fidx]
    rating = rng.choice([5, 4, 3, 2], size=fidx.size, p=[0.6, 0.3, 0.08, 0.02])
    rating = np.where(in_drift[fidx] & (rng.random(fidx.size) < 0.35), rating - 1, rating)
    rating = np.where(f_complaint, rng.choice([1, 2], fidx.size, p=[0.6, 0.4]), np.maximum(rating, 1))
    f_cn = chain.store_country[b_store[fidx]] == 1
    good = np.where(f_cn, _COMMENTS_GOOD[1][rng.integers(0, len(_COMMENTS_GOOD[1]), fidx.size)],
                    _COMMENTS_GOOD[0][rng.integers(0, len(_COMMENTS_GOOD[0]), fidx.size)])
    bad = np.where(f_cn, _COMMENTS_BAD[1][rng.integers(0, len(_COMMENTS_BAD[1]), fidx.size)],
                   _COMMENTS_BAD[0][rng.integers(0, len(_COMMENTS_BAD[0]), fidx.size)])
    comment = np.where(rating <= 2, bad, np.where(rng.random(fidx.size) < 0.5, good, None))
    feedback = pd.DataFrame({
        "feedback_id": off.feedback + 1 + np.arange(fidx.size),
        "booking_id": b_id[fidx],
        "rating": rating.astype(np.int64),
        "complaint": f_complaint,
        "comment": comment,
    })

    # ---- customers ---------------------------------------------------------------------------
    first_created = np.full(n, np.inf)
    np.minimum.at(first_created, b_cust, b_created)
    joined_final = np.floor(np.minimum(joined_t, first_created))
    tw_num = (cust_id * 7_919_113) % 100_000_000          # bijective: unique phones per id
    cn_num = (cust_id * 7_919_113) % 1_000_000_000
    phone = np.where(country == 1,
                     _codes("+861", (3 + rng.integers(0, 7, n)) * 1_000_000_000 + cn_num, 10),
                     _codes("+8869", tw_num, 8))
    has_email = rng.random(n) < 0.55
    email = (_EMAIL_HANDLES[rng.integers(0, len(_EMAIL_HANDLES), n)] + cust_id.astype(str).astype(object)
             + np.where(country == 1, _EMAIL_DOMAINS[1][rng.integers(0, 3, n)], _EMAIL_DOMAINS[0][rng.integers(0, 3, n)]))
    email = np.where(has_email, email, None)
    has_line = (country == 0) & (rng.random(n) < 0.8)
    line_id = np.where(has_line, _random_codes(rng, "U", n, 32, "0123456789abcdef"), None)
    has_wechat = (country == 1) & (rng.random(n) < 0.95)
    wechat = np.where(has_wechat, _random_codes(rng, "o", n, 27,
                                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), None)
    age_days = rng.uniform(18, 65, n) * 365.25
    birthday = _days_to_date(o64, cutoff - age_days)
    referral_code = _codes("RV", (cust_id * 2_654_435_761) % 36**7, 7, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    opted = rng.random(n) < 0.03
    opt_t = joined_final + rng.uniform(0, 1, n) * np.maximum(cutoff - joined_final, 1)
    # Reminders stop at an opt-out, so a customer whose visit a reminder brought forward opted out
    # only after that reminder; later reminders to them are suppressed.
    answered_at = np.full(n, -np.inf)
    np.maximum.at(answered_at, cust[pulled], remind_at[pulled])
    opt_t = np.where(opted, np.maximum(opt_t, answered_at + 1.0), opt_t)
    consent_sms = (rng.random(n) < np.where(country == 1, 0.55, 0.6)) & ~opted
    consent_line = has_line & (rng.random(n) < 0.85) & ~opted
    consent_email = has_email & (rng.random(n) < 0.45) & ~opted
    consent_wechat = has_wechat & (rng.random(n) < 0.8) & ~opted
    # Tags: the evening tag mirrors the real slot preference (a learnable, honest tag).
    tag1 = np.empty(n, dtype=object)
    tag2 = np.empty(n, dtype=object)
    for k, tags in _TAGS.items():
        m = kind == k
        arr = np.array(tags, dtype=object)
        tag1[m] = arr[rng.integers(0, arr.size, int(m.sum()))]
        tag2[m] = arr[rng.integers(0, arr.size, int(m.sum()))]
    n_tags = rng.choice([0, 1, 2], size=n, p=[0.55, 0.33, 0.12])
    ev_tag = np.where(country == 1, _EVENING_TAG[1], _EVENING_TAG[0])
    parts = [np.where(evening_pref, ev_tag, ""), np.where(n_tags >= 1, tag1, ""),
             np.where((n_tags >= 2) & (tag2 != tag1), tag2, "")]
    tags = pd.Series(parts[0]).str.cat([pd.Series(parts[1]), pd.Series(parts[2])], sep=",")
    tags = tags.str.replace(r",+", ",", regex=True).str.strip(",")

    referred_by = np.zeros(n, dtype=np.int64)
    ref_rows = []
    for s in np.unique(home):
        idx = np.flatnonzero(home == s)
        order_s = idx[np.argsort(joined_final[idx], kind="stable")]
        rank = np.arange(order_s.size)
        is_ref = (rng.random(order_s.size) < 0.15) & (rank > 0)
        ref_pos = np.flatnonzero(is_ref)
        before = np.cumsum(is_ref) - is_ref
        # Prefer referrers who were referred themselves so chains A->B->C->D form.
        chain_pick = is_ref & (before > 0) & (rng.random(order_s.size) < 0.45)
        pick_rank = np.floor(rng.random(order_s.size) * np.maximum(rank, 1)).astype(np.int64)
        pick_chain = ref_pos[np.minimum(np.floor(rng.random(order_s.size) * np.maximum(before, 1)).astype(np.int64),
                                        max(ref_pos.size - 1, 0))] if ref_pos.size else pick_rank
        referrer_rank = np.where(chain_pick, pick_chain, pick_rank)
        referee = order_s[is_ref]
        referrer = order_s[referrer_rank[is_ref]]
        referred_by[referee] = cust_id[referrer]
        ref_rows.append((referrer, referee))
    if ref_rows:
        referrer = np.concatenate([r[0] for r in ref_rows])
        referee = np.concatenate([r[1] for r in ref_rows])
    else:
        referrer = referee = np.array([], dtype=np.int64)
    ordr = np.argsort(cust_id[referee], kind="stable")
    referrer, referee = referrer[ordr], referee[ordr]
    referrals = pd.DataFrame({
        "referral_id": off.referral + 1 + np.arange(referee.size),
        "referrer_id": cust_id[referrer],
        "referee_id": cust_id[referee],
        "code": referral_code[referrer],
        "created_at": _days_to_ts(o64, joined_final[referee] + rng.uniform(0.42, 0.83, referee.size)),
    })

    customers = pd.DataFrame({
        "customer_id": cust_id,
        "external_id": _codes("C", cust_id, 7),
        "name": _names(rng, country, female),
        "phone": phone,
        "email": email,
        "line_id": line_id,
        "wechat_openid": wechat,
        "birthday": birthday,
        "gender": np.where(female, "F", "M"),
        "home_store_id": home + 1,
        "joined_on": _days_to_date(o64, joined_final),
        "referred_by": _int64_na(referred_by, referred_by == 0),
        "referral_code": referral_code,
        "consent_sms": consent_sms,
        "consent_line": consent_line,
        "consent_email": consent_email,
        "consent_wechat": consent_wechat,
        "opted_out_at": np.where(opted, _days_to_ts(o64, np.minimum(opt_t, cutoff - 0.01)),
                                 np.datetime64("NaT", "ns")).astype("datetime64[ns]"),
        "tags": tags.to_numpy(object),
    })

    # ---- pets --------------------------------------------------------------------------------
    pidx = np.flatnonzero(s_is_pet)
    p_cn = country[sc[pidx]] == 1
    species = np.array([b[2] for b in _BREEDS], dtype=object)[breed_idx[pidx]]
    breed = np.where(p_cn, np.array([b[1] for b in _BREEDS], dtype=object)[breed_idx[pidx]],
                     np.array([b[0] for b in _BREEDS], dtype=object)[breed_idx[pidx]])
    pet_names = np.where(p_cn, _PET_NAMES[1][rng.integers(0, len(_PET_NAMES[1]), pidx.size)],
                         _PET_NAMES[0][rng.integers(0, len(_PET_NAMES[0]), pidx.size)])
    pets = pd.DataFrame({
        "pet_id": pet_id[pidx],
        "customer_id": cust_id[sc[pidx]],
        "name": pet_names,
        "species": species,
        "breed": breed,
        "coat_length": coat[pidx],
        "birthday": _days_to_date(o64, cutoff - rng.uniform(0.4, 14, pidx.size) * 365.25),
        "vaccine_due": _days_to_date(o64, cutoff + rng.uniform(-60, 365, pidx.size)),
    })

    # ---- monthly plans (adoption store): renewed back to back until churn --------------------
    month_days = 30.44
    first_done = np.full(m_sub, np.inf)
    np.minimum.at(first_done, b_own[completed], b_sched[completed])
    plan_sub = np.flatnonzero((s_kind == ADOPTION) & np.isfinite(first_done))
    periods = rng.choice([12, 18, 24], size=plan_sub.size, p=[0.5, 0.2, 0.3])
    p_start = np.floor(first_done[plan_sub])
    p_end_active = np.where(realised[plan_sub], churn_t[plan_sub], cutoff)
    n_plans = (np.floor((p_end_active - p_start) / (periods * month_days)).astype(np.int64) + 1).clip(1)
    powner, ppos, _ = _ragged(n_plans) if plan_sub.size else (np.array([], int),) * 3
    ps = p_start[powner] + ppos * periods[powner] * month_days
    pe = ps + periods[powner] * month_days
    last_plan = ppos == n_plans[powner] - 1
    p_churned = realised[plan_sub][powner]
    p_status = np.where(~last_plan, "completed", np.where(p_churned, "cancelled", "active"))
    stop = np.where(p_churned, churn_t[plan_sub][powner], cutoff)
    elapsed = np.ceil((stop - ps) / month_days).astype(np.int64)
    paid = np.where(p_status == "completed", periods[powner],
                    np.where(p_status == "cancelled", np.clip(elapsed, 1, periods[powner] - 1),
                             np.clip(elapsed, 1, periods[powner])))
    p_sub = plan_sub[powner]
    plan_cn = country[sc[p_sub]] == 1
    plans = pd.DataFrame({
        "plan_id": off.plan + 1 + np.arange(p_sub.size),
        "customer_id": cust_id[sc[p_sub]],
        "store_id": home[sc[p_sub]] + 1,
        "pet_id": pet_id[p_sub],
        "name": np.where(plan_cn, "领养月度计划 ", "領養月度計劃 ").astype(object)
        + periods[powner].astype(str).astype(object) + "期",
        "monthly_fee": np.where(plan_cn, monthly_fee[p_sub], np.round(monthly_fee[p_sub] * 4.4, -1)),
        "periods_total": periods[powner].astype(np.int64),
        "periods_paid": paid.astype(np.int64),
        "started_on": _days_to_date(o64, ps),
        "ends_on": _days_to_date(o64, pe),
        "status": p_status.astype(object),
    })

    # ---- stored value (salon / nails): top up whenever the balance would go negative ---------
    sv_holder = (rng.random(n) < 0.3) & np.isin(kind, (SALON, NAILS))
    sv_rows = np.flatnonzero(completed & sv_holder[b_cust] & at_home & (b_sched < cutoff))
    spend = b_price[sv_rows] + b_addon[sv_rows]
    sv_cust = b_cust[sv_rows]
    unit = np.where(country[sv_cust] == 1, rng.choice([500.0, 1000.0, 2000.0], n)[sv_cust],
                    rng.choice([3000.0, 5000.0, 10000.0], n)[sv_cust])
    o_sv = np.lexsort((b_sched[sv_rows], sv_cust))
    sv_rows, spend, sv_cust, unit = sv_rows[o_sv], spend[o_sv], sv_cust[o_sv], unit[o_sv]
    _, cnt = np.unique(sv_cust, return_counts=True)
    sv_own, _, sv_starts = _ragged(cnt)
    cum = _seg_cumsum(spend, sv_own, sv_starts)
    n_units = np.ceil(cum / unit)
    prev_units = np.where(np.arange(cum.size) == sv_starts[sv_own], 0.0, np.roll(n_units, 1))
    top = n_units > prev_units
    t_when = b_sched[sv_rows]
    sv = pd.DataFrame({
        "customer_id": np.concatenate([cust_id[sv_cust[top]], cust_id[sv_cust]]),
        "store_id": np.concatenate([b_store[sv_rows[top]], b_store[sv_rows]]) + 1,
        "kind": np.concatenate([np.full(int(top.sum()), "topup", object), np.full(sv_rows.size, "debit", object)]),
        "amount": np.concatenate([(n_units - prev_units)[top] * unit[top], spend]),
        "occurred_at": _days_to_ts(o64, np.concatenate([t_when[top] - 5 / 1440, t_when + 1 / 24])),
    }).sort_values(["customer_id", "occurred_at"], kind="stable", ignore_index=True)
    sv.insert(0, "entry_id", off.stored_value + 1 + np.arange(len(sv)))
    sv_entries = sv

    # ---- truth -------------------------------------------------------------------------------
    truth = pd.DataFrame({
        "customer_id": cust_id[sc],
        "pet_id": _int64_na(pet_id, pet_id == 0),
        "true_cadence_days": cadence.astype(np.int64),
        "churned_at": np.where(realised, _days_to_ts(o64, np.where(realised, churn_t, 0.0)),
                               np.datetime64("NaT", "ns")).astype("datetime64[ns]"),
        "noshow_propensity": propensity[sc],
        "designated_staff_id": _int64_na(designated_staff[sc], designated_staff[sc] == 0),
        "archetype": ARCHETYPES[arche],
    })

    # ---- reminder history --------------------------------------------------------------------
    r_slot = np.flatnonzero(reminded & (remind_at < cutoff))
    r_cust = cust[r_slot]
    r_pet = pet_id[own[r_slot]]
    r_opted = opted[r_cust] & (remind_at[r_slot] >= opt_t[r_cust])
    r_status = np.where(held_out[r_slot], "holdout", np.where(r_opted, "suppressed", "sent")).astype(object)
    reminders = pd.DataFrame({
        "reminder_id": off.reminder + 1 + np.arange(r_slot.size),
        "customer_id": cust_id[r_cust],
        "pet_id": _int64_na(r_pet, r_pet == 0),
        "store_id": home[r_cust] + 1,
        "sent_at": _days_to_ts(o64, remind_at[r_slot]),
        "status": r_status,
        "reason": np.where(r_status == "suppressed", "opted_out", None).astype(object),
        "pulled": pulled[r_slot],
    })

    off.customer += n
    off.reminder += len(reminders)
    off.pet += int(s_is_pet.sum())
    off.booking += nb
    off.feedback += len(feedback)
    off.plan += len(plans)
    off.stored_value += len(sv_entries)
    off.referral += len(referrals)
    return {"customers": customers, "pets": pets, "bookings": bookings, "feedback": feedback,
            "plans": plans, "stored_value": sv_entries, "referrals": referrals, "truth": truth,
            "reminders": reminders}


# --------------------------------------------------------------------------------------------
# public API


def iter_world_chunks(*, n_stores: int = 4, n_customers: int = 1_000_000, seed: int = 7,
                      end_date: date = date(2026, 11, 22), years: float = 2.5,
                      chunk_customers: int = 50_000) -> Iterator[DemoWorld]:
    """Yield the demo world in chunks of customers, with bounded memory.

    Parameters
    ----------
    n_stores, n_customers, seed, end_date, years
        As in `generate_world`.
    chunk_customers
        Customers per chunk.

    Yields
    ------
    DemoWorld
        The first chunk carries stores, staff and services; later chunks carry empty frames with
        the same columns there. Ids of every table are globally unique across chunks.
    """
    if n_customers < 0 or chunk_customers < 1:
        raise ValueError("n_customers must be >= 0 and chunk_customers >= 1")
    origin = end_date - timedelta(days=round(years * 365.25))
    chain = _build_chain(np.random.default_rng([seed, 0]), n_stores, n_customers)
    off = _Offsets()
    n_chunks = max(1, math.ceil(n_customers / chunk_customers))
    for i in range(n_chunks):
        n = min(chunk_customers, n_customers - i * chunk_customers)
        tables = _chunk(np.random.default_rng([seed, 1 + i]), chain, max(n, 0), off, origin, end_date)
        static = (chain.stores, chain.staff, chain.services)
        if i > 0:
            static = tuple(_empty_like(f) for f in static)
        yield DemoWorld(stores=static[0], staff=static[1], services=static[2], **tables)


def generate_world(*, n_stores: int = 4, n_customers: int = 5000, seed: int = 7,
                   end_date: date = date(2026, 11, 22), years: float = 2.5) -> DemoWorld:
    """Generate a whole demo chain in memory (the concatenation of `iter_world_chunks`).

    Parameters
    ----------
    n_stores
        Stores in the chain; the first four are the Taipei salon, Taipei groomer, Shanghai
        adoption shop and Taichung nail studio, further ones cycle kinds over more cities.
    n_customers
        Customers in the chain.
    seed
        Random seed; the same arguments always give the same data.
    end_date
        Last day of history; only ``booked`` bookings lie after it (up to 21 days).
    years
        Length of the history window before ``end_date``.

    Returns
    -------
    DemoWorld
        All tables, with ground truth in ``truth``.
    """
    chunks = list(iter_world_chunks(n_stores=n_stores, n_customers=n_customers, seed=seed,
                                    end_date=end_date, years=years))
    merged = {}
    for f in fields(DemoWorld):
        frames = [getattr(ch, f.name) for ch in chunks]
        non_empty = [fr for fr in frames if len(fr)]
        merged[f.name] = (pd.concat(non_empty, ignore_index=True) if len(non_empty) > 1
                          else (non_empty[0] if non_empty else frames[0]).reset_index(drop=True))
    return DemoWorld(**merged)


def _main() -> None:
    parser = argparse.ArgumentParser(description="Time the demo generator (no files written).")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args()
    started = time.perf_counter()
    counts: dict[str, int] = {}
    for world in iter_world_chunks(n_stores=args.stores, n_customers=args.customers, seed=args.seed,
                                   chunk_customers=args.chunk):
        for f in fields(DemoWorld):
            counts[f.name] = counts.get(f.name, 0) + len(getattr(world, f.name))
    print(f"{args.customers} customers in {time.perf_counter() - started:.1f} s: {counts}")


if __name__ == "__main__":
    _main()
