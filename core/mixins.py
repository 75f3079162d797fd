"""View mixins that apply visibility: the one place HTML views decide what a user may see or edit.

A record outside `visible_to(user)` (or `editable_by(user)` for writes) answers 404,
exactly like one that does not exist.
"""

from django.contrib.auth.mixins import LoginRequiredMixin


class VisibleQuerysetMixin(LoginRequiredMixin):
    """List and detail views: only what the signed-in user may see."""

    model = None

    def get_base_queryset(self):
        return self.model.objects.all()

    def get_queryset(self):
        return self.get_base_queryset().visible_to(self.request.user)


class EditableQuerysetMixin(VisibleQuerysetMixin):
    """Edit views and actions: only what the signed-in user may edit."""

    def get_queryset(self):
        return self.get_base_queryset().editable_by(self.request.user)
