"""The API's case filters: the case list's FilterSet plus team, contact, deal and `updated_after`."""

import django_filters
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from cases.filtersets import CaseFilterSet
from core.api.filters import UpdatedAfterFilterSet, api_filters
from core.api.serializers import visible_to_request
from crm.models import Contact
from pipeline.models import Deal


@api_filters
class CaseApiFilterSet(CaseFilterSet, UpdatedAfterFilterSet):
    search = django_filters.CharFilter(method="filter_search", label=_("Search"))
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), label=capfirst(_("team")))
    contact = django_filters.ModelChoiceFilter(queryset=visible_to_request(Contact), label=capfirst(_("contact")))
    deal = django_filters.ModelChoiceFilter(queryset=visible_to_request(Deal), label=capfirst(_("deal")))
