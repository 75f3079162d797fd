"""The one formatter and the one number parser (core.formatting), in both languages and both digit choices."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core import formatting as fmt
from core.formatting import LRI, PDI, RLI

ARABIC_INDIC = "arab"


def in_language(language, digits="latn", hijri=False):
    class _Both:
        def __enter__(self):
            self.t = translation.override(language)
            self.f = fmt.override(digits=digits, hijri=hijri)
            self.t.__enter__()
            self.f.__enter__()

        def __exit__(self, *exc):
            self.f.__exit__(*exc)
            self.t.__exit__(*exc)

    return _Both()


def plain(text: str) -> str:
    """The text without isolates and marks, as a reader sees its characters."""
    return re.sub("[\u2066-\u2069\u200e\u200f\u061c]", "", text)


def test_counts_never_show_decimals_in_either_language():
    with in_language("en"):
        assert fmt.count(12.0) == "12"
        assert fmt.count(Decimal("1250")) == "1,250"
    with in_language("ar"):
        assert fmt.count(12.0) == "12"
        assert fmt.count(1250) == "1,250"
    with in_language("ar", ARABIC_INDIC):
        assert fmt.count(1250) == "١٬٢٥٠"


def test_one_decimal_mark_per_language_and_digit_choice():
    with in_language("ar"):
        assert fmt.decimal(Decimal("14.66")) == "14.7"
        assert fmt.percent(40) == "40.0%"
        assert fmt.decimal(335750, 2) == "335,750.00"
    with in_language("ar", ARABIC_INDIC):
        assert fmt.decimal(Decimal("14.66")) == "١٤٫٧"
        assert plain(fmt.percent(40)) in ("٤٠٫٠٪", "٤٠٫٠%")
    with in_language("en", ARABIC_INDIC):
        # Arabic-Indic digits are a choice of the Arabic interface only.
        assert fmt.decimal(Decimal("14.66")) == "14.7"


def test_money_keeps_a_latin_currency_symbol_whole_and_the_sign_on_the_left():
    with in_language("ar"):
        usd = fmt.money(Decimal("1250.5"), "USD")
        assert usd == f"{RLI}1,250.50\u00a0{LRI}US${PDI}{PDI}"
        negative = fmt.money(Decimal("-500"), "USD")
        assert f"{LRI}-500.00{PDI}" in negative
        assert plain(fmt.money(Decimal("15000.5"), "SAR")) == "15,000.50\u00a0ر.س."
    with in_language("en"):
        assert fmt.money(Decimal("15000.5"), "USD") == f"{LRI}USD\u00a015,000.50{PDI}"
        assert plain(fmt.money(Decimal("12.5"), "KWD")) == "KWD\u00a012.500"
        assert plain(fmt.money(Decimal("-500"), "USD")) == "USD\u00a0-500.00"
    with in_language("ar", ARABIC_INDIC):
        assert plain(fmt.money(Decimal("15000.5"), "SAR")) == "١٥٬٠٠٠٫٥٠\u00a0ر.س."


def test_dates_have_one_format_per_language_never_month_first_numbers():
    day = dt.date(2026, 12, 5)
    with in_language("ar"):
        assert fmt.date(day) == "5 ديسمبر 2026"
        assert fmt.month(day) == "ديسمبر 2026"
    with in_language("en"):
        assert fmt.date(day) == "Dec 5, 2026"
        assert fmt.month(day) == "December 2026"
    with in_language("ar", ARABIC_INDIC):
        assert fmt.date(day) == "٥ ديسمبر ٢٠٢٦"


def test_date_times_join_the_date_and_the_time_in_the_members_zone():
    moment = dt.datetime(2026, 10, 14, 17, 54, tzinfo=dt.UTC)
    from django.utils import timezone

    with timezone.override("Asia/Riyadh"):
        with in_language("ar"):
            assert fmt.datetime(moment) == "14 أكتوبر 2026، 8:54 م"
        with in_language("en"):
            assert fmt.datetime(moment).replace("\u202f", " ") == "Oct 14, 2026, 8:54 PM"


def test_durations_in_days_use_every_arabic_plural_form():
    with in_language("ar"):
        # One number of each of the six Arabic plural forms (zero, one, two, few, many, other).
        assert [fmt.days(n) for n in (0, 1, 2, 3, 11, 100)] == [
            "0 يوم",
            "يوم واحد",
            "يومان",
            "3 أيام",
            "11 يومًا",
            "100 يوم",
        ]
        assert "14.7" in fmt.days(Decimal("14.7"))
    with in_language("en"):
        assert fmt.days(1) == "1 day"
        assert fmt.days(Decimal("14.7")) == "14.7 days"


def test_relative_days_say_today_tomorrow_and_yesterday():
    now = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    with in_language("en"):
        assert fmt.relative(dt.date(2026, 12, 7), now=now) == "today"
        assert fmt.relative(dt.date(2026, 12, 8), now=now) == "tomorrow"
        assert fmt.relative(dt.date(2026, 12, 6), now=now) == "yesterday"
        assert fmt.relative(dt.date(2026, 12, 10), now=now) == "in 3 days"
        assert fmt.relative(dt.date(2027, 1, 10), now=now) == "Jan 10, 2027"
    with in_language("ar"):
        assert fmt.relative(dt.date(2026, 12, 8), now=now) == "غدًا"


# Known Umm al-Qura dates (official Saudi calendar): Ramadan starts, Eid al-Fitr, 1 Muharram, National Days.
UMM_AL_QURA = [
    (dt.date(2023, 3, 23), 1444, 9, 1),
    (dt.date(2023, 4, 21), 1444, 10, 1),
    (dt.date(2023, 7, 19), 1445, 1, 1),
    (dt.date(2024, 3, 11), 1445, 9, 1),
    (dt.date(2024, 4, 10), 1445, 10, 1),
    (dt.date(2024, 7, 7), 1446, 1, 1),
    (dt.date(2025, 3, 1), 1446, 9, 1),
    (dt.date(2025, 3, 30), 1446, 10, 1),
    (dt.date(2025, 6, 26), 1447, 1, 1),
    (dt.date(2022, 7, 30), 1444, 1, 1),
    (dt.date(2000, 1, 1), 1420, 9, 24),
]


@pytest.mark.parametrize(("day", "year", "month", "dom"), UMM_AL_QURA)
def test_hijri_dates_match_the_umm_al_qura_calendar(day, year, month, dom):
    from hijridate import Gregorian

    hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    assert (hijri.year, hijri.month, hijri.day) == (year, month, dom)
    with in_language("en"):
        assert fmt.hijri(day).startswith(f"{dom} ")
        assert fmt.hijri(day).endswith(f"{year} AH")


def test_hijri_dates_show_beside_the_gregorian_ones_for_who_asked():
    day = dt.date(2026, 12, 5)
    with in_language("ar", hijri=True):
        assert fmt.date(day) == "5 ديسمبر 2026 (25 جمادى الآخرة 1448 هـ)"
    with in_language("ar", ARABIC_INDIC, hijri=True):
        assert fmt.date(day) == "٥ ديسمبر ٢٠٢٦ (٢٥ جمادى الآخرة ١٤٤٨ هـ)"
    with in_language("en", hijri=False):
        assert "1448" not in fmt.date(day)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("250,000", "250000"),
        ("٢٥٠٬٠٠٠", "250000"),
        ("١٥٠٠٠٫٥", "15000.5"),
        ("15 000.50", "15000.50"),
        ("۱۲۳", "123"),
        (" 42 ", "42"),
        ("-500", "-500"),
    ],
)
def test_one_parser_reads_both_digit_sets_and_both_kinds_of_separators(typed, expected):
    assert fmt.parse_decimal(typed) == Decimal(expected)


@pytest.mark.parametrize("typed", ["", "abc", "1.2.3", "Infinity", "NaN", "1e400x", "١٢a"])
def test_the_parser_refuses_what_is_not_a_number(typed):
    with pytest.raises(fmt.ParseError):
        fmt.parse_decimal(typed)


amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)


@given(amounts, st.sampled_from(["ar", "en"]), st.sampled_from(["latn", "arab"]))
def test_format_then_parse_gives_the_same_number(value, language, digits):
    with in_language(language, digits):
        assert fmt.parse_decimal(fmt.decimal(value, 2)) == value
        assert fmt.parse_decimal(fmt.count(abs(value).to_integral_value())) == abs(value).to_integral_value()


def test_a_negative_number_rounded_to_zero_is_zero():
    with in_language("en"):
        assert fmt.decimal(Decimal("-0.01")) == "0.0"
        assert plain(fmt.decimal(Decimal("-1.25"))) == "-1.2"


@pytest.mark.parametrize("kind", ["count", "decimal", "percent", "days", "date", "datetime", "month", "time"])
def test_nothing_to_show_is_written_as_nothing(kind):
    with in_language("ar"):
        assert getattr(fmt, kind)(None) == ""
        assert getattr(fmt, kind)("") == ""
