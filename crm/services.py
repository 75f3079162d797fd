"""Writes to customers, activities and follow-ups. Views, the API, tasks and commands all call these."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.selectors import follow_up_assignees
from analytics.services import mark_dirty_for, mark_dirty_since
from core import bulk, formatting, sync
from core.exceptions import StaleVersionError
from core.querysets import is_admin
from core.services import Ownership, lock_current, resolve_owner_and_team, save_changed
from crm.models import (
    Activity,
    ActivityKind,
    ActivityOutcome,
    Company,
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    ReminderState,
    Tag,
)
from webhooks import events as webhook_events

# A change to any of these is a consent change: it moves the contact's consent_updated_at.
CONSENT_FIELDS = (
    "consent_marketing",
    "consent_data_sharing",
    "consent_phone",
    "consent_whatsapp",
    "consent_email",
)

# Kinds of activity that count as contact with the customer (a note does not).
CONTACT_KINDS = {ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL}


def _apply(instance, fields: dict) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


@transaction.atomic
def company_create(*, by, name: str, owner=None, team=None, tags=(), **fields) -> Company:
    company = _new_record(Company, Ownership(by), {"name": name, "owner": owner, "team": team, **fields})
    company.full_clean()
    company.save()
    if tags:
        company.tags.set(tags)
    return sync.stamp(company)


def _stored_version(record) -> int:
    """Lock the stored row and return its version."""
    return type(record).objects.select_for_update().values_list("version", flat=True).get(pk=record.pk)


def _next_version(record, expected_version: int | None) -> int:
    """Lock the stored row and return the record's next version; refuse if it moved past `expected_version`."""
    current = _stored_version(record)
    if expected_version is not None and current != expected_version:
        raise StaleVersionError(current_version=current)
    return current + 1


@transaction.atomic
def company_update(*, company: Company, by, tags=None, expected_version: int | None = None, **fields) -> Company:
    """Change a company: `fields` are the new values, the others stay as stored.

    `company` is read again under a row lock (`lock_current`) and only the changed columns
    are written, so a concurrent edit of other fields is kept. With `expected_version`
    (an API If-Match), a company changed meanwhile is refused unchanged.
    """
    write = Write(fields=fields, record=company, expected_version=expected_version)
    stored = lock_current(company)
    _changed_record(Company, Ownership(by), write, company.version)
    company.full_clean()
    save_changed(company, stored)
    if tags is not None:
        company.tags.set(tags)
    return sync.stamp(company)


@transaction.atomic
def contact_create(*, by, first_name: str, owner=None, team=None, tags=(), **fields) -> Contact:
    """Create a contact; without a team it joins its company's team when its owner may work there."""
    contact = _new_record(Contact, Ownership(by), {"first_name": first_name, "owner": owner, "team": team, **fields})
    contact.full_clean()
    contact.save()
    if tags:
        contact.tags.set(tags)
    sync.stamp(contact)
    webhook_events.emit("contact.created", contact)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, by, tags=None, expected_version: int | None = None, **fields) -> Contact:
    """Change a contact: `fields` are the new values, the others stay as stored.

    `contact` is read again under a row lock and only the changed columns are written (see
    company_update). With `expected_version` (an API If-Match), a contact changed meanwhile
    is refused unchanged.
    """
    write = Write(fields=fields, record=contact, expected_version=expected_version)
    stored = lock_current(contact)
    _changed_record(Contact, Ownership(by), write, contact.version)
    contact.full_clean()
    save_changed(contact, stored)
    if tags is not None:
        contact.tags.set(tags)
    sync.stamp(contact)
    webhook_events.emit("contact.updated", contact)
    return contact


# ---- batches: imports and bulk upserts write thousands of customers in a few statements ----


@dataclass
class Write:
    """One record of a batch: a new one (`record` is None) or new values for a stored one.

    `fields` holds model field names with their new values (related records as objects,
    which the caller has read and checked it may use); `tags`, when not None, replaces
    the record's tags. `expected_version` refuses a record changed meanwhile (If-Match).
    """

    fields: dict
    record: Company | Contact | None = None
    tags: list | None = None
    expected_version: int | None = None


# Columns a batch never writes on an update: identity and creation.
_NOT_UPDATED = {"id", "created_at"}
_RELATIONS = {"owner", "team", "company"}


