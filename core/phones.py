"""Phone numbers: stored in E.164 (+966501234567), the number as typed kept beside it."""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.text import normalize_digits


def read_phone(raw: str, region: str | None = None) -> tuple[str, bool]:
    """The one rule for a typed phone number (forms, API, bulk writes, imports): (E.164, verified).

    Accepts local numbers (read in `region`, default settings.PHONE_DEFAULT_REGION),
    international ones (+966…, 00966…), spaces, dashes, brackets and Arabic-Indic
    digits. A number the phone library's metadata lists as assigned is verified. One of a
    possible length for its country that the metadata does not list is kept unverified,
    not refused: numbering plans change faster than library releases, and refusing it loses
    the customer's number. Raises ValidationError with a translated message only when the
    number is not possible at all (too short, too long, not a number).
    """
    parsed = _e164(normalize_digits((raw or "").strip()), region or settings.PHONE_DEFAULT_REGION)
    if parsed is None:
        raise ValidationError(
            _(
                "“%(value)s” is not a valid phone number. Check the number, or include the country code, for example +966 50 123 4567."
            ),
            code="invalid_phone",
            params={"value": raw},
        )
    return parsed


def to_e164(raw: str, region: str | None = None) -> str:
    """E.164 form of a typed number (verified or not, see read_phone); raises ValidationError when impossible."""
    return read_phone(raw, region)[0]


# Numbers parsed inside `remembering()`: one dict for the whole batch, however large.
_remembered: ContextVar[dict | None] = ContextVar("phones_remembered", default=None)


@contextmanager
def remembering():
    """Parse each distinct number once while inside (an import reads every number to match it, then validates it).

    Parsing is the costly part of a row (tens of µs); a least-recently-used cache of a fixed
    size forgets everything when a file holds more numbers than it does.
    """
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def _e164(text: str, region: str) -> tuple[str, bool] | None:
    memo = _remembered.get()
    if memo is None:
        return _parse_recent(text, region)
    key = (text, region)
    if key not in memo:
        memo[key] = _parse(text, region)
    return memo[key]


def _parse(text: str, region: str) -> tuple[str, bool] | None:
    """(E.164, verified) of a number (digits already ASCII), None when it is not a possible number."""
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(number):
        return e164, True
    # Of a possible length for its country, and not all zeros (a placeholder, never a number).
    if phonenumbers.is_possible_number(number) and number.national_number:
        return e164, False
    return None


# Outside a batch: the numbers of the last few thousand forms and searches.
_parse_recent = lru_cache(maxsize=4096)(_parse)


def search_form(raw: str, region: str | None = None) -> str | None:
    """E.164 form of a search query that looks like a phone number, else None."""
    text = normalize_digits(raw or "")
    digits = sum(ch.isdigit() for ch in text)
    if digits < 6 or any(ch.isalpha() for ch in text):
        return None
    try:
        return to_e164(text, region)
    except ValidationError:
        return None


def format_international(e164: str) -> str:
    """Human form of an E.164 number: +966 50 123 4567."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164
