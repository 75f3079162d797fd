"""Celery tasks of the shared kernel: thin, they call one function."""

from celery import shared_task

from core import sync


@shared_task(ignore_result=True)
def sync_tombstones_purge() -> int:
    """Drop tombstones past SYNC_TOMBSTONE_RETENTION_DAYS; older sync tokens then answer 410."""
    return sync.tombstones_purge()
