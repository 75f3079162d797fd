"""Reads of support cases for pages; every one goes through visibility."""

from django.db.models import Case as Choose
from django.db.models import F, IntegerField, Q, Value, When
from django.utils import timezone

from cases.models import OPEN_STATUSES, Case


def my_open_cases(*, user, now=None, limit: int = 20):
    """My day: the user's own open cases, those past their response time first, then by response time.

    One query; `overdue_first` is 0 for a case past its respond-by time with no response yet.
    """
    now = now or timezone.now()
    overdue = Q(first_response_at__isnull=True, due_at__lt=now)
    return (
        Case.objects.visible_to(user)
        .filter(owner=user, status__in=OPEN_STATUSES)
        .annotate(overdue_first=Choose(When(overdue, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .select_related("contact")
        .order_by("overdue_first", F("first_response_at").asc(nulls_first=True), "due_at", "pk")[:limit]
    )
