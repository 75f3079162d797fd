"""Reads of deals for pages; every one goes through visibility."""

from datetime import timedelta

from django.db.models import Count, Sum

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
    """The user's open deals whose customer has had no activity for the team's going-cold days.

    "No activity" looks at the deal, its company and its contact, so a call logged
    on the contact counts for the deal. Deals without any activity use their
    creation time. One query per distinct going-cold setting among the user's teams.
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
    deals = (
        Deal.objects.visible_to(user)
        .filter(owner=user, stage__kind=StageKind.OPEN)
        .annotate(last_activity_at=Coalesce(Subquery(last_activity), "created_at"))
        .select_related("company", "contact", "stage")
    )
    days_by_team: dict[int, list[int]] = {}
    for team_id, days in Team.objects.filter(deals__owner=user).values_list("pk", "going_cold_days").distinct():
        days_by_team.setdefault(days, []).append(team_id)
    found = []
    for days, team_ids in days_by_team.items():
        cutoff = now - timedelta(days=days)
        found += list(
            deals.filter(team_id__in=team_ids, last_activity_at__lt=cutoff).order_by("last_activity_at")[:limit]
        )
    found.sort(key=lambda deal: deal.last_activity_at)
    for deal in found:
        deal.quiet_days = (now - deal.last_activity_at).days
    return found[:limit]


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


def board_deals(*, user, pipeline, owner_id=None, closed_limit: int = CLOSED_CARDS_SHOWN) -> dict:
    """{stage_id: [deal, …]} for the board, in one query whatever the number of deals.

    Every open deal is listed; won and lost stages keep their `closed_limit`
    most recently closed, picked by a window function in the same query.
    """
    from django.db.models import F, Q, Window
    from django.db.models.functions import RowNumber

    deals = Deal.objects.visible_to(user).filter(pipeline=pipeline)
    if owner_id:
        deals = deals.filter(owner_id=owner_id)
    deals = (
        deals.select_related("company", "owner")
        .only(
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
        .annotate(
            closed_rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("closed_at").desc(nulls_last=True), F("pk").desc()],
            )
        )
        .filter(Q(stage__kind=StageKind.OPEN) | Q(closed_rank__lte=closed_limit))
        .order_by(F("expected_close").asc(nulls_last=True), "title", "pk")
    )
    columns: dict[int, list] = {}
    for deal in deals:
        columns.setdefault(deal.stage_id, []).append(deal)
    return columns


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
