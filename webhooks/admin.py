from django.contrib import admin
from django.db import models

from core.admin_sync import ReadOnlyModelAdminMixin, ServiceModelAdminMixin
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookSubscription


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    """Subscribing checks the URL like the API does: no loopback, private or reserved addresses."""

    delete_service = staticmethod(services.subscription_delete)
    # A URL typed without a scheme is https (Django 6's default; the webhooks guard checks it anyway).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["url", "owner", "is_active", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["owner"]
    search_fields = ["url"]
    autocomplete_fields = ["owner"]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.subscription_create(by=by, **data)
        return services.subscription_update(subscription=record, by=by, **data)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    """Deliveries are written by the services and the workers only (an outbox): the admin reads them."""

    list_display = ["event", "subscription", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event"]
    list_select_related = ["subscription"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
