"""One person, one member: propose member records that are probably the same person.

Shops that switch systems, and chains whose stores each kept their own member cards, hold the
same person under several member numbers. :func:`find_duplicate_pairs` lists candidate pairs
with a match score in [0, 1] and the evidence (which fields matched), so a manager can merge
them and cross-store visits and churn are judged on the person, not the card.

Blocking: pairs are only formed inside groups of members sharing an exact normalised contact
key (phone, LINE id or email), so the work grows with the sizes of those groups, not with the
square of the member count. A key shared by more than ``max_block`` members (a shop's own
phone typed for every walk-in, a placeholder email) says nothing about identity and is skipped.
A shared name alone never forms a pair.

Score (hand-countable): each matched contact key is independent evidence,
``contact = 1 − Π(1 − w)`` with the weights in :data:`CONTACT_WEIGHTS`; then the names adjust it:
the same name adds :data:`SAME_NAME_WEIGHT` the same way, a similar name
:data:`SIMILAR_NAME_WEIGHT`, two different names multiply it by :data:`DIFFERENT_NAME_FACTOR`
(a household sharing one phone), and a missing name leaves it as it is.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Final

import pandas as pd

from core.columns import require_columns

#: Columns :func:`find_duplicate_pairs` reads.
IDENTITY_COLUMNS: Final = ("customer_id", "external_id", "name", "phone", "line_id", "email", "home_store_id")

#: Evidence codes, in the order they are listed (shown to people through the i18n layer).
EVIDENCE_CODES: Final = ("same_phone", "same_line_id", "same_email", "same_name", "similar_name", "different_names")

#: Weight of each matched contact key.
CONTACT_WEIGHTS: Final = {"phone": 0.6, "line_id": 0.7, "email": 0.6}
SAME_NAME_WEIGHT: Final = 0.5
SIMILAR_NAME_WEIGHT: Final = 0.3
DIFFERENT_NAME_FACTOR: Final = 0.5
#: Names at least this similar (difflib ratio of the normalised names) count as similar.
SIMILAR_NAME_RATIO: Final = 0.8
#: Pairs scoring below this are not proposed (a household sharing one phone scores 0.3).
DEFAULT_MIN_SCORE: Final = 0.25
#: A contact key shared by more members than this is not used for blocking.
DEFAULT_MAX_BLOCK: Final = 8

#: Columns of :func:`find_duplicate_pairs`' result (``_a`` is the lower customer id).
PAIR_COLUMNS: Final = (
    "customer_id_a",
    "customer_id_b",
    "external_id_a",
    "external_id_b",
    "name_a",
    "name_b",
    "home_store_id_a",
    "home_store_id_b",
    "score",
    "evidence",
    "group",
)

_EVIDENCE_OF_KEY: Final = {"phone": "same_phone", "line_id": "same_line_id", "email": "same_email"}


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    try:
        if pd.isna(value):  # type: ignore[arg-type]
            return ""
    except (TypeError, ValueError):
        pass
    return unicodedata.normalize("NFKC", str(value)).strip()


def normalise_phone(value: object) -> str:
    """Digits of a phone number (a leading ``+`` kept); ``""`` when fewer than 6 digits."""
    text = _text(value)
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6:
        return ""
    return ("+" if text.startswith("+") else "") + digits


def normalise_email(value: object) -> str:
    """Lower-cased, trimmed email; ``""`` unless it looks like ``x@y``."""
    text = _text(value).casefold()
    return text if re.fullmatch(r"[^@\s]+@[^@\s]+", text) else ""


def normalise_line_id(value: object) -> str:
    """Lower-cased LINE id without spaces or a leading ``@``."""
    return re.sub(r"\s+", "", _text(value).casefold()).lstrip("@")


def normalise_name(value: object) -> str:
    """Name without spaces or punctuation, width-folded and case-folded (``王 小美`` = ``王小美``)."""
    return "".join(ch for ch in _text(value).casefold() if ch.isalnum())


def _normalised(values: pd.Series, column: str) -> pd.Series:
    """The column-wise form of :func:`normalise_phone` / :func:`normalise_line_id` /
    :func:`normalise_email` (same results; one pass over 100,000 members instead of a Python call
    per value)."""
    text = values.astype("string").fillna("").str.normalize("NFKC").str.strip()
    if column == "phone":
        digits = text.str.replace(r"\D", "", regex=True)
        out = text.str.startswith("+").map({True: "+", False: ""}).astype("string") + digits
        return out.where(digits.str.len() >= 6, "").astype(object)
    if column == "email":
        folded = text.str.casefold()
        return folded.where(folded.str.fullmatch(r"[^@\s]+@[^@\s]+").fillna(False), "").astype(object)
    return text.str.casefold().str.replace(r"\s+", "", regex=True).str.lstrip("@").astype(object)


def name_relation(a: object, b: object) -> str | None:
    """``"same_name"``, ``"similar_name"``, ``"different_names"``, or ``None`` when a name is missing."""
    left, right = normalise_name(a), normalise_name(b)
    if not left or not right:
        return None
    if left == right:
        return "same_name"
    if SequenceMatcher(None, left, right).ratio() >= SIMILAR_NAME_RATIO:
        return "similar_name"
    return "different_names"


def match_score(evidence: tuple[str, ...] | list[str]) -> float:
    """The score of a pair from its evidence codes (module docstring), rounded to 3 places."""
    miss = 1.0
    for key, code in _EVIDENCE_OF_KEY.items():
        if code in evidence:
            miss *= 1.0 - CONTACT_WEIGHTS[key]
    contact = 1.0 - miss
    if contact <= 0:
        return 0.0
    if "same_name" in evidence:
        contact = 1.0 - (1.0 - contact) * (1.0 - SAME_NAME_WEIGHT)
    elif "similar_name" in evidence:
        contact = 1.0 - (1.0 - contact) * (1.0 - SIMILAR_NAME_WEIGHT)
    elif "different_names" in evidence:
        contact *= DIFFERENT_NAME_FACTOR
    return round(contact, 3)


def _groups(pairs: list[tuple[int, int]]) -> dict[int, int]:
    """Connected components of the pairs: member id → the smallest member id of its group."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def find_duplicate_pairs(
    customers: pd.DataFrame,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    max_block: int = DEFAULT_MAX_BLOCK,
) -> pd.DataFrame:
    """Pairs of members that are probably one person, best first.

    Parameters
    ----------
    customers : DataFrame
        One row per member with :data:`IDENTITY_COLUMNS`; empty contact values never match.
    min_score : float
        Pairs scoring below this are left out.
    max_block : int
        A contact key shared by more members than this is ignored (module docstring).

    Returns
    -------
    DataFrame
        :data:`PAIR_COLUMNS`: ``customer_id_a < customer_id_b``; ``evidence`` a tuple of
        :data:`EVIDENCE_CODES`; ``group`` the smallest member id of the connected group of
        proposed pairs (three cards of one person form one group). Sorted by score (descending),
        then ids.
    """
    require_columns(customers, IDENTITY_COLUMNS, what="customers")
    if customers.empty:
        return pd.DataFrame(columns=list(PAIR_COLUMNS))
    frame = customers.drop_duplicates("customer_id").set_index("customer_id", drop=False)
    matched: dict[tuple[int, int], set[str]] = {}
    for column in _EVIDENCE_OF_KEY:
        keys = _normalised(frame[column], column)
        keys = keys[keys != ""]
        sizes = keys.map(keys.value_counts())
        keys = keys[(sizes >= 2) & (sizes <= max_block)]
        if keys.empty:
            continue
        block = pd.DataFrame({"key": keys.to_numpy(), "id": keys.index.astype("int64")})
        joined = block.merge(block, on="key", suffixes=("_a", "_b"))
        joined = joined[joined["id_a"] < joined["id_b"]]
        for a, b in zip(joined["id_a"].tolist(), joined["id_b"].tolist(), strict=True):
            matched.setdefault((int(a), int(b)), set()).add(_EVIDENCE_OF_KEY[column])
    involved = sorted({i for pair in matched for i in pair})
    info = frame.loc[involved, ["external_id", "name", "home_store_id"]].to_dict("index")
    rows = []
    for (a, b), found in matched.items():
        left, right = info[a], info[b]
        relation = name_relation(left["name"], right["name"])
        evidence = tuple(code for code in EVIDENCE_CODES if code in found or code == relation)
        score = match_score(evidence)
        if score < min_score:
            continue
        rows.append(
            (
                a,
                b,
                left["external_id"],
                right["external_id"],
                left["name"],
                right["name"],
                left["home_store_id"],
                right["home_store_id"],
                score,
                evidence,
            )
        )
    result = pd.DataFrame(rows, columns=list(PAIR_COLUMNS[:-1]))
    groups = _groups(list(zip(result["customer_id_a"], result["customer_id_b"], strict=True)))
    result["group"] = result["customer_id_a"].map(groups)
    result = result.sort_values(["score", "customer_id_a", "customer_id_b"], ascending=[False, True, True])
    for column in ("customer_id_a", "customer_id_b", "group"):
        result[column] = result[column].astype("int64")
    for column in ("home_store_id_a", "home_store_id_b"):
        result[column] = result[column].astype("Int64")
    return result.reset_index(drop=True)
