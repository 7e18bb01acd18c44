"""Every UI string exists in all three languages and every key used by the code is defined."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.i18n import LOCALES, catalog, translate

ROOT = Path(__file__).resolve().parents[2]


def test_every_string_has_all_locales_and_no_empty_text() -> None:
    incomplete = {
        key: sorted(set(LOCALES) - {loc for loc, text in texts.items() if text.strip()})
        for key, texts in catalog().items()
    }
    assert {k: v for k, v in incomplete.items() if v} == {}


def test_placeholders_match_across_locales() -> None:
    mismatched = []
    for key, texts in catalog().items():
        fields = {loc: set(re.findall(r"{(\w+)}", text)) for loc, text in texts.items()}
        if len({frozenset(f) for f in fields.values()}) > 1:
            mismatched.append(key)
    assert mismatched == []


def test_keys_used_in_code_are_defined() -> None:
    used: set[str] = set()
    for folder in ("pages", "dashboard"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+\.[a-z0-9_.]+)["']""", path.read_text(encoding="utf-8")))
            used |= set(
                re.findall(r"""translate\(\s*["']([a-z0-9_]+\.[a-z0-9_.]+)["']""", path.read_text(encoding="utf-8"))
            )
    assert sorted(used - set(catalog())) == []


def test_translate_fills_parameters_and_switches_language() -> None:
    assert translate("login.locked", "en", minutes=15) == "Too many failed sign-ins. Try again in 15 minutes."
    assert "15" in translate("login.locked", "zh-TW", minutes=15)
    assert translate("page.overview", "zh-CN") == "总览"
