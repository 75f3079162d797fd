"""Reads of customer data for pages; every one goes through visibility."""

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.querysets import is_admin, team_ids
from crm.models import Activity, Company, Contact, FollowUp, FollowUpStatus


def end_of_today(now: datetime | None = None) -> datetime:
    """The end of today in the active (the user's) time zone."""
    local = timezone.localtime(now or timezone.now())
    return timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time.min))


def _due(*, user, now: datetime | None = None):
    return FollowUp.objects.visible_to(user).filter(
        assignee=user, status=FollowUpStatus.OPEN, due_at__lt=end_of_today(now)
    )


def follow_ups_due(*, user, now: datetime | None = None, limit: int = 50):
    """The user's own open follow-ups due today or earlier, oldest first."""
    return _due(user=user, now=now).select_related("contact", "company", "deal").order_by("due_at", "pk")[:limit]


def follow_ups_due_count(*, user, now: datetime | None = None) -> int:
    """How many follow-ups `follow_ups_due` has in all (one COUNT on the (assignee, status, due) rows)."""
    return _due(user=user, now=now).count()


def timeline(*, user, contact=None, company=None, deal=None, limit: int = 200) -> list[dict]:
    """One history of a customer or a deal, newest first: activities, stage changes, follow-ups, support cases
    and survey answers.

    Each entry is {"kind": "activity" | "stage_change" | "follow_up" | "case" | "survey_response", "at": datetime,
    "item": obj}. Five queries whatever the length; each source is cut at `limit` before merging.
    """
    from pipeline.models import StageChange

    if contact is not None:
        activity_q, follow_up_q, change_q = Q(contact=contact), Q(contact=contact), Q(deal__contact=contact)
    elif company is not None:
        activity_q, follow_up_q, change_q = Q(company=company), Q(company=company), Q(deal__company=company)
    elif deal is not None:
        activity_q, follow_up_q, change_q = Q(deal=deal), Q(deal=deal), Q(deal=deal)
    else:
        raise ValueError("timeline needs a contact, a company or a deal")

    # Each entry shows its actor's name (and, beside a company or deal, the contact's): the rest of
    # those rows, and the activity's deal, which no entry shows, were read and built into models for
    # every entry. On a contact's page every activity is that contact's: it is the page's own object.
    activities = Activity.objects.visible_to(user).filter(activity_q)
    activities = activities.select_related(*(("actor",) if contact is not None else ("actor", "contact"))).only(
        *(field.name for field in Activity._meta.concrete_fields), *_person_name("actor")
    )
    activities = list(activities.order_by("-occurred_at", "-pk")[:limit])
    if contact is not None:
        for activity in activities:
            activity.contact = contact
    changes = (
        StageChange.objects.visible_to(user)  # the changes of the deals the user may see
        .filter(change_q)
        .select_related("deal", "from_stage", "to_stage", "by")
        .only(
            *(field.name for field in StageChange._meta.concrete_fields),
            "deal__title",
            "from_stage__name",
            "from_stage__name_en",
            "to_stage__name",
            "to_stage__name_en",
            *_person_name("by"),
        )
        .order_by("-at", "-pk")[:limit]
    )
    follow_ups = (
        FollowUp.objects.visible_to(user)
        .filter(follow_up_q)
        .select_related("assignee", "contact")
        .order_by("-due_at", "-pk")[:limit]
    )
    entries = [{"kind": "activity", "at": a.occurred_at, "item": a} for a in activities]
    entries += [{"kind": "stage_change", "at": c.at, "item": c} for c in changes]
    entries += [{"kind": "follow_up", "at": f.completed_at or f.due_at, "item": f} for f in follow_ups]
    entries += _case_entries(user=user, contact=contact, company=company, deal=deal, limit=limit)
    entries += _survey_response_entries(user=user, contact=contact, company=company, deal=deal, limit=limit)
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]


def _person_name(relation: str) -> tuple[str, ...]:
    """What a member's name on a page is made of (User.__str__: the full name, else the username)."""
    return (f"{relation}__first_name", f"{relation}__last_name", f"{relation}__username")


