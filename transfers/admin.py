from django.contrib import admin

from core.admin_sync import ReadOnlyModelAdminMixin
from transfers.models import ImportJob, Merge, SavedMapping


# Imports, remembered mappings and merges are written by the transfers services only (a merge keeps
# what its undo needs): the admin shows them.
@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    list_display = ["file_name", "kind", "status", "owner", "created_at"]
    list_filter = ["kind", "status"]
    exclude = ["rows", "upload"]
    readonly_fields = ["headers", "row_count", "mapping", "summary", "errors", "created", "snapshots"]

    def get_queryset(self, request):
        # The list shows a few columns: a large file's rows (or its upload) are not read for it.
        return super().get_queryset(request).light()


@admin.register(SavedMapping)
class SavedMappingAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    list_display = ["owner", "kind", "signature", "updated_at"]


@admin.register(Merge)
class MergeAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    list_display = ["kind", "survivor_id", "by", "created_at", "undone_at"]
