"""Filters for deals, shared by the deal list page and the REST API (one FilterSet per model).

Every choice list and the base queryset come from the request's user, so a
filter can neither offer nor reveal records the user may not see.
"""

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import assignable_owners
from core.money import currency_choices
from core.text import normalize_text
from pipeline.forms import AmountField, StageChoiceField
from pipeline.models import Deal, Pipeline, Stage, StageKind


def _user(request):
    return getattr(request, "user", None)


def pipelines_for(request):
    return Pipeline.objects.visible_to(_user(request))


def stages_for(request):
    return (
        Stage.objects.visible_to(_user(request))
        .select_related("pipeline")
        .order_by("pipeline__order", "pipeline_id", "order", "pk")
    )


def owners_for(request):
    user = _user(request)
    if user is None or not user.is_authenticated:
        return User.objects.none()
    return assignable_owners(user=user)


class StageFilter(django_filters.ModelChoiceFilter):
    field_class = StageChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("with_pipeline", True)
        super().__init__(*args, **kwargs)


class AmountFilter(django_filters.NumberFilter):
    field_class = AmountField


class StableOrderingFilter(django_filters.OrderingFilter):
    """Ordering that ends with the primary key, so pages never repeat or skip a deal with an equal value."""

    def filter(self, qs, value):
        ordered = super().filter(qs, value)
        if value:
            ordered = ordered.order_by(*ordered.query.order_by, "-pk")
        return ordered


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DealFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    pipeline = django_filters.ModelChoiceFilter(queryset=pipelines_for, label=capfirst(_("pipeline")))
    stage = StageFilter(queryset=stages_for, label=capfirst(_("stage")))
    owner = django_filters.ModelChoiceFilter(queryset=owners_for, label=capfirst(_("owner")))
    status = django_filters.ChoiceFilter(field_name="stage__kind", choices=StageKind.choices, label=_("Status"))
    expected_close_after = django_filters.DateFilter(
        field_name="expected_close", lookup_expr="gte", label=_("Expected close from"), widget=DateInput
    )
    expected_close_before = django_filters.DateFilter(
        field_name="expected_close", lookup_expr="lte", label=_("Expected close until"), widget=DateInput
    )
    amount_min = AmountFilter(
        field_name="amount",
        lookup_expr="gte",
        label=_("Minimum value"),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    amount_max = AmountFilter(
        field_name="amount",
        lookup_expr="lte",
        label=_("Maximum value"),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    currency = django_filters.ChoiceFilter(choices=currency_choices, label=capfirst(_("currency")))
    o = StableOrderingFilter(
        fields=(
            ("title", "title"),
            ("amount", "amount"),
            ("expected_close", "expected_close"),
            ("updated_at", "updated_at"),
            ("win_probability", "win_probability"),
        ),
        label=_("Order by"),
    )

    # The columns a list may be sorted by, in the `o` parameter (prefix "-" for descending).
    ordering_fields = ("title", "amount", "expected_close", "updated_at", "win_probability")

    class Meta:
        model = Deal
        fields = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        from assistant.display import win_probability_expression

        if queryset is None:
            queryset = Deal.objects.visible_to(_user(request))
        # The chance of winning shown (and sorted by): the win model's score, else the stage's percentage.
        queryset = queryset.annotate(
            win_probability=win_probability_expression(), win_model_version=F("win_score__model_version")
        )
        super().__init__(data, queryset, request=request, prefix=prefix)

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(company__name_normalized__contains=normalize_text(value)))

    @property
    def ordering(self) -> tuple[str, bool] | None:
        """(field, descending) of the first valid `o` term, for the list's sort indicators."""
        if not self.is_bound:
            return None
        self.form.is_valid()  # cleans every field; an invalid filter must not hide a valid ordering
        terms = self.form.cleaned_data.get("o") or []
        if not terms:
            return None
        term = terms[0]
        return term.lstrip("-"), term.startswith("-")
