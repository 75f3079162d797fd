from django.contrib import admin

from core.admin_sync import SyncedModelAdminMixin
from crm import services
from crm.models import Activity, Company, Contact, FollowUp, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Company)
class CompanyAdmin(SyncedModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.company_delete)
    list_display = ["name", "city", "country", "owner", "team", "updated_at"]
    list_filter = ["team", "country"]
    list_select_related = ["owner", "team"]
    search_fields = ["name_normalized", "name", "website"]
    autocomplete_fields = ["owner", "team", "tags"]
    readonly_fields = ["phone", "created_at", "updated_at"]


@admin.register(Contact)
class ContactAdmin(SyncedModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.contact_delete)
    webhook_prefix = "contact"
    list_display = ["full_name", "company", "email", "phone", "owner", "team", "last_contacted_at"]
    list_filter = ["team", "preferred_channel", "consent_marketing"]
    list_select_related = ["company", "owner", "team"]
    search_fields = ["name_normalized", "first_name", "last_name", "email", "phone"]
    autocomplete_fields = ["company", "owner", "team", "tags"]
    readonly_fields = ["phone", "consent_updated_at", "last_contacted_at", "created_at", "updated_at"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject", "occurred_at", "contact", "company", "deal", "actor"]
    list_filter = ["kind", "outcome", "team"]
    list_select_related = ["contact", "company", "deal", "actor"]
    search_fields = ["subject", "body"]
    autocomplete_fields = ["contact", "company", "deal", "actor", "team"]
    date_hierarchy = "occurred_at"


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["subject", "due_at", "status", "assignee", "reminder_state", "kind"]
    list_filter = ["status", "kind", "reminder_state", "team"]
    list_select_related = ["assignee"]
    search_fields = ["subject", "notes"]
    autocomplete_fields = ["contact", "company", "deal", "assignee", "created_by", "team"]
    readonly_fields = [
        "reminder_attempts",
        "reminder_sent_at",
        "reminder_error",
        "reminder_claimed_at",
        "reminder_next_attempt_at",
        "created_at",
        "updated_at",
    ]
    date_hierarchy = "due_at"
