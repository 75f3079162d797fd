"""Companies and contacts one at a time (create, change, delete), and the deletion of many (an import's undo)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from core import bulk, sync
from core.services import Ownership, lock_current, save_changed
from crm import hooks
from crm.models import Company, Contact
from crm.services.records import Write, _changed_record, _full_clean, _new_record, _next_version
from webhooks import events as webhook_events


@transaction.atomic
def company_create(*, by, name: str, owner=None, team=None, tags=(), **fields) -> Company:
    company = _new_record(Company, Ownership(by), {"name": name, "owner": owner, "team": team, **fields})
    company.full_clean()
    company.save()
    if tags:
        company.tags.set(tags)
    return sync.stamp(company)


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
    _full_clean(contact)
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
    _full_clean(contact, changed=fields.keys())
    save_changed(contact, stored)
    if tags is not None:
        contact.tags.set(tags)
    sync.stamp(contact)
    webhook_events.emit("contact.updated", contact)
    return contact


@transaction.atomic
def company_delete(*, company: Company, by, expected_version: int | None = None) -> None:
    """Delete a company; refused while deals (crm.hooks) refer to it. Its contacts stay, without a company."""
    _next_version(company, expected_version)
    for dependent in hooks.dependents():
        if dependent.model.objects.filter(company_id=company.pk).exists():
            raise ValidationError(dependent.company_delete_refusal)
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
    """Delete a contact with its activities and follow-ups; its deals (crm.hooks) stay, without a contact."""
    _next_version(contact, expected_version)
    orphaned = [
        (dependent, list(dependent.model.objects.filter(contact_id=contact.pk).values_list("pk", flat=True)))
        for dependent in hooks.dependents()
    ]
    pk = contact.pk
    contact.delete()
    contact.pk = pk
    # The tombstone and the deals that lost their contact take their change numbers last (core/sync.py).
    for dependent, ids in orphaned:
        sync.stamp_many(ids, dependent.model, bump_version=True)
        for record in dependent.model.objects.filter(pk__in=ids):
            webhook_events.emit(dependent.updated_event, record)
    webhook_events.emit_deleted("contact.deleted", sync.tombstone_write(contact))


@transaction.atomic
def customers_delete_many(*, model, by, records) -> int:
    """Delete many companies or contacts as company_delete / contact_delete do, a few statements per thousand.

    Used to undo an import. Companies with deals (crm.hooks) are refused (nothing is deleted).
    Callers check `by` may edit the records, as for the one-record services.
    """
    records = sorted(records, key=lambda record: record.pk)
    ids = [record.pk for record in records]
    if not ids:
        return 0
    bulk.lock_rows(model, ids)
    if model is Company:
        for dependent in hooks.dependents():
            if dependent.model.objects.filter(company_id__in=ids).exists():
                raise ValidationError(dependent.company_delete_refusal)
        orphaned = [
            (Contact, "contact.updated", list(Contact.objects.filter(company_id__in=ids).values_list("pk", flat=True)))
        ]
    else:
        orphaned = [
            (
                dependent.model,
                dependent.updated_event,
                list(dependent.model.objects.filter(contact_id__in=ids).values_list("pk", flat=True)),
            )
            for dependent in hooks.dependents()
        ]
    for start in range(0, len(ids), 5000):
        model.objects.filter(pk__in=ids[start : start + 5000]).delete()
    # Rows that lost their company or contact, then the tombstones: numbered last (core/sync.py).
    for orphaned_model, _event, orphaned_ids in orphaned:
        sync.stamp_written(orphaned_model, orphaned_ids, bump_version=True)
    stones = sync.tombstone_write_many(model, records)
    for orphaned_model, event, orphaned_ids in orphaned:
        webhook_events.emit_many(event, orphaned_model.objects.filter(pk__in=orphaned_ids))
    if model is Contact:
        webhook_events.emit_deleted_many("contact.deleted", stones)
    return len(ids)
