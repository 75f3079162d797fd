"""Writes of transfers: imports (upload, read, preview, confirm, run, cancel, undo, remembered mappings) and merges
of duplicates (merge, undo). Views, the API, tasks and commands call these.

The import engine that plans and checks rows is transfers.importing (Importer); the merge's tables
(which fields, which related rows) are transfers.merging; finding duplicates is transfers.duplicates (reads).
"""

import json
import logging

from django.core import serializers
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from core import formatting, sync
from core.i18n import user_locale
from core.services import resolve_owner_and_team
from crm import services as crm_services
from crm.models import Activity, ActivityKind, Company, Contact
from transfers.importing import (
    FIELDS,
    Cancelled,
    Importer,
    Outcome,
    _from_json,
    cancel_key,
    guess_mapping,
    header_signature,
    set_progress,
)
from transfers.merging import MERGE_FIELDS, MODELS, RELATED
from transfers.models import ImportJob, ImportStatus, Merge, SavedMapping

logger = logging.getLogger(__name__)


# Imports ----------------------------------------------------------------------


def save_mapping(*, user, kind: str, headers: list[str], mapping: dict) -> None:
    SavedMapping.objects.update_or_create(
        owner=user, kind=kind, signature=header_signature(headers), defaults={"mapping": mapping}
    )


def _new_job(*, by, kind: str, file_name: str, team, source: str) -> ImportJob:
    """A new import job of `by` (unsaved): in `team`, else in their first team (the ownership rule)."""
    if team is None:
        _owner, team = resolve_owner_and_team(by=by)
    return ImportJob(owner=by, team=team, kind=kind, file_name=file_name[:255], source=source or "import")


def import_create(*, by, kind: str, file_name: str, data: bytes, team=None, source: str = "import") -> ImportJob:
    """Read a file into a new job with a guessed mapping, here and now; raises FileProblem if unreadable.

    For the command line and scripts. The web keeps the upload with import_upload and the
    worker reads it: reading a large or crafted file takes the time of a worker, not of a request.
    """
    from transfers.readers import read_table

    headers, rows = read_table(data)
    job = _new_job(by=by, kind=kind, file_name=file_name, team=team, source=source)
    job.headers, job.rows, job.row_count = headers, rows, len(rows)
    job.mapping = guess_mapping(kind=kind, headers=headers, user=by)
    job.full_clean()
    job.save()
    return job


def import_upload(*, by, kind: str, file_name: str, data: bytes, team=None, source: str = "import") -> ImportJob:
    """Keep an uploaded file in a new job and have the worker read and preview it (transfers.tasks.read_import).

    Only the checks that cost nothing whatever the file holds (size, empty, a zip's directory)
    run here and raise FileProblem; what the file holds is refused by the worker, in the job.
    """
    from transfers.readers import check_upload
    from transfers.tasks import read_import

    check_upload(data)
    job = _new_job(by=by, kind=kind, file_name=file_name, team=team, source=source)
    job.status, job.upload = ImportStatus.READING, data
    job.full_clean(exclude=["upload"])
    job.save()
    transaction.on_commit(lambda: read_import.delay(job.pk))
    return job


def import_remap(*, job: ImportJob, by, mapping: dict, remember: bool = False) -> ImportJob:
    """A new column mapping for a previewed job: the worker checks every row again with it."""
    from transfers.tasks import read_import

    job.mapping = {k: v for k, v in mapping.items() if v in FIELDS[job.kind]}
    if remember:
        save_mapping(user=by, kind=job.kind, headers=job.headers, mapping=job.mapping)
    job.status = ImportStatus.READING
    job.save(update_fields=["mapping", "status", "updated_at"])
    transaction.on_commit(lambda: read_import.delay(job.pk))
    return job


def import_read(*, job_id: int) -> ImportJob | None:
    """The worker's part of an upload: read the kept file (refusing it with the reason), then preview it.

    Runs again with the job's new mapping after import_remap. Safe to run twice: only a job
    still reading is touched.
    """
    from transfers.readers import FileProblem, read_table

    job = ImportJob.objects.select_related("owner").filter(pk=job_id, status=ImportStatus.READING).first()
    if job is None:
        return None
    # Refusals and row errors in the owner's language: the worker has none of its own.
    with user_locale(job.owner):
        table = None  # None: read before, only the preview runs again (a new mapping)
        if job.upload is not None:
            try:
                table = read_table(bytes(job.upload))
            except FileProblem as problem:
                return _refuse(job, problem.message)
            except Exception:  # a file no check foresaw: the member gets a message, not a job reading forever
                logger.exception("Import %s: the file could not be read", job.pk)
                return _refuse(
                    job, gettext("The text of this file could not be read: save it as CSV (UTF-8) and try again.")
                )
        try:
            if table is not None:
                (job.headers, job.rows), job.upload = table, None
                job.row_count = len(job.rows)
                job.mapping = guess_mapping(kind=job.kind, headers=job.headers, user=job.owner)
                job.save(update_fields=["headers", "rows", "row_count", "upload", "mapping", "updated_at"])
            import_preview(job=job, by=job.owner)
        except Exception:  # the worker's time limit, or a failure no check foresaw: never a job reading forever
            logger.exception("Import %s: the file could not be checked", job.pk)
            return _refuse(job, gettext("The file could not be checked. Nothing was imported: upload it again."))
    return job


