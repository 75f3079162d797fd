"""One search across customers and deals, built from the lists' own FilterSets.

The header's search box and the results page use the same rule as the contact,
company and deal lists (crm/filtersets.py, pipeline/filtersets.py): Arabic-aware
names, phones in any format, e-mails, websites and deal titles. So a record the
search finds is a record the filtered list finds, and "see all" opens that list.
Visible records only, and one query per kind whatever the number of matches.
"""

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Value, When
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from core.text import normalize_text
from crm.filtersets import CompanyFilterSet, ContactFilterSet
from crm.models import Company, Contact
from pipeline.filtersets import DealFilterSet
from pipeline.models import Deal


@dataclass(frozen=True)
class SearchGroup:
    """The matches of one kind: the first few records, whether there are more, and the list that holds them all."""

    kind: str
    label: str
    records: list
    has_more: bool
    list_url: str


def _first(filterset_class, queryset, *, request, query: str, limit: int):
    filterset = filterset_class({"q": query}, queryset=queryset, request=request)
    if not filterset.is_valid():
        return [], False
    # One more than shown, to know whether "see all" has more to show.
    records = list(filterset.qs[: limit + 1])
    return records[:limit], len(records) > limit


def _best_first(queryset, normalized: str):
    """Names starting with the query first, then names with a word starting with it, then the rest (A to Z in each)."""
    rank = Case(
        When(name_normalized__startswith=normalized, then=Value(0)),
        When(name_normalized__contains=f" {normalized}", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return queryset.alias(rank=rank).order_by("rank", "name_normalized", "pk")


def global_search(*, request, query: str, limit: int = 5) -> list[SearchGroup]:
    """Contacts, companies and deals matching `query` that the request's user may see; `limit` of each kind.

    Three queries whatever the data size. A query holding nothing searchable
    (blank, only marks such as tatweel) finds nothing rather than everything.
    """
    query = (query or "").strip()
    normalized = normalize_text(query)
    if not normalized:
        return []
    user = request.user
    kinds = [
        (
            "contacts",
            _("Contacts"),
            ContactFilterSet,
            _best_first(Contact.objects.visible_to(user).select_related("company"), normalized),
            "crm:contact_list",
        ),
        (
            "companies",
            _("Companies"),
            CompanyFilterSet,
            _best_first(Company.objects.visible_to(user), normalized),
            "crm:company_list",
        ),
        (
            "deals",
            _("Deals"),
            DealFilterSet,
            Deal.objects.visible_to(user).select_related("company", "stage").order_by("-updated_at", "-pk"),
            "pipeline:deal_list",
        ),
    ]
    groups = []
    for kind, label, filterset_class, queryset, list_name in kinds:
        records, has_more = _first(filterset_class, queryset, request=request, query=query, limit=limit)
        if records:
            list_url = f"{reverse(list_name)}?{urlencode({'q': query})}"
            groups.append(SearchGroup(kind, label, records, has_more, list_url))
    return groups
