"""Form fields that read what people type on an Arabic or an English keyboard.

Every number a form takes (amounts, targets, quantities) goes through the one parser,
`core.formatting.parse_decimal`: Latin or Arabic-Indic digits, Latin or Arabic separators
("250,000", "٢٥٠٬٠٠٠", "١٥٠٠٠٫٥"). Dates accept either digit set, and a Hijri
(Umm al-Qura) date where a member may pick one.
"""

import datetime as dt
import re
import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import HttpResponse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
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


# One-time form tokens (double submission) -----------------------------------------

FORM_TOKEN_FIELD = "form_token"


class SubmitOnceMixin:
    """A form that creates something: it carries a one-time token, issued when it is rendered.

    The view passes the create to `submit_once`; a second POST of the same rendered form
    (a double click, a resend) creates nothing and is sent to what the first one created.
    A re-rendered form with errors keeps its token: nothing was spent.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[FORM_TOKEN_FIELD] = forms.CharField(
            required=False,
            max_length=64,
            widget=forms.HiddenInput,
            initial=secrets.token_urlsafe(24),
            validators=[
                RegexValidator(
                    r"^[A-Za-z0-9_-]{16,64}$",
                    message=_("This form is out of date: reload the page and send it again."),
                )
            ],
        )

    def clean(self):
        cleaned = super().clean()
        # A hidden field's error has no place on the page: it is said above the form.
        if FORM_TOKEN_FIELD in self.errors:
            self.add_error(None, self.errors.pop(FORM_TOKEN_FIELD))
        # Kept apart from the cleaned values, which go to the services as keyword arguments.
        self.form_token = self.cleaned_data.pop(FORM_TOKEN_FIELD, "") or ""
        return cleaned


def submit_once(request, form, create, *, result_url=None):
    """Run `create()` (a service call) once per rendered form; raises FormAlreadySent on a repeat.

    `result_url(obj)` is where a repeat is sent (default: the created record's page).
    """
    from core.services import form_token_spend

    return form_token_spend(
        user=request.user,
        token=getattr(form, "form_token", ""),
        create=create,
        result_url=result_url or (lambda obj: obj.get_absolute_url()),
    )


def already_sent(request, sent, *, fallback: str = "/"):
    """The answer to a repeated submission: to the page of what the first one created, saying so."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils.http import url_has_allowed_host_and_scheme

    url = sent.url if url_has_allowed_host_and_scheme(sent.url, allowed_hosts={request.get_host()}) else fallback
    messages.info(request, _("This form was already sent; nothing was created twice."))
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url or fallback
        return response
    return redirect(url or fallback)


# Long selects ------------------------------------------------------------------


def _attrs_html(attrs: dict) -> str:
    # As django/forms/widgets/attrs.html: False leaves the attribute out, True writes its name alone.
    return "".join(
        f" {name}" if value is True else f' {name}="{conditional_escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class QuickSelect(forms.Select):
    """A <select> written in Python: the HTML of Django's select template, without a template per option.

    Django renders each <option> through its own template include, about 0.2 ms apiece; a
    currency select has some 300 options, so two of them cost more than the rest of a page.
    The context (`get_context`, hence choices, selection and attributes) is Django's own.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                    f"{_attrs_html(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # every value above is escaped


# Searchable comboboxes ------------------------------------------------------------


class ComboboxSelect(QuickSelect):
    """A <select> that static/js/combobox.js turns into a text box with a listbox of options found as one types.

    Written as QuickSelect writes it: a board has a quick-add form per open column, each with a
    hundred companies, and including the option templates per option was a quarter of its time.

    Without JavaScript it stays a working <select> with every option, so the field, its
    queryset and its validation are the same either way. `source` names the URL of the
    options (JSON: {"results": [{"id", "label"}]}); `create`, the URL that makes a new
    company from the typed name (offered as the listbox's last option).
    """

    def __init__(self, source: str, *, params: dict | None = None, create: str | None = None, attrs=None):
        super().__init__(attrs=attrs)
        self.source, self.params, self.create = source, params or {}, create

    def __deepcopy__(self, memo):
        copied = super().__deepcopy__(memo)
        copied.params = dict(self.params)
        return copied

    def use_required_attribute(self, initial):
        # The server checks the choice. Asking the browser to would read the options a second
        # time (a query, when the list has no empty choice) and a hidden select cannot show the message.
        return False

    def get_context(self, name, value, attrs):
        from urllib.parse import urlencode

        from django.urls import reverse

        context = super().get_context(name, value, attrs)
        url = reverse(self.source) + (f"?{urlencode(self.params)}" if self.params else "")
        extra = {
            "data-combobox": url,
            "data-text-empty": _("Nothing found. Try fewer letters."),
            "data-text-count": _("{count} options. Use the arrow keys to choose."),
            "data-text-hint": _("Type to search."),
        }
        if self.create:
            extra["data-combobox-create"] = reverse(self.create)
            extra["data-text-create"] = _("Create the company “{name}”")
            extra["data-text-created"] = _("The company “{name}” was created and chosen.")
        context["widget"]["attrs"].update(extra)
        return context


def form_error_status(request) -> int:
    """The status of a form answered with its errors: 422 to HTMX (which swaps it in place), 400 to a full page."""
    return 422 if getattr(request, "htmx", False) else 400


def add_service_errors(form, error: Exception, *, aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal on a form (pages and the admin alike): on the field it names, else above the form.

    `aliases` maps an error key to the form field a person acts on when the two differ
    (e.g. a team follows from the owner). A PermissionDenied is shown above the form.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, str(error) if not isinstance(error, ValidationError) else error)
        return
    for key, errors in error.error_dict.items():
        field = (aliases or {}).get(key, key)
        form.add_error(field if field in form.fields else None, errors)
