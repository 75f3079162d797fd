"""Filters for the company and contact lists, shared by the HTML pages and the API.

Each FilterSet is built with the request: the owner, team and tag choices come
from what the requesting user may see, so a choice list never names another
team's people or labels, and a value outside it is refused like any bad input.
The queryset passed in must already be limited by `visible_to(user)`.
"""

from datetime import timedelta

import django_filters as filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import Team, User
from accounts.selectors import follow_up_assignees
from core.phones import search_form
from core.querysets import visible_exists
from core.text import normalize_text
from crm.models import Company, Contact, FollowUp, FollowUpKind, FollowUpStatus, Tag
from crm.selectors import end_of_today
from pipeline.models import Deal, StageKind


def _user(request):
    return getattr(request, "user", None)


class NullsAsSmallestOrderingFilter(filters.OrderingFilter):
    """Ordering with `pk` as the last key, so pages never repeat or skip a row.

    An empty value (never contacted, no company) sorts as the smallest one: first
    when ascending ("longest without contact first"), last when descending.
    """

    def filter(self, qs, value):
        if not value:
            return qs
        ordering = []
        for param in value:
            if not param:
                continue
            field = self.get_ordering_value(param)
            if field.startswith("-"):
                ordering.append(F(field[1:]).desc(nulls_last=True))
            else:
                ordering.append(F(field).asc(nulls_first=True))
        return qs.order_by(*ordering, "pk") if ordering else qs


OPEN_DEAL_CHOICES = (
    ("", _("All")),
    ("true", _("Yes")),
    ("false", _("No")),
)


class CustomerFilterSet(filters.FilterSet):
    """Filters both lists share; subclasses say how a record reaches its deals and its city."""

    # Path from a pipeline.Deal to the filtered model, e.g. "company".
    deal_link = ""

    q = filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    city = filters.CharFilter(label=_("City"), lookup_expr="iexact")
    has_open_deal = filters.BooleanFilter(
        label=_("Has an open deal"),
        method="filter_has_open_deal",
        widget=forms.Select(choices=OPEN_DEAL_CHOICES),
    )

    def filter_search(self, queryset, name, value):
        normalized = normalize_text(value)
        if not normalized:
            return queryset  # only marks such as tatweel: nothing to search for
        return queryset.filter(self.search_condition(value.strip(), normalized))

    def search_condition(self, value: str, normalized: str) -> Q:
        """What `value` matches: the normalized name, or the phone when the query reads as a number."""
        condition = Q(name_normalized__contains=normalized)
        phone = search_form(value)
        if phone:
            condition |= Q(phone=phone)
        return condition

    def filter_has_open_deal(self, queryset, name, value):
        # Only deals the user may see count, so the filter agrees with the deal
        # counts and lists the user gets on the pages.
        open_deals = (
            Deal.objects.visible_to(_user(self.request))
            .filter(stage__kind=StageKind.OPEN)
            .filter(**{self.deal_link: OuterRef("pk")})
        )
        return queryset.filter(Exists(open_deals) if value else ~Exists(open_deals))


def owners_of(customers):
    """Choice list factory: the people who own a `customers` record the user may see."""

    def queryset(request):
        return User.objects.filter(visible_exists(customers, _user(request), owner=OuterRef("pk")))

    return queryset


def teams_of(customers):
    """Choice list factory: the teams of the `customers` records the user may see."""

    def queryset(request):
        return Team.objects.filter(visible_exists(customers, _user(request), team=OuterRef("pk")))

    return queryset


def tags_of(customers):
    """Choice list factory: the tags put on `customers` records the user may see.

    Tag by tag, its links in turn, each linked record looked up by id, up to the
    first visible one: a tag nobody used costs nothing, a busy tag stops early.
    Scalar subqueries with LIMIT keep PostgreSQL to that order; as EXISTS it
    flattens them into a join that starts from every visible record.
    """

    def queryset(request):
        visible = customers.objects.visible_to(_user(request))
        link = f"{customers._meta.model_name}_id"
        links = (
            customers.tags.through.objects.filter(tag=OuterRef("pk"))
            .alias(record=Subquery(visible.filter(pk=OuterRef(link)).values("pk")[:1]))
            .filter(record__isnull=False)
        )
        return Tag.objects.alias(first_link=Subquery(links.values("pk")[:1])).filter(first_link__isnull=False)

    return queryset


class CompanyFilterSet(CustomerFilterSet):
    """Companies: search by name (Arabic-aware), website or phone; filter by owner, team, tag, city, open deals."""

    deal_link = "company"

    owner = filters.ModelChoiceFilter(label=_("Owner"), queryset=owners_of(Company), empty_label=_("All"))
    team = filters.ModelChoiceFilter(label=_("Team"), queryset=teams_of(Company), empty_label=_("All"))
    tag = filters.ModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=tags_of(Company), empty_label=_("All"))
    o = NullsAsSmallestOrderingFilter(
        label=_("Sort by"),
        empty_label=None,
        fields=(("name_normalized", "name"), ("city", "city"), ("updated_at", "updated_at")),
        field_labels={
            "name_normalized": _("Name (A to Z)"),
            "-name": _("Name (Z to A)"),
            "city": _("City (A to Z)"),
            "-city": _("City (Z to A)"),
            "updated_at": _("Least recently updated"),
            "-updated_at": _("Recently updated"),
        },
    )

    class Meta:
        model = Company
        fields = ["q", "owner", "team", "tag", "city", "has_open_deal", "o"]

    def search_condition(self, value, normalized):
        return super().search_condition(value, normalized) | Q(website__icontains=value)


