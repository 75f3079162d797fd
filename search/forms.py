from django import forms
from django.utils.translation import gettext_lazy as _

from core.fields import CleanFormCharField


class SearchForm(forms.Form):
    """The query: cleaned like any typed text (invisible and control characters), and of a sensible length."""

    q = CleanFormCharField(
        label=_("Search contacts, companies and deals"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "enterkeyhint": "search"}),
    )
