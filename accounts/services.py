"""Writes to team members' sales targets (quotas)."""

import calendar
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Quota, QuotaPeriod, User
from core.querysets import is_admin, managed_user_ids


def quota_period_bounds(*, kind: str, start: date) -> tuple[date, date]:
    """The first and last day of the month or quarter that contains `start`."""
    if kind == QuotaPeriod.QUARTER:
        first_month = 3 * ((start.month - 1) // 3) + 1
        last_month = first_month + 2
    else:
        first_month = last_month = start.month
    last_day = calendar.monthrange(start.year, last_month)[1]
    return date(start.year, first_month, 1), date(start.year, last_month, last_day)


def can_set_quota(*, by: User, rep: User) -> bool:
    """Admins set anyone's target; managers those of the members of the teams they manage, never their own."""
    if is_admin(by):
        return True
    if by.pk == rep.pk:
        return False
    return User.objects.filter(pk=rep.pk, pk__in=managed_user_ids(by)).exists()


@transaction.atomic
def quota_set(
    *,
    rep: User,
    kind: str,
    start: date,
    target_won_value: Decimal,
    currency: str,
    target_won_deals: int,
    target_activities: int,
    by: User,
) -> Quota:
    """Set a rep's target for the month or quarter containing `start`; the previous one is kept, superseded."""
    if not can_set_quota(by=by, rep=rep):
        raise PermissionDenied(_("You can set targets only for the members of the teams you manage."))
    period_start, period_end = quota_period_bounds(kind=kind, start=start)
    quota = Quota(
        rep=rep,
        period_kind=kind,
        period_start=period_start,
        period_end=period_end,
        target_won_value=target_won_value,
        currency=currency,
        target_won_deals=target_won_deals,
        target_activities=target_activities,
        set_by=by,
    )
    # Validated before the previous target is touched, so bad input changes nothing.
    quota.full_clean(exclude=["rep", "set_by"], validate_constraints=False)
    if target_won_deals < 0 or target_activities < 0:
        raise ValidationError(_("A target cannot be negative."))
    previous = (
        Quota.objects.select_for_update()
        .active()
        .filter(rep=rep, period_kind=kind, period_start=period_start, currency=currency)
    )
    previous.update(superseded_at=timezone.now())
    quota.save()
    return quota
