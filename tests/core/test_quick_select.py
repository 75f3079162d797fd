"""core.forms.QuickSelect writes the same HTML as Django's select template, option by option."""

from django import forms
from django.utils import translation

from core.forms import QuickSelect
from core.money import currency_choices


def _both(choices, value, attrs=None):
    return forms.Select(choices=choices).render("pick", value, attrs), QuickSelect(choices=choices).render(
        "pick", value, attrs
    )


def test_the_currency_select_is_written_byte_for_byte_as_django_writes_it():
    with translation.override("ar"):
        choices = [("", "Every currency"), *currency_choices()]
        for value in (None, "", "SAR", "USD"):
            ours, django = _both(choices, value)
            assert ours == django
        assert 'value="SAR" selected>' in _both(choices, "SAR")[1]


def test_text_and_attributes_are_escaped_and_boolean_attributes_written_as_django_does():
    choices = [("", "<none>"), ('a"b', 'Tom & "Jerry"'), ("c", "C")]
    attrs = {"id": "id_pick", "required": True, "disabled": False, "aria-describedby": 'x "y"'}
    for value in (None, 'a"b', "c"):
        ours, django = _both(choices, value, attrs)
        assert ours == django
    assert "&lt;none&gt;" in _both(choices, None)[1]


def test_option_groups_are_kept():
    choices = [("Gulf <1>", [("SAR", "SAR"), ("AED", "AED")]), ("USD", "USD")]
    ours, django = _both(choices, "AED")
    assert ours == django
    assert "<optgroup" in ours
