"""Webhook subscriptions of the caller (managers and admins) and their delivery logs."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.api.viewsets import VisibleViewSetMixin
from webhooks import services
from webhooks.api.serializers import DeliverySerializer, SubscriptionCreatedSerializer, SubscriptionSerializer
from webhooks.models import WebhookDelivery, WebhookSubscription


class MaySubscribe(permissions.BasePermission):
    message = _("Only sales managers and administrators can subscribe to webhooks.")

    def has_permission(self, request, view):
        return services.may_subscribe(request.user)


@extend_schema(tags=["webhooks"])
class SubscriptionViewSet(
    VisibleViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own webhook subscriptions. The signing secret is in the answer to POST only: keep it."""

    queryset = WebhookSubscription.objects.all()
    serializer_class = SubscriptionSerializer
    # Any id text reaches the view, so a malformed id answers the JSON 404 rather than the HTML page.
    lookup_value_regex = r"[^/]+"
    permission_classes = [permissions.IsAuthenticated, MaySubscribe]

    @extend_schema(responses={201: SubscriptionCreatedSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_create(by=request.user, **serializer.validated_data)
        return Response(SubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.subscription_delete(subscription=instance, by=self.request.user)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="deliveries")
    def deliveries(self, request, pk=None):
        """The delivery log of one subscription, newest first."""
        subscription = self.get_object()
        queryset = WebhookDelivery.objects.visible_to(request.user).filter(subscription=subscription)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