def _new_record(model, ownership: Ownership, fields: dict):
    """A new company or contact as `ownership.by` may create it (not saved, not validated)."""
    fields = dict(fields)
    owner, team = fields.pop("owner", None), fields.pop("team", None)
    if model is Contact and team is None and fields.get("company") is not None:
        # A contact joins its company's team when its owner may work there (as contact_create).
        company = fields["company"]
        if is_admin(ownership.by) or company.team_id in ownership.team_ids_of(owner or ownership.by):
            team = company.team
    owner, team = ownership.resolve(owner=owner, team=team)
    fields["owner"], fields["team"] = owner, team
    record = bulk.maker(model)(fields)
    if model is Contact and (record.consent_marketing or record.consent_data_sharing):
        record.consent_updated_at = timezone.now()
    return record


def _changed_record(model, ownership: Ownership, write: Write, stored_version: int | None):
    """`write.record` with its new values, as `ownership.by` may change it (not saved, not validated)."""
    record = write.record
    if stored_version is None:
        raise ValidationError(_("This record was deleted meanwhile."))
    if write.expected_version is not None and stored_version != write.expected_version:
        raise StaleVersionError(current_version=stored_version)
    _owner, team = ownership.change(record=record, owner=write.fields.get("owner"), team=write.fields.get("team"))
    if model is Company and team is not None and team.pk != record.team_id:
        _refuse_leaving_customers(record)
    consent_before = [getattr(record, name, None) for name in CONSENT_FIELDS]
    _apply(record, write.fields)
    if model is Contact and [getattr(record, name) for name in CONSENT_FIELDS] != consent_before:
        record.consent_updated_at = timezone.now()
    record.version = stored_version + 1
    return record


def _refuse_leaving_customers(company: Company) -> None:
    """A company moves to another team only alone: its contacts and deals must be in its team (their clean())."""
    from pipeline.models import Deal

    if Contact.objects.filter(company_id=company.pk).exists() or Deal.objects.filter(company_id=company.pk).exists():
        raise ValidationError(
            {"team": _("This company has contacts or deals in its team, so it cannot move to another team.")}
        )


def _stored_versions(model, ids: list[int], *, lock: bool) -> dict[int, int]:
    versions = {}
    for start in range(0, len(ids), 5000):
        rows = model.objects.filter(pk__any=ids[start : start + 5000]).order_by("pk")
        if lock:
            rows = rows.select_for_update()
        versions.update(rows.values_list("pk", "version"))
    return versions


def _reread_changed(model, writes: list[Write], versions: dict[int, int]) -> None:
    """Bring the stored records another writer changed since the caller read them up to date, in place.

    Their rows are locked by now, so what is read is what the batch writes over. Every write
    bumps a record's version: a copy with the stored version is current and is not read again
    (a batch usually asks no query here). Without this a batch would write back, from its old
    copy, columns another writer changed meanwhile (the batch writes the same columns for all
    its records: any a write sets, and the derived ones).
    """
    stale: dict[int, list] = {}
    for write in writes:
        record = write.record
        if record is not None and record.pk in versions and versions[record.pk] != record.version:
            stale.setdefault(record.pk, []).append(record)
    names = [field.attname for field in model._meta.concrete_fields]
    ids = sorted(stale)
    for start in range(0, len(ids), 5000):
        for row in model.objects.filter(pk__any=ids[start : start + 5000]).values(*names):
            for record in stale[row[model._meta.pk.attname]]:
                for name in names:
                    setattr(record, name, row[name])


def _external_id_conflicts(model, records: dict[int, object]) -> dict[int, ValidationError]:
    """Errors for records whose (external_source, external_id) another record holds, in the batch or stored."""
    if model is Contact:
        taken = _("Another contact already has this external id.")
    else:
        taken = _("Another company already has this external id.")
    errors, seen = {}, {}
    keys = {}
    for index, record in records.items():
        if not record.external_id:
            continue
        key = (record.external_source, record.external_id)
        if key in seen:
            errors[index] = ValidationError({"external_id": taken})
            continue
        seen[key] = index
        keys[key] = record.pk
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    for source, external_ids in by_source.items():
        for start in range(0, len(external_ids), 5000):
            stored = model.objects.filter(external_source=source, external_id__any=external_ids[start : start + 5000])
            stored = stored.exclude(external_id="")  # so the partial unique index on the keys serves (see crm.api.bulk)
            for pk, external_id in stored.values_list("pk", "external_id"):
                if keys[(source, external_id)] != pk:
                    errors[seen[(source, external_id)]] = ValidationError({"external_id": taken})
    return errors


