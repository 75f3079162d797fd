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
