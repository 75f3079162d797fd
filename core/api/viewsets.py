"""Viewsets that apply visibility: the one place the API decides what a caller sees."""

from rest_framework import viewsets


class VisibleQuerysetMixin:
    """Serve only what the caller may see (`visible_to`) and write only what they may edit (`editable_by`)."""

    queryset = None

    def get_queryset(self):
        queryset = self.queryset.all()  # a VisibleQuerySet, from the model's manager
        if self.request.method in ("PUT", "PATCH", "DELETE"):
            return queryset.editable_by(self.request.user)
        return queryset.visible_to(self.request.user)


class VisibleModelViewSet(VisibleQuerysetMixin, viewsets.ModelViewSet):
    """CRUD viewset through the visibility rules; a record the caller may not see answers 404."""


class VisibleReadOnlyViewSet(VisibleQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Read-only viewset through the visibility rules."""
