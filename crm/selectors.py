"""Reads of customer data for pages; every one goes through visibility."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from crm.models import FollowUp, FollowUpStatus


def end_of_today(now: datetime | None = None) -> datetime:
    """The end of today in the active (the user's) time zone."""
    local = timezone.localtime(now or timezone.now())
    return timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time.min))


def follow_ups_due(*, user, now: datetime | None = None, limit: int = 50):
    """The user's own open follow-ups due today or earlier, oldest first."""
    return (
        FollowUp.objects.visible_to(user)
        .filter(assignee=user, status=FollowUpStatus.OPEN, due_at__lt=end_of_today(now))
        .select_related("contact", "company", "deal")
        .order_by("due_at", "pk")[:limit]
    )
