"""Writes to teams and to team members' sales targets (quotas)."""

import calendar
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Quota, QuotaPeriod, Team, User
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


@transaction.atomic
def team_create(*, by, name: str, **fields) -> Team:
    """Add a team (administrators, in the Django admin)."""
    team = Team(name=name, **fields)
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def team_update(*, team: Team, by, **fields) -> Team:
    """Rename a team or change its time zone or going-cold days.

    A team's days are its local calendar days: a new time zone moves every day's
    boundaries, so each day rolled up so far is marked to be computed again.
    """
    from analytics.models import RollupDay
    from analytics.services import mark_days_dirty

    zone_before = Team.objects.select_for_update().values_list("time_zone", flat=True).get(pk=team.pk)
    for name, value in fields.items():
        setattr(team, name, value)
    team.full_clean()
    team.save()
    if team.time_zone != zone_before:
        days = RollupDay.objects.filter(team=team).values_list("day", flat=True)
        mark_days_dirty(team=team, days=list(days), reason="team time zone changed")
    return team


@transaction.atomic
def team_delete(*, team: Team, by) -> None:
    """Delete a team; its records protect it (move them to another team first), its memberships go with it."""
    team.delete()


def _owns_records_in(*, user, team) -> bool:
    """Whether `user` owns records (companies, contacts, deals…) that belong to `team`.

    Found through the models themselves (an `owner` and a `team` field) so that accounts,
    below the apps that hold customers and deals, imports none of them.
    """
    from django.apps import apps

    for model in apps.get_models():
        names = {field.name for field in model._meta.fields}
        if {"owner", "team"} <= names and model._default_manager.filter(owner=user, team=team).exists():
            return True
    return False


@transaction.atomic
def membership_create(*, by, user: User, team: Team, is_manager: bool = False) -> Membership:
    """Put a member in a team (administrators, in the Django admin)."""
    membership = Membership(user=user, team=team, is_manager=is_manager)
    membership.full_clean()
    membership.save()
    return membership


def _refuse_leaving_owner(membership: Membership) -> None:
    # A record's owner is a member of its team (core.services.Ownership): leaving would break that.
    if _owns_records_in(user=membership.user, team=membership.team):
        raise ValidationError(
            _("%(user)s still owns records in this team: hand them to a teammate first.") % {"user": membership.user}
        )


@transaction.atomic
def membership_update(*, membership: Membership, by, **fields) -> Membership:
    """Make a member a manager of the team or not; moving a membership to another person or team is leaving one."""
    stored = Membership.objects.select_for_update().select_related("user", "team").get(pk=membership.pk)
    if fields.get("user", stored.user) != stored.user or fields.get("team", stored.team) != stored.team:
        _refuse_leaving_owner(stored)
    for name, value in fields.items():
        setattr(membership, name, value)
    membership.full_clean()
    membership.save()
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership, by) -> None:
    """Take a member out of a team; refused while they own records in it."""
    _refuse_leaving_owner(membership)
    membership.delete()
