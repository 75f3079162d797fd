"""Bulk upsert of contacts keyed by (external_source, external_id).

Each item is checked by the contact serializer; the valid ones are written together
by crm.services.customers_write_many, so one bad item never undoes the others. The
records the items refer to (existing contacts, companies, owners, teams, tags) are
read up front, a few queries for the whole batch, not per item.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError
from django.db.models import Q
from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.models import Team, User
from core.api.bulk import ExternalKeyRequiredMixin, item_errors, item_key
from core.api.errors import _field_errors
from core.api.serializers import IdRelatedField
from core.ids import parse_id
from crm import services
from crm.api.serializers import ContactSerializer
from crm.models import Company, Contact, Tag

DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction aborted to break a deadlock


class PrefetchedRelatedField(IdRelatedField):
    """Looks ids up in a dict read once for the whole batch (context["prefetched"][name])."""

    def __init__(self, name, **kwargs):
        self.lookup_name = name
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        pk = parse_id(data)
        if pk is None:
            self.fail("invalid_id")
        record = self.context["prefetched"][self.lookup_name].get(pk)
        if record is None:
            self.fail("does_not_exist", pk_value=data)
        return record


class BulkContactSerializer(ExternalKeyRequiredMixin, ContactSerializer):
    company = PrefetchedRelatedField("company", queryset=Company.objects.none(), allow_null=True, required=False)
    owner = PrefetchedRelatedField("owner", queryset=User.objects.none(), required=False)
    team = PrefetchedRelatedField("team", queryset=Team.objects.none(), required=False)
    tags = serializers.ListField(child=PrefetchedRelatedField("tags", queryset=Tag.objects.none()), required=False)


def _ids(items, name, many=False) -> set[int]:
    found = set()
    for item in items:
        value = item.get(name)
        for one in value if many and isinstance(value, list) else [value]:
            pk = parse_id(one)
            if pk is not None:
                found.add(pk)
    return found


def contacts_bulk_upsert(*, items: list[dict], request) -> list[dict]:
    """Create or update each item; returns one result per item, in order.

    Valid items are written together by crm.services.customers_write_many. An item whose
    key an earlier item of the batch already used waits for a second round, so it updates
    what the earlier one wrote, as if the items had been sent one by one.
    """
    user = request.user
    keys = {key for key in map(item_key, items) if key and key[1]}
    existing = {}
    if keys:
        match = Q()
        for source in {source for source, _id in keys}:
            match |= Q(external_source=source, external_id__any=[i for s, i in keys if s == source])
        # Saying external_id is not blank lets PostgreSQL use the unique index on the keys, which
        # covers only such rows; it cannot prove that of a list of over 100 ids by itself.
        stored = Contact.objects.filter(match).exclude(external_id="").order_by()
        for contact in stored.select_related("company"):
            existing[(contact.external_source, contact.external_id)] = contact
    editable = set(
        Contact.objects.editable_by(user).filter(pk__in=[c.pk for c in existing.values()]).values_list("pk", flat=True)
    )
    prefetched = {
        "company": Company.objects.visible_to(user).in_bulk(_ids(items, "company")),
        "owner": User.objects.in_bulk(_ids(items, "owner")),
        "team": Team.objects.in_bulk(_ids(items, "team")),
        "tags": Tag.objects.in_bulk(_ids(items, "tags", many=True)),
    }
    context = {"request": request, "prefetched": prefetched}
    results = [{"index": index, "status": "error", "id": None, "errors": {}} for index in range(len(items))]
    waiting = list(range(len(items)))
    while waiting:
        this_round, later, used = [], [], set()
        for index in waiting:
            key = item_key(items[index])
            if key in used:
                later.append(index)
            else:
                used.add(key)
                this_round.append(index)
        _write_round(this_round, items, results, existing, editable, context, user)
        waiting = later
    return results


def _check(serializer, instance, item) -> bool:
    """Validate one item with a serializer built once per batch.

    A ModelSerializer builds its fields from the model on first use, which costs far more
    than checking one item; items therefore share two serializers (new / existing record),
    reset between items.
    """
    for cached in ("_validated_data", "_errors", "_data"):
        serializer.__dict__.pop(cached, None)
    serializer.instance, serializer.initial_data = instance, item
    return serializer.is_valid()


def _write_round(indexes, items, results, existing, editable, context, user) -> None:
    validators = {
        False: BulkContactSerializer(data={}, context=context),
        True: BulkContactSerializer(instance=Contact(), data={}, partial=True, context=context),
    }
    writes, write_indexes = [], []
    for index in indexes:
        item, result = items[index], results[index]
        key = item_key(item)
        instance = existing.get(key) if key else None
        if instance is not None and instance.pk not in editable:
            # Answered exactly as any taken key is (crm.services.batch._external_id_conflicts, and the one-record
            # create), so a caller learns nothing about a contact they may not see or edit.
            result["errors"] = {"external_id": [_("Another contact already has this external id.")]}
            continue
        serializer = validators[instance is not None]
        if not _check(serializer, instance, item):
            result["errors"] = _field_errors(serializer.errors)
            continue
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        writes.append(services.Write(fields=data, record=instance, tags=tags))
        write_indexes.append(index)
    try:
        outcomes = services.customers_write_many(model=Contact, by=user, writes=writes)
    except IntegrityError:
        # Another request wrote one of these external ids meanwhile: nothing of this round was written.
        for index in write_indexes:
            results[index]["errors"] = {"external_id": [_("Another contact with this external id was just saved.")]}
        return
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != DEADLOCK:
            raise
        # PostgreSQL undid this round to break a deadlock with another writer (e.g. a contact with one
        # of these external ids created at the same moment): nothing of it was written.
        for index in write_indexes:
            results[index]["errors"] = {
                "non_field_errors": [_("Another change was being saved at the same moment. Send this item again.")]
            }
        return
    for index, write, outcome in zip(write_indexes, writes, outcomes, strict=True):
        result = results[index]
        if isinstance(outcome, ValidationError):
            result["errors"] = item_errors(outcome)
            continue
        result.update(status="created" if write.record is None else "updated", id=outcome.pk)
        key = (outcome.external_source, outcome.external_id)
        existing[key] = outcome
        editable.add(outcome.pk)
