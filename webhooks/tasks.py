"""Celery tasks for webhooks: thin, they take ids and call one service."""

import logging

from celery import shared_task

from webhooks import services
from webhooks.models import DeliveryStatus

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: int) -> str:
    """One attempt; a failed one is queued again after its backoff (the beat sweep also catches it)."""
    delivery = services.delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return "skipped"
    if delivery.status == DeliveryStatus.PENDING and not webhook_deliver.app.conf.task_always_eager:
        # Eager mode (no Redis) ignores countdowns and would retry at once inside the
        # request: there the beat sweep sends the retry when it is due.
        countdown = services.retry_delay(delivery.attempts).total_seconds()
        webhook_deliver.apply_async((delivery.pk,), countdown=countdown)
    return delivery.status


@shared_task(ignore_result=True)
def webhooks_retry_due() -> int:
    """Queue every pending delivery whose time has come; returns how many."""
    due = services.deliveries_due()
    for delivery_id in due:
        try:
            webhook_deliver.delay(delivery_id)
        except Exception:
            logger.exception("webhook delivery %s not queued; the next sweep tries again", delivery_id)
    return len(due)
