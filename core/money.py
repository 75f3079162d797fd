"""Money: an amount as Decimal plus an ISO 4217 currency code, never a float.

Amounts in different currencies are never added together here; callers group
by currency in their queries or convert with an explicit rate. Amounts are
written for people by the one formatter, `core.formatting.money`.
"""

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_name, list_currencies
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

AMOUNT_MAX_DIGITS = 14
AMOUNT_DECIMAL_PLACES = 2

# Currencies offered first in forms; any active ISO 4217 code is accepted.
COMMON_CURRENCIES = ("SAR", "AED", "USD", "EUR", "KWD", "QAR", "BHD", "OMR", "EGP", "JOD", "GBP")

# ISO 4217 codes Babel knows that are obsolete or funds/metal codes, not money a deal is priced in.
_NOT_TRADED = {"XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"}


def _known_currencies() -> frozenset[str]:
    return frozenset(code for code in list_currencies() if code not in _NOT_TRADED)


KNOWN_CURRENCIES = _known_currencies()


def validate_currency(value: str) -> None:
    """Reject anything that is not an upper-case ISO 4217 currency code."""
    if not isinstance(value, str) or value not in KNOWN_CURRENCIES:
        raise ValidationError(
            _("“%(value)s” is not a known currency code. Use a three-letter ISO 4217 code such as SAR, AED or USD."),
            code="invalid_currency",
            params={"value": value},
        )


# The API schema (core.api.schema) offers these codes as the request's enum.
validate_currency.openapi_schema = lambda: {"enum": sorted(KNOWN_CURRENCIES)}


def validate_amount(value) -> None:
    """Reject negative and non-finite amounts (a deal is never worth less than nothing)."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(_("Enter an amount as a number, for example 15000.50."), code="invalid_amount") from None
    if not amount.is_finite():
        raise ValidationError(_("Enter an amount as a number, for example 15000.50."), code="invalid_amount")
    if amount < 0:
        raise ValidationError(_("The amount cannot be negative."), code="negative_amount")


# For the API schema: a non-negative decimal with at least one digit, as a string.
validate_amount.openapi_schema = lambda: {
    "pattern": rf"^(\d{{1,{AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES}}}(\.\d{{0,{AMOUNT_DECIMAL_PLACES}}})?|\.\d{{1,{AMOUNT_DECIMAL_PLACES}}})$"
}


def currency_choices(locale: str | None = None) -> list[tuple[str, str]]:
    """Choices for a currency select: common ones first, then the rest by code."""
    return list(_currency_choices((locale or get_language() or "en").split("-")[0]))


@lru_cache(maxsize=16)
def _currency_choices(locale: str) -> tuple[tuple[str, str], ...]:
    # Some 300 names looked up in Babel: once per language, not for every form that offers a currency.
    rest = sorted(KNOWN_CURRENCIES.difference(COMMON_CURRENCIES))
    return tuple((code, f"{code} — {get_currency_name(code, locale=locale)}") for code in (*COMMON_CURRENCIES, *rest))
