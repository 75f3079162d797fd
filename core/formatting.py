"""The one formatter: every number, amount, percentage, duration and date shown to a member.

Each kind of value has exactly one format per language, built on Babel's CLDR data:

| kind            | Arabic (Latin digits)        | English               |
|-----------------|------------------------------|-----------------------|
| count           | 1,250                        | 1,250                 |
| decimal         | 14.7                         | 14.7                  |
| percent         | 40.0%                        | 40.0%                 |
| money           | 15,000.50 ر.س.               | SAR 15,000.50         |
| date            | 5 ديسمبر 2026                | Dec 5, 2026           |
| month           | ديسمبر 2026                  | December 2026         |
| time            | 8:54 م                       | 8:54 PM               |
| date-time       | 5 ديسمبر 2026، 8:54 م        | Dec 5, 2026, 8:54 PM  |

The member chooses the digits of the Arabic interface (Latin 1 2 3, the default, or
Arabic-Indic ١ ٢ ٣, with the Arabic separators ٬ and ٫) and whether Hijri (Umm al-Qura)
dates are shown beside the Gregorian ones. Those choices are active for the current
request (the middleware) or for one member outside a request (`core.i18n.user_locale`),
like the language and the time zone, so this module never needs the user model.

Values that mix directions are wrapped in Unicode isolates (U+2066..U+2069), so they keep
their order inside a sentence of either direction, in pages, emails and notifications
alike: a number with its sign reads left to right ("-500", never "500-"), and a currency
symbol written in Latin letters stays whole ("US$", never "$US").

`parse_decimal` is the one parser of typed numbers: both digit sets, Arabic or Latin
thousands and decimal separators.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.dates import format_skeleton, format_time, get_datetime_format, get_time_format
from babel.numbers import get_currency_precision, get_currency_symbol, parse_pattern
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext, pgettext

LATIN = "latn"
ARABIC_INDIC = "arab"
DIGIT_CHOICES = (LATIN, ARABIC_INDIC)

# Unicode isolates: left-to-right, right-to-left, first-strong; and their end.
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"

_TO_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_DATE_SKELETON = "yMMMd"
_MONTH_SKELETON = "yMMMM"


@dataclass(frozen=True)
class Preferences:
    """How one member wants values written: their digits, and whether Hijri dates are shown."""

    digits: str = LATIN
    hijri: bool = False


_DEFAULT = Preferences()
_active: ContextVar[Preferences] = ContextVar("safqa_formatting", default=_DEFAULT)


def preferences_of(member) -> Preferences:
    """A member's choices (any object with `digits` and `show_hijri`; defaults for anyone else)."""
    digits = getattr(member, "digits", LATIN)
    return Preferences(
        digits=digits if digits in DIGIT_CHOICES else LATIN, hijri=bool(getattr(member, "show_hijri", False))
    )


def activate(preferences: Preferences) -> None:
    _active.set(preferences)


def deactivate() -> None:
    _active.set(_DEFAULT)


def active() -> Preferences:
    return _active.get()


@contextmanager
def override(preferences: Preferences | None = None, **changes):
    """Format with other preferences inside the block (a member's email, a test)."""
    token = _active.set(replace(preferences or _active.get(), **changes))
    try:
        yield
    finally:
        _active.reset(token)


def _language() -> str:
    return "ar" if (get_language() or "ar").split("-")[0] == "ar" else "en"


def _digits() -> str:
    # Arabic-Indic digits are a choice of the Arabic interface; English pages always use Latin digits.
    return active().digits if _language() == "ar" else LATIN


def _localize_digits(text: str) -> str:
    return text.translate(_TO_ARABIC_INDIC) if _digits() == ARABIC_INDIC else text


def ltr(text: str) -> str:
    """Text that always reads left to right (a number with its sign, a phone, an e-mail address)."""
    return f"{LRI}{text}{PDI}" if text else ""


def isolate(text: str) -> str:
    """Text of unknown direction kept whole inside a sentence (its first strong letter decides)."""
    return f"{FSI}{text}{PDI}" if text else ""


# Numbers ---------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _number_formatter(pattern: str, language: str, digits: str):
    # Babel takes the separators of the numbering system (٬ ٫ in Arabic-Indic) but writes Latin digits.
    table = _TO_ARABIC_INDIC if digits == ARABIC_INDIC else None
    # What format_decimal does on every call, done once: parsing the locale and the pattern
    # took three quarters of its time (a board formats a thousand numbers; My day hundreds).
    number_pattern, locale = parse_pattern(pattern), Locale.parse(language)

    def fmt(value) -> str:
        text = number_pattern.apply(value, locale, numbering_system=digits)
        return text.translate(table) if table else text

    return fmt


def _number(value, pattern: str) -> str:
    text = _number_formatter(pattern, _language(), _digits())(value)
    # A signed number reads left to right in every language: "-500", never "500-".
    return ltr(text) if text.startswith("-") else text


