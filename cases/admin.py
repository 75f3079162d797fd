from django.contrib import admin

from cases import services
from cases.models import Case
from core.admin_sync import ServiceModelAdminMixin


@admin.register(Case)
class CaseAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.case_delete)
    list_display = ["subject", "contact", "priority", "status", "owner", "due_at", "updated_at"]
    list_filter = ["status", "priority", "team"]
    list_select_related = ["contact", "owner"]
    search_fields = ["subject"]
    autocomplete_fields = ["contact", "company", "deal", "owner", "team"]
    fields = ["subject", "description", "contact", "company", "deal", "priority", "status", "owner", "team"]
    readonly_fields = ["due_at", "first_response_at", "solved_at", "closed_at", "version", "created_at", "updated_at"]

    def get_fields(self, request, obj=None):
        return [*self.fields, *self.readonly_fields] if obj else self.fields

    def service_write(self, *, by, record, data):
        if record is None:
            return services.case_create(by=by, **data)
        return services.case_update(case=record, by=by, **data) if data else record
