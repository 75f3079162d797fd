"""Celery tasks for deals: thin, each calls one service. When they run: config/celery.py."""

from celery import shared_task

from pipeline import automations


@shared_task(ignore_result=True)
def going_cold_follow_ups_create() -> int:
    """Nightly: a follow-up for each customer gone quiet (see the service); returns how many were created."""
    return len(automations.going_cold_follow_ups_create())