def count(value) -> str:
    """A count of things: grouped, never with decimals (12, 1,250)."""
    if value is None or value == "":
        return ""
    return _number(Decimal(value).to_integral_value(), "#,##0")


def decimal(value, places: int = 1) -> str:
    """A measured number with a fixed number of decimals (14.7)."""
    if value is None or value == "":
        return ""
    pattern = "#,##0." + "0" * places if places else "#,##0"
    number = Decimal(value)
    # Rounded to nothing, a small negative is zero, not "-0.0".
    if number.is_signed() and round(number, places) == 0:
        number = abs(number)
    return _number(number, pattern)


def percent(value, places: int = 1) -> str:
    """A percentage given in points (40 → "40.0%")."""
    if value is None or value == "":
        return ""
    pattern = ("#,##0." + "0" * places if places else "#,##0") + "%"
    # Babel multiplies by 100 for a percent pattern; the value is already in points.
    return _number(Decimal(value) / 100, pattern)


def days(value) -> str:
    """A duration in days, with the plural form its number asks for ("14.7 days", "يومان")."""
    if value is None or value == "":
        return ""
    number = Decimal(value)
    whole = number == number.to_integral_value()
    text = count(number) if whole else decimal(number, 1)
    return ngettext("%(days)s day", "%(days)s days", plural_number(number)) % {"days": text}


