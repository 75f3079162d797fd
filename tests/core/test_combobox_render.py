"""The combobox select writes its options itself (core.forms.ComboboxSelect.render): the HTML of Django's templates."""

from django import forms
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.forms import ComboboxSelect

CHOICES = [
    ("", _("No company")),
    (1, 'Ben & "Jerry\'s" <Co>'),
    (2, mark_safe("<b>safe</b>")),
    ("x&y", "شركة الأمل"),
    (_("Group <one>"), [(3, "three"), (4, "four & more")]),
    (12345, 12345),
]


class Plain(ComboboxSelect):
    """The same widget rendered by Django's templates, as every other select."""

    def render(self, name, value, attrs=None, renderer=None):
        return forms.Select.render(self, name, value, attrs, renderer)


def _pair(**kwargs):
    fast = ComboboxSelect("crm:company_options", create="crm:company_quick_create", **kwargs)
    plain = Plain("crm:company_options", create="crm:company_quick_create", **kwargs)
    fast.choices = plain.choices = CHOICES
    return fast, plain


def test_the_options_are_djangos_html_to_the_byte():
    for language in ("ar", "en"):
        with translation.override(language):
            for value in (None, "", 1, "x&y", 4, 12345):
                fast, plain = _pair(attrs={"class": "a&b", "data-on": True, "data-off": False})
                mine = fast.render("stage-3-company", value, attrs={"id": "id_stage-3-company"})
                django = plain.render("stage-3-company", value, attrs={"id": "id_stage-3-company"})
                assert mine == django
                assert "<optgroup" in mine and "&lt;Co&gt;" in mine and "<b>safe</b>" in mine


def test_a_bound_form_field_renders_the_same():
    class Form(forms.Form):
        company = forms.TypedChoiceField(
            choices=CHOICES, coerce=str, required=False, widget=ComboboxSelect("crm:company_options")
        )

    form = Form(prefix="p", data={"p-company": "2"})
    plain = Plain("crm:company_options")
    plain.choices = CHOICES
    assert str(form["company"]) == plain.render("p-company", "2", attrs={"id": "id_p-company"})
