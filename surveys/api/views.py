"""Surveys and their answers over REST, through visibility; sending goes through surveys.services."""

from rest_framework import mixins, viewsets

from core.api.idempotency import idempotent
from core.api.viewsets import SafqaReadOnlyViewSet, SafqaViewSetMixin, VisibleViewSetMixin
from surveys.api.serializers import SurveyResponseSerializer, SurveySerializer
from surveys.filtersets import SurveyFilterSet, SurveyResponseFilterSet
from surveys.models import Survey, SurveyResponse


class SurveyViewSet(
    SafqaViewSetMixin,
    VisibleViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Surveys sent to customers. POST sends one (contact, optional deal, template) under the sending rules:
    consent for the channel, never twice for a deal and template, one per customer every SURVEY_MIN_DAYS days."""

    queryset = Survey.objects.all()
    serializer_class = SurveySerializer
    filterset_class = SurveyFilterSet

    def get_queryset(self):
        return super().get_queryset().select_related("contact")

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)


class SurveyResponseViewSet(SafqaReadOnlyViewSet):
    """Customers' answers (score, comment), seen by the people who may see the deal."""

    queryset = SurveyResponse.objects.all()
    serializer_class = SurveyResponseSerializer
    filterset_class = SurveyResponseFilterSet
