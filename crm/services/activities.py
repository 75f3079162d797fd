"""Logging and correcting activities (calls, meetings, emails, notes) and the contact's "last contacted"."""

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analytics.services import mark_dirty_for
from core import sync
from core.services import lock_current, resolve_owner_and_team, save_changed
from crm.models import Activity, ActivityKind, Company, Contact
from crm.services.records import _apply
from webhooks import events as webhook_events

# Kinds of activity that count as contact with the customer (a note does not).
CONTACT_KINDS = {ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL}


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
    actor=None,
    team=None,
    case=None,
) -> Activity:
    """Record an activity and, for a call, meeting or email, when the customer was last contacted.

    `actor` (default `by`) is who had the contact and `team` the team it counts for (default
    the actor's first team); logging one for someone else follows the ownership rule of
    every record (core.services.Ownership): a manager for their members, an admin for anyone.
    `case` is the support case it is work on (cases.services.case_log_activity passes it).
    """
    if deal is not None and contact is None:
        contact = deal.contact
    if contact is not None and company is None:
        company = contact.company
    if deal is not None and company is None:
        company = deal.company
    actor, team = resolve_owner_and_team(by=by, owner=actor, team=team)
    activity = Activity(
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        contact=contact,
        company=company,
        deal=deal,
        outcome=outcome,
        subject=subject,
        body=body,
        actor=actor,
        team=team,
        case=case,
    )
    activity.full_clean()
    activity.save()
    # A late-logged activity changes a past day's figures: that day is rolled up again.
    mark_dirty_for(team=team, when=activity.occurred_at, reason="activity logged for a past day")
    _note_contact(activity)
    return activity


def _note_contact(activity: Activity) -> None:
    """A call, meeting or email moves its contact's "last contacted" forward (never back)."""
    if activity.kind not in CONTACT_KINDS:
        return
    touched = activity.contact_id or (activity.deal.contact_id if activity.deal_id else None)
    contacts = Contact.objects.filter(Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=activity.occurred_at))
    if touched and contacts.filter(pk=touched).update(
        last_contacted_at=activity.occurred_at, updated_at=timezone.now()
    ):
        # A synced field changed behind the services' back: new version, new place in the change order.
        sync.stamp_many([touched], Contact, bump_version=True)
        webhook_events.emit("contact.updated", Contact.objects.get(pk=touched))


@transaction.atomic
def activity_update(*, activity: Activity, by, **fields) -> Activity:
    """Correct a logged activity (its kind, time, outcome, subject, text, links, who had it, its team).

    `activity` is the record as stored. A new actor or team follows the ownership rule of
    every record; the day it counted on and the day it counts on now are rolled up again;
    a call, meeting or email moves its contact's "last contacted" forward.
    """
    stored = lock_current(activity)  # a concurrent edit of other fields is kept (see company_update)
    counted_team, counted_when = activity.team, activity.occurred_at
    actor, team = fields.get("actor"), fields.get("team")
    if (actor is not None and actor.pk != activity.actor_id) or (team is not None and team.pk != activity.team_id):
        fields["actor"], fields["team"] = resolve_owner_and_team(
            by=by, owner=actor or activity.actor, team=team or activity.team
        )
    _apply(activity, fields)
    activity.full_clean()
    save_changed(activity, stored)
    mark_dirty_for(team=counted_team, when=counted_when, reason="activity corrected")
    mark_dirty_for(team=activity.team, when=activity.occurred_at, reason="activity corrected")
    _note_contact(activity)
    return activity


@transaction.atomic
def activity_delete(*, activity: Activity, by) -> None:
    mark_dirty_for(team=activity.team, when=activity.occurred_at, reason="activity deleted")
    activity.delete()