def _write_tags(model, records_and_tags) -> None:
    """Replace the tags of the records given a tag list (new records: add them), in two statements per model."""
    through = model.tags.through
    owner_column = f"{model._meta.model_name}_id"
    replaced = [record.pk for record, tags in records_and_tags if tags is not None]
    if not replaced:
        return
    for start in range(0, len(replaced), 5000):
        through.objects.filter(**{f"{owner_column}__in": replaced[start : start + 5000]}).delete()
    rows = [
        through(**{owner_column: record.pk, "tag_id": tag.pk})
        for record, tags in records_and_tags
        if tags
        for tag in {tag.pk: tag for tag in tags}.values()
    ]
    through.objects.bulk_create(rows, batch_size=bulk.BATCH)


def _lock_companies(ids) -> None:
    """Share-lock companies against deletion and key changes (what a foreign-key check takes), in id order."""
    ids = sorted(set(ids))
    if ids and connection.vendor == "postgresql":
        table = connection.ops.quote_name(Company._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", [ids])


def customers_write_many(*, model, by, writes: list[Write], check_only: bool = False, progress=None) -> list:
    """Create or change many companies or contacts; one result per write, in order: the record or its error.

    Every write is checked as the one-record services check it (who may own it, in which
    team, field values, versions, external ids); the valid ones are then written in a few
    set-based statements, stamped for sync in one go and announced to webhook subscribers.
    With `check_only` nothing is written (an import's preview). Callers wanting all or
    nothing (an import) look at the results and roll back; the API writes the valid ones.
    Runs in the caller's transaction, or its own. `progress(done, total)` is called as it
    goes (it may raise to stop everything).
    """
    with bulk.collecting_at_end(), transaction.atomic():
        return _write_many(model, by, writes, check_only, progress or (lambda done, total: None))


def _write_many(model, by, writes: list[Write], check_only: bool, progress) -> list:
    ownership = Ownership(by)
    update_ids = sorted({write.record.pk for write in writes if write.record is not None})
    versions = _stored_versions(model, update_ids, lock=not check_only)
    if not check_only:
        _reread_changed(model, writes, versions)
    results: list = [None] * len(writes)
    valid: dict[int, object] = {}
    # Checked: the fields a write sets, the name derived from them (normalizing can lengthen it),
    # and on a new record the required fields without a default. What a write leaves at its
    # default or stored value was valid already; related records come checked by the caller
    # (validating them again would ask one query each).
    names = {field.name for field in model._meta.fields}
    relations = {field.name for field in model._meta.fields if field.is_relation}
    required = {
        field.name
        for field in model._meta.fields
        if not field.blank and field.editable and not field.is_relation and not field.has_default()
    }
    for index, write in enumerate(writes):
        if index % 5000 == 0:
            progress(index, 2 * len(writes))
        try:
            if write.record is None:
                record = _new_record(model, ownership, write.fields)
            else:
                record = _changed_record(model, ownership, write, versions.get(write.record.pk))
            record.derive()
            checked = (
                write.fields.keys() | {"name_normalized"} | (required if write.record is None else set())
            ) - relations
            record.full_clean(exclude=names - checked, validate_unique=False, validate_constraints=False)
        except (ValidationError, StaleVersionError) as error:
            results[index] = error
            continue
        valid[index] = record
    for index, error in _external_id_conflicts(model, valid).items():
        results[index] = error
        del valid[index]
    for index, record in valid.items():
        results[index] = record
    if check_only or not valid:
        return results

    now = timezone.now()
    created = [record for index, record in valid.items() if writes[index].record is None]
    changed = sorted(
        (record for index, record in valid.items() if writes[index].record is not None), key=attrgetter("pk")
    )
    for record in created:
        record.created_at = record.updated_at = now
    for record in changed:
        record.updated_at = now
    progress(len(writes), 2 * len(writes))
    # The change numbers go in with the rows, so no row is written twice. Taking them locks the
    # counter until commit (core/sync.py), and a writer holding it must never wait for a row: the
    # changed rows are locked already, and the companies the rows refer to are locked now, which
    # their foreign-key checks at commit would otherwise do, counter in hand.
    _lock_companies([record.company_id for record in created + changed if getattr(record, "company_id", None)])
    first = sync.take_change_seq(len(created) + len(changed))
    for offset, record in enumerate(changed + created):
        record.change_seq = first + offset
    bulk.insert_rows(model, created)
    progress(len(writes) + len(created), 2 * len(writes))
    if changed:
        fields = {"version", "updated_at", "name_normalized", "change_seq"}
        if model is Contact:
            fields |= {"email", "consent_updated_at"}
        for index in valid:
            if writes[index].record is not None:
                fields |= set(writes[index].fields)
        if "phone_raw" in fields:
            fields |= {"phone", "phone_verified"}
        bulk.update_rows(model, changed, sorted(fields - _NOT_UPDATED))
    _write_tags(model, [(record, writes[index].tags) for index, record in valid.items()])
    if model is Contact:
        webhook_events.emit_many("contact.created", created)
        webhook_events.emit_many("contact.updated", changed)
    return results


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
) -> Activity:
    """Record an activity and, for a call, meeting or email, when the customer was last contacted.

    `actor` (default `by`) is who had the contact and `team` the team it counts for (default
    the actor's first team); logging one for someone else follows the ownership rule of
    every record (core.services.Ownership): a manager for their members, an admin for anyone.
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
    if not _can_assign_follow_up(by=by, assignee=assignee):
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
    follow_up.save(update_fields=["status", "completed_at", "updated_at"])
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
    follow_up.save()
    return follow_up


def follow_up_snooze(*, follow_up: FollowUp, by, now: datetime | None = None) -> FollowUp:
    """Push a follow-up to tomorrow at 09:00 in `by`'s time zone (My day's and the list's one-click "Tomorrow")."""
    from datetime import time

    from core.i18n import user_zone

    zone = user_zone(by)
    tomorrow = timezone.localtime(now or timezone.now(), zone).date() + timedelta(days=1)
    due_at = datetime.combine(tomorrow, time(9, 0), tzinfo=zone)
    return follow_up_reschedule(follow_up=follow_up, by=by, due_at=due_at)


