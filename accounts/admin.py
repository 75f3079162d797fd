from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import Membership, Team, User
from core.admin_sync import ServiceModelAdminMixin

admin.site.site_header = _("Safqa administration")
admin.site.site_title = _("Safqa")
admin.site.index_title = _("Administration")


class MembershipInline(admin.TabularInline):
    """Who is in the team (or which teams a member is in); joining and leaving go through Memberships."""

    model = Membership
    extra = 0
    fields = ["user", "team", "is_manager"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role", "language", "is_active"]
    list_filter = ["role", "language", "is_active", "is_staff"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Safqa"), {"fields": ("role", "language", "time_zone", "reminder_offset_minutes")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Safqa"), {"fields": ("first_name", "last_name", "email", "role", "language", "time_zone")}),
    )
    inlines = [MembershipInline]


@admin.register(Team)
class TeamAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.team_delete)
    list_display = ["name", "time_zone", "going_cold_days"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.team_create(by=by, **data)
        return services.team_update(team=record, by=by, **data)


@admin.register(Membership)
class MembershipAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.membership_delete)
    list_display = ["user", "team", "is_manager"]
    list_filter = ["team", "is_manager"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.membership_create(by=by, **data)
        return services.membership_update(membership=record, by=by, **data)
