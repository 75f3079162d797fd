"""Celery tasks for customers: thin, each calls one service. When they run: config/celery.py."""

from celery import shared_task

from crm import services


@shared_task(ignore_result=True)
def going_cold_follow_ups_create() -> int:
    """Nightly: a follow-up for each customer gone quiet (see the service); returns how many were created."""
    return len(services.going_cold_follow_ups_create())
