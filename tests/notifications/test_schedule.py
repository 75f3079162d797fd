"""When the jobs run (the beat schedule, declared once in config/celery.py) and the embedded mode of `make run`."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.core import mail
from django.utils import timezone

from config.celery import app
from crm.models import FollowUp, ReminderState
from notifications import tasks
from notifications.models import Notification
from tests import factories as f


def test_beat_runs_the_dispatcher_every_minute_the_digest_check_every_quarter_hour_and_going_cold_nightly():
    schedule = app.conf.beat_schedule
    assert schedule["reminders-dispatch"]["task"] == "notifications.tasks.reminders_dispatch"
    assert schedule["reminders-dispatch"]["schedule"] == crontab()
    assert schedule["digests-send"]["task"] == "notifications.tasks.digests_send"
    assert schedule["digests-send"]["schedule"] == crontab(minute="*/15")
    assert schedule["going-cold-follow-ups"]["task"] == "pipeline.tasks.going_cold_follow_ups_create"
    assert schedule["going-cold-follow-ups"]["schedule"] == crontab(hour=1, minute=30)
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery of tasks.py
    for name in ("reminders-dispatch", "digests-send", "going-cold-follow-ups"):
        assert schedule[name]["task"] in app.tasks


@pytest.fixture
def embedded_celery():
    """What `make run` has without REDIS_URL: tasks run in the process that sends them."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield app
    finally:
        app.conf.task_always_eager = before


def test_without_redis_the_scheduled_dispatch_delivers_in_process(world, embedded_celery):
    follow_up = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, remind_at=timezone.now() - timedelta(minutes=1)
    )
    # What the embedded beat does every minute.
    assert tasks.reminders_dispatch.apply_async().get() == 1
    follow_up.refresh_from_db()
    assert follow_up.reminder_state == ReminderState.SENT
    assert Notification.objects.filter(follow_up=follow_up).count() == 1
    assert len(mail.outbox) == 1
    assert FollowUp.objects.filter(reminder_state=ReminderState.SENDING).count() == 0


def test_without_redis_one_dispatch_delivers_a_backlog_bigger_than_a_batch(world, embedded_celery, settings):
    settings.REMINDER_BATCH_SIZE = 2
    remind_at = timezone.now() - timedelta(minutes=1)
    ids = [f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, remind_at=remind_at).pk for _number in range(5)]
    # Batch after batch in the one run, not two reminders a minute.
    assert tasks.reminders_dispatch.apply_async().get() == 5
    assert FollowUp.objects.filter(pk__in=ids, reminder_state=ReminderState.SENT).count() == 5
    assert Notification.objects.filter(follow_up_id__in=ids).count() == 5
    assert len(mail.outbox) == 5
