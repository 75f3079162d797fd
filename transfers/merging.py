"""Merging duplicate contacts or companies into one survivor, and undoing a merge.

The snapshot keeps everything undo needs: the merged records as serialized rows (restored
with their ids, dates and tags), every related row moved with the id it pointed to, the
tags the survivor gained, and the survivor's fields before the merge.
"""

import json

from django.core import serializers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from core import formatting, sync
from crm import services as crm_services
from crm.models import Activity, ActivityKind, Company, Contact, FollowUp
from pipeline.models import Deal
from transfers.models import Merge

MERGE_FIELDS = {
    "contact": ["first_name", "last_name", "email", "phone_raw", "job_title", "company_id", "notes"],
    "company": ["name", "phone_raw", "website", "industry", "city", "country", "notes"],
}
MODELS = {"contact": Contact, "company": Company}
# Rows that point at a merged record and move to the survivor: (model, field).
RELATED = {
    "contact": [(Activity, "contact_id"), (FollowUp, "contact_id"), (Deal, "contact_id")],
    "company": [(Activity, "company_id"), (FollowUp, "company_id"), (Deal, "company_id"), (Contact, "company_id")],
}


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
