"""Filters of the activities export (there is no activities page yet): kind, date range, search."""

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import Activity, ActivityKind


class ActivityFilterSet(filters.FilterSet):
    q = filters.CharFilter(method="filter_search", label=_("Search"))
    kind = filters.ChoiceFilter(choices=ActivityKind.choices, label=_("Type"))
    after = filters.DateFilter(
        field_name="occurred_at",
        lookup_expr="date__gte",
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    before = filters.DateFilter(
        field_name="occurred_at",
        lookup_expr="date__lte",
        label=_("Until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Activity
        fields = ["q", "kind", "after", "before"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(subject__icontains=value) | Q(body__icontains=value))
