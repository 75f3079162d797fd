from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from webhooks.events import event_choices
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription


class SubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        allow_empty=False,
        help_text=_("Events to receive."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "is_active", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        # Apps add events of their own (webhooks.events.register_event), known once every app is ready.
        fields["events"].child.choices = event_choices()
        return fields


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    """The answer to a new subscription: the only time its signing secret is shown."""

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = [*SubscriptionSerializer.Meta.read_only_fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    # Plain text: the same choices as `events` above would be a second enum name in the schema.
    event = serializers.CharField(read_only=True, help_text=_("One of the subscription's events."))

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "uuid",
            "event",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
