from django.contrib import admin

from core.admin_sync import ReadOnlyModelAdminMixin
from notifications.models import DailyDigest, Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    """Written by the reminder and digest services (one per reminder and recipient): the admin shows them."""

    list_display = ["title", "recipient", "kind", "created_at", "read_at", "email_sent_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), ("email_error", admin.EmptyFieldListFilter)]
    list_select_related = ["recipient"]
    search_fields = ["title", "body", "recipient__username", "email_message_id"]
    autocomplete_fields = ["recipient", "follow_up"]
    readonly_fields = ["reminder_for", "email_message_id", "email_sent_at", "email_error", "created_at", "updated_at"]
    date_hierarchy = "created_at"


@admin.register(DailyDigest)
class DailyDigestAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    list_display = ["user", "day", "follow_up_count", "deal_count", "email_sent_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "email_message_id"]
    date_hierarchy = "day"
    readonly_fields = ["email_message_id", "email_sent_at", "created_at", "updated_at"]
