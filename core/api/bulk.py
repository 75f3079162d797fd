"""What every bulk upsert endpoint shares (contacts, deals): items keyed by (external_source, external_id).

Each endpoint checks its items with its own serializer and writes them through its services; the
key an item is matched by, the rule that every item has one, and the shape of an item's errors are
the same for all of them.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.errors import _field_errors, error_text
from core.text import clean_text


class ExternalKeyRequiredMixin:
    """A bulk item's serializer: every item names its record by its external id (the source may stay empty)."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        source = attrs.get("external_source", getattr(self.instance, "external_source", ""))
        external_id = attrs.get("external_id", getattr(self.instance, "external_id", ""))
        if not external_id:
            raise serializers.ValidationError({"external_id": [_("Give each item its external_id.")]})
        attrs["external_source"], attrs["external_id"] = source, external_id
        return attrs


def item_key(item) -> tuple[str, str] | None:
    """The item's (external_source, external_id) as they would be stored; None when it has none, or one refused.

    The key is cleaned by the text rule the fields follow (core.text.clean_text), so a key sent
    with a bidi mark finds the record stored without it. A key the rule refuses (NUL, a lone
    surrogate: the query itself would fail, a 500 for the whole batch) is not looked up; the
    item's validation then refuses the field, an error for that item only.
    """
    source, external_id = item.get("external_source", ""), item.get("external_id")
    if isinstance(source, str) and isinstance(external_id, (str, int)) and not isinstance(external_id, bool):
        try:
            return clean_text(source.strip(), multiline=False), clean_text(str(external_id).strip(), multiline=False)
        except ValidationError:
            return None
    return None


def item_errors(error: ValidationError) -> dict:
    """A service's refusal of one item, in the API's field-errors shape."""
    if hasattr(error, "error_dict"):
        return _field_errors(error.message_dict)
    return {"non_field_errors": [error_text(m) for m in error.messages]}
