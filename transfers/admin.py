from django.contrib import admin

from transfers.models import ImportJob, Merge, SavedMapping


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["file_name", "kind", "status", "owner", "created_at"]
    list_filter = ["kind", "status"]
    exclude = ["rows"]
    readonly_fields = ["headers", "mapping", "summary", "errors", "created", "snapshots"]


@admin.register(SavedMapping)
class SavedMappingAdmin(admin.ModelAdmin):
    list_display = ["owner", "kind", "signature", "updated_at"]


@admin.register(Merge)
class MergeAdmin(admin.ModelAdmin):
    list_display = ["kind", "survivor_id", "by", "created_at", "undone_at"]
