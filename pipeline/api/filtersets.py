"""The API's deal filters: the deal list's FilterSet plus team, company, contact and `updated_after`."""

import django_filters
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from core.api.filters import UpdatedAfterFilterSet, api_filters
from core.api.serializers import visible_to_request
from crm.models import Company, Contact
from pipeline.filtersets import DealFilterSet


@api_filters
class DealApiFilterSet(DealFilterSet, UpdatedAfterFilterSet):
    search = django_filters.CharFilter(method="filter_search", label=_("Search"))
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), label=capfirst(_("team")))
    company = django_filters.ModelChoiceFilter(queryset=visible_to_request(Company), label=capfirst(_("company")))
    contact = django_filters.ModelChoiceFilter(queryset=visible_to_request(Contact), label=capfirst(_("contact")))
