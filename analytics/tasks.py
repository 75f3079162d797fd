"""Celery tasks of the KPI rollups: thin wrappers around `analytics.services`."""

from celery import shared_task

from analytics import services


@shared_task
def rollup_kpis_nightly() -> int:
    """Roll up every (team, day) that is due: yesterday once 01:00 has passed in the team's zone, and dirty days.

    Safe to run at any time and any number of times: a day already computed and
    not dirty is skipped. Returns how many (team, day) pairs it computed.
    """
    return len(services.rollup_due())
