"""Campaign editor widgets drawn from the trigger registry (one place knows each kind's settings)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from core.campaigns.triggers import TRIGGER_REGISTRY, TriggerParam
from dashboard.context import PageContext


def _param_widget(ctx: PageContext, param: TriggerParam, column: Any, *, key: str) -> object:
    if param.choices:
        return column.selectbox(
            ctx.t(param.label_key),
            param.choices,
            key=key,
            format_func=lambda choice: ctx.t(f"{param.label_key}_{choice}"),
        )
    if isinstance(param.default, int):
        return int(column.number_input(ctx.t(param.label_key), param.minimum, param.maximum, param.default, key=key))
    default = param.default
    if param.name == "at":
        default = f"{ctx.as_of.isoformat()}T11:00"
    return column.text_input(ctx.t(param.label_key), default, key=key)


def trigger_settings(ctx: PageContext, kind: str, columns: Sequence[Any], *, key_prefix: str) -> dict[str, object]:
    """The settings of a trigger ``kind`` as widgets in ``columns``; returns the trigger mapping."""
    spec = TRIGGER_REGISTRY[kind]
    trigger: dict[str, object] = {"kind": kind}
    slots = list(columns)
    for position, param in enumerate(spec.params):
        column = slots[min(position, len(slots) - 1)]
        trigger[param.name] = _param_widget(ctx, param, column, key=f"{key_prefix}{kind}.{param.name}")
    if spec.uses_tolerance:
        trigger["tolerance_days"] = int(
            slots[-1].number_input(
                ctx.t("campaigns.tolerance_days"), 0, 14, spec.default_tolerance, key=f"{key_prefix}{kind}.tolerance"
            )
        )
    return trigger


_TIMING_PATTERNS: Final = (
    (re.compile(r"^due(-?\d+)$"), "due"),
    (re.compile(r"^overdue\+(\d+)$"), "overdue"),
    (re.compile(r"^sleeping(\d+)$"), "sleeping"),
    (re.compile(r"^(birthday|lunar_birthday|pet_birthday|vaccine_due)([+-]\d+)?$"), "dated"),
    (re.compile(r"^points_expiring(\d+)$"), "points"),
    (re.compile(r"^tier_(up|down|any)$"), "tier"),
    (re.compile(r"^plan_renewal-(\d+)$"), "plan"),
    (re.compile(r"^(lunar_new_year|mid_autumn)-(\d+)$"), "festival"),
    (re.compile(r"^(one_off|recurring)$"), "broadcast"),
)


def timing_text(code: object, t: Callable[..., str]) -> str:
    """Words for a trigger's timing code (``due-7`` → 到期前 7 天), never the code itself."""
    text = str(code or "")
    for pattern, shape in _TIMING_PATTERNS:
        found = pattern.match(text)
        if not found:
            continue
        if shape == "due":
            days = -int(found.group(1))
            return t("campaigns.timing.due_day") if days == 0 else t("campaigns.timing.before_due", days=days)
        if shape == "overdue":
            return t("campaigns.timing.overdue", days=int(found.group(1)))
        if shape == "sleeping":
            return t("campaigns.timing.sleeping", days=int(found.group(1)))
        if shape == "dated":
            what = t(f"campaigns.kind_{found.group(1)}")
            offset = int(found.group(2) or 0)
            if offset == 0:
                return t("campaigns.timing.on", what=what)
            key = "campaigns.timing.before" if offset < 0 else "campaigns.timing.after"
            return t(key, what=what, days=abs(offset))
        if shape == "points":
            return t("campaigns.timing.points", days=int(found.group(1)))
        if shape == "tier":
            return t("campaigns.timing.tier", what=t(f"campaigns.direction_{found.group(1)}"))
        if shape == "plan":
            return t("campaigns.timing.plan", days=int(found.group(1)))
        if shape == "festival":
            return t(
                "campaigns.timing.festival", what=t(f"campaigns.festival_{found.group(1)}"), days=int(found.group(2))
            )
        return t(f"campaigns.kind_{found.group(1)}")
    return t("campaigns.timing.other")
