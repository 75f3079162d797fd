"""Bulk upsert of deals keyed by (external_source, external_id): the contacts' bulk shape (crm/api/bulk.py).

Each item is checked by the deal serializer and written on its own through
pipeline.services.deal_create / deal_update, in its own savepoint: one bad item never undoes
the others, and every write gets its stage history, sync stamp and webhook as one made on the
board would. Deals are far fewer than contacts, so row by row is fast enough.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.api.bulk import ExternalKeyRequiredMixin, item_errors, item_key
from core.api.errors import _field_errors
from pipeline.api.serializers import DealSerializer
from pipeline.models import Deal


class BulkDealSerializer(ExternalKeyRequiredMixin, DealSerializer):
    """A deal of a bulk upsert, named by its external id."""


def deals_bulk_upsert(*, items: list[dict], request) -> list[dict]:
    """Create or update each item, in order (a later item with an earlier one's key updates what it wrote)."""
    user = request.user
    keys = {key for key in map(item_key, items) if key and key[1]}
    existing: dict = {}
    for source in {source for source, _id in keys}:
        ids = [i for s, i in keys if s == source]
        for deal in Deal.objects.filter(external_source=source, external_id__in=ids).exclude(external_id=""):
            existing[(deal.external_source, deal.external_id)] = deal
    editable = set(
        Deal.objects.editable_by(user).filter(pk__in=[d.pk for d in existing.values()]).values_list("pk", flat=True)
    )
    context = {"request": request}
    results = []
    for index, item in enumerate(items):
        result = {"index": index, "status": "error", "id": None, "errors": {}}
        results.append(result)
        key = item_key(item)
        instance = existing.get(key) if key else None
        if instance is not None and instance.pk not in editable:
            # Answered as any taken key is: nothing is learnt about a deal one may not edit.
            result["errors"] = {"external_id": [_("Another deal already has this external id.")]}
            continue
        serializer = BulkDealSerializer(instance=instance, data=item, partial=instance is not None, context=context)
        if not serializer.is_valid():
            result["errors"] = _field_errors(serializer.errors)
            continue
        try:
            with transaction.atomic():
                deal = serializer.save()
        except ValidationError as error:
            result["errors"] = item_errors(error)
            continue
        except IntegrityError:
            result["errors"] = {"external_id": [_("Another deal with this external id was just saved.")]}
            continue
        result.update(status="created" if instance is None else "updated", id=deal.pk)
        existing[(deal.external_source, deal.external_id)] = deal
        editable.add(deal.pk)
    return results
