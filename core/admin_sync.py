"""Admin support for synced records: every admin write gets a new version and a place in the change order."""

from django.db.models import F

from core import sync


class SyncedModelAdminMixin:
    """For ModelAdmins of SyncedModel records (Company, Contact, Deal).

    Saving bumps `version` and stamps `change_seq` after the many-to-many fields
    are saved (the stamp is the transaction's last write, see core/sync.py);
    deleting goes through `delete_service` so a tombstone is left for syncing clients.
    """

    delete_service = None  # a callable(*, <model name>=obj, by=user)
    webhook_prefix = None  # "contact", "deal": admin edits notify subscribers like any other

    def save_model(self, request, obj, form, change):
        if change:
            obj.version = F("version") + 1
        super().save_model(request, obj, form, change)
        if change:
            obj.refresh_from_db(fields=["version"])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        sync.stamp(form.instance)
        if self.webhook_prefix:
            from webhooks import events

            events.emit(f"{self.webhook_prefix}.{'updated' if change else 'created'}", form.instance)

    def delete_model(self, request, obj):
        self.delete_service(**{self.model._meta.model_name: obj, "by": request.user})

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
