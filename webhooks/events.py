"""Emitting webhook events from the services.

The services call `emit()` / `emit_deleted()` inside their transaction, after
the record's change is stamped. The deliveries are written in that same
transaction (an outbox: a committed change always has its deliveries, a rolled
back one never has) and queued on commit.
"""

from django.db import transaction
from django.utils import timezone


def _matching_subscriptions(event: str):
    from webhooks.models import WebhookSubscription

    subscriptions = WebhookSubscription.objects.filter(is_active=True, owner__is_active=True).select_related("owner")
    # Few subscriptions, and JSON containment is not portable across databases: filter here.
    return [subscription for subscription in subscriptions if event in subscription.events]


def _record(event: str, object_id: int, make_data, may_see) -> list[int]:
    from webhooks.models import WebhookDelivery

    subscriptions = _matching_subscriptions(event)
    if not subscriptions:
        return []
    receivers = [subscription for subscription in subscriptions if may_see(subscription.owner)]
    if not receivers:
        return []
    now = timezone.now()
    # Serialized only when someone receives it: a write without subscribers pays one query.
    payload = {"event": event, "id": object_id, "occurred_at": now.isoformat(), "data": make_data()}
    deliveries = [
        WebhookDelivery(subscription=subscription, event=event, payload=payload, next_attempt_at=now)
        for subscription in receivers
    ]
    created = WebhookDelivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in created]
    transaction.on_commit(lambda: _queue(ids))
    return ids


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
    model = type(instance)

    def may_see(user) -> bool:
        return model.objects.visible_to(user).filter(pk=instance.pk).exists()

    def make_data() -> dict:
        from core.api.sync import serialize_record

        return dict(serialize_record(instance))

    return _record(event, instance.pk, make_data, may_see)


def emit_many(event: str, instances) -> list[int]:
    """`emit` for a batch of records of one model: the same deliveries, a few queries for the whole batch."""
    from webhooks.models import WebhookDelivery

    subscriptions = _matching_subscriptions(event)
    instances = list(instances) if subscriptions else []
    if not instances:
        return []
    from django.db.models import prefetch_related_objects

    from core.api.sync import serialize_record

    model = type(instances[0])
    if any(field.name == "tags" for field in model._meta.many_to_many):
        prefetch_related_objects(instances, "tags")
    ids = [instance.pk for instance in instances]
    now = timezone.now()
    payloads: dict[int, dict] = {}
    deliveries = []
    for subscription in subscriptions:
        visible = set()
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            visible.update(model.objects.visible_to(subscription.owner).filter(pk__in=chunk).values_list("pk", flat=True))
        for instance in instances:
            if instance.pk not in visible:
                continue
            if instance.pk not in payloads:
                data = dict(serialize_record(instance))
                payloads[instance.pk] = {"event": event, "id": instance.pk, "occurred_at": now.isoformat(), "data": data}
            deliveries.append(
                WebhookDelivery(subscription=subscription, event=event, payload=payloads[instance.pk], next_attempt_at=now)
            )
    created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    ids = [delivery.pk for delivery in created]
    if ids:
        transaction.on_commit(lambda: _queue(ids))
    return ids


def emit_deleted(event: str, tombstone) -> list[int]:
    """Record a deletion for every subscriber who could see the record (the tombstone keeps its team and owner)."""
    from django.apps import apps

    from core.sync import tombstones_visible_to

    model = apps.get_model(tombstone.model)

    def may_see(user) -> bool:
        return tombstones_visible_to(user, model).filter(pk=tombstone.pk).exists()

    def make_data() -> dict:
        return {"id": tombstone.object_id, "deleted_at": tombstone.deleted_at.isoformat()}

    return _record(event, tombstone.object_id, make_data, may_see)


def emit_deleted_many(event: str, tombstones) -> list[int]:
    """`emit_deleted` for a batch of tombstones of one model, a few queries in all."""
    from django.apps import apps

    from core.sync import tombstones_visible_to
    from webhooks.models import WebhookDelivery

    tombstones = list(tombstones)
    subscriptions = _matching_subscriptions(event) if tombstones else []
    if not subscriptions:
        return []
    model = apps.get_model(tombstones[0].model)
    ids = [stone.pk for stone in tombstones]
    now = timezone.now()
    deliveries = []
    for subscription in subscriptions:
        visible = set()
        for start in range(0, len(ids), 5000):
            rows = tombstones_visible_to(subscription.owner, model).filter(pk__in=ids[start : start + 5000])
            visible.update(rows.values_list("pk", flat=True))
        deliveries += [
            WebhookDelivery(
                subscription=subscription,
                event=event,
                payload={
                    "event": event,
                    "id": stone.object_id,
                    "occurred_at": now.isoformat(),
                    "data": {"id": stone.object_id, "deleted_at": stone.deleted_at.isoformat()},
                },
                next_attempt_at=now,
            )
            for stone in tombstones
            if stone.pk in visible
        ]
    created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    delivery_ids = [delivery.pk for delivery in created]
    if delivery_ids:
        transaction.on_commit(lambda: _queue(delivery_ids))
    return delivery_ids