def _can_assign_follow_up(*, by, assignee) -> bool:
    """A follow-up may go to oneself, a teammate, anyone in a team one manages, or anyone (admin)."""
    if assignee.pk == by.pk or is_admin(by):
        return True
    return follow_up_assignees(user=by).filter(pk=assignee.pk).exists()


@transaction.atomic
def follow_up_reassign(*, follow_up: FollowUp, by, assignee) -> FollowUp:
    """Hand a follow-up to someone else; its reminder is armed again for them."""
    if not _can_assign_follow_up(by=by, assignee=assignee):
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
    follow_up.save()
    return follow_up


@transaction.atomic
def follow_up_reopen(*, follow_up: FollowUp, by) -> FollowUp:
    # Done on a past day: that day's "done" and the "overdue" of every day since change.
    _follow_up_days_dirty(follow_up, since=follow_up.completed_at, reason="follow-up reopened")
    follow_up.status = FollowUpStatus.OPEN
    follow_up.completed_at = None
    follow_up.save(update_fields=["status", "completed_at", "updated_at"])
    return follow_up


# ---- follow-ups Safqa schedules by itself: going cold, after the sale ----


def _morning_after(moment: datetime, *, hour: int) -> datetime:
    """The next `hour`:00 in the active time zone at or after `moment`."""
    from datetime import time

    local = timezone.localtime(moment)
    candidate = timezone.make_aware(datetime.combine(local.date(), time(hour)))
    if candidate < moment:
        candidate = timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time(hour)))
    return candidate


def _customer_name(deal) -> str:
    return str(deal.company or deal.contact or deal.title)