def _refuse(job: ImportJob, message: str) -> ImportJob:
    job.status, job.message, job.upload, job.finished_at = ImportStatus.REFUSED, message, None, timezone.now()
    job.save(update_fields=["status", "message", "upload", "finished_at", "updated_at"])
    return job


def import_preview(*, job: ImportJob, by, mapping: dict | None = None, remember: bool = False) -> Outcome:
    """Dry run: what the import would do, every row error; changes nothing but the job's preview."""
    if mapping is not None:
        job.mapping = {k: v for k, v in mapping.items() if v in FIELDS[job.kind]}
        if remember:
            save_mapping(user=by, kind=job.kind, headers=job.headers, mapping=job.mapping)
    outcome = Importer(job, user=by).run(dry_run=True)
    job.summary, job.errors = outcome.summary(), outcome.errors
    job.status = ImportStatus.PREVIEWED
    job.save(update_fields=["mapping", "summary", "errors", "status", "updated_at"])
    return outcome


def import_confirm(*, job: ImportJob, by, skip_failing: bool) -> ImportJob:
    """Queue a previewed import, all or nothing or skipping the failing rows; raises ValidationError when it cannot be."""
    if job.status != ImportStatus.PREVIEWED:
        raise ValidationError(gettext("This import was confirmed already."))
    errors = job.summary.get("errors", 0)
    if errors and not skip_failing:
        raise ValidationError(
            gettext(
                "Nothing is imported all or nothing while a row fails: fix the rows with errors first, "
                "or choose to import the valid rows and skip the failing ones."
            )
        )
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PREVIEWED).update(
        status=ImportStatus.QUEUED, skip_failing=skip_failing, updated_at=timezone.now()
    )
    if not updated:  # confirmed twice at once: the other request queued it
        raise ValidationError(gettext("This import was confirmed already."))
    job.status, job.skip_failing = ImportStatus.QUEUED, skip_failing
    from transfers.tasks import run_import

    set_progress(job.pk, 0, job.row_count)
    transaction.on_commit(lambda: run_import.delay(job.pk))
    return job


def import_run(*, job_id: int) -> ImportJob:
    """The confirmed import, in one transaction: all rows or nothing, or the valid rows with the failing ones skipped."""
    job = ImportJob.objects.select_related("owner").get(pk=job_id)
    if job.status not in (ImportStatus.QUEUED, ImportStatus.PREVIEWED):
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    set_progress(job.pk, 0, len(job.rows))
    try:
        # Row errors and messages in the owner's language: the worker has none of its own.
        with user_locale(job.owner):
            outcome = Importer(job, user=job.owner).run(dry_run=False, progress=True)
    except Cancelled:
        job.status, job.message = ImportStatus.CANCELLED, ""
    except DatabaseError:
        # The database refused the file's transaction (a deadlock with another writer, or a key another
        # write took meanwhile); it was rolled back whole.
        job.status = ImportStatus.FAILED
        with user_locale(job.owner):
            job.message = gettext(
                "The import could not be saved because other changes were being saved at the same time. "
                "Nothing was imported: start it again."
            )
    else:
        job.summary, job.errors = outcome.summary(), outcome.errors
        if outcome.errors and not job.skip_failing:
            job.status = ImportStatus.FAILED
        else:  # the failing rows, if any, were skipped: they stay in job.errors for errors.csv
            job.status, job.created, job.snapshots = ImportStatus.DONE, outcome.created_ids, outcome.snapshots
    set_progress(job.pk, len(job.rows), len(job.rows))
    cache.delete(cancel_key(job.pk))
    job.finished_at = timezone.now()
    # Not the file's rows, which did not change (writing them again takes seconds for a large file).
    job.save(
        update_fields=["status", "message", "summary", "errors", "created", "snapshots", "finished_at", "updated_at"]
    )
    return job


