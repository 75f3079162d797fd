"""Reads of deals for pages; every one goes through visibility."""

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


def deals_closing_next(*, user, limit: int = 10):
    """The user's own open deals with the nearest expected close date first."""
    return (
        Deal.objects.visible_to(user)
        .filter(owner=user, stage__kind=StageKind.OPEN, expected_close__isnull=False)
        .select_related("stage", "company")
        .order_by("expected_close", "pk")[:limit]
    )
