"""How one company or contact is made and changed as a user may: the rules the one-record services
(crm.services.customers) and the batch engine (crm.services.batch) share."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import bulk
from core.exceptions import StaleVersionError
from core.querysets import is_admin
from core.services import Ownership
from crm import hooks
from crm.models import Company, Contact

# A change to any of these is a consent change: it moves the contact's consent_updated_at.
CONSENT_FIELDS = (
    "consent_marketing",
    "consent_data_sharing",
    "consent_phone",
    "consent_whatsapp",
    "consent_email",
)


def _apply(instance, fields: dict) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


def _stored_version(record) -> int:
    """Lock the stored row and return its version."""
    return type(record).objects.select_for_update().values_list("version", flat=True).get(pk=record.pk)


def _next_version(record, expected_version: int | None) -> int:
    """Lock the stored row and return the record's next version; refuse if it moved past `expected_version`."""
    current = _stored_version(record)
    if expected_version is not None and current != expected_version:
        raise StaleVersionError(current_version=current)
    return current + 1


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


# The external-id uniqueness of companies and contacts holds only for rows that have one.
_ONLY_WITH_EXTERNAL_ID = ~Q(external_id="")


def _full_clean(record, *, changed=None) -> None:
    """record.full_clean() without the queries that cannot find anything.

    `changed`: the fields a change of a stored record sets (None for a new record). Skipped: the
    existence check of a foreign key whose record this write holds as read from the database (the
    caller read and checked it, as the batch engine's callers do) or that a change leaves as stored
    (it was valid, and the database's foreign key keeps it so); a uniqueness constraint none of
    whose fields a change sets (the stored row met it, and the unique index keeps it so); and the
    external-id uniqueness when the record has no external id (the constraint covers only rows with
    one). Everything else is checked as full_clean() checks it, the model's clean() included.
    """
    exclude = {
        field.name
        for field in record._meta.concrete_fields
        if field.is_relation and ((changed is not None and field.name not in changed) or _holds_stored(record, field))
    }
    blank_id = hasattr(record, "external_id") and not record.external_id

    def needed(constraint) -> bool:
        fields = getattr(constraint, "fields", ())
        if changed is not None and fields and not set(fields) & set(changed):
            return False
        return not (blank_id and getattr(constraint, "condition", None) == _ONLY_WITH_EXTERNAL_ID)

    record.full_clean(exclude=exclude, validate_constraints=any(needed(c) for c in record._meta.constraints))


def _holds_stored(record, field) -> bool:
    """True when `record` holds the related record of `field` as read from the database."""
    if not field.is_cached(record):
        return False
    related = field.get_cached_value(record)
    return (
        related is not None
        and not related._state.adding
        and related.pk is not None
        and related.pk == getattr(record, field.attname)
    )


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
    """A company moves to another team only alone: its contacts and deals must be in its team (their clean()).

    Deals, and any other app's records of a company, are those registered in crm.hooks.
    """
    if Contact.objects.filter(company_id=company.pk).exists() or any(
        dependent.model.objects.filter(company_id=company.pk).exists() for dependent in hooks.dependents()
    ):
        raise ValidationError(
            {"team": _("This company has contacts or deals in its team, so it cannot move to another team.")}
        )
