"""Deals and pipelines over REST. Moving, winning and losing call the same services as the board."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.api.viewsets import SafqaModelViewSet
from core.querysets import is_admin
from crm.api.serializers import BulkResultSerializer
from crm.api.views import Conflict
from pipeline import services
from pipeline.api.bulk import deals_bulk_upsert
from pipeline.api.filtersets import DealApiFilterSet
from pipeline.api.serializers import (
    BulkDealsSerializer,
    DealLostSerializer,
    DealMoveSerializer,
    DealSerializer,
    DealWonSerializer,
    PipelineSerializer,
)
from pipeline.models import Deal, Pipeline, Stage


class DealViewSet(SafqaModelViewSet):
    """Deals. Change a deal's stage with `move`, `won` or `lost` (If-Match or `version` guard the move).

    `bulk/` creates or updates up to 1,000 deals by external id, with one result per item.
    """

    queryset = Deal.objects.select_related("stage", "win_score")
    serializer_class = DealSerializer
    filterset_class = DealApiFilterSet
    write_actions = ("move", "won", "lost")
    if_match_actions = write_actions

    def delete_service(self, *, record, by, expected_version):
        services.deal_delete(deal=record, by=by, expected_version=expected_version)

    def _guarded(self, serializer_class, request):
        """The deal, the checked body and the version to hold the write to (If-Match, else the body's)."""
        deal = self.get_object()
        body = serializer_class(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        body_version = data.pop("version", None)
        header_version = self.expected_version()
        return deal, data, header_version if header_version is not None else body_version

    def _answer(self, deal):
        return Response(DealSerializer(deal, context=self.get_serializer_context()).data)

    @extend_schema(request=BulkDealsSerializer, responses={200: BulkResultSerializer})
    @action(detail=False, methods=["post"], url_path="bulk")
    @idempotent
    def bulk(self, request):
        envelope = BulkDealsSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        results = deals_bulk_upsert(items=envelope.validated_data["items"], request=request)
        return Response({"results": results})

    @extend_schema(request=DealMoveSerializer, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def move(self, request, pk=None):
        deal, data, version = self._guarded(DealMoveSerializer, request)
        stage: Stage = data.pop("stage")
        moved = services.deal_move_to_stage(deal=deal, stage=stage, by=request.user, expected_version=version, **data)
        return self._answer(moved)

    @extend_schema(request=DealWonSerializer, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def won(self, request, pk=None):
        deal, data, version = self._guarded(DealWonSerializer, request)
        won = services.deal_mark_won(deal=deal, by=request.user, expected_version=version, stage=data.get("stage"))
        return self._answer(won)

    @extend_schema(request=DealLostSerializer, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def lost(self, request, pk=None):
        deal, data, version = self._guarded(DealLostSerializer, request)
        lost = services.deal_mark_lost(deal=deal, by=request.user, expected_version=version, **data)
        return self._answer(lost)


class AdminWritesOnly(permissions.BasePermission):
    """Everyone signed in reads; only administrators write."""

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or is_admin(request.user)


class PipelineViewSet(SafqaModelViewSet):
    """Pipelines with their stages: every member reads them, administrators change them."""

    queryset = Pipeline.objects.prefetch_related("stages")
    serializer_class = PipelineSerializer
    permission_classes = [permissions.IsAuthenticated, AdminWritesOnly]
    filterset_class = None
    filter_backends = []

    def delete_service(self, *, record, by, expected_version):
        try:
            services.pipeline_delete(pipeline=record, by=by)
        except ValidationError as error:
            raise Conflict(" ".join(error.messages)) from None
