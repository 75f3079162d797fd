"""Follow-ups: scheduling, completing, rescheduling, snoozing, reassigning, reopening, editing, deleting."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.selectors import follow_up_assignees
from analytics.services import mark_dirty_since
from core.querysets import is_admin
from core.services import lock_current, resolve_owner_and_team, save_changed, save_new_version
from crm.models import Company, Contact, FollowUp, FollowUpKind, FollowUpStatus, ReminderState
from crm.services.records import _apply


@transaction.atomic
def follow_up_schedule(
    *,
    by,
    subject: str,
    due_at: datetime,
    assignee=None,
    contact: Contact | None = None,
    company: Company | None = None,
    deal=None,
    notes: str = "",
    remind_at: datetime | None = None,
    kind: str = FollowUpKind.MANUAL,
) -> FollowUp:
    """Schedule a follow-up; its reminder defaults to the assignee's offset before it is due."""
    assignee = assignee or by
    if not can_assign_follow_up(by=by, assignee=assignee):
        raise ValidationError({"assignee": _("You can only hand follow-ups to people in your teams.")})
    _assignee, team = resolve_owner_and_team(by=assignee)
    if remind_at is None:
        remind_at = due_at - timedelta(minutes=assignee.reminder_offset_minutes)
    follow_up = FollowUp(
        subject=subject,
        due_at=due_at,
        remind_at=remind_at,
        assignee=assignee,
        team=team,
        created_by=by,
        contact=contact,
        company=company or (contact.company if contact else None),
        deal=deal,
        notes=notes,
        kind=kind,
    )
    follow_up.full_clean()
    follow_up.save()
    return follow_up


def _follow_up_days_dirty(follow_up: FollowUp, *, since: datetime | None, reason: str, team=None) -> None:
    """Mark the past days whose follow-up figures (done that day, overdue at its end) this change rewrites.

    Those figures read the follow-up as it is now, so a change reaches back to `since`,
    though never before the follow-up existed.
    """
    if since is None:
        return
    if follow_up.created_at is not None:
        since = max(since, follow_up.created_at)
    mark_dirty_since(team=team or follow_up.team, when=since, reason=reason)


@transaction.atomic
def follow_up_complete(*, follow_up: FollowUp, by) -> FollowUp:
    follow_up.status = FollowUpStatus.DONE
    follow_up.completed_at = timezone.now()
    save_new_version(follow_up, update_fields=["status", "completed_at", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_reschedule(*, follow_up: FollowUp, by, due_at: datetime, remind_at: datetime | None = None) -> FollowUp:
    """Move a follow-up to a new time; its reminder is armed again for the new time."""
    # Overdue at a past day's end is read from the due time: the days since the earlier one change.
    _follow_up_days_dirty(follow_up, since=min(follow_up.due_at, due_at), reason="follow-up rescheduled")
    follow_up.due_at = due_at
    follow_up.remind_at = remind_at or due_at - timedelta(minutes=follow_up.assignee.reminder_offset_minutes)
    follow_up.reminder_state = ReminderState.PENDING
    follow_up.reminder_attempts = 0
    follow_up.reminder_error = ""
    follow_up.full_clean()
    save_new_version(follow_up)
    return follow_up


def follow_up_snooze(*, follow_up: FollowUp, by, now: datetime | None = None) -> FollowUp:
    """Push a follow-up to tomorrow at 09:00 in `by`'s time zone (My day's and the list's one-click "Tomorrow")."""
    from datetime import time

    from core.i18n import user_zone

    zone = user_zone(by)
    tomorrow = timezone.localtime(now or timezone.now(), zone).date() + timedelta(days=1)
    due_at = datetime.combine(tomorrow, time(9, 0), tzinfo=zone)
    return follow_up_reschedule(follow_up=follow_up, by=by, due_at=due_at)


def can_assign_follow_up(*, by, assignee) -> bool:
    """A follow-up may go to oneself, a teammate, anyone in a team one manages, or anyone (admin)."""
    if assignee.pk == by.pk or is_admin(by):
        return True
    return follow_up_assignees(user=by).filter(pk=assignee.pk).exists()


@transaction.atomic
def follow_up_reassign(*, follow_up: FollowUp, by, assignee) -> FollowUp:
    """Hand a follow-up to someone else; its reminder is armed again for them."""
    if not can_assign_follow_up(by=by, assignee=assignee):
        raise ValidationError({"assignee": _("You can only hand follow-ups to people in your teams.")})
    if assignee.pk == follow_up.assignee_id:
        return follow_up
    # As when scheduling one: it counts for the assignee's first team (refused for someone in none).
    _assignee, team = resolve_owner_and_team(by=assignee)
    if team.pk != follow_up.team_id:
        # Its figures move from one team's past days to the other's.
        since = min(follow_up.due_at, follow_up.completed_at or follow_up.due_at)
        _follow_up_days_dirty(follow_up, since=since, reason="follow-up moved to another team")
        _follow_up_days_dirty(follow_up, since=since, reason="follow-up moved from another team", team=team)
    follow_up.assignee = assignee
    follow_up.team = team
    follow_up.reminder_state = ReminderState.PENDING
    follow_up.reminder_attempts = 0
    follow_up.reminder_error = ""
    follow_up.full_clean()
    save_new_version(follow_up)
    return follow_up


@transaction.atomic
def follow_up_reopen(*, follow_up: FollowUp, by) -> FollowUp:
    # Done on a past day: that day's "done" and the "overdue" of every day since change.
    _follow_up_days_dirty(follow_up, since=follow_up.completed_at, reason="follow-up reopened")
    follow_up.status = FollowUpStatus.OPEN
    follow_up.completed_at = None
    save_new_version(follow_up, update_fields=["status", "completed_at", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_update(*, follow_up: FollowUp, by, **fields) -> FollowUp:
    """Change a follow-up: a new time or assignee re-arms its reminder, a status change completes or reopens it.

    The follow-up is read again under a row lock first and only changed columns are written,
    so a concurrent edit of other fields is kept (see company_update).
    """
    stored = lock_current(follow_up)
    due_at = fields.pop("due_at", follow_up.due_at)
    remind_at = fields.pop("remind_at", None)
    assignee = fields.pop("assignee", follow_up.assignee)
    status = fields.pop("status", follow_up.status)
    _apply(follow_up, fields)
    if fields:
        follow_up.full_clean()
        save_changed(follow_up, stored)
    if due_at != follow_up.due_at or (remind_at is not None and remind_at != follow_up.remind_at):
        follow_up_reschedule(follow_up=follow_up, by=by, due_at=due_at, remind_at=remind_at)
    if assignee.pk != follow_up.assignee_id:
        follow_up_reassign(follow_up=follow_up, by=by, assignee=assignee)
    if status != follow_up.status:
        if status == FollowUpStatus.DONE:
            follow_up_complete(follow_up=follow_up, by=by)
        elif status == FollowUpStatus.OPEN:
            follow_up_reopen(follow_up=follow_up, by=by)
        else:
            # Cancelled: never overdue, nor done, any more (analytics.figures), back to when it was either.
            since = min(follow_up.due_at, follow_up.completed_at or follow_up.due_at)
            _follow_up_days_dirty(follow_up, since=since, reason="follow-up cancelled")
            follow_up.status = status
            follow_up.completed_at = None
            save_new_version(follow_up, update_fields=["status", "completed_at", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_delete(*, follow_up: FollowUp, by) -> None:
    follow_up.delete()
