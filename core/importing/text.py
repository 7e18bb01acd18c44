"""Small text helpers shared by the importing modules."""

from __future__ import annotations

import re
import unicodedata

# Traditional → Simplified for the characters that occur in header names and status words, so
# that one synonym list matches both scripts (no OpenCC dependency in `core`).
_T2S = str.maketrans(
    "會員編號預約時間額費態機話寵務師門購單訂來類種數銷點帳戶聯絡稱齡體實際應從設計項狀記錄劃週電郵貓顧訊簡註冊標籤總價錢優張綁與複碼別現場網絲紅書團問隊報歷達補遲備規則過擇還負責區驗證認積級儲憑據發頭職評論換處覽幣圓塊無請廳顏護膚髮燙為們個這傳線車臺灣帶試諮詢結營業條齊醫療後滿舊樂寶貝兒嗎轉縣鄉鎮專隻龍廣東",
    "会员编号预约时间额费态机话宠务师门购单订来类种数销点账户联络称龄体实际应从设计项状记录划周电邮猫顾讯简注册标签总价钱优张绑与复码别现场网丝红书团问队报历达补迟备规则过择还负责区验证认积级储凭据发头职评论换处览币圆块无请厅颜护肤发烫为们个这传线车台湾带试咨询结营业条齐医疗后满旧乐宝贝儿吗转县乡镇专只龙广东",
)

_SPACE_RE = re.compile(r"[\s\u3000\ufeff\u200b\xa0]+")
_BRACKETS_RE = re.compile(r"[(\[{（【「『<《][^)\]}）】」』>》]*[)\]}）】」』>》]")
_NON_WORD_RE = re.compile(r"[\W_]+", re.UNICODE)


_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")


def clean_header(value: object) -> str:
    """Trim whitespace (incl. full-width space, BOM, zero-width) around a header cell; drop control characters."""
    text = "" if value is None else str(value)
    return _SPACE_RE.sub(" ", _CONTROL_RE.sub("", text)).strip()


def fold(text: str) -> str:
    """NFKC-normalise, case-fold and map Traditional to Simplified characters."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_T2S)


def header_key(text: str) -> str:
    """Key for matching headers: folded, with spaces and punctuation removed."""
    return _NON_WORD_RE.sub("", fold(text))


def header_key_without_brackets(text: str) -> str:
    """Like :func:`header_key` but ignoring bracketed notes such as ``金額(元)``."""
    return header_key(_BRACKETS_RE.sub("", unicodedata.normalize("NFKC", text)))


def normalise_cell(value: str) -> str:
    """NFKC (full-width digits/punctuation → ASCII) and trim a value cell."""
    return unicodedata.normalize("NFKC", value).strip()
