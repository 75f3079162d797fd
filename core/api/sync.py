"""`changes/` endpoints: what changed and what was deleted since a sync token (see core/sync.py).

    GET /api/v1/contacts/changes/?since=<token>&limit=<n>   (also companies/, deals/)

A record has the shape of its detail representation (the app's CRUD serializer),
plus `change_seq`. The kernel knows no domain app: each app registers its synced
models with their serializers in `AppConfig.ready()` (`register`), which also makes
the model's `changes/` route. The routes are mounted before the CRUD routers, so
`changes` is never read as a record id.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import sync

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_code = "sync_token_expired"


def _with_change_seq(serializer_class):
    """The CRUD detail serializer, read-only, plus the record's place in the change order."""

    class SyncSerializer(serializer_class):
        change_seq = serializers.IntegerField(read_only=True)

        class Meta(serializer_class.Meta):
            fields = [*serializer_class.Meta.fields, "change_seq"]

    SyncSerializer.__name__ = SyncSerializer.__qualname__ = serializer_class.__name__.replace("Serializer", "Change")
    return SyncSerializer


class TombstoneSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="object_id")
    deleted_at = serializers.DateTimeField()
    change_seq = serializers.IntegerField()


@dataclass(frozen=True)
class Synced:
    """A model registered for sync: its change serializer and its `changes/` view."""

    model: type
    route: str
    serializer: type
    view: type


# Filled by the apps' AppConfig.ready(), in INSTALLED_APPS order (which is also the order of the routes).
_registry: dict[type, Synced] = {}


def serializer_for(model) -> type:
    """The change serializer of a registered model (its CRUD detail serializer plus `change_seq`)."""
    return _registry[model].serializer


def serialize_record(instance) -> dict:
    """The record as a syncing client (and a webhook subscriber) receives it."""
    return serializer_for(type(instance))(instance).data


def registered() -> list[Synced]:
    return list(_registry.values())


class ChangesView(APIView):
    """Records created or updated, and records deleted, after a sync token, in one total order.

    Start with no `since` (a full sync); then pass the `next_sync_token` of the last
    answer. `has_more` means: ask again at once with the new token. A token older
    than the tombstones kept answers 410: sync in full again.
    """

    model = None
    prefetch = ()

    def get_records(self):
        return self.model.objects.visible_to(self.request.user).prefetch_related(*self.prefetch)

    def _limit(self) -> int:
        raw = self.request.query_params.get("limit")
        if raw is None:
            return DEFAULT_LIMIT
        # ASCII digits only, as the schema says (int() would also take " 5", "٥" and "1_0").
        limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0
        if not 1 <= limit <= MAX_LIMIT:
            raise exceptions.ValidationError(
                {"limit": [_("Enter a whole number from 1 to %(max)d.") % {"max": MAX_LIMIT}]}
            )
        return limit

    def get(self, request, *args, **kwargs):
        limit = self._limit()
        try:
            since, after_pk = sync.read_token(request.query_params.get("since"))
        except sync.InvalidToken:
            raise exceptions.ValidationError(
                {"since": [_("This sync token is not valid. Use the next_sync_token of a previous answer.")]}
            ) from None
        except sync.ExpiredToken:
            raise Gone(
                _("This sync token is older than the deletions kept. Sync in full again (without since).")
            ) from None
        records, tombstones, token, has_more = sync.changes_since(
            user=request.user, model=self.model, since=since, after_pk=after_pk, limit=limit, records=self.get_records()
        )
        serializer = serializer_for(self.model)
        return Response(
            {
                "changes": serializer(records, many=True).data,
                "deleted": TombstoneSerializer(tombstones, many=True).data,
                "next_sync_token": token,
                "has_more": has_more,
            }
        )


def _schema(model, tag, serializer):
    return extend_schema_view(
        get=extend_schema(
            tags=[tag],
            operation_id=f"{tag}_changes",
            parameters=[
                OpenApiParameter(
                    "since", str, description="next_sync_token of the previous answer; omit for a full sync"
                ),
                OpenApiParameter(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    description=f"most entries (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
                ),
            ],
            responses={
                200: inline_serializer(
                    f"{model.__name__}Changes",
                    {
                        "changes": serializer(many=True),
                        "deleted": TombstoneSerializer(many=True),
                        "next_sync_token": serializers.CharField(),
                        "has_more": serializers.BooleanField(),
                    },
                ),
                400: OpenApiResponse(description="limit or since not valid"),
                401: OpenApiResponse(description="not signed in"),
                410: OpenApiResponse(description="token older than the retention period: sync in full again"),
            },
        )
    )


def register(model, serializer_class, *, route: str, prefetch: tuple = ()) -> None:
    """Serve `model` at `<route>/changes/` with `serializer_class`'s shape; call from the app's `AppConfig.ready()`.

    `route` is also the OpenAPI tag of the model's CRUD endpoints. Registering a model
    twice (a test re-running ready()) keeps the first registration. `prefetch` names the
    relations the serializer reads, loaded for a whole page at once.
    """
    if model in _registry:
        return
    serializer = _with_change_seq(serializer_class)
    view = type(
        f"{model.__name__}ChangesView",
        (ChangesView,),
        {"model": model, "prefetch": tuple(prefetch), "__module__": __name__},
    )
    view = _schema(model, route, serializer)(view)
    _registry[model] = Synced(model=model, route=route, serializer=serializer, view=view)