def going_cold_follow_ups_create(*, now: datetime | None = None) -> list[FollowUp]:
    """Give each going-cold customer's deal owner a follow-up, unless one is already open.

    Nightly. "Already open" means any open follow-up on the deal, its company or
    its contact, whoever it is for: someone already plans to call. Safe to run
    twice, also at the same time: each customer is checked and served under a
    lock on its row, so the second run finds the first one's follow-up.
    Returns the follow-ups created.
    """
    from django.utils.translation import ngettext

    from core.i18n import user_locale
    from pipeline.models import Deal
    from pipeline.selectors import quiet_open_deals

    now = now or timezone.now()
    created = []
    # The same rule as My day (one selector), for every active owner's open deals.
    for deal in quiet_open_deals(deals=Deal.objects.filter(owner__is_active=True), now=now):
        with transaction.atomic():
            if deal.company_id:
                Company.objects.select_for_update().filter(pk=deal.company_id).first()
            elif deal.contact_id:
                Contact.objects.select_for_update().filter(pk=deal.contact_id).first()
            else:
                Deal.objects.select_for_update().filter(pk=deal.pk).first()
            customer_q = Q(deal_id=deal.pk)
            if deal.company_id:
                customer_q |= Q(company_id=deal.company_id)
            if deal.contact_id:
                customer_q |= Q(contact_id=deal.contact_id)
            if FollowUp.objects.filter(customer_q, status=FollowUpStatus.OPEN).exists():
                continue
            owner = deal.owner
            with user_locale(owner):
                subject = _("Get back in touch with %(customer)s") % {
                    "customer": formatting.isolate(_customer_name(deal))
                }
                notes = ngettext(
                    "No contact for %(days)d day on the deal “%(deal)s”.",
                    "No contact for %(days)d days on the deal “%(deal)s”.",
                    deal.quiet_days,
                ) % {"days": deal.quiet_days, "deal": formatting.isolate(deal.title)}
                due_at = _morning_after(now, hour=9)
            try:
                follow_up = follow_up_schedule(
                    by=owner,
                    assignee=owner,
                    subject=subject[:200],
                    notes=notes,
                    due_at=due_at,
                    deal=deal,
                    contact=deal.contact,
                    company=deal.company,
                    kind=FollowUpKind.GOING_COLD,
                )
            except ValidationError:
                # An owner outside every team cannot hold follow-ups; the deal still shows on the managers' pages.
                continue
            created.append(follow_up)
    return created


def _won_at(deal) -> datetime:
    """When the deal was won: its last entry into a won stage from a stage that was not won.

    Moving between two won stages is not a new win, so it does not move the check-ins.
    """
    from pipeline.models import StageChange, StageKind

    change = (
        StageChange.objects.filter(deal=deal, to_stage__kind=StageKind.WON)
        .exclude(from_stage__kind=StageKind.WON)
        .order_by("-at", "-pk")
        .first()
    )
    return change.at if change else (deal.closed_at or timezone.now())


@transaction.atomic
def after_sale_checkins_schedule(*, deal, by=None) -> list[FollowUp]:
    """Schedule the after-sale check-ins of a won deal for its owner; returns those created.

    One follow-up per day count of the deal's pipeline (`Pipeline.checkin_days()`,
    default 7 and 30), due at 10:00 in the owner's time zone that many days after
    the win. Idempotent: a check-in already scheduled for this win is not added again.
    Called by pipeline.services.deal_move_to_stage when a deal enters a won stage, after
    the StageChange of that move is recorded (the win's time is read from the history).
    """
    from datetime import time

    from django.utils.translation import ngettext

    from core.i18n import user_locale
    from pipeline.models import Deal, StageKind

    deal = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("pipeline", "stage", "owner", "company", "contact")
        .get(pk=deal.pk)
    )
    if deal.stage.kind != StageKind.WON:
        raise ValueError("after-sale check-ins are for won deals")
    owner = deal.owner
    scheduler = by if by is not None and _can_assign_follow_up(by=by, assignee=owner) else owner
    created = []
    with user_locale(owner):
        won_day = timezone.localtime(_won_at(deal)).date()
        for days in deal.pipeline.checkin_days():
            due_at = timezone.make_aware(datetime.combine(won_day + timedelta(days=days), time(10)))
            if FollowUp.objects.filter(deal=deal, kind=FollowUpKind.AFTER_SALE, due_at=due_at).exists():
                continue
            subject = ngettext(
                "After-sale check-in with %(customer)s, %(days)d day after the sale",
                "After-sale check-in with %(customer)s, %(days)d days after the sale",
                days,
            ) % {"customer": formatting.isolate(_customer_name(deal)), "days": days}
            try:
                follow_up = follow_up_schedule(
                    by=scheduler,
                    assignee=owner,
                    subject=subject[:200],
                    notes=_("Won deal: %(deal)s") % {"deal": formatting.isolate(deal.title)},
                    due_at=due_at,
                    deal=deal,
                    contact=deal.contact,
                    company=deal.company,
                    kind=FollowUpKind.AFTER_SALE,
                )
            except ValidationError:
                # Winning the deal must not fail because its owner left every team.
                continue
            created.append(follow_up)
    return created


