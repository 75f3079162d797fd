"""Viewsets that apply visibility: the one place the API decides what a caller sees."""

from django.db import transaction
from rest_framework import viewsets

from core.api.etag import ETagMixin, PreconditionFailed, if_match_version
from core.api.idempotency import idempotent
from core.api.parsers import LimitedJSONParser, RequestTooLarge, request_too_large
from core.api.schema import SafqaAutoSchema


class VisibleViewSetMixin:
    """Serve only what the caller may see (`visible_to`) and write only what they may edit (`editable_by`).

    The API's counterpart of the HTML views' `visible_to(user)` / `editable_by(user)` lookups
    (function views, a 404 for a record outside them): it tells reads from writes by the
    request's method, as one viewset serves both.
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
            queryset = self.queryset.all().editable_by(self.request.user)
        else:
            queryset = super().get_queryset()
        if getattr(self, "_lock_object", False):
            # of=("self",): the record's row only, not the rows a select_related joins.
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def filter_queryset(self, queryset):
        # The filter backends are the list's filters. On one record without query parameters they
        # would filter nothing, yet building the filterset (its choice lists go through visibility)
        # cost half of a detail request's Python: skip them then. Visibility is get_queryset's.
        if self.detail and not self.request.query_params:
            return queryset
        return super().filter_queryset(queryset)

    def get_object(self):
        """The record (404 if the caller may not see it, or edit it for a write), read once per request.

        In an update or deletion it is read under a row lock (`locked_object`), so it is the stored
        record as it will stay until the transaction ends: the If-Match check compares its version and
        the service (core.services.lock_current) need not read it again.
        """
        record = self.__dict__.get("_object")
        if record is None:
            record = super().get_object()
            if getattr(self, "_lock_object", False):
                record._locked_current = True
            self._object = record
        return record

    def locked_object(self):
        """Inside the caller's transaction: make get_object() read the record FOR UPDATE."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("locked_object() must run inside a transaction")
        self._lock_object = True

    def expected_version(self):
        return if_match_version(self.request)

    def _refuse_stale_if_match(self) -> None:
        """Answer 412 when If-Match names another version than the record's (read under its row lock in a
        view transaction; else the service compares again under the lock)."""
        expected = self.expected_version()
        if expected is None:
            return
        if self.get_object().version != expected:
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

    # True when the model's update service takes the row lock and refuses a stale expected_version
    # itself (crm.services.contact_update): the update then needs no transaction of the view's own.
    service_checks_version = False

    def update(self, request, *args, **kwargs):
        if self.service_checks_version:
            # A stale If-Match is refused at once (the record as read); the service checks it again
            # under the row lock, in its transaction, so nobody slips in between. Without a view
            # transaction the service's is the outermost one: no savepoint around it.
            self._refuse_stale_if_match()
            return super().update(request, *args, **kwargs)
        # One transaction from the If-Match check to the write: nobody slips in between.
        with transaction.atomic():
            self.locked_object()
            self._refuse_stale_if_match()
            return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            self.locked_object()
            self._refuse_stale_if_match()
            return super().destroy(request, *args, **kwargs)


class SafqaReadOnlyViewSet(SafqaViewSetMixin, VisibleReadOnlyViewSet):
    """Read-only through visibility."""