def _case_entries(*, user, contact, company, deal, limit: int) -> list[dict]:
    """The support cases of the customer or deal (cases app) the user may see, at their opening: one query."""
    from django.apps import apps

    if not apps.is_installed("cases"):
        return []
    case_model = apps.get_model("cases", "Case")
    subject = {"contact": contact} if contact is not None else {"company": company} if company is not None else {}
    cases = (
        case_model.objects.visible_to(user)
        .filter(**(subject or {"deal": deal}))
        .select_related("owner")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [{"kind": "case", "at": case.created_at, "item": case} for case in cases]


def _survey_response_entries(*, user, contact, company, deal, limit: int) -> list[dict]:
    """The customers' survey answers (surveys app) the user may see, at their answer time: one query."""
    from django.apps import apps

    if not apps.is_installed("surveys"):
        return []
    from surveys.selectors import response_entries

    return response_entries(user=user, contact=contact, company=company, deal=deal, limit=limit)


def attach_tag_ids(records) -> None:
    """Set `tag_ids` on companies or contacts (one model): their tags' ids in name order, read in one query.

    Lighter than prefetch_related("tags"), which builds a related manager and a
    queryset per record: for the API's pages of up to 1,000 records that cost more
    than the query.
    """
    if not records:
        return
    model = type(records[0])
    link = f"{model._meta.model_name}_id"
    tag_ids = defaultdict(list)
    rows = (
        model.tags.through.objects.filter(**{f"{link}__in": [record.pk for record in records]})
        .order_by("tag__name", "tag_id")
        .values_list(link, "tag_id")
    )
    for record_id, tag_id in rows:
        tag_ids[record_id].append(tag_id)
    for record in records:
        record.tag_ids = tag_ids.get(record.pk, [])


def follow_ups_for_list(*, user):
    """Follow-ups for the follow-up list: what the user may see, with what each is about."""
    return FollowUp.objects.visible_to(user).select_related("assignee", "contact", "company", "deal")


def _count_per(queryset, link: str):
    """Subquery counting the rows of `queryset` that point at the outer row through `link`."""
    counted = queryset.filter(**{link: OuterRef("pk")}).order_by().values(link).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_company_counts(companies, *, user):
    """Annotate `contact_count` and `open_deal_count`, counting only what `user` may see.

    Subqueries rather than Count() over joins: two joined counts would multiply
    each other, and the list stays one query whatever its length.
    """
    from pipeline.models import Deal, StageKind

    return companies.annotate(
        contact_count=_count_per(Contact.objects.visible_to(user), "company"),
        open_deal_count=_count_per(Deal.objects.visible_to(user).filter(stage__kind=StageKind.OPEN), "company"),
    )


def company_cities(*, user, limit: int = 300) -> list[str]:
    """Distinct cities of the companies the user may see, for suggestions in the city filter."""
    return list(
        Company.objects.visible_to(user)
        .exclude(city="")
        .order_by("city")
        .values_list("city", flat=True)
        .distinct()[:limit]
    )


def companies_for_contact(*, user, team=None):
    """Companies a contact may work for: visible to `user` and in the contact's team.

    For a new contact, whose team is not decided yet, the companies of the teams
    `user` belongs to (an admin: all).
    """
    companies = Company.objects.visible_to(user)
    if team is not None:
        return companies.filter(team=team)
    if is_admin(user):
        return companies
    return companies.filter(team_id__in=team_ids(user))


def customer_deals(*, user, company=None, contact=None):
    """Deals of a company or a contact that `user` may see: open ones first, the nearest expected close first."""
    from pipeline.models import Deal, StageKind

    if (company is None) == (contact is None):
        raise ValueError("customer_deals needs a company or a contact")
    deals = Deal.objects.visible_to(user).select_related("stage")
    deals = deals.filter(company=company) if company is not None else deals.filter(contact=contact)
    still_open = Case(When(stage__kind=StageKind.OPEN, then=0), default=1, output_field=IntegerField())
    return deals.order_by(still_open, F("expected_close").asc(nulls_last=True), "-pk")
