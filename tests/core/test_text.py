"""Arabic-aware normalization (core.text.normalize_text): examples and properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.text import normalize_digits, normalize_text

TASHKEEL = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652"
ARABIC_LETTERS = "ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإةىئؤ"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("أحمد", "احمد"),
        ("إبراهيم", "ابراهيم"),
        ("آمنة", "امنه"),
        ("أَحْمَـــد", "احمد"),
        ("مصطفى", "مصطفي"),
        ("فاطمة", "فاطمه"),
        ("محمّد", "محمد"),
        ("  Sara   AHMED ", "sara ahmed"),
        ("José", "jose"),
        ("٠٥٠١٢٣٤٥٦٧", "0501234567"),
        ("۰۵۰", "050"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_text_examples(typed, expected):
    assert normalize_text(typed) == expected


@given(st.text())
def test_normalize_text_is_idempotent(value):
    once = normalize_text(value)
    assert normalize_text(once) == once


@given(st.text(alphabet=ARABIC_LETTERS + " ", min_size=1), st.lists(st.sampled_from(TASHKEEL + "ـ")))
def test_diacritics_and_tatweel_never_change_the_result(word, marks):
    decorated = "".join(ch + "".join(marks) if ch != " " else ch for ch in word)
    assert normalize_text(decorated) == normalize_text(word)


@given(st.text(alphabet=ARABIC_LETTERS + " "))
def test_alef_forms_teh_marbuta_and_alef_maksura_fold(word):
    variant = word.replace("ا", "أ").replace("ه", "ة").replace("ي", "ى")
    assert normalize_text(variant) == normalize_text(word)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ "))
def test_latin_is_case_insensitive(word):
    assert normalize_text(word.upper()) == normalize_text(word.lower())


@given(st.integers(min_value=0, max_value=10**15))
def test_arabic_indic_digits_become_ascii(number):
    arabic = str(number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert normalize_digits(arabic) == str(number)
    assert normalize_text(arabic) == str(number)


@given(st.text())
def test_result_has_no_combining_marks_or_tatweel(value):
    import unicodedata

    result = normalize_text(value)
    assert "ـ" not in result
    assert not any(unicodedata.combining(ch) for ch in result)


def test_marks_outside_the_basic_plane_are_removed_too():
    # U+1D167 is a combining mark from the musical symbols block.
    assert normalize_text("e\U0001d167xample") == "example"


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_is_lowercased_with_spaces_collapsed(value):
    assert normalize_text(value) == " ".join(value.lower().split())


# ---- clean_text: the one rule every typed text goes through on its way in ----

from django.core.exceptions import ValidationError  # noqa: E402

from core.text import FORBIDDEN_CHARACTERS, INVISIBLE_CHARACTERS, clean_text  # noqa: E402

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
BIDI_MARKS = "\u200e\u200f\u061c"


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("N\u202egnp.exe", "Ngnp.exe"),
        ("\u2067أحمد\u2069", "أحمد"),
        ("\u200fشركة الأفق\u200e", "شركة الأفق"),
        ("\u061c١٢٣", "١٢٣"),
        ("\ufeffAcme\u200b Ltd\u2060", "Acme Ltd"),
        # Joiners shape Persian/Urdu words and emoji: they are letters' business, kept.
        ("می\u200cخواهم", "می\u200cخواهم"),
        ("👩\u200d💻", "👩\u200d💻"),
        ("Sara Lindqvist", "Sara Lindqvist"),
        ("مُحَمَّد العُتَيْبِي", "مُحَمَّد العُتَيْبِي"),
        ("", ""),
    ],
)
def test_clean_text_removes_invisible_format_characters(typed, expected, multiline):
    assert clean_text(typed, multiline=multiline) == expected


@pytest.mark.parametrize("typed", ["a\u0007", "\u0000", "a\x00b", "\x1b[31m", "x\x7f", "x\x85", "x\x9f", "a\x0bb"])
@pytest.mark.parametrize("multiline", [False, True])
def test_clean_text_refuses_control_characters(typed, multiline):
    with pytest.raises(ValidationError) as refused:
        clean_text(typed, multiline=multiline)
    assert refused.value.code == "control_characters"


@pytest.mark.parametrize("typed", ["\ud800", "a\udfffb", "x\ufffe", "\uffff", "\ufdd0"])
def test_clean_text_refuses_what_is_not_text(typed):
    with pytest.raises(ValidationError) as refused:
        clean_text(typed, multiline=True)
    assert refused.value.code == "invalid_characters"


def test_clean_text_refusals_are_translated():
    from django.utils import translation

    def message(language):
        with translation.override(language), pytest.raises(ValidationError) as refused:
            clean_text("a\u0007", multiline=False)
        with translation.override(language):
            return refused.value.messages

    assert message("en") == ["This field contains control characters."]
    assert message("ar") == ["يحتوي هذا الحقل على رموز تحكّم غير مسموح بها."]


def test_multiline_text_keeps_tabs_and_newlines_and_unifies_line_breaks():
    assert clean_text("line 1\n\tline 2", multiline=True) == "line 1\n\tline 2"
    assert clean_text("a\r\nb\rc\u2028d\u2029e", multiline=True) == "a\nb\nc\nd\ne"


def test_one_line_text_turns_tabs_and_line_breaks_into_spaces():
    assert clean_text("Sara\tLee", multiline=False) == "Sara Lee"
    assert clean_text("شركة\r\nالأفق\n", multiline=False) == "شركة الأفق "


@given(st.text(), st.booleans())
def test_clean_text_is_idempotent_and_leaves_nothing_forbidden(value, multiline):
    try:
        once = clean_text(value, multiline=multiline)
    except ValidationError:
        assert any(ch in FORBIDDEN_CHARACTERS for ch in value)
        return
    assert clean_text(once, multiline=multiline) == once
    assert not any(ch in FORBIDDEN_CHARACTERS or ch in INVISIBLE_CHARACTERS for ch in once)
    assert "\r" not in once
    if not multiline:
        assert "\n" not in once and "\t" not in once


@given(
    st.text(
        alphabet=ARABIC_LETTERS + TASHKEEL + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789٠١٢٣ .-'@,"
    )
)
def test_plain_arabic_and_english_text_is_unchanged(value):
    assert clean_text(value, multiline=False) == value
    assert clean_text(value, multiline=True) == value


@given(st.text(alphabet=ARABIC_LETTERS + "abc "), st.lists(st.sampled_from(BIDI_CONTROLS + BIDI_MARKS), min_size=1))
def test_bidi_controls_anywhere_are_removed(word, controls):
    spliced = "".join(controls) + word + "".join(controls)
    assert clean_text(spliced, multiline=False) == word


def test_search_form_ignores_invisible_format_characters():
    assert normalize_text("\u202eأحمد\u200f") == normalize_text("أحمد")
