"""One FilterSet per model, for the API lists (the pages show surveys in the contact's and deal's panels)."""

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from core.api.filters import UpdatedAfterFilterSet, UTCIsoDateTimeFilter
from core.api.serializers import visible_to_request
from crm.models import Contact
from pipeline.models import Deal
from surveys.models import Survey, SurveyKind, SurveyResponse, SurveyStatus, SurveyTemplate


class SurveyFilterSet(UpdatedAfterFilterSet, filters.FilterSet):
    contact = filters.ModelChoiceFilter(label=_("Contact"), queryset=visible_to_request(Contact))
    deal = filters.ModelChoiceFilter(label=_("Deal"), queryset=visible_to_request(Deal))
    template = filters.ModelChoiceFilter(label=_("Survey template"), queryset=SurveyTemplate.objects.all())
    kind = filters.ChoiceFilter(label=_("kind"), choices=SurveyKind.choices)
    status = filters.ChoiceFilter(label=_("status"), choices=SurveyStatus.choices)
    sent_after = UTCIsoDateTimeFilter(field_name="sent_at", lookup_expr="gte", label=_("From"))
    sent_before = UTCIsoDateTimeFilter(field_name="sent_at", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = Survey
        fields = ["contact", "deal", "template", "kind", "status", "sent_after", "sent_before", "updated_after"]


class SurveyResponseFilterSet(UpdatedAfterFilterSet, filters.FilterSet):
    contact = filters.ModelChoiceFilter(label=_("Contact"), queryset=visible_to_request(Contact))
    deal = filters.ModelChoiceFilter(label=_("Deal"), queryset=visible_to_request(Deal))
    kind = filters.ChoiceFilter(label=_("kind"), choices=SurveyKind.choices)
    responded_after = UTCIsoDateTimeFilter(field_name="responded_at", lookup_expr="gte", label=_("From"))
    responded_before = UTCIsoDateTimeFilter(field_name="responded_at", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = SurveyResponse
        fields = ["contact", "deal", "kind", "responded_after", "responded_before", "updated_after"]
