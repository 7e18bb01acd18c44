"""Numbers, money and percentages formatted for the reader's locale and the store's currency."""

from __future__ import annotations

CURRENCY_SYMBOLS = {"TWD": "NT$", "CNY": "¥", "USD": "$"}


def money(value: float | None, currency: str) -> str:
    """``NT$12,300`` / ``¥1,200``; whole units, as shops quote prices."""
    if value is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    return f"{symbol}{value:,.0f}"


def signed_money(value: float | None, currency: str) -> str | None:
    """A change of money with its sign first (``-NT$9,620``), as ``st.metric`` reads the sign."""
    if value is None:
        return None
    return ("-" if value < 0 else "+") + money(abs(value), currency)


def number(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{decimals}f}"


def percent(value: float | None, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage."""
    if value is None:
        return "—"
    return f"{value * 100:.{decimals}f}%"


def signed_percent_points(value: float | None, decimals: int = 1) -> str | None:
    """A change of a share, in percentage points, for ``st.metric`` deltas."""
    if value is None:
        return None
    return f"{value * 100:+.{decimals}f} pp"
