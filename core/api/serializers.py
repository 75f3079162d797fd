"""Serializer helpers shared by every app's API."""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField, PrimaryKeyRelatedField

from core import fields as text_fields
from core.ids import parse_id
from core.text import clean_text, validate_clean_text


class IdField(serializers.IntegerField):
    """A record id in a request body (see parse_id), for ids that are not looked up by a related field."""

    default_error_messages = {"invalid": _("Enter a valid id: a whole number.")}

    def to_internal_value(self, data):
        value = parse_id(data)
        if value is None:
            self.fail("invalid")
        return value


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary-key relation that accepts only a valid id (parse_id) and answers a clear error otherwise."""

    default_error_messages = {"invalid_id": _("Enter a valid id: a whole number.")}

    def to_internal_value(self, data):
        pk = parse_id(data)
        if pk is None:
            self.fail("invalid_id")
        return super().to_internal_value(pk)


def _with_strict_ids(field):
    """`field` with every plain PrimaryKeyRelatedField in it (alone, many=True, a list's child) an IdRelatedField.

    Rebuilt from the arguments DRF keeps on each field (`_args`, `_kwargs`), so a serializer
    that declares `serializers.PrimaryKeyRelatedField(...)` is covered without knowing it.
    """
    if type(field) is PrimaryKeyRelatedField:
        return IdRelatedField(*field._args, **field._kwargs)
    if isinstance(field, ManyRelatedField) and type(field.child_relation) is PrimaryKeyRelatedField:
        field.child_relation = _with_strict_ids(field.child_relation)
        field.child_relation.bind(field_name="", parent=field)
    elif isinstance(field, serializers.ListField) and type(field.child) is PrimaryKeyRelatedField:
        field.child = _with_strict_ids(field.child)
        field.child.bind(field_name="", parent=field)
    return field


class StrictSerializerMixin:
    """Refuse fields the serializer does not know (a typo must not be silently dropped) and ids that are not ids."""

    def get_fields(self):
        # The fields are this serializer's own deep copies (DRF), so they may be replaced here.
        return {name: _with_strict_ids(field) for name, field in super().get_fields().items()}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class VisiblePrimaryKeyRelatedField(IdRelatedField):
    """A reference to a record the caller may see; any other id is refused like one that does not exist."""

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return super().get_queryset().visible_to(user)


def caller(serializer):
    return serializer.context["request"].user


def visible_to_request(model):
    """Choice list factory for a FilterSet: the `model` records the request's user may see."""

    def queryset(request):
        return model.objects.visible_to(getattr(request, "user", None))

    return queryset


class UTCDateTimeField(serializers.DateTimeField):
    """Times go out in UTC (`…Z`) whatever the server's zone; a time sent without an offset is read as UTC.

    Syncing clients compare and store these; a local zone would also print historic
    local-mean-time offsets (+03:06:52) that RFC 3339 cannot express.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default_timezone", datetime.UTC)
        super().__init__(*args, **kwargs)


class _CleanTextSerializerMixin:
    """core.text.clean_text on API input, for the model fields of core/fields.py.

    The services' full_clean() applies the same rule; here it runs first, so a refusal
    is reported on its field with DRF's other field errors and the value handed to the
    service is already clean.
    """

    multiline = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Always true of the cleaned value; it puts the rule in the OpenAPI schema (a `pattern`),
        # so clients and schema-driven tests know which characters are refused.
        self.validators.append(validate_clean_text)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return clean_text(value, multiline=self.multiline)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code=error.code) from None


class CleanCharSerializerField(_CleanTextSerializerMixin, serializers.CharField):
    pass


class CleanTextSerializerField(_CleanTextSerializerMixin, serializers.CharField):
    multiline = True


class CleanURLSerializerField(_CleanTextSerializerMixin, serializers.URLField):
    pass


class CleanTextModelSerializerMixin:
    """A ModelSerializer whose text fields apply core.text.clean_text (for any that is not a SafqaModelSerializer)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        text_fields.CleanCharField: CleanCharSerializerField,
        text_fields.CleanTextField: CleanTextSerializerField,
        text_fields.CleanURLField: CleanURLSerializerField,
    }


class SafqaModelSerializer(StrictSerializerMixin, CleanTextModelSerializerMixin, serializers.ModelSerializer):
    serializer_related_field = IdRelatedField
    serializer_field_mapping = {
        **CleanTextModelSerializerMixin.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }
