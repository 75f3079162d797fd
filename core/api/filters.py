"""Filters shared by the API's FilterSets."""

import datetime

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _


class UTCIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date and time, handed to the database in UTC.

    Python reads offsets up to ±23:59, PostgreSQL only up to ±15:59: a value such as
    `…+19:29` reached the query as written and failed there (500). In UTC it is the same instant.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:  # year 1 with a positive offset is before the first UTC instant
            raise forms.ValidationError(_("Enter a valid date/time."), code="invalid") from None


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class StrictBooleanField(forms.NullBooleanField):
    """A yes/no query parameter that refuses anything but true/false (1/0); blank is no filter.

    Django's NullBooleanField reads any unknown text as "no filter", so `?has_open_deal=yes please`
    answered every record instead of saying the value is wrong.
    """

    widget = forms.TextInput
    default_error_messages = {"invalid": _("Enter true or false.")}
    _VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, "") or isinstance(value, bool):
            return None if value == "" else value
        try:
            return self._VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value):
        pass


class UpdatedAfterFilterSet(django_filters.FilterSet):
    """`updated_after`: what a syncing client asks for, on every API list of changing records."""

    updated_after = UTCIsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", label=_("Changed after (ISO 8601 date and time)")
    )


class _OnlyAskedChoiceFilters:
    """Builds the form fields of the record-choice filters (owner, team, tag, company) only when asked for.

    Such a field's choice list is a queryset through visibility, made when the form is built: on
    every list request, for every such filter, though a request names one at most. A choice filter
    absent from the query string filters nothing, so leaving its field out changes no answer; the
    others (search, dates, yes/no, whose parameter names may differ from the filter's) stay.
    """

    def get_form_class(self):
        if self.is_bound:
            skipped = [
                name
                for name, declared in self.filters.items()
                if isinstance(declared, django_filters.filters.QuerySetRequestMixin) and name not in self.data
            ]
            if skipped:
                asked = {name: declared for name, declared in self.filters.items() if name not in skipped}
                everything, self.filters = self.filters, asked
                try:
                    return super().get_form_class()
                finally:
                    self.filters = everything
        return super().get_form_class()


def api_filters(filterset_class):
    """A page FilterSet made an API one: the page-only ordering `o` and search `q` dropped, and the
    record-choice filters' fields built only when their parameter is given (_OnlyAskedChoiceFilters).

    The API's cursor fixes the order, and search is named `search` on every API list.
    """
    filterset_class = type(
        filterset_class.__name__,
        (_OnlyAskedChoiceFilters, filterset_class),
        {"__module__": filterset_class.__module__, "__qualname__": filterset_class.__qualname__},
    )
    filterset_class.base_filters.pop("o", None)
    filterset_class.base_filters.pop("q", None)
    for declared in filterset_class.base_filters.values():
        if isinstance(declared, django_filters.BooleanFilter):
            declared.field_class = StrictBooleanField
    return filterset_class
