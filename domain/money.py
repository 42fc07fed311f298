"""Money as a person reads it: amounts are stored and sent in minor units (500 = ¥5.00).

The one place an amount becomes text. How many minor units make a major one is the currency's
own (CNY 2, JPY 0, BHD 3), from the CLDR data shipped with ``babel``, never a scattered ``/ 100``.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

__all__ = ["format_money"]


def format_money(amount_minor: int, currency: str, locale: str = "en") -> str:
    """Format an amount in minor units for a reader of ``locale``.

    Args:
        amount_minor: The amount in the currency's minor units (fen for CNY, cents for USD).
        currency: ISO 4217 code; empty when unknown, then the bare number is labelled as minor units.
        locale: A CLDR locale such as ``"en"`` or ``"zh"``.

    Returns:
        For example ``"CN¥5.00"`` (en) or ``"¥5.00"`` (zh) for 500 CNY minor units.
    """
    if not currency:
        return f"{amount_minor} (minor units)"
    major = Decimal(int(amount_minor)).scaleb(-get_currency_precision(currency))
    return format_currency(major, currency, locale=locale)
