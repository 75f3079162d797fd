"""Django admin support: every admin write goes through the service that owns the record.

The services keep the rules (who may own a record in which team, versions, stage
history) and the side effects (sync stamps, webhooks, rollup days marked dirty); an
admin that saved the model itself would skip them. The kernel knows no domain app:
each app's ModelAdmin says which of its services to call.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect

from core.forms import add_service_errors


class _DryRun(Exception):
    """Raised to roll back a write that was only run to find its errors."""


class ServiceModelAdminMixin:
    """A ModelAdmin that writes through services.

    Subclasses implement `service_write(*, by, record, data)`: create the record when
    `record` is None (`data` has every form value), else change `record` (the record as
    stored, `data` only the values the form changed); it returns the saved record. The
    form validates by running that write in a savepoint rolled back at once, so a refusal
    shows on the form and nothing is written; saving then runs it for real. Many-to-many
    values (tags) are in `data` too and are the service's to write: the admin's own
    `save_m2m` is not called. `delete_service` (a callable(*, <model name>=obj, by=user))
    deletes; a refusal is shown as a message and nothing is deleted.
    """

    delete_service = None

    def service_write(self, *, by, record, data: dict):
        raise NotImplementedError

    def has_delete_permission(self, request, obj=None):
        # Without a delete service there is no way to delete that keeps the rules.
        return self.delete_service is not None and super().has_delete_permission(request, obj)

    def _service_data(self, form, change: bool) -> dict:
        names = form.changed_data if change else list(form.cleaned_data)
        return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}

    def _stored(self, obj):
        return self.model._default_manager.get(pk=obj.pk) if obj.pk else None

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        admin = self

        class ServiceForm(form_class):
            def _post_clean(self):
                super()._post_clean()
                if self.errors:
                    return
                change = self.instance.pk is not None
                try:
                    with transaction.atomic():
                        admin.service_write(
                            by=request.user, record=admin._stored(self.instance), data=admin._service_data(self, change)
                        )
                        raise _DryRun
                except _DryRun:
                    pass
                except (ValidationError, PermissionDenied) as error:
                    add_service_errors(self, error)

        return ServiceForm

    def save_model(self, request, obj, form, change):
        record = self.service_write(
            by=request.user, record=self._stored(obj) if change else None, data=self._service_data(form, change)
        )
        # The admin goes on with `obj` (its log entry, the redirect): give it what was stored.
        obj.pk = record.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The form's many-to-many values were written by the service; only inlines are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def _delete_refused(self, request, error) -> None:
        message = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        self.message_user(request, message, level=messages.ERROR)
        request._service_refused_delete = True

    def delete_model(self, request, obj):
        try:
            self.delete_service(**{self.model._meta.model_name: obj, "by": request.user})
        except (ValidationError, PermissionDenied) as error:
            self._delete_refused(request, error)
            # The admin's delete view runs in a transaction that also holds its "deleted" log entry.
            transaction.set_rollback(True)

    def delete_queryset(self, request, queryset):
        # All or nothing, like the admin's own bulk delete.
        try:
            with transaction.atomic():
                for obj in queryset:
                    self.delete_service(**{self.model._meta.model_name: obj, "by": request.user})
        except (ValidationError, PermissionDenied) as error:
            self._delete_refused(request, error)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_service_refused_delete", False):
            return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")
        return super().response_delete(request, obj_display, obj_id)

    def response_action(self, request, queryset):
        response = super().response_action(request, queryset)
        if getattr(request, "_service_refused_delete", False):
            # Nothing was deleted: keep the refusal, drop the action's "successfully deleted" message.
            storage = messages.get_messages(request)
            kept = [message for message in storage if message.level >= messages.ERROR]
            for message in kept:
                messages.add_message(request, message.level, message.message)
        return response


class ReadOnlyModelAdminMixin:
    """For records only services and workers write (history, outboxes, logs): the admin shows them, never edits."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
