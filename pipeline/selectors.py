"""Reads of deals for pages; every one goes through visibility."""

from datetime import timedelta

from django.db.models import Count, Sum

from crm.models import Company
from pipeline.models import Deal, StageKind


def open_deal_totals(*, user) -> list[dict]:
    """The user's own open deals: count and value per currency (never summed across currencies)."""
    return list(
        Deal.objects.visible_to(user)
        .filter(owner=user, stage__kind=StageKind.OPEN)
        .values("currency")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("currency")
    )


def deals_closing_this_month(*, user, today=None):
    """The user's own open deals expected to close in the current month (in their time zone)."""
    from django.utils import timezone

    today = today or timezone.localdate()
    start = today.replace(day=1)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (
        Deal.objects.visible_to(user)
        .filter(owner=user, stage__kind=StageKind.OPEN, expected_close__gte=start, expected_close__lt=end)
        .select_related("stage", "company", "contact")
        .order_by("expected_close", "pk")
    )


def going_cold(*, user, now=None, limit: int = 20):
    """The user's open deals whose customer has had no activity for the going-cold days of the deal's team.

    "No activity" looks at the deal, its company and its contact, so a call logged
    on the contact counts for the deal. Deals without any activity use their
    creation time. Two queries: the teams' settings, then the deals, each compared with its team's.
    """
    from django.db.models import OuterRef, Q, Subquery
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from accounts.models import Team
    from crm.models import Activity

    now = now or timezone.now()
    last_activity = (
        Activity.objects.filter(
            Q(deal=OuterRef("pk"))
            | Q(company_id=OuterRef("company_id"), company__isnull=False)
            | Q(contact_id=OuterRef("contact_id"), contact__isnull=False)
        )
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    deals = Deal.objects.visible_to(user).filter(owner=user, stage__kind=StageKind.OPEN)
    # Each team's own cutoff, as literals: portable (SQLite has no interval arithmetic) and plain for the planner.
    quiet = Q(pk__in=[])
    for team_id, days in Team.objects.filter(pk__in=deals.values("team_id")).values_list("pk", "going_cold_days"):
        quiet |= Q(team_id=team_id, last_activity_at__lt=now - timedelta(days=days))
    found = list(
        deals.annotate(last_activity_at=Coalesce(Subquery(last_activity), "created_at"))
        .filter(quiet)
        .select_related("company", "contact", "stage")
        .order_by("last_activity_at", "pk")[:limit]
    )
    for deal in found:
        deal.quiet_days = (now - deal.last_activity_at).days
    return found


# ---- deals pages and the board ----


def currency_totals(deals) -> list[dict]:
    """Count and value per currency of a deal queryset, in one query (never summed across currencies)."""
    return list(
        deals.order_by().values("currency").annotate(count=Count("pk"), total=Sum("amount")).order_by("currency")
    )


def board_stages(*, pipeline) -> list:
    """A pipeline's stages in board order: open stages by their order, then won, then lost."""
    from django.db.models import Case, IntegerField, Value, When

    kind_rank = Case(
        When(kind=StageKind.OPEN, then=Value(0)),
        When(kind=StageKind.WON, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return list(pipeline.stages.annotate(kind_rank=kind_rank).order_by("kind_rank", "order", "pk"))


def stage_summaries(*, user, stage_ids, owner_id=None) -> dict:
    """{stage_id: {"count": n, "totals": [(currency, total), …]}} for the deals `user` sees, in one query."""
    deals = Deal.objects.visible_to(user).filter(stage_id__in=list(stage_ids))
    if owner_id:
        deals = deals.filter(owner_id=owner_id)
    summaries = {stage_id: {"count": 0, "totals": []} for stage_id in stage_ids}
    rows = (
        deals.order_by()
        .values("stage_id", "currency")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("stage_id", "currency")
    )
    for row in rows:
        summary = summaries[row["stage_id"]]
        summary["count"] += row["count"]
        summary["totals"].append((row["currency"], row["total"]))
    return summaries


# Closed columns show the most recently closed deals only: a year of won deals would bury the board.
CLOSED_CARDS_SHOWN = 20


def board_deals(*, user, pipeline, stages, owner_id=None, closed_limit: int = CLOSED_CARDS_SHOWN) -> dict:
    """{stage_id: [deal, …]} for the board's `stages` (`board_stages`), in one query whatever the number of deals.

    Every open deal is listed; each won and lost stage keeps its `closed_limit` most
    recently closed. On PostgreSQL each part reads only what it shows, in one UNION
    ALL: the open deals by their stages' ids (the ids rather than the kind, so the
    planner knows how few they are), and the last closed deals of each closed stage
    through the (stage, closed_at) index, never the years of closed deals behind
    them. SQLite cannot limit the parts of a union: there a window function ranks
    the closed deals of every stage in the same single query.
    """
    from django.db import connection
    from django.db.models import F, Q, Window
    from django.db.models.functions import RowNumber

    deals = Deal.objects.visible_to(user).filter(pipeline=pipeline)
    if owner_id:
        deals = deals.filter(owner_id=owner_id)
    deals = deals.select_related("company", "owner").only(
        "pk",
        "title",
        "amount",
        "currency",
        "expected_close",
        "version",
        "stage_id",
        "company__name",
        "owner__username",
        "owner__first_name",
        "owner__last_name",
    )
    order = (F("expected_close").asc(nulls_last=True), "title", "pk")
    latest_closed = (F("closed_at").desc(nulls_last=True), F("pk").desc())
    open_ids = [stage.pk for stage in stages if stage.kind == StageKind.OPEN]
    closed_ids = [stage.pk for stage in stages if stage.kind != StageKind.OPEN]
    if connection.features.supports_slicing_ordering_in_compound:
        parts = [deals.filter(stage_id__in=open_ids).order_by()] if open_ids else []
        parts += [deals.filter(stage_id=pk).order_by(*latest_closed)[:closed_limit] for pk in closed_ids]
        cards = parts[0].union(*parts[1:], all=True).order_by(*order) if parts else []
    else:
        ranked = deals.filter(stage_id__in=open_ids + closed_ids).annotate(
            closed_rank=Window(RowNumber(), partition_by=[F("stage_id")], order_by=latest_closed)
        )
        cards = ranked.filter(Q(stage_id__in=open_ids) | Q(closed_rank__lte=closed_limit)).order_by(*order)
    columns: dict[int, list] = {}
    for deal in cards:
        columns.setdefault(deal.stage_id, []).append(deal)
    return columns


QUICK_ADD_COMPANIES = 100


def quick_add_companies(*, user, limit: int = QUICK_ADD_COMPANIES) -> list[tuple[int, str]]:
    """The companies a board column's quick-add form offers: the `limit` most recently updated the user may see.

    Every open column repeats the list, and a team may have tens of thousands of
    companies: offering all of them made the board page megabytes long. Any other
    company is on the full deal form. Sorted by name, like the full list.
    """
    recent = Company.objects.visible_to(user).order_by("-updated_at", "-pk").values_list("pk", "name")[:limit]
    return sorted(recent, key=lambda row: (row[1].casefold(), row[0]))


def deal_stage_history(*, deal, now=None) -> list:
    """The deal's stage changes, oldest first, each with `until` and `duration` (time spent in `to_stage`).

    A stage lasts until the next change; the current one runs until `now`.
    """
    from django.utils import timezone

    now = now or timezone.now()
    changes = list(deal.stage_changes.select_related("from_stage", "to_stage", "by").order_by("at", "pk"))
    for change, following in zip(changes, [*changes[1:], None], strict=True):
        change.until = following.at if following else now
        change.is_current = following is None
        change.duration = max(change.until - change.at, timedelta(0))
    return changes