class ContactFilterSet(CustomerFilterSet):
    """Contacts: search by name (Arabic-aware), email or phone in any format; filter like companies."""

    deal_link = "contact"

    owner = filters.ModelChoiceFilter(label=_("Owner"), queryset=owners_of(Contact), empty_label=_("All"))
    team = filters.ModelChoiceFilter(label=_("Team"), queryset=teams_of(Contact), empty_label=_("All"))
    tag = filters.ModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=tags_of(Contact), empty_label=_("All"))
    city = filters.CharFilter(label=_("City"), field_name="company__city", lookup_expr="iexact")
    o = NullsAsSmallestOrderingFilter(
        label=_("Sort by"),
        empty_label=None,
        fields=(
            ("name_normalized", "name"),
            ("company__name_normalized", "company"),
            ("last_contacted_at", "last_contacted_at"),
            ("updated_at", "updated_at"),
        ),
        field_labels={
            "name_normalized": _("Name (A to Z)"),
            "-name": _("Name (Z to A)"),
            "company__name_normalized": _("Company (A to Z)"),
            "-company": _("Company (Z to A)"),
            "last_contacted_at": _("Longest without contact"),
            "-last_contacted_at": _("Recently contacted"),
            "updated_at": _("Least recently updated"),
            "-updated_at": _("Recently updated"),
        },
    )

    class Meta:
        model = Contact
        fields = ["q", "owner", "team", "tag", "city", "has_open_deal", "o"]

    def search_condition(self, value, normalized):
        return super().search_condition(value, normalized) | Q(email__icontains=value)


def _assignees(request):
    if request is None:
        return FollowUp.assignee.field.related_model.objects.none()
    return follow_up_assignees(user=request.user).order_by("first_name", "last_name")


class FollowUpFilterSet(filters.FilterSet):
    """Mine and open by default; today and overdue / overdue / today / next 7 days / later; by kind and by assignee."""

    STATUS = [("open", _("Open")), ("done", _("Done")), ("all", _("All"))]
    # "today_or_overdue" is My day's list of due follow-ups (crm.selectors.follow_ups_due), its "See all" link.
    DUE = [
        ("today_or_overdue", _("Today and overdue")),
        ("overdue", _("Overdue")),
        ("today", _("Today")),
        ("week", _("Next 7 days")),
        ("later", _("Later")),
    ]

    status = filters.ChoiceFilter(label=capfirst(_("status")), choices=STATUS, method="filter_status", empty_label=None)
    due = filters.ChoiceFilter(label=capfirst(_("due")), choices=DUE, method="filter_due", empty_label=_("Any time"))
    kind = filters.ChoiceFilter(label=capfirst(_("kind")), choices=FollowUpKind.choices, empty_label=_("All kinds"))
    assignee = filters.ModelChoiceFilter(
        label=capfirst(_("assignee")), queryset=_assignees, method="filter_assignee", empty_label=_("Me")
    )

    class Meta:
        model = FollowUp
        fields = ["status", "due", "kind", "assignee"]

    @property
    def qs(self):
        queryset = super().qs
        data = self.form.cleaned_data if self.form.is_valid() else {}
        # Defaults that a GET without parameters means: my open follow-ups, soonest first.
        if not data.get("status"):
            queryset = queryset.filter(status=FollowUpStatus.OPEN)
        if not data.get("assignee") and self.request is not None:
            queryset = queryset.filter(assignee=self.request.user)
        order = "-completed_at" if data.get("status") == "done" else "due_at"
        return queryset.order_by(order, "pk")

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status=FollowUpStatus.OPEN)
        if value == "done":
            return queryset.filter(status=FollowUpStatus.DONE)
        return queryset

    def filter_assignee(self, queryset, name, value):
        return queryset.filter(assignee=value) if value else queryset

    def filter_due(self, queryset, name, value):
        now = timezone.localtime()
        start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if value == "today_or_overdue":
            return queryset.filter(due_at__lt=end_of_today(now), status=FollowUpStatus.OPEN)
        if value == "overdue":
            return queryset.filter(due_at__lt=now, status=FollowUpStatus.OPEN)
        if value == "today":
            return queryset.filter(due_at__gte=start_of_day, due_at__lt=start_of_day + timedelta(days=1))
        if value == "week":
            return queryset.filter(due_at__gte=now, due_at__lt=now + timedelta(days=7))
        if value == "later":
            return queryset.filter(due_at__gte=now + timedelta(days=7))
        return queryset
