"""Reads of deals for pages; every one goes through visibility."""

from datetime import date, timedelta

from django.db.models import Count, Sum

from crm.models import Company
from pipeline.models import Deal, Stage, StageKind


def open_stage_ids() -> list[int]:
    """The ids of the open stages of every pipeline (one query on a table of a few rows).

    A page reading "the member's open deals" filters on these ids rather than joining on the
    stage's kind: with the ids the planner reads the (owner, stage) index for exactly the open
    deals and knows how few they are; with the join it reads every deal the member ever owned,
    and under ORDER BY … LIMIT it may walk a whole-table index instead (My day's "no next step"
    walked 314,000 deals by their expected close for one rep at S=10).
    """
    return list(Stage.objects.filter(kind=StageKind.OPEN).order_by("pk").values_list("pk", flat=True))


def own_open_deals(*, user, stage_ids=None):
    """The user's own open deals they may see; `stage_ids` is `open_stage_ids()` when the caller already read it."""
    stage_ids = open_stage_ids() if stage_ids is None else stage_ids
    return Deal.objects.visible_to(user).filter(owner=user, stage_id__in=stage_ids)


def open_deal_totals(*, user, stage_ids=None) -> list[dict]:
    """The user's own open deals: count and value per currency (never summed across currencies)."""
    return currency_totals(own_open_deals(user=user, stage_ids=stage_ids))


