"""Money is Decimal plus an ISO 4217 code; amounts in different currencies are never added."""

from decimal import Decimal

import pytest
from babel.numbers import format_currency
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core.money import format_money, totals_by_currency, validate_amount, validate_currency


@pytest.mark.parametrize("code", ["SAR", "AED", "USD", "EUR", "KWD"])
def test_known_currencies_are_accepted(code):
    validate_currency(code)


@pytest.mark.parametrize("code", ["XYZ", "sar", "", "SARR", "ريال", None, "XAU"])
def test_unknown_currency_is_rejected(code):
    with translation.override("ar"):
        with pytest.raises(ValidationError) as error:
            validate_currency(code)
        assert error.value.code == "invalid_currency"
        assert "ليس رمز عملة" in error.value.messages[0]


@pytest.mark.parametrize("amount", ["-5", "-0.01", Decimal("-100")])
def test_negative_amount_is_rejected(amount):
    with translation.override("en"):
        with pytest.raises(ValidationError) as error:
            validate_amount(amount)
        assert error.value.messages == ["The amount cannot be negative."]


@pytest.mark.parametrize("amount", ["abc", "NaN", "Infinity", "", None, "1,000"])
def test_non_numeric_amount_is_rejected(amount):
    with translation.override("ar"):
        with pytest.raises(ValidationError) as error:
            validate_amount(amount)
        assert error.value.code == "invalid_amount"
        assert "أدخل المبلغ" in error.value.messages[0]


@pytest.mark.parametrize("amount", ["0", "15000.50", Decimal("999999999999.99")])
def test_valid_amounts_pass(amount):
    validate_amount(amount)


def test_money_is_formatted_for_the_language_with_western_digits():
    assert format_money(Decimal("15000.5"), "USD", locale="en") == "USD\u00a015,000.50"
    assert format_money(Decimal("12.5"), "KWD", locale="en") == "KWD\u00a012.500"
    assert format_money(Decimal("15000.5"), "SAR", locale="ar") == "\u200f15,000.50\u00a0ر.س.\u200f"


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(st.sampled_from(["SAR", "AED", "USD"]), amounts)))
def test_totals_are_per_currency_and_exact(rows):
    totals = totals_by_currency(rows)
    for currency in {c for c, _ in rows}:
        assert totals[currency] == sum((a for c, a in rows if c == currency), Decimal(0))
    assert set(totals) == {c for c, _ in rows}


def babel_money(amount, currency, locale):
    """What format_money promises: CLDR's Arabic pattern with Western digits, elsewhere the ISO code first."""
    if locale == "ar":
        return format_currency(amount, currency, locale="ar", numbering_system="latn")
    return format_currency(amount, currency, format="¤¤\u00a0#,##0.00", locale=locale)


@given(
    amounts,
    st.sampled_from(["SAR", "KWD", "USD", "JPY", "EUR", "BHD", "CLF", "XOF"]),
    st.sampled_from(["ar", "en"]),
)
def test_money_is_formatted_exactly_as_babel_formats_it(amount, currency, locale):
    # The formatter reads Babel's output once per currency and language; every amount must still match Babel.
    assert format_money(amount, currency, locale=locale) == babel_money(amount, currency, locale)
    assert format_money(-amount, currency, locale=locale) == babel_money(-amount, currency, locale)
