from django.contrib import admin

from core.admin_sync import ServiceModelAdminMixin
from crm import services
from crm.models import Activity, Company, Contact, FollowUp, Tag


@admin.register(Tag)
class TagAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.tag_delete)
    search_fields = ["name"]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.tag_create(by=by, **data)
        return services.tag_update(tag=record, by=by, **data) if data else record


@admin.register(Company)
class CompanyAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.company_delete)
    list_display = ["name", "city", "country", "owner", "team", "updated_at"]
    list_filter = ["team", "country"]
    list_select_related = ["owner", "team"]
    search_fields = ["name_normalized", "name", "website"]
    autocomplete_fields = ["owner", "team", "tags"]
    readonly_fields = ["phone", "created_at", "updated_at"]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.company_create(by=by, **data)
        return services.company_update(company=record, by=by, **data)


@admin.register(Contact)
class ContactAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.contact_delete)
    list_display = ["full_name", "company", "email", "phone", "owner", "team", "last_contacted_at"]
    list_filter = ["team", "preferred_channel", "consent_marketing"]
    list_select_related = ["company", "owner", "team"]
    search_fields = ["name_normalized", "first_name", "last_name", "email", "phone"]
    autocomplete_fields = ["company", "owner", "team", "tags"]
    readonly_fields = ["phone", "consent_updated_at", "last_contacted_at", "created_at", "updated_at"]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.contact_create(by=by, **data)
        return services.contact_update(contact=record, by=by, **data)


@admin.register(Activity)
class ActivityAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.activity_delete)
    list_display = ["kind", "subject", "occurred_at", "contact", "company", "deal", "actor"]
    list_filter = ["kind", "outcome", "team"]
    list_select_related = ["contact", "company", "deal", "actor"]
    search_fields = ["subject", "body"]
    autocomplete_fields = ["contact", "company", "deal", "actor", "team"]
    date_hierarchy = "occurred_at"

    def service_write(self, *, by, record, data):
        if record is None:
            return services.activity_log(by=by, **data)
        return services.activity_update(activity=record, by=by, **data)


@admin.register(FollowUp)
class FollowUpAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.follow_up_delete)
    list_display = ["subject", "due_at", "status", "assignee", "reminder_state", "kind"]
    list_filter = ["status", "kind", "reminder_state", "team"]
    list_select_related = ["assignee"]
    search_fields = ["subject", "notes"]
    autocomplete_fields = ["contact", "company", "deal", "assignee"]
    # The services decide these: the team from the assignee, the reminder's state from its time.
    readonly_fields = [
        "team",
        "created_by",
        "completed_at",
        "reminder_state",
        "reminder_attempts",
        "reminder_sent_at",
        "reminder_error",
        "reminder_claimed_at",
        "reminder_next_attempt_at",
        "created_at",
        "updated_at",
    ]
    date_hierarchy = "due_at"

    def service_write(self, *, by, record, data):
        if record is None:
            status = data.pop("status", None)
            follow_up = services.follow_up_schedule(by=by, **data)
            return services.follow_up_update(follow_up=follow_up, by=by, status=status) if status else follow_up
        return services.follow_up_update(follow_up=record, by=by, **data)
