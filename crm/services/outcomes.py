"""Finishing a follow-up in one step (My day's "Done" panel) and logging a contact with its next step."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Activity, ActivityKind, ActivityOutcome, Company, Contact, FollowUp, FollowUpStatus
from crm.services.activities import activity_log
from crm.services.follow_ups import follow_up_complete, follow_up_schedule

# Quick choices for the next step: days from today, at 09:00 in the rep's time zone.
NEXT_STEP_DAYS = {"tomorrow": 1, "in_3_days": 3, "next_week": 7}


def next_step_due(choice: str, *, by, now: datetime | None = None) -> datetime:
    """The time a quick next-step choice ("tomorrow", "in_3_days", "next_week") stands for, for `by`."""
    from datetime import time

    from core.i18n import user_zone

    if choice not in NEXT_STEP_DAYS:
        raise ValidationError({"next_step": _("Choose when the next step is.")})
    zone = user_zone(by)
    day = timezone.localtime(now or timezone.now(), zone).date() + timedelta(days=NEXT_STEP_DAYS[choice])
    return datetime.combine(day, time(9, 0), tzinfo=zone)


@dataclass
class FollowUpOutcome:
    follow_up: FollowUp | None
    activity: Activity
    next_follow_up: FollowUp | None


@transaction.atomic
def follow_up_complete_with_outcome(
    *,
    follow_up: FollowUp,
    by,
    outcome: str,
    kind: str = ActivityKind.CALL,
    note: str = "",
    next_due_at: datetime | None = None,
    next_subject: str = "",
) -> FollowUpOutcome:
    """Mark a follow-up done, log what came of it and schedule the next step, all or nothing.

    The outcome becomes an activity on the follow-up's customer and deal (so "last contacted"
    moves and the day's figures count it); the next step, when given, is a new follow-up on
    the same customer and deal for the same assignee. Any refusal leaves everything unchanged.
    """
    errors = {}
    if follow_up.status != FollowUpStatus.OPEN:
        raise ValidationError(_("This follow-up is already done or cancelled; reopen it first."))
    # A call has an outcome; a message sent (email, WhatsApp) may have none yet.
    if outcome not in ActivityOutcome.values and not (outcome == "" and kind != ActivityKind.CALL):
        errors["outcome"] = [_("Choose what came of it.")]
    if kind not in ActivityKind.values:
        errors["kind"] = [_("Choose how you contacted the customer.")]
    if next_due_at is not None and next_due_at <= timezone.now():
        errors["next_due_at"] = [_("The next step must be in the future.")]
    if not (follow_up.contact_id or follow_up.company_id or follow_up.deal_id):
        errors.setdefault("outcome", []).append(
            _("This follow-up is not about a customer or a deal, so there is nowhere to log the outcome.")
        )
    if errors:
        raise ValidationError(errors)
    activity = activity_log(
        by=by,
        kind=kind,
        outcome=outcome,
        subject=follow_up.subject,
        body=note,
        contact=follow_up.contact,
        company=follow_up.company,
        deal=follow_up.deal,
    )
    follow_up_complete(follow_up=follow_up, by=by)
    following = None
    if next_due_at is not None:
        following = follow_up_schedule(
            by=by,
            subject=next_subject or follow_up.subject,
            due_at=next_due_at,
            assignee=follow_up.assignee,
            contact=follow_up.contact,
            company=follow_up.company,
            deal=follow_up.deal,
        )
    return FollowUpOutcome(follow_up=follow_up, activity=activity, next_follow_up=following)


@transaction.atomic
def activity_log_with_next_step(
    *,
    by,
    kind: str,
    outcome: str = "",
    subject: str = "",
    contact: Contact | None = None,
    company: Company | None = None,
    deal=None,
    next_due_at: datetime | None = None,
) -> FollowUpOutcome:
    """Log a contact with a customer and, when given, schedule the next step on it: both or neither.

    The "log it" prompt after a Call / WhatsApp / Email tap calls this when no follow-up was
    being worked on (else follow_up_complete_with_outcome, which also closes that follow-up).
    """
    if next_due_at is not None and next_due_at <= timezone.now():
        raise ValidationError({"next_due_at": _("The next step must be in the future.")})
    activity = activity_log(
        by=by, kind=kind, outcome=outcome, subject=subject, contact=contact, company=company, deal=deal
    )
    following = None
    if next_due_at is not None:
        name = contact or company or deal
        following = follow_up_schedule(
            by=by,
            subject=_("Follow up with %(name)s") % {"name": name},
            due_at=next_due_at,
            contact=contact,
            company=company,
            deal=deal,
        )
    return FollowUpOutcome(follow_up=None, activity=activity, next_follow_up=following)
