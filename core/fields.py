"""Model fields for text people type: every value goes through core.text.clean_text on its way in.

The rule sits in the model field, so each write path applies it without code of its own:
model forms and the admin (ModelForm._post_clean calls full_clean), the services (they call
full_clean), the batch engine of imports and bulk upserts (crm.services.customers_write_many
calls full_clean on the fields a write sets), and the API (SafqaModelSerializer maps these
fields to serializer fields applying the same rule, so errors name the field at once).
`Model.clean_fields()` stores the cleaned value on the record, so what is saved is cleaned.

Use CleanCharField for one-line text (names, titles: line breaks and tabs become spaces) and
CleanTextField for multi-line text (notes: newlines and tabs kept).
"""

from django import forms
from django.db import models

from core.text import clean_text


class CleanTextMixin:
    """Applies clean_text in clean() (full_clean), not in to_python(): to_python also serves
    get_prep_value, and a query's lookup value must not raise a field error or change."""

    multiline = False

    def clean(self, value, model_instance):
        if isinstance(value, str):
            value = clean_text(value, multiline=self.multiline)
        return super().clean(value, model_instance)

    # The form field applying the same rule (None: choices, which need no cleaning).
    form_class = None

    def formfield(self, **kwargs):
        if not self.choices and self.form_class is not None:
            kwargs.setdefault("form_class", self.form_class)
        return super().formfield(**kwargs)

    def deconstruct(self):
        # Migrations record the plain Django field this one extends: the rule changes nothing in
        # the database, so switching a field to it needs no migration (and none to undo it).
        name, _path, args, kwargs = super().deconstruct()
        return name, _django_path(type(self)), args, kwargs


def _django_path(cls) -> str:
    base = next(klass for klass in cls.__mro__ if klass.__module__.startswith("django.db.models"))
    return f"django.db.models.{base.__name__}"


class _CleanFormFieldMixin:
    """The same rule on a form field, so a form shows the error on its field before any service runs."""

    multiline = False

    def to_python(self, value):
        value = super().to_python(value)
        if isinstance(value, str) and value:
            value = clean_text(value, multiline=self.multiline)
        return value


class CleanFormCharField(_CleanFormFieldMixin, forms.CharField):
    pass


class CleanFormTextField(_CleanFormFieldMixin, forms.CharField):
    multiline = True


class CleanFormURLField(_CleanFormFieldMixin, forms.URLField):
    pass


class CleanCharField(CleanTextMixin, models.CharField):
    """One-line text a person types (names, titles, cities)."""

    form_class = CleanFormCharField


class CleanTextField(CleanTextMixin, models.TextField):
    """Multi-line text a person types (notes): newlines and tabs kept, line breaks unified to "\\n"."""

    multiline = True
    form_class = CleanFormTextField


class CleanURLField(CleanTextMixin, models.URLField):
    """A web address a person types: bidi controls removed before it is validated as a URL."""

    form_class = CleanFormURLField
