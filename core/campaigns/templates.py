"""Message templates: per-locale text with ``{variables}``, tracking codes and deep links.

Rendering only ever substitutes plain names from :data:`VARIABLES`: attribute or index access
(``{name.__class__}``) and unknown names are left as literal text, so a marketer's template can
never reach into Python objects.
"""

from __future__ import annotations

import base64
import hashlib
import string
from collections.abc import Mapping
from typing import Final

LOCALES: Final = ("zh-TW", "zh-CN", "en")

#: Variables a template may use, with what each holds.
VARIABLES: Final = {
    "name": "customer name",
    "pet_name": "pet name (first pet)",
    "days_since": "days since the last visit",
    "staff": "staff member of the last visit",
    "store": "store name",
    "booking_link": "booking deep link carrying the message's tracking code",
    "window_days": "the customer's own revisit window in days",
    "due_date": "next due date",
    "points": "points about to expire",
    "expiry_date": "date the points expire",
    "tier": "membership tier",
    "unsubscribe_link": "one-click unsubscribe link",
}

_FORMATTER = string.Formatter()


def template_fields(text: str) -> list[str]:
    """Field names used in ``text`` (raises ``ValueError`` for unbalanced braces)."""
    return [field for _, field, _, _ in _FORMATTER.parse(text) if field is not None]


def unknown_variables(text: str) -> list[str]:
    """Fields of ``text`` that are not in :data:`VARIABLES` (to show to the author)."""
    return sorted({f for f in template_fields(text) if f not in VARIABLES})


def render(text: str, values: Mapping[str, object]) -> str:
    """Fill ``{variable}`` fields; unknown or non-plain fields stay literal, missing ones empty."""
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError:
        return text  # unbalanced braces: send the text as written rather than crash the run
    out: list[str] = []
    for literal, field, spec, conversion in parts:
        out.append(literal)
        if field is None:
            continue
        if field in VARIABLES:
            value = values.get(field)
            out.append("" if value is None else str(value))
        else:
            suffix = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            out.append("{" + field + suffix + "}")
    return "".join(out)


def compile_template(text: str) -> list[tuple[str, str | None]]:
    """``text`` as (literal, variable-or-None) parts for fast repeated rendering (:func:`render_parts`)."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        return [(text, None)]
    parts: list[tuple[str, str | None]] = []
    for literal, field, spec, conversion in parsed:
        parts.append((literal, None))
        if field is None:
            continue
        if field in VARIABLES:
            parts.append(("", field))
        else:
            suffix = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            parts.append(("{" + field + suffix + "}", None))
    return parts


def render_parts(parts: list[tuple[str, str | None]], values: Mapping[str, object]) -> str:
    """Render compiled parts; same result as :func:`render` on the source text."""
    out = []
    for literal, field in parts:
        if field is None:
            out.append(literal)
        else:
            value = values.get(field)
            out.append("" if value is None else str(value))
    return "".join(out)


def tracking_code(dedupe_key: str) -> str:
    """A short, URL-safe code derived from the dedupe key (the same for the same message)."""
    digest = hashlib.blake2b(dedupe_key.encode("utf-8"), digest_size=10).digest()
    return base64.b32encode(digest).decode("ascii").lower()


def booking_link(base_url: str, store_code: str, code: str) -> str:
    """``{base_url}/{store_code}?t={tracking_code}``: bookings made through it carry the code."""
    return f"{base_url.rstrip('/')}/{store_code}?t={code}"


def unsubscribe_link(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe?t={code}"


def pick_template(templates: Mapping[str, str], locale: str) -> str:
    """The template for ``locale``, else zh-TW, else en, else any."""
    for key in (locale, "zh-TW", "en"):
        if templates.get(key):
            return templates[key]
    return next((text for text in templates.values() if text), "")


def locale_for_country(country: str | None) -> str:
    """Message locale of a store: Traditional Chinese in Taiwan, Simplified in China, else English."""
    return {"TW": "zh-TW", "HK": "zh-TW", "MO": "zh-TW", "CN": "zh-CN", "SG": "zh-CN"}.get(
        (country or "").upper(), "en"
    )