def import_cancel(*, job: ImportJob) -> None:
    cache.set(cancel_key(job.pk), True, 24 * 3600)


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


@transaction.atomic
def import_undo(*, job: ImportJob, by) -> ImportJob:
    """Delete what the import created and restore what it updated, unless any of it was edited since."""
    if job.status != ImportStatus.DONE:
        raise ValidationError(gettext("Only a finished import can be undone."))
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    # A file may touch one record on several rows: the last version it left is what must still
    # be stored, and the fields before its first change are what comes back.
    last_version, first_fields = {}, {}
    for snap in job.snapshots:
        key = (snap["model"], snap["pk"])
        last_version[key] = snap["version"]
        first_fields.setdefault(key, snap["fields"])
    created = {(label, pk) for label, pk in job.created}
    edited_since = gettext(
        "This import cannot be undone: some of its records were edited after it. "
        "Undo those edits first or fix the records by hand."
    )
    versions = {}
    for label in {label for label, _pk in set(last_version) | created}:
        model = _model(label)
        if hasattr(model, "version"):
            pks = [pk for other, pk in set(last_version) | created if other == label]
            for start in range(0, len(pks), 5000):
                rows = model.objects.filter(pk__in=pks[start : start + 5000]).values_list("pk", "version")
                versions.update({(label, pk): version for pk, version in rows})
    for key, version in versions.items():
        if version != last_version.get(key, 1):
            raise ValidationError(edited_since)
    # What it updated gets its fields back, through the same batch service as the import.
    for label, model in (("crm.company", Company), ("crm.contact", Contact)):
        keys = [key for key in first_fields if key[0] == label and key not in created]
        related = ["company"] if model is Contact else []  # its team is checked against the contact's
        records = {}
        for start in range(0, len(keys), 5000):
            chunk = [pk for _label, pk in keys[start : start + 5000]]
            records.update(
                (record.pk, record) for record in model.objects.select_related(*related).filter(pk__any=chunk)
            )
        writes = [
            crm_services.Write(fields=first_fields[key], record=records[key[1]]) for key in keys if key[1] in records
        ]
        for result in crm_services.customers_write_many(model=model, by=by, writes=writes):
            if not isinstance(result, model):
                raise ValidationError(edited_since)
    # Deals first, then contacts, then companies: deals protect their company.
    from pipeline.models import Deal
    from pipeline.services import deal_delete, deal_update

    # Deals it updated (matched by external id) get their fields back, one by one as written.
    deal_keys = [key for key in first_fields if key[0] == "pipeline.deal" and key not in created]
    for deal in Deal.objects.filter(pk__in=[pk for _label, pk in deal_keys]):
        deal_update(deal=deal, by=by, **_from_json(first_fields[("pipeline.deal", deal.pk)]))

    for deal in Deal.objects.filter(pk__in=[pk for label, pk in created if label == "pipeline.deal"]):
        deal_delete(deal=deal, by=by)
    for label, model in (("crm.contact", Contact), ("crm.company", Company)):
        pks = [pk for other, pk in created if other == label]
        records = [
            record
            for start in range(0, len(pks), 5000)
            for record in model.objects.filter(pk__in=pks[start : start + 5000])
        ]
        # Through the batch delete service, so syncing clients get the tombstones and webhooks fire.
        crm_services.customers_delete_many(model=model, by=by, records=records)
    job.status = ImportStatus.UNDONE
    job.save(update_fields=["status", "updated_at"])
    return job


# Merges -----------------------------------------------------------------------


def _json_default(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _stamp_moved(moved) -> None:
    """Give moved deals and contacts (synced models) new places in the change order."""
    from django.apps import apps

    ids_by_label = {}
    for label, _field, pk, _old in moved:
        ids_by_label.setdefault(label, set()).add(pk)
    for label, ids in sorted(ids_by_label.items()):
        related = apps.get_model(label)
        if hasattr(related, "change_seq"):
            sync.stamp_many(ids, related)


def _move(queryset, field: str, value) -> None:
    changes = {field: value}
    if hasattr(queryset.model, "version"):
        changes["version"] = F("version") + 1
    queryset.update(**changes, updated_at=timezone.now())


@transaction.atomic
def merge_records(*, by, kind: str, survivor_id: int, other_ids: list[int], choices: dict | None = None) -> Merge:
    """Merge `other_ids` into `survivor_id`; `choices` maps a field to the id of the record whose value survives."""
    model = MODELS[kind]
    other_ids = [int(pk) for pk in other_ids if int(pk) != int(survivor_id)]
    if not other_ids:
        raise ValidationError(gettext("Choose at least two records to merge."))
    editable = model.objects.editable_by(by).select_for_update()
    records = {record.pk: record for record in editable.filter(pk__in=[survivor_id, *other_ids])}
    if len(records) != len(other_ids) + 1:
        raise ValidationError(gettext("You can only merge records you may edit."))
    if len({record.team_id for record in records.values()}) > 1:
        # The others' contacts, deals and history would move onto a record of another team, past
        # the rule every write is held to (core.services.Ownership.check; a contact or deal is in
        # its company's team). Moving a record into one team first goes through that rule.
        raise ValidationError(gettext("Records of different teams cannot be merged. Move them into one team first."))
    survivor = records[int(survivor_id)]
    others = [records[pk] for pk in other_ids]

    before = {name: getattr(survivor, name) for name in MERGE_FIELDS[kind]}
    # The "python" form, JSON-encoded here: Django's JSON serializer drops microseconds, undo must not.
    merged_rows = json.loads(json.dumps(serializers.serialize("python", others), default=_json_default))
    moved = []
    for related, field in RELATED[kind]:
        for pk, old in related.objects.filter(**{f"{field}__in": other_ids}).values_list("pk", field):
            moved.append([related._meta.label_lower, field, pk, old])
        _move(related.objects.filter(**{f"{field}__in": other_ids}), field, survivor.pk)
    tags_before = set(survivor.tags.values_list("pk", flat=True))
    tags_added = sorted(
        set(model.tags.through.objects.filter(**{f"{kind}_id__in": other_ids}).values_list("tag_id", flat=True))
        - tags_before
    )
    if tags_added:
        survivor.tags.add(*tags_added)

    chosen = {}
    for name, source in (choices or {}).items():
        if name in MERGE_FIELDS[kind] and source and int(source) in records:
            chosen[name] = getattr(records[int(source)], name)
    for other in others:
        # Rows locked above (select_for_update); the tombstone needs the id the delete clears.
        sync.tombstone_write(other)
        other.delete()
    update = crm_services.contact_update if kind == "contact" else crm_services.company_update
    survivor = update(**{kind: model.objects.get(pk=survivor.pk)}, by=by, **chosen)
    # Syncing clients must see the moved deals/contacts change and the merged-away records go.
    # Last in the transaction: the moved rows are already locked by their UPDATE above.
    _stamp_moved(moved)

    names = "، ".join(formatting.isolate(str(other)) for other in others)
    note = Activity(
        kind=ActivityKind.NOTE,
        occurred_at=timezone.now(),
        subject=gettext("Merged duplicates"),
        body=gettext("Merged into this record: %(names)s.") % {"names": names},
        actor=by,
        team=survivor.team,
        **{kind: survivor},
    )
    note.full_clean()
    note.save()
    return Merge.objects.create(
        kind=kind,
        by=by,
        team=survivor.team,
        survivor_id=survivor.pk,
        snapshot={
            "before": before,
            "version": survivor.version,
            "merged": merged_rows,
            "moved": moved,
            "tags_added": tags_added,
            "note_id": note.pk,
        },
    )


@transaction.atomic
def merge_undo(*, merge: Merge, by) -> Merge:
    """Restore the merged records with their ids and move their related rows back."""
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at:
        raise ValidationError(gettext("This merge was already undone."))
    model = MODELS[merge.kind]
    survivor = model.objects.editable_by(by).filter(pk=merge.survivor_id).first()
    if survivor is None:
        raise ValidationError(gettext("You can only undo a merge of records you may edit."))
    snap = merge.snapshot
    if survivor.version != snap["version"]:
        raise ValidationError(gettext("This merge cannot be undone: the record was edited after it."))
    for restored in serializers.deserialize("python", snap["merged"]):
        restored.save()
    from django.apps import apps

    for label, field, pk, old in snap["moved"]:
        _move(apps.get_model(label).objects.filter(pk=pk), field, old)
    if snap["tags_added"]:
        survivor.tags.remove(*snap["tags_added"])
    Activity.objects.filter(pk=snap["note_id"]).delete()
    update = crm_services.contact_update if merge.kind == "contact" else crm_services.company_update
    update(**{merge.kind: survivor}, by=by, **snap["before"])
    # The restored records come back after their tombstones in the change order.
    sync.stamp_many([row["pk"] for row in snap["merged"]], model)
    _stamp_moved(snap["moved"])
    merge.undone_at = timezone.now()
    merge.save(update_fields=["undone_at", "updated_at"])
    return merge
