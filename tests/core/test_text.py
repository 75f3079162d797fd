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
