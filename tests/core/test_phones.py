"""Phone numbers are stored in E.164, whatever the format typed."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from core.phones import format_international, search_form, to_e164


@pytest.mark.parametrize(
    "typed",
    [
        "0501234567",
        "050 123 4567",
        "+966501234567",
        "+966 50 123 4567",
        "00966501234567",
        "٠٥٠١٢٣٤٥٦٧",
        "(050) 123-4567",
    ],
)
def test_saudi_mobile_in_any_format_is_stored_in_e164(typed, settings):
    settings.PHONE_DEFAULT_REGION = "SA"
    assert to_e164(typed) == "+966501234567"


def test_number_with_country_code_ignores_default_region():
    assert to_e164("+971 50 123 4567", region="SA") == "+971501234567"


def test_local_number_is_read_in_the_given_region():
    assert to_e164("050 123 4567", region="AE") == "+971501234567"


@pytest.mark.parametrize("typed", ["12", "abc", "0000000000", "+966 12", "05012345678901234"])
def test_invalid_phone_is_rejected_with_a_translated_message(typed):
    with translation.override("ar"):
        with pytest.raises(ValidationError) as error:
            to_e164(typed)
        assert "ليس رقم هاتف" in error.value.messages[0]
    with translation.override("en"):
        with pytest.raises(ValidationError) as error:
            to_e164(typed)
        assert "is not a valid phone number" in error.value.messages[0]


def test_search_form_recognises_phone_queries_only():
    assert search_form("٠٥٠ ١٢٣ ٤٥٦٧", region="SA") == "+966501234567"
    assert search_form("أحمد", region="SA") is None
    assert search_form("050", region="SA") is None


def test_international_display():
    assert format_international("+966501234567") == "+966 50 123 4567"


def test_numbers_are_parsed_once_inside_remembering(monkeypatch):
    import phonenumbers

    from core import phones

    parsed = []
    real_parse = phonenumbers.parse

    def counting_parse(text, region):
        parsed.append(text)
        return real_parse(text, region)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    with phones.remembering():
        assert search_form("057 000 1234") == "+966570001234"
        assert to_e164("057 000 1234") == "+966570001234"  # an import validates the number it matched by
        with pytest.raises(ValidationError):
            to_e164("0570")
        with pytest.raises(ValidationError):
            to_e164("0570")
    assert parsed == ["057 000 1234", "0570"]
    # Outside, the batch's numbers are forgotten (the last few thousand are still remembered).
    to_e164("057 321 9876")
    to_e164("057 321 9876")
    assert parsed == ["057 000 1234", "0570", "057 321 9876"]
