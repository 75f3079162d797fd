"""Tags (reference data, kept by administrators)."""

from django.db import transaction

from core import sync
from crm.models import Company, Contact, Tag
from webhooks import events as webhook_events


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