# ---- deletions and edits the REST API makes (the only delete path: sync records tombstones here) ----


@transaction.atomic
def company_delete(*, company: Company, by, expected_version: int | None = None) -> None:
    """Delete a company; refused while deals refer to it. Its contacts stay, without a company."""
    _next_version(company, expected_version)
    if company.deals.exists():
        raise ValidationError(
            _("This company has deals. Delete or move its deals to another company before deleting it.")
        )
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    pk = company.pk
    company.delete()
    company.pk = pk
    # Its contacts lost their company: a change syncing clients must receive, after the rows are written.
    sync.stamp_many(contact_ids, Contact, bump_version=True)
    for contact in Contact.objects.filter(pk__in=contact_ids):
        webhook_events.emit("contact.updated", contact)
    sync.tombstone_write(company)


@transaction.atomic
def contact_delete(*, contact: Contact, by, expected_version: int | None = None) -> None:
    """Delete a contact with its activities and follow-ups; its deals stay, without a contact."""
    from pipeline.models import Deal

    _next_version(contact, expected_version)
    deal_ids = list(contact.deals.values_list("pk", flat=True))
    pk = contact.pk
    contact.delete()
    contact.pk = pk
    # The tombstone and the deals that lost their contact take their change numbers last (core/sync.py).
    sync.stamp_many(deal_ids, Deal, bump_version=True)
    for deal in Deal.objects.filter(pk__in=deal_ids):
        webhook_events.emit("deal.updated", deal)
    webhook_events.emit_deleted("contact.deleted", sync.tombstone_write(contact))


@transaction.atomic
def customers_delete_many(*, model, by, records) -> int:
    """Delete many companies or contacts as company_delete / contact_delete do, a few statements per thousand.

    Used to undo an import. Companies with deals are refused (nothing is deleted).
    Callers check `by` may edit the records, as for the one-record services.
    """
    from pipeline.models import Deal

    records = sorted(records, key=lambda record: record.pk)
    ids = [record.pk for record in records]
    if not ids:
        return 0
    bulk.lock_rows(model, ids)
    if model is Company:
        if Deal.objects.filter(company_id__in=ids).exists():
            raise ValidationError(
                _("This company has deals. Delete or move its deals to another company before deleting it.")
            )
        orphaned_model, orphaned = (
            Contact,
            list(Contact.objects.filter(company_id__in=ids).values_list("pk", flat=True)),
        )
    else:
        orphaned_model, orphaned = Deal, list(Deal.objects.filter(contact_id__in=ids).values_list("pk", flat=True))
    for start in range(0, len(ids), 5000):
        model.objects.filter(pk__in=ids[start : start + 5000]).delete()
    # Rows that lost their company or contact, then the tombstones: numbered last (core/sync.py).
    sync.stamp_written(orphaned_model, orphaned, bump_version=True)
    stones = sync.tombstone_write_many(model, records)
    event = "contact.updated" if orphaned_model is Contact else "deal.updated"
    webhook_events.emit_many(event, orphaned_model.objects.filter(pk__in=orphaned))
    if model is Contact:
        webhook_events.emit_deleted_many("contact.deleted", stones)
    return len(ids)


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
            follow_up.save(update_fields=["status", "completed_at", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_delete(*, follow_up: FollowUp, by) -> None:
    follow_up.delete()


# ---- tags (reference data, kept by administrators) ----


@transaction.atomic
def tag_create(*, by, name: str) -> Tag:
    tag = Tag(name=name)
    tag.full_clean()
    tag.save()
    return tag


@transaction.atomic
def tag_update(*, tag: Tag, by, name: str) -> Tag:
    """Rename a tag (records carry tags by id: they do not change)."""
    tag.name = name
    tag.full_clean()
    tag.save()
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag, by) -> None:
    """Delete a tag. The companies and contacts that wore it lose it: a change syncing clients and subscribers receive."""
    company_ids = list(tag.companies.values_list("pk", flat=True))
    contact_ids = list(tag.contacts.values_list("pk", flat=True))
    tag.delete()
    # Numbered last (core/sync.py), as every service does.
    sync.stamp_many(company_ids, Company, bump_version=True)
    sync.stamp_many(contact_ids, Contact, bump_version=True)
    webhook_events.emit_many("contact.updated", Contact.objects.filter(pk__in=contact_ids))


# ---- finishing a follow-up in one step (My day's "Done" panel) ----

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
