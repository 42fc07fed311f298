"""Amounts are minor units; a person reads them in the currency's own major units."""

from __future__ import annotations

import pytest

from domain.money import format_money


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    (500, "CNY", "en", "CN¥5.00"),  # 500 fen
    (500, "CNY", "zh", "¥5.00"),
    (2000, "CNY", "zh", "¥20.00"),
    (123456789, "USD", "en", "$1,234,567.89"),
    (500, "JPY", "en", "¥500"),  # no minor unit
    (1, "BHD", "en", "BHD0.001"),  # three decimals
    (500, "", "en", "500 (minor units)"),  # unknown currency: never guess a scale
])
def test_money_by_the_currency_minor_units(amount: int, currency: str, locale: str, shown: str) -> None:
    assert format_money(amount, currency, locale) == shown
