"""The API's filters: the pages' FilterSets plus what a syncing client needs.

Search keeps the pages' Arabic-aware matching (named `search` here, `q` on the
pages); page sorting (`o`) is dropped because the API's cursor fixes the order.
"""

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from core.api.filters import UpdatedAfterFilterSet, UTCIsoDateTimeFilter, api_filters
from core.api.serializers import visible_to_request
from crm.filtersets import CompanyFilterSet, ContactFilterSet, FollowUpFilterSet
from crm.models import Activity, ActivityKind, Company, Contact, FollowUp
from pipeline.models import Deal


@api_filters
class CompanyApiFilterSet(UpdatedAfterFilterSet, CompanyFilterSet):
    search = filters.CharFilter(method="filter_search", label=_("Search"))

    class Meta(CompanyFilterSet.Meta):
        fields = ["search", "owner", "team", "tag", "city", "has_open_deal", "updated_after"]


@api_filters
class ContactApiFilterSet(UpdatedAfterFilterSet, ContactFilterSet):
    search = filters.CharFilter(method="filter_search", label=_("Search"))
    company = filters.ModelChoiceFilter(label=_("Company"), queryset=visible_to_request(Company))

    class Meta(ContactFilterSet.Meta):
        fields = ["search", "owner", "team", "tag", "company", "city", "has_open_deal", "updated_after"]


class ActivityApiFilterSet(UpdatedAfterFilterSet, filters.FilterSet):
    kind = filters.ChoiceFilter(label=_("type"), choices=ActivityKind.choices)
    contact = filters.ModelChoiceFilter(label=_("Contact"), queryset=visible_to_request(Contact))
    company = filters.ModelChoiceFilter(label=_("Company"), queryset=visible_to_request(Company))
    deal = filters.ModelChoiceFilter(label=_("Deal"), queryset=visible_to_request(Deal))
    occurred_after = UTCIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", label=_("From"))
    occurred_before = UTCIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = Activity
        fields = ["kind", "contact", "company", "deal", "occurred_after", "occurred_before", "updated_after"]


class FollowUpApiFilterSet(UpdatedAfterFilterSet, FollowUpFilterSet):
    """The page's follow-up filters without the page's defaults: the API lists every visible follow-up."""

    status = filters.ChoiceFilter(label=_("status"), choices=FollowUp._meta.get_field("status").choices)
    contact = filters.ModelChoiceFilter(label=_("Contact"), queryset=visible_to_request(Contact))

    class Meta(FollowUpFilterSet.Meta):
        fields = ["status", "due", "kind", "assignee", "contact", "updated_after"]

    @property
    def qs(self):
        return filters.FilterSet.qs.fget(self)
