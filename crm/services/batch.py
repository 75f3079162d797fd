"""The batch-write engine: imports and bulk upserts write thousands of companies or contacts in a few statements,
checked record by record as the one-record services check them (crm.services.records)."""

from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import bulk, sync
from core.exceptions import StaleVersionError
from core.services import Ownership
from crm.models import Company, Contact
from crm.services.records import Write, _changed_record, _new_record
from webhooks import events as webhook_events

# Columns a batch never writes on an update: identity and creation.
_NOT_UPDATED = {"id", "created_at"}

_RELATIONS = {"owner", "team", "company"}


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
