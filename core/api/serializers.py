"""Serializer helpers shared by every app's API."""

import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictSerializerMixin:
    """Refuse fields the serializer does not know (a typo must not be silently dropped)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class VisiblePrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
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


class SafqaModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }
