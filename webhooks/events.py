"""Emitting webhook events from the services.

The services call `emit()` / `emit_deleted()` inside their transaction, after
the record's change is stamped. The deliveries are written in that same
transaction (an outbox: a committed change always has its deliveries, a rolled
back one never has) and queued on commit.
"""

from django.db import transaction
from django.utils import timezone

# Events of apps that register their own (AppConfig.ready(): `register_event`), besides WebhookEvent's.
_registered: dict[str, object] = {}


def register_event(value: str, label) -> None:
    """Let subscribers choose `value` (e.g. "case.solved"); call from the emitting app's AppConfig.ready()."""
    _registered.setdefault(value, label)


def event_choices() -> list[tuple[str, object]]:
    """Every event a subscription may name: WebhookEvent's, then the registered ones, as (value, label)."""
    from webhooks.models import WebhookEvent

    known = list(WebhookEvent.choices)
    values = {value for value, _label in known}
    return known + [(value, label) for value, label in _registered.items() if value not in values]


def event_values() -> list[str]:
    return [value for value, _label in event_choices()]


def _matching_subscriptions(event: str):
    from webhooks.models import WebhookSubscription

    subscriptions = WebhookSubscription.objects.filter(is_active=True, owner__is_active=True).select_related("owner")
    # Few subscriptions, and JSON containment is not portable across databases: filter here.
    return [subscription for subscription in subscriptions if event in subscription.events]


def _deliver(event: str, subscriptions: list, items: list, visible_ids, describe) -> list[int]:
    """Write one delivery per item and subscriber who may see it; queue them once the transaction commits.

    `visible_ids(user, ids)` gives the ids among `ids` the user may see; `describe(item)` gives
    (object id, data).
    """
    from webhooks.models import WebhookDelivery

    ids = [item.pk for item in items]
    now = timezone.now()
    payloads: dict[int, dict] = {}
    deliveries = []
    for subscription in subscriptions:
        visible = set()
        for start in range(0, len(ids), 5000):
            visible.update(visible_ids(subscription.owner, ids[start : start + 5000]))
        for item in items:
            if item.pk not in visible:
                continue
            if item.pk not in payloads:
                # Serialized only when someone receives it, and once for all its receivers.
                object_id, data = describe(item)
                payloads[item.pk] = {"event": event, "id": object_id, "occurred_at": now.isoformat(), "data": data}
            deliveries.append(
                WebhookDelivery(subscription=subscription, event=event, payload=payloads[item.pk], next_attempt_at=now)
            )
    created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    delivery_ids = [delivery.pk for delivery in created]
    if delivery_ids:
        transaction.on_commit(lambda: _queue(delivery_ids))
    return delivery_ids


def _queue(ids: list[int]) -> None:
    from webhooks.tasks import webhook_deliver

    for delivery_id in ids:
        # A message lost here is picked up by the beat sweep (webhooks.tasks.webhooks_retry_due).
        try:
            webhook_deliver.delay(delivery_id)
        except Exception:
            import logging

            logging.getLogger(__name__).exception("webhook delivery %s not queued; the sweep will send it", delivery_id)


def emit(event: str, instance) -> list[int]:
    """Record `event` about `instance` (a Contact or Deal as it is now) for every subscriber who may see it."""
    return emit_many(event, [instance])


def emit_many(event: str, instances) -> list[int]:
    """`emit` for a batch of records of one model: the same deliveries, a few queries for the whole batch."""
    from django.db.models import prefetch_related_objects

    from core.api.sync import serialize_record

    # A write without subscribers pays one query; the records are read only when someone subscribes.
    subscriptions = _matching_subscriptions(event)
    instances = list(instances) if subscriptions else []
    if not instances:
        return []
    model = type(instances[0])
    if any(field.name == "tags" for field in model._meta.many_to_many):
        prefetch_related_objects(instances, "tags")

    def visible_ids(user, ids):
        return model.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)

    return _deliver(
        event, subscriptions, instances, visible_ids, lambda instance: (instance.pk, dict(serialize_record(instance)))
    )


def emit_deleted(event: str, tombstone) -> list[int]:
    """Record a deletion for every subscriber who could see the record (the tombstone keeps its team and owner)."""
    return emit_deleted_many(event, [tombstone])


def emit_deleted_many(event: str, tombstones) -> list[int]:
    """`emit_deleted` for a batch of tombstones of one model, a few queries in all."""
    from django.apps import apps

    from core.sync import tombstones_visible_to

    subscriptions = _matching_subscriptions(event)
    tombstones = list(tombstones) if subscriptions else []
    if not tombstones:
        return []
    model = apps.get_model(tombstones[0].model)

    def visible_ids(user, ids):
        return tombstones_visible_to(user, model).filter(pk__in=ids).values_list("pk", flat=True)

    def describe(stone):
        return stone.object_id, {"id": stone.object_id, "deleted_at": stone.deleted_at.isoformat()}

    return _deliver(event, subscriptions, tombstones, visible_ids, describe)
