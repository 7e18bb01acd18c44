"""Campaign editor widgets drawn from the trigger registry (one place knows each kind's settings)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.campaigns.triggers import TRIGGER_REGISTRY, TriggerParam
from dashboard.context import PageContext


def _param_widget(ctx: PageContext, param: TriggerParam, column: Any, *, key: str) -> object:
    if param.choices:
        return column.selectbox(ctx.t(param.label_key), param.choices, key=key,
                                format_func=lambda choice: ctx.t(f"{param.label_key}_{choice}"))
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
        trigger["tolerance_days"] = int(slots[-1].number_input(ctx.t("campaigns.tolerance_days"), 0, 14,
                                                               spec.default_tolerance,
                                                               key=f"{key_prefix}{kind}.tolerance"))
    return trigger
