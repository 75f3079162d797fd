"""Filters for support cases, shared by the case list page and the REST API (one FilterSet per model).

Choice lists and the base queryset come from the request's user, so a filter can neither
offer nor reveal cases the user may not see.
"""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from cases.models import OPEN_STATUSES, Case, CasePriority, CaseStatus
from core.text import normalize_text
from pipeline.filtersets import StableOrderingFilter, owners_for


def _user(request):
    return getattr(request, "user", None)


class CaseFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices, label=_("Status"))
    open = django_filters.BooleanFilter(method="filter_open", label=_("Open only"))
    priority = django_filters.ChoiceFilter(choices=CasePriority.choices, label=_("Priority"))
    owner = django_filters.ModelChoiceFilter(queryset=owners_for, label=capfirst(_("owner")))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue"))
    o = StableOrderingFilter(
        fields=(("due_at", "due_at"), ("priority", "priority"), ("created_at", "created_at")),
        label=_("Order by"),
    )

    ordering_fields = ("due_at", "created_at")

    class Meta:
        model = Case
        fields = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = Case.objects.visible_to(_user(request))
        super().__init__(data, queryset, request=request, prefix=prefix)

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(subject__icontains=value) | Q(contact__name_normalized__contains=normalize_text(value))
        )

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Q(status__in=OPEN_STATUSES, first_response_at__isnull=True, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    @property
    def ordering(self) -> tuple[str, bool] | None:
        if not self.is_bound:
            return None
        self.form.is_valid()
        terms = self.form.cleaned_data.get("o") or []
        if not terms:
            return None
        return terms[0].lstrip("-"), terms[0].startswith("-")
