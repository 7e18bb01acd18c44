"""Duplicate-member proposals (core.identity): scores and evidence counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from core.identity import PAIR_COLUMNS, find_duplicate_pairs, match_score, name_relation, normalise_phone


def _members(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["customer_id", "external_id", "name", "phone", "line_id", "email", "home_store_id"]
    )


def _pairs(frame: pd.DataFrame) -> dict[tuple[int, int], tuple[float, tuple[str, ...]]]:
    return {
        (int(r.customer_id_a), int(r.customer_id_b)): (float(r.score), tuple(r.evidence)) for r in frame.itertuples()
    }


def test_same_phone_at_two_stores_is_proposed() -> None:
    members = _members(
        [
            (1, "A-1", "王小美", "+886912345678", None, None, 1),
            (2, "B-7", "王 小美", "+886 912-345-678", None, "", 2),
        ]
    )
    result = find_duplicate_pairs(members)
    assert list(result.columns) == list(PAIR_COLUMNS)
    # phone 0.6 → 1 − 0.4 × (1 − 0.5) for the same name = 0.8
    assert _pairs(result) == {(1, 2): (0.8, ("same_phone", "same_name"))}
    row = result.iloc[0]
    assert (row["external_id_a"], row["external_id_b"], row["home_store_id_a"], row["home_store_id_b"]) == (
        "A-1",
        "B-7",
        1,
        2,
    )


def test_same_name_only_is_not_proposed() -> None:
    members = _members(
        [
            (1, "A-1", "陳怡君", "+886911111111", None, None, 1),
            (2, "B-1", "陳怡君", "+886922222222", None, None, 2),
        ]
    )
    assert find_duplicate_pairs(members).empty


def test_empty_contacts_never_match_each_other() -> None:
    members = _members(
        [
            (1, "A-1", "Amy", None, None, None, 1),
            (2, "A-2", "Amy", "", "", "", 1),
            (3, "A-3", "Amy", "  ", " ", "not-an-email", 1),
            (4, "A-4", "Amy", float("nan"), float("nan"), float("nan"), 2),
            (5, "A-5", "Amy", "-", None, "not-an-email", 2),
        ]
    )
    assert find_duplicate_pairs(members).empty


def test_household_sharing_a_phone_scores_lower_and_says_so() -> None:
    members = _members(
        [
            (1, "A-1", "林大明", "+886933000111", None, None, 1),
            (2, "A-2", "林太太", "+886933000111", None, None, 1),
            (3, "B-9", "林大明", "+886933000111", "linda", None, 2),
        ]
    )
    pairs = _pairs(find_duplicate_pairs(members))
    # 林大明 / 林太太: SequenceMatcher ratio 2·1/6 ≈ 0.33 < 0.8 → different names: 0.6 × 0.5 = 0.3
    assert pairs == {
        (1, 3): (0.8, ("same_phone", "same_name")),
        (1, 2): (0.3, ("same_phone", "different_names")),
        (2, 3): (0.3, ("same_phone", "different_names")),
    }
    # The household pair is below a stricter threshold.
    assert set(_pairs(find_duplicate_pairs(members, min_score=0.5))) == {(1, 3)}


def test_several_keys_add_up_and_groups_join_three_cards() -> None:
    members = _members(
        [
            (10, "A-1", "Mia Chen", "+886900000001", "MiaC", "Mia@Example.com", 1),
            (11, "B-1", "mia chen", None, "@miac", "mia@example.com ", 2),
            (12, "C-1", "", "+886900000001", None, None, 3),
            (13, "C-2", "Bob", "+886900000099", None, None, 3),
        ]
    )
    pairs = _pairs(find_duplicate_pairs(members))
    assert pairs == {
        # LINE 0.7 and email 0.6: 1 − 0.3 × 0.4 = 0.88; same name: 1 − 0.12 × 0.5 = 0.94
        (10, 11): (0.94, ("same_line_id", "same_email", "same_name")),
        # phone only, one name missing: 0.6
        (10, 12): (0.6, ("same_phone",)),
    }
    result = find_duplicate_pairs(members)
    assert list(result["group"]) == [10, 10]
    assert list(result["score"]) == [0.94, 0.6]


def test_a_key_shared_by_too_many_members_is_ignored() -> None:
    shop_phone = "+886227001234"
    members = _members([(i, f"W-{i}", f"Guest {i}", shop_phone, None, None, 1) for i in range(1, 11)])
    assert find_duplicate_pairs(members, max_block=8).empty
    assert len(find_duplicate_pairs(members, max_block=10, min_score=0.0)) == 45  # 10 choose 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+886 912-345-678", "+886912345678"),
        ("0912345678", "0912345678"),
        ("12345", ""),
        (None, ""),
    ],
)
def test_normalise_phone(raw, expected) -> None:
    assert normalise_phone(raw) == expected


def test_scores_and_name_relations() -> None:
    assert match_score(()) == 0.0
    assert match_score(("same_name",)) == 0.0  # a name alone is no evidence
    assert match_score(("same_email", "similar_name")) == 0.72  # 1 − 0.4 × 0.7
    assert name_relation("Mia Chen", "Mia Chen.") == "same_name"
    assert name_relation("Jennifer Wang", "Jenifer Wang") == "similar_name"
    assert name_relation("王小美", None) is None


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="line_id"):
        find_duplicate_pairs(
            pd.DataFrame(columns=["customer_id", "external_id", "name", "phone", "email", "home_store_id"])
        )


def test_column_normalisers_agree_with_the_one_value_ones() -> None:
    from core.identity import _normalised, normalise_email, normalise_line_id

    phones = pd.Series(
        [
            "+886 912-345-678",
            "0912345678",
            "12345",
            None,
            float("nan"),
            " ",
            "８８６９１２３４５６７８",
            "+",
            "a+12345678",
        ]
    )
    emails = pd.Series(["Mia@Example.com ", "not-an-email", "", None, "a@b@c", "Ａ@ｂ.com", float("nan")])
    lines = pd.Series(["@MiaC", " mia c ", None, "", "＠abc"])
    assert list(_normalised(phones, "phone")) == [normalise_phone(v) for v in phones]
    assert list(_normalised(emails, "email")) == [normalise_email(v) for v in emails]
    assert list(_normalised(lines, "line_id")) == [normalise_line_id(v) for v in lines]
    # and by hand for a few
    assert list(_normalised(phones, "phone"))[:3] == ["+886912345678", "0912345678", ""]
    assert list(_normalised(emails, "email"))[:2] == ["mia@example.com", ""]
    assert list(_normalised(lines, "line_id"))[:2] == ["miac", "miac"]
