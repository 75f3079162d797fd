"""Celery tasks for reminders and the morning digest: thin, they take ids and call one service.

When they run is declared in config/celery.py (the beat schedule).
"""

import logging

from celery import shared_task

from notifications import services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def reminders_dispatch() -> int:
    """Claim the due reminders and queue one delivery task each; returns how many were claimed.

    Queueing happens after the claim is committed. A message lost on the way
    (Redis restarted, worker killed) costs nothing: the claim expires and the
    next run of this task claims the reminder again.
    """
    claimed = services.reminders_claim()
    for follow_up_id in claimed:
        try:
            reminder_send.delay(follow_up_id)
        except Exception:
            logger.exception("reminder %s not queued; it is claimed again when its lease ends", follow_up_id)
    return len(claimed)


@shared_task(ignore_result=True)
def reminder_send(follow_up_id: int) -> str:
    return services.reminder_deliver(follow_up_id=follow_up_id)


@shared_task(ignore_result=True)
def digests_send() -> int:
    return services.digests_send()
