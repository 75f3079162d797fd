"""Money is Decimal plus an ISO 4217 code; amounts in different currencies are never added."""

from decimal import Decimal

import pytest
from babel.numbers import format_decimal, get_currency_precision
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core import formatting
from core.money import validate_amount, validate_currency


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


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@given(
    amounts,
    st.sampled_from(["SAR", "KWD", "USD", "JPY", "EUR", "BHD", "CLF", "XOF"]),
    st.sampled_from(["ar", "en"]),
)
def test_money_shows_the_currencys_decimals_rounded_as_babel_rounds(amount, currency, locale):
    places = get_currency_precision(currency)
    pattern = "#,##0." + "0" * places if places else "#,##0"
    with translation.override(locale):
        shown = formatting.money(amount, currency)
    assert format_decimal(amount, format=pattern, locale="en") in shown
    assert currency in shown or locale == "ar"