def this_month(today=None) -> tuple[date, date]:
    """The first day of the current month (in the user's time zone) and the first day of the next one."""
    from django.utils import timezone

    today = today or timezone.localdate()
    start = today.replace(day=1)
    return start, (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def deals_closing_this_month_count(*, user, today=None, stage_ids=None) -> int:
    """How many deals `deals_closing_this_month` has in all, in one COUNT."""
    start, end = this_month(today)
    return (
        own_open_deals(user=user, stage_ids=stage_ids).filter(expected_close__gte=start, expected_close__lt=end).count()
    )


def deals_closing_this_month(*, user, today=None, stage_ids=None):
    """The user's own open deals expected to close in the current month (in their time zone).

    Only what My day's list shows is read: title, amount, currency, the day and the stage (a rep
    has hundreds: 327 at S=10, each of which also joined its company and contact for nothing).
    """
    start, end = this_month(today)
    return (
        own_open_deals(user=user, stage_ids=stage_ids)
        .filter(expected_close__gte=start, expected_close__lt=end)
        .select_related("stage")
        .only("title", "amount", "currency", "expected_close", "stage")
        .order_by("expected_close", "pk")
    )


def quiet_open_deals(*, deals, now=None, limit: int | None = None) -> list[Deal]:
    """The open deals among `deals` whose customer has gone cold, quietest first: the one rule of "going cold".

    My day (`going_cold`) and the nightly follow-ups (pipeline.automations.going_cold_follow_ups_create)
    both read it, so they always agree. A deal is quiet when nothing was logged on it, its
    company or its contact for its team's going-cold days; a deal without any activity counts
    from its creation. A team with 0 going-cold days has the alert switched off (README).
    Each deal found carries `last_activity_at` and `quiet_days`, with its company, contact,
    stage and owner read along.

    In SQL, whatever the number of open deals: the going-cold days in use (one query on the
    teams), then one query that finds each open deal's newest activity on it, its company and
    its contact (one probe of each (link, -occurred_at) index), keeps the quiet ones, and
    joins the quietest `limit` to their records. Reading every open deal's keys and the
    newest activity per key into Python instead (five queries with lists of thousands of ids)
    cost My day 150 ms of SQL and as much of Python for a rep with 1,407 open deals at S=10,
    and grouping a company's activities read every one of them (98,000 index entries).
    """
    import datetime as dt

    from django.db.models import Case, DateTimeField, OuterRef, Subquery, Value, When
    from django.db.models.functions import Coalesce, Greatest, NullIf
    from django.utils import timezone

    from accounts.models import Team
    from crm.models import Activity

    now = now or timezone.now()
    days_in_use = sorted(set(Team.objects.filter(going_cold_days__gt=0).values_list("going_cold_days", flat=True)))
    if not days_in_use:
        return []

    # Before any activity: stands for "nothing logged" inside GREATEST, which SQLite does not skip NULLs in.
    never = Value(dt.datetime(1, 1, 2, tzinfo=dt.UTC), output_field=DateTimeField())

    def newest(link: str, key: str):
        activities = Activity.objects.filter(**{link: OuterRef(key)}).order_by("-occurred_at").values("occurred_at")
        return Coalesce(Subquery(activities[:1]), never)

    seen = Greatest(newest("deal_id", "pk"), newest("company_id", "company_id"), newest("contact_id", "contact_id"))
    # Quiet since before this moment: now less the deal's team's going-cold days.
    quiet_before = Case(
        *[When(team__going_cold_days=days, then=Value(now - timedelta(days=days))) for days in days_in_use],
        output_field=DateTimeField(),
    )
    last = Coalesce(NullIf(seen, never), "created_at")
    quiet = (
        deals.filter(stage__kind=StageKind.OPEN, team__going_cold_days__gt=0)
        .annotate(last_activity_at=last)
        .filter(last_activity_at__lt=quiet_before)
        .order_by("last_activity_at", "pk")
    )
    # The quietest `limit` are chosen on the deals alone; only they are joined to their records
    # (joining first joined every quiet deal: 354 of them for 20 shown).
    found = list(
        Deal.objects.filter(pk__in=quiet.values("pk")[:limit])
        .annotate(last_activity_at=last)
        .select_related("company", "contact", "stage", "owner")
        .order_by("last_activity_at", "pk")
    )
    for deal in found:
        deal.quiet_days = (now - deal.last_activity_at).days
    return found


def going_cold(*, user, now=None, limit: int = 20, stage_ids=None):
    """My day: the user's own open deals whose customer is going cold (`quiet_open_deals`), the quietest `limit`."""
    return quiet_open_deals(deals=own_open_deals(user=user, stage_ids=stage_ids), now=now, limit=limit)


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
    """{stage_id: {"count": n, "totals": [(currency, total, weighted), …]}} for the deals `user` sees, in one query.

    `weighted` is the sum of amount × the stage's probability: what the column is
    expected to bring in, per currency like the total (never summed across currencies).
    """
    from django.db.models import DecimalField, ExpressionWrapper, F

    deals = Deal.objects.visible_to(user).filter(stage_id__in=list(stage_ids))
    if owner_id:
        deals = deals.filter(owner_id=owner_id)
    summaries = {stage_id: {"count": 0, "totals": []} for stage_id in stage_ids}
    weighted = ExpressionWrapper(F("amount") * F("stage__probability") / 100, output_field=DecimalField())
    rows = (
        deals.order_by()
        .values("stage_id", "currency")
        .annotate(count=Count("pk"), total=Sum("amount"), weighted=Sum(weighted))
        .order_by("stage_id", "currency")
    )
    for row in rows:
        summary = summaries[row["stage_id"]]
        summary["count"] += row["count"]
        summary["totals"].append((row["currency"], row["total"], row["weighted"]))
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
    from django.db.models import F, OuterRef, Q, Subquery, Window
    from django.db.models.functions import RowNumber

    from crm.models import FollowUp, FollowUpStatus

    deals = Deal.objects.visible_to(user).filter(pipeline=pipeline)
    if owner_id:
        deals = deals.filter(owner_id=owner_id)
    # The card's next follow-up (the earliest open one) is read in the same query, one
    # index probe per deal, rather than one query per card.
    next_follow_up = (
        FollowUp.objects.filter(deal=OuterRef("pk"), status=FollowUpStatus.OPEN).order_by("due_at").values("due_at")[:1]
    )
    # The company's name and the win score are read the same way, one index probe per card,
    # rather than joined: PostgreSQL cannot know how few of a rep's deals are open (it
    # expected 2,400 of the 500 at S=10), and for that many it hashed all 100,000
    # companies (150 ms of the page's 180). A scalar subquery leaves it no such plan.
    score_model = Deal._meta.get_field("win_score").related_model
    # order_by(): one row each, so none of the models' default orderings (a join, for the score's).
    company_name = Company.objects.filter(pk=OuterRef("company_id")).order_by().values("name")[:1]
    win_probability = score_model.objects.filter(deal=OuterRef("pk")).order_by().values("probability")[:1]
    deals = (
        deals.select_related("owner", "pipeline")
        .only(
            "pk",
            "title",
            "amount",
            "currency",
            "expected_close",
            "version",
            "stage_id",
            "stage_entered_at",
            "company_id",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
            "pipeline__stale_after_days",
        )
        .annotate(
            next_follow_up_at=Subquery(next_follow_up),
            win_probability=Subquery(win_probability),
            company_name=Subquery(company_name),
        )
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


def next_follow_up_at(*, deal):
    """When the deal's earliest open follow-up is due (None without one): one card's, after a move."""
    from crm.models import FollowUp, FollowUpStatus

    return (
        FollowUp.objects.filter(deal=deal, status=FollowUpStatus.OPEN)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


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
