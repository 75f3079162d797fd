"""Viewsets that apply visibility: the one place the API decides what a caller sees."""

from django.db import transaction
from rest_framework import viewsets

from core.api.etag import ETagMixin, PreconditionFailed, if_match_version
from core.api.idempotency import idempotent
from core.api.parsers import LimitedJSONParser, RequestTooLarge, request_too_large
from core.api.schema import SafqaAutoSchema


class VisibleViewSetMixin:
    """Serve only what the caller may see (`visible_to`) and write only what they may edit (`editable_by`).

    The API's counterpart of core.mixins.VisibleQuerysetMixin (HTML views): it tells reads
    from writes by the request's method, as one viewset serves both.
    """

    queryset = None

    def get_queryset(self):
        queryset = self.queryset.all()  # a VisibleQuerySet, from the model's manager
        if self.request.method in ("PUT", "PATCH", "DELETE"):
            return queryset.editable_by(self.request.user)
        return queryset.visible_to(self.request.user)


class VisibleModelViewSet(VisibleViewSetMixin, viewsets.ModelViewSet):
    """CRUD viewset through the visibility rules; a record the caller may not see answers 404."""


class VisibleReadOnlyViewSet(VisibleViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Read-only viewset through the visibility rules."""


class SafqaViewSetMixin(ETagMixin):
    """What every API viewset shares: size-limited JSON, ETag, If-Match, Idempotency-Key, the schema extras.

    Actions named in `write_actions` are writes: they see only what the caller may
    edit, like PUT/PATCH/DELETE. Those in `if_match_actions` honour If-Match.
    """

    parser_classes = [LimitedJSONParser]
    schema = SafqaAutoSchema()
    # Any id text reaches the view, so a malformed id answers the JSON 404 rather than the HTML page.
    lookup_value_regex = r"[^/]+"
    write_actions: tuple[str, ...] = ()
    if_match_actions: tuple[str, ...] = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Refuse an announced oversized body before anything reads it.
        if request_too_large(request):
            raise RequestTooLarge()

    def get_queryset(self):
        if getattr(self, "action", None) in self.write_actions:
            return self.queryset.all().editable_by(self.request.user)
        return super().get_queryset()

    def expected_version(self):
        return if_match_version(self.request)

    def _refuse_stale_if_match(self) -> None:
        """Lock the record and answer 412 when If-Match names another version (every versioned model)."""
        expected = self.expected_version()
        if expected is None:
            return
        record = self.get_object()
        current = (
            type(record).objects.select_for_update(of=("self",)).values_list("version", flat=True).get(pk=record.pk)
        )
        if current != expected:
            raise PreconditionFailed()

    def perform_update(self, serializer):
        serializer.save(expected_version=self.expected_version())

    def perform_destroy(self, instance):
        self.delete_service(record=instance, by=self.request.user, expected_version=self.expected_version())

    def delete_service(self, *, record, by, expected_version):
        raise NotImplementedError(f"{type(self).__name__} must define delete_service()")


class SafqaModelViewSet(SafqaViewSetMixin, VisibleModelViewSet):
    """CRUD through visibility, with writes through the app's services (see the serializers)."""

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        # One transaction from the If-Match check to the write: nobody slips in between.
        with transaction.atomic():
            self._refuse_stale_if_match()
            return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            self._refuse_stale_if_match()
            return super().destroy(request, *args, **kwargs)


class SafqaReadOnlyViewSet(SafqaViewSetMixin, VisibleReadOnlyViewSet):
    """Read-only through visibility."""
