"""Writes to customers, activities and follow-ups. Views, the API, tasks and commands all call these."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.services import resolve_owner_and_team
from crm.models import (
    Activity,
    ActivityKind,
    Company,
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    ReminderState,
)

# Kinds of activity that count as contact with the customer (a note does not).
CONTACT_KINDS = {ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL}


def _apply(instance, fields: dict) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


@transaction.atomic
def company_create(*, by, name: str, owner=None, team=None, tags=(), **fields) -> Company:
    owner, team = resolve_owner_and_team(by=by, owner=owner, team=team)
    company = Company(name=name, owner=owner, team=team, **fields)
    company.full_clean()
    company.save()
    if tags:
        company.tags.set(tags)
    return company


@transaction.atomic
def company_update(*, company: Company, by, tags=None, **fields) -> Company:
    _apply(company, fields)
    company.full_clean()
    company.save()
    if tags is not None:
        company.tags.set(tags)
    return company


@transaction.atomic
def contact_create(*, by, first_name: str, owner=None, team=None, tags=(), **fields) -> Contact:
    owner, team = resolve_owner_and_team(by=by, owner=owner, team=team)
    contact = Contact(first_name=first_name, owner=owner, team=team, **fields)
    if contact.consent_marketing or contact.consent_data_sharing:
        contact.consent_updated_at = timezone.now()
    contact.full_clean()
    contact.save()
    if tags:
        contact.tags.set(tags)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, by, tags=None, **fields) -> Contact:
    consent_before = (contact.consent_marketing, contact.consent_data_sharing)
    _apply(contact, fields)
    if (contact.consent_marketing, contact.consent_data_sharing) != consent_before:
        contact.consent_updated_at = timezone.now()
    contact.full_clean()
    contact.save()
    if tags is not None:
        contact.tags.set(tags)
    return contact


@transaction.atomic
def activity_log(
    *,
    by,
    kind: str,
    occurred_at: datetime | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    deal=None,
    outcome: str = "",
    subject: str = "",
    body: str = "",
) -> Activity:
    """Record an activity and, for a call, meeting or email, when the customer was last contacted."""
    if contact is not None and company is None:
        company = contact.company
    if deal is not None and company is None:
        company = deal.company
    _owner, team = resolve_owner_and_team(by=by)
    activity = Activity(
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        contact=contact,
        company=company,
        deal=deal,
        outcome=outcome,
        subject=subject,
        body=body,
        actor=by,
        team=team,
    )
    activity.full_clean()
    activity.save()
    if kind in CONTACT_KINDS:
        contacts = Contact.objects.filter(
            Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=activity.occurred_at)
        )
        if contact is not None:
            contacts.filter(pk=contact.pk).update(last_contacted_at=activity.occurred_at, updated_at=timezone.now())
        elif deal is not None and deal.contact_id:
            contacts.filter(pk=deal.contact_id).update(
                last_contacted_at=activity.occurred_at, updated_at=timezone.now()
            )
    return activity


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
    assignee, team = resolve_owner_and_team(by=by, owner=assignee)
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


@transaction.atomic
def follow_up_complete(*, follow_up: FollowUp, by) -> FollowUp:
    follow_up.status = FollowUpStatus.DONE
    follow_up.completed_at = timezone.now()
    follow_up.save(update_fields=["status", "completed_at", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_reschedule(*, follow_up: FollowUp, by, due_at: datetime, remind_at: datetime | None = None) -> FollowUp:
    """Move a follow-up to a new time; its reminder is armed again for the new time."""
    follow_up.due_at = due_at
    follow_up.remind_at = remind_at or due_at - timedelta(minutes=follow_up.assignee.reminder_offset_minutes)
    follow_up.reminder_state = ReminderState.PENDING
    follow_up.reminder_attempts = 0
    follow_up.reminder_error = ""
    follow_up.full_clean()
    follow_up.save()
    return follow_up
