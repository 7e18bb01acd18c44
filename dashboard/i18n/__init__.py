"""UI strings in zh-TW, zh-CN and English.

Each module in this package defines ``STRINGS = {key: {"zh-TW": …, "zh-CN": …, "en": …}}`` for
one area of the app; keys are unique across modules (a test checks completeness and clashes).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Final

LOCALES: Final = ("zh-TW", "zh-CN", "en")
LOCALE_NAMES: Final = {"zh-TW": "繁體中文", "zh-CN": "简体中文", "en": "English"}
DEFAULT_LOCALE: Final = "zh-TW"


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """All strings from every module of this package, merged."""
    merged: dict[str, dict[str, str]] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for key, texts in getattr(module, "STRINGS", {}).items():
            if key in merged:
                raise KeyError(f"i18n key {key!r} defined twice (again in {module_info.name})")
            merged[key] = texts
    return merged


def translate(key: str, locale: str, **params: object) -> str:
    """The text for ``key`` in ``locale`` with ``{params}`` filled in; the key itself if unknown."""
    texts = catalog().get(key)
    if texts is None:
        return key
    text = texts.get(locale) or texts.get("en") or key
    return text.format(**params) if params else text
