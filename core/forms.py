"""Form fields that read what people type on an Arabic or an English keyboard.

Every number a form takes (amounts, targets, quantities) goes through the one parser,
`core.formatting.parse_decimal`: Latin or Arabic-Indic digits, Latin or Arabic separators
("250,000", "٢٥٠٬٠٠٠", "١٥٠٠٠٫٥"). Dates accept either digit set, and a Hijri
(Umm al-Qura) date where a member may pick one.
"""

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core import formatting


class NumberInput(forms.TextInput):
    """A text box for numbers: type="number" would refuse Arabic-Indic digits and hide what was typed."""

    def __init__(self, attrs=None, *, decimal: bool = True):
        super().__init__({"inputmode": "decimal" if decimal else "numeric", "autocomplete": "off", **(attrs or {})})


class LocalizedDecimalField(forms.DecimalField):
    """A decimal number in either digit set, with either kind of separators."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", NumberInput())
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            value = str(formatting.parse_decimal(value))
        except formatting.ParseError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return super().to_python(value)


class LocalizedIntegerField(forms.IntegerField):
    """A whole number in either digit set ("1,500", "١٬٥٠٠")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", NumberInput(decimal=False))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            number = formatting.parse_decimal(value)
        except formatting.ParseError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if number != number.to_integral_value():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(str(int(number)))


_DATE_PARTS = re.compile(r"^\s*(\d{1,4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,4})\s*(?:هـ|ه|AH)?\s*$", re.IGNORECASE)


def parse_hijri(text: str) -> dt.date:
    """The Gregorian day of a typed Hijri date: "1448-06-25", "25/6/1448", "٢٥/٠٦/١٤٤٨ هـ"."""
    from hijridate import Hijri

    found = _DATE_PARTS.match(formatting.parse_digits(text or ""))
    if not found:
        raise ValueError(text)
    first, month, last = (int(part) for part in found.groups())
    year, day = (first, last) if first > 31 else (last, first)
    try:
        return Hijri(year, month, day).to_gregorian()
    except (ValueError, OverflowError):
        raise ValueError(text) from None


class HijriDateField(forms.Field):
    """A day typed in the Umm al-Qura calendar, cleaned to its Gregorian date."""

    default_error_messages = {
        "invalid": _("Enter a Hijri date as year-month-day, for example 1448-06-25."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "1448-06-25", "maxlength": 20})
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        if len(text) > 20:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return parse_hijri(text)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class LocalizedDateField(forms.DateField):
    """A calendar day in either digit set (a browser date picker sends ISO; a typed date may not)."""

    def to_python(self, value):
        if isinstance(value, str):
            value = formatting.parse_digits(value)
        return super().to_python(value)
