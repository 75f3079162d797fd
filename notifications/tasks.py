"""Celery tasks for reminders and the morning digest: thin, they take ids and call one service.

When they run is declared in config/celery.py (the beat schedule).
"""

import logging

from celery import shared_task
from django.conf import settings

from notifications import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True)
def reminders_dispatch(self) -> int:
    """Claim the due reminders and queue their delivery, REMINDER_SEND_CHUNK a task; returns how many it claimed.

    Queueing happens after the claim is committed. A message lost on the way
    (Redis restarted, worker killed) costs nothing: the claim expires and the
    next run of this task claims the reminders again.

    A full batch means more may be due (thousands at nine in the morning): the next
    run is queued at once, behind this batch's deliveries, instead of a minute later.
    A backlog then drains as fast as the workers deliver, and no claim waits in the
    queue behind more than about one batch, far less than the lease. Run in-process
    (no Redis), the deliveries are already done, so the next batch is claimed in a loop.
    """
    claimed_total = 0
    while True:
        claimed = services.reminders_claim()
        chunk = max(settings.REMINDER_SEND_CHUNK, 1)
        for start in range(0, len(claimed), chunk):
            follow_up_ids = claimed[start : start + chunk]
            try:
                reminders_send.delay(follow_up_ids)
            except Exception:
                logger.exception("reminders %s not queued; claimed again when their lease ends", follow_up_ids)
        claimed_total += len(claimed)
        if len(claimed) < settings.REMINDER_BATCH_SIZE:
            return claimed_total
        if not self.request.is_eager:
            self.delay()
            return claimed_total


@shared_task(ignore_result=True)
def reminders_send(follow_up_ids: list[int]) -> list[str]:
    return services.reminders_deliver(follow_up_ids=follow_up_ids)


@shared_task(ignore_result=True)
def digests_send() -> int:
    return services.digests_send()