def duration(start: dt.datetime, end: dt.datetime | None = None) -> str:
    """How long from `start` to `end` (now by default): whole days, or hours within the first day."""
    if start is None:
        return ""
    seconds = max(((end or timezone.now()) - start).total_seconds(), 0)
    if seconds >= 86400:
        return days(int(seconds // 86400))
    hours = int(seconds // 3600)
    if hours == 0:
        return gettext("less than an hour")
    return ngettext("%(hours)s hour", "%(hours)s hours", hours) % {"hours": count(hours)}


def plural_number(value) -> int:
    """The number gettext chooses a plural form by.

    gettext's plural rules take integers; a fraction (an average of 14.7 days) takes
    CLDR's "other" form in both languages, which is the form of 100 in Arabic and of
    any number but 1 in English.
    """
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else 100


# Money -----------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _money_parts(currency: str, language: str) -> tuple[str, str, str]:
    """The number pattern of a currency, and the text before and after the number (the one layout)."""
    places = get_currency_precision(currency)
    pattern = "#,##0." + "0" * places if places else "#,##0"
    if language == "ar":
        symbol = get_currency_symbol(currency, locale="ar")
        # A symbol in Latin letters ("US$") is kept whole inside the right-to-left amount.
        if any("A" <= ch <= "Z" or "a" <= ch <= "z" for ch in symbol):
            symbol = ltr(symbol)
        return pattern, RLI, f"\u00a0{symbol}{PDI}"
    # The ISO code, not "$": several currencies of a Gulf team share a symbol.
    return pattern, f"{LRI}{currency}\u00a0", PDI


def money(amount, currency: str) -> str:
    """An amount with its currency: "15,000.50 ر.س." in Arabic, "SAR 15,000.50" in English."""
    if amount is None:
        return ""
    language, digits = _language(), _digits()
    pattern, prefix, suffix = _money_parts(currency, language)
    number = _number_formatter(pattern, language, digits)(Decimal(amount))
    if number.startswith("-"):
        number = ltr(number)
    return f"{prefix}{number}{suffix}"


def chart_format(currencies=()) -> dict:
    """What a chart script needs to write values exactly as the pages do (Intl in the browser).

    The digits and the language come from here; an amount is the formatted number placed
    where `money` places it, so a tooltip reads like the table beside the chart.
    """
    language = _language()
    money_patterns = {}
    for currency in currencies:
        pattern, prefix, suffix = _money_parts(currency, language)
        money_patterns[currency] = {"prefix": prefix, "suffix": suffix, "places": len(pattern.partition(".")[2])}
    return {"locale": language, "digits": _digits(), "money": money_patterns}


# Dates -----------------------------------------------------------------------------------------


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _as_date(value) -> dt.date:
    return _local(value).date() if isinstance(value, dt.datetime) else value


def _gregorian(day: dt.date, skeleton: str = _DATE_SKELETON) -> str:
    return _gregorian_in(day, skeleton, _language())


@lru_cache(maxsize=4096)
def _gregorian_in(day: dt.date, skeleton: str, language: str) -> str:
    # A pure function of its arguments; Babel matches the skeleton to the locale's patterns on
    # every call (a third of a millisecond), and a page lists the same few days many times
    # (My day: a month of deals expected to close).
    return format_skeleton(skeleton, day, locale=language)


# The fields a time pattern may use for its text to depend on the hour and minute only.
_HOUR_MINUTE_FIELDS = frozenset("hHkKma")


@lru_cache(maxsize=16)
def _short_time_by_minute(language: str) -> bool:
    """Whether the language's short time pattern writes the hour and minute only (8:54 PM), no seconds or zone."""
    pattern = get_time_format("short", locale=language).pattern
    letters = {ch for part in pattern.split("'")[::2] for ch in part if ch.isalpha()}
    return letters <= _HOUR_MINUTE_FIELDS


@lru_cache(maxsize=4096)
def _short_time(hour: int, minute: int, language: str) -> str:
    return format_time(dt.time(hour, minute), "short", locale=language)


@lru_cache(maxsize=16)
def _datetime_joiner(language: str) -> str:
    return get_datetime_format("medium", locale=language)


def hijri(value) -> str:
    """The Umm al-Qura date of a day: "25 جمادى الآخرة 1448 هـ" / "25 Jumada al-Akhirah 1448 AH"."""
    from hijridate import Gregorian

    if value is None or value == "":
        return ""
    day = _as_date(value)
    try:
        h = Gregorian(day.year, day.month, day.day).to_hijri()
    except OverflowError:
        # The Umm al-Qura tables cover 1343–1500 AH (1924–2077); outside them there is no Hijri date to show.
        return ""
    language = _language()
    era = pgettext("Hijri era, after a year", "AH")
    return _localize_digits(f"{h.day} {h.month_name(language)} {h.year} {era}")


def date(value) -> str:
    """A calendar day: "5 ديسمبر 2026" / "Dec 5, 2026" (and its Hijri date when the member asked)."""
    if value is None or value == "":
        return ""
    day = _as_date(value)
    text = _localize_digits(_gregorian(day))
    if active().hijri:
        other = hijri(day)
        if other:
            text = f"{text} ({other})"
    return text


def month(value) -> str:
    """A month of a year: "ديسمبر 2026" / "December 2026"."""
    if value is None or value == "":
        return ""
    return _localize_digits(_gregorian(_as_date(value), _MONTH_SKELETON))


def time(value) -> str:
    """A time of day in the member's time zone: "8:54 م" / "8:54 PM"."""
    if value is None or value == "":
        return ""
    moment = _local(value) if isinstance(value, dt.datetime) else value
    language = _language()
    if _short_time_by_minute(language):
        # The same text for every moment of one minute: formatted once per minute and language.
        return _localize_digits(_short_time(moment.hour, moment.minute, language))
    return _localize_digits(format_time(moment, "short", locale=language))


def datetime(value) -> str:
    """A moment: "5 ديسمبر 2026، 8:54 م" / "Dec 5, 2026, 8:54 PM"."""
    if value is None or value == "":
        return ""
    moment = _local(value)
    joined = _datetime_joiner(_language())
    return joined.replace("{1}", date(moment.date())).replace("{0}", time(moment))


def relative(value, *, now: dt.datetime | None = None) -> str:
    """A day said relative to today where that helps ("today", "yesterday", "in 3 days"), else the date."""
    if value is None or value == "":
        return ""
    today = _as_date(now or timezone.now())
    day = _as_date(value)
    delta = (day - today).days
    if delta == 0:
        return pgettext("relative day", "today")
    if delta == 1:
        return pgettext("relative day", "tomorrow")
    if delta == -1:
        return pgettext("relative day", "yesterday")
    if 1 < delta <= 6:
        return ngettext("in %(count)s day", "in %(count)s days", delta) % {"count": count(delta)}
    if -6 <= delta < -1:
        return ngettext("%(count)s day ago", "%(count)s days ago", -delta) % {"count": count(-delta)}
    return date(day)


def iso_date(value) -> str:
    """The machine-readable day for `<time datetime>` and date inputs (always Latin digits)."""
    return _as_date(value).isoformat() if value is not None else ""


# Parsing ---------------------------------------------------------------------------------------

_PARSE_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Group separators people type: Latin and Arabic commas, the Arabic thousands sign, spaces, apostrophes.
_GROUPS = (",", "٬", "،", " ", "\u00a0", "\u202f", "'", "’")
_MARKS = str.maketrans("", "", "\u200e\u200f\u061c\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e")


def parse_digits(text: str) -> str:
    """Typed text with Arabic-Indic and Persian digits made ASCII and invisible direction marks dropped."""
    return str(text).translate(_MARKS).translate(_PARSE_DIGITS)


class ParseError(ValueError):
    """Text that is not a number."""


def parse_decimal(text) -> Decimal:
    """A number typed with either digit set and either kind of separators: "250,000", "٢٥٠٬٠٠٠", "١٥٠٠٠٫٥".

    The decimal mark is "." or the Arabic "٫"; commas, the Arabic "٬" and spaces group
    thousands. Raises ParseError for anything else (including infinities and NaN).
    """
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int):
        value = Decimal(text)
    else:
        raw = parse_digits(text).strip().replace("٫", ".").replace("−", "-")
        for separator in _GROUPS:
            raw = raw.replace(separator, "")
        if not raw or raw.count(".") > 1 or not all(ch.isascii() for ch in raw):
            raise ParseError(text)
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ParseError(text) from None
    if not value.is_finite():
        raise ParseError(text)
    return value
