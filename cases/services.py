"""Writes to support cases: open, edit, change status, solve, log work on them, delete.

Web pages, the API and the admin call these. Each write stamps the case for sync, emits its
webhook event in the same transaction (the outbox) and marks the past days whose KPI
rollups it changes as dirty.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.services import mark_dirty_for
from cases.models import Case, CasePriority, CaseStatus, response_hours
from core import sync
from core.exceptions import StaleVersionError
from core.services import Ownership, changed_columns, column_values, resolve_owner_and_team
from webhooks import events as webhook_events

# The moments of a case that KPI rollups count it on (see analytics/rollup_sql.py CASES).
_COUNTED_MOMENTS = ("created_at", "due_at", "first_response_at", "solved_at")


def due_for(*, priority: str, created_at: datetime) -> datetime:
    """When a case of `priority` opened at `created_at` must get its first response."""
    return created_at + timedelta(hours=response_hours(priority))


def _mark_days(case: Case, moments: dict, team, reason: str) -> None:
    """Mark the past team-local days of `moments` (created, due, first response, solved) for recomputing."""
    for name in _COUNTED_MOMENTS:
        mark_dirty_for(team=team, when=moments.get(name), reason=reason)


def _moments(case: Case) -> dict:
    return {name: getattr(case, name) for name in _COUNTED_MOMENTS}


@transaction.atomic
def case_create(
    *,
    by,
    contact,
    subject: str,
    description: str = "",
    priority: str = CasePriority.NORMAL,
    company=None,
    deal=None,
    owner=None,
    team=None,
    status: str = CaseStatus.NEW,
) -> Case:
    """Open a case for a customer; it is due by now plus its priority's response target.

    Without a team it joins the contact's team (the customer's team works the case); the
    owner defaults to `by`, and the ownership rule of every record applies.
    """
    if team is None and contact is not None:
        team = contact.team
    owner, team = resolve_owner_and_team(by=by, owner=owner, team=team)
    if company is None and contact is not None:
        company = contact.company
    if priority not in CasePriority.values:
        raise ValidationError({"priority": _("Choose a priority from the list.")})
    now = timezone.now()
    case = Case(
        contact=contact,
        company=company,
        deal=deal,
        subject=subject,
        description=description,
        priority=priority,
        status=CaseStatus.NEW,
        owner=owner,
        team=team,
        due_at=due_for(priority=priority, created_at=now),
    )
    case.full_clean()
    case.save()
    if status != CaseStatus.NEW:
        _set_status(case, status, now)
        case.full_clean()
        case.save(update_fields=["status", "solved_at", "closed_at", "updated_at"])
    sync.stamp(case)
    webhook_events.emit("case.created", case)
    if case.status == CaseStatus.SOLVED:
        webhook_events.emit("case.solved", case)
    return case


def _lock(case: Case, expected_version: int | None) -> Case:
    """The case re-read under a row lock; refuses the write if it changed since `expected_version`."""
    locked = Case.objects.select_for_update(of=("self",)).select_related("team", "contact").get(pk=case.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version)
    return locked


def _save(case: Case, columns: list[str]) -> Case:
    case.version = F("version") + 1
    case.save(update_fields=[*columns, "version", "updated_at"])
    case.refresh_from_db(fields=["version"])
    return case


def _set_status(case: Case, status: str, now: datetime) -> None:
    """Move `case` to `status`, keeping solved_at and closed_at in step with it."""
    if status not in CaseStatus.values:
        raise ValidationError({"status": _("Choose a status from the list.")})
    case.status = status
    if status == CaseStatus.SOLVED:
        case.solved_at = case.solved_at if case.solved_at and case.closed_at is None else now
        case.closed_at = None
    elif status == CaseStatus.CLOSED:
        # Closing an unsolved case (a duplicate, a customer gone quiet) does not count it as solved.
        case.closed_at = now
    else:  # reopened: it is no longer solved nor closed
        case.solved_at = None
        case.closed_at = None


@transaction.atomic
def case_update(*, case: Case, by, expected_version: int | None = None, **fields) -> Case:
    """Edit a case: subject, description, priority, customer, deal, owner, team, status.

    A new priority moves the due time (from the case's creation). A status change is
    applied as `case_change_status` applies it (and emits `case.solved` when it solves it).
    """
    case = _lock(case, expected_version)
    stored = column_values(case)
    before, counted_team = _moments(case), case.team
    status = fields.pop("status", None)
    owner, team = Ownership(by).change(record=case, owner=fields.get("owner"), team=fields.get("team"))
    if owner is not None:
        fields["owner"] = owner
    if team is not None:
        fields["team"] = team
    if "contact" in fields and "company" not in fields and fields["contact"].pk != case.contact_id:
        # Another customer: the case follows them to their company.
        fields["company"] = fields["contact"].company
    for name, value in fields.items():
        setattr(case, name, value)
    if "priority" in fields:
        if case.priority not in CasePriority.values:
            raise ValidationError({"priority": _("Choose a priority from the list.")})
        case.due_at = due_for(priority=case.priority, created_at=case.created_at)
    solved_now = False
    if status is not None and status != case.status:
        solved_now = status == CaseStatus.SOLVED
        _set_status(case, status, timezone.now())
    case.full_clean()
    columns = changed_columns(case, stored)
    if not columns:
        return case
    _save(case, columns)
    _mark_days(case, before, counted_team, "case changed")
    _mark_days(case, _moments(case), case.team, "case changed")
    sync.stamp(case)
    webhook_events.emit("case.updated", case)
    if solved_now:
        webhook_events.emit("case.solved", case)
    return case


@transaction.atomic
def case_change_status(
    *, case: Case, by, status: str, expected_version: int | None = None, survey_template=None
) -> Case:
    """Move a case to another status (solving stamps solved_at, closing closed_at, reopening clears both).

    Solving it with a `survey_template` also asks the customer how it went (surveys.services.survey_send).
    """
    if survey_template is not None and status != CaseStatus.SOLVED:
        raise ValidationError({"survey_template": _("A survey is sent only when the case is solved.")})
    case = case_update(case=case, by=by, expected_version=expected_version, status=status)
    if survey_template is not None:
        _send_survey(case=case, by=by, template=survey_template)
    return case


def case_solve(*, case: Case, by, expected_version: int | None = None, survey_template=None) -> Case:
    """Mark a case solved, optionally sending the customer a satisfaction survey."""
    return case_change_status(
        case=case, by=by, status=CaseStatus.SOLVED, expected_version=expected_version, survey_template=survey_template
    )


def _send_survey(*, case: Case, by, template) -> None:
    # The surveys app sits beside this one; imported here so cases work without it loaded first.
    from surveys.services import survey_send

    survey_send(by=by, contact=case.contact, deal=case.deal, case=case, template=template)


@transaction.atomic
def case_log_activity(
    *,
    case: Case,
    by,
    kind: str,
    occurred_at: datetime | None = None,
    outcome: str = "",
    subject: str = "",
    body: str = "",
):
    """Log a call, meeting, email or note on a case; the first one logged is the case's first response.

    The activity is also on the contact's (and the deal's) timeline, like any other.
    """
    from crm.services import activity_log

    case = _lock(case, None)
    activity = activity_log(
        by=by,
        kind=kind,
        occurred_at=occurred_at,
        contact=case.contact,
        company=case.company,
        deal=case.deal,
        outcome=outcome,
        subject=subject,
        body=body,
        case=case,
    )
    responded = activity.occurred_at
    if case.first_response_at is None or responded < case.first_response_at:
        before = _moments(case)
        # Work logged on a case that had none starts it: a new case is now in progress.
        columns = ["first_response_at"]
        case.first_response_at = max(responded, case.created_at)
        if case.status == CaseStatus.NEW:
            case.status = CaseStatus.IN_PROGRESS
            columns.append("status")
        _save(case, columns)
        _mark_days(case, before, case.team, "case first response")
        _mark_days(case, _moments(case), case.team, "case first response")
        sync.stamp(case)
        webhook_events.emit("case.updated", case)
    return activity


@transaction.atomic
def case_delete(*, case: Case, by, expected_version: int | None = None) -> None:
    """Delete a case (its activities stay on the customer's timeline); sync records its tombstone."""
    case = _lock(case, expected_version)
    _mark_days(case, _moments(case), case.team, "case deleted")
    pk = case.pk
    case.delete()
    case.pk = pk
    webhook_events.emit_deleted("case.deleted", sync.tombstone_write(case))
