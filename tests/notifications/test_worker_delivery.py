"""Reminders through real Celery workers consuming from Redis, emails received by a real SMTP server.

Fault tests: a worker SIGKILLed in the middle of a batch, Redis emptied while
reminders are queued. Each ends with every reminder delivered exactly once:
one email per reminder at the SMTP server and one notification per reminder.
"""

import base64
import collections
import json
import time
from datetime import timedelta

import pytest
from django.utils import dates, timezone, translation

from crm.models import FollowUp, ReminderState
from notifications import tasks
from notifications.models import Notification
from tests import factories as f
from tests.notifications.conftest import LEASE_SECONDS, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _due_reminders(user, team, count: int, *, subject: str = "Call back", **fields) -> list[FollowUp]:
    now = timezone.now()
    return [
        f.FollowUpFactory(
            assignee=user,
            team=team,
            subject=f"{subject} {number}",
            due_at=now + timedelta(hours=1),
            remind_at=now - timedelta(minutes=1),
            **fields,
        )
        for number in range(count)
    ]


def _sent(ids) -> int:
    return FollowUp.objects.filter(pk__in=ids, reminder_state=ReminderState.SENT).count()


def _assert_each_delivered_once(smtp_server, follow_ups) -> None:
    ids = [follow_up.pk for follow_up in follow_ups]
    assert _sent(ids) == len(ids)
    notifications = Notification.objects.filter(follow_up_id__in=ids)
    assert sorted(notifications.values_list("follow_up_id", flat=True)) == sorted(ids)
    expected = set(notifications.values_list("email_message_id", flat=True))
    received = collections.Counter(smtp_server.mailbox.message_ids())
    assert set(received) == expected
    assert all(count == 1 for count in received.values()), received


def _dispatch_until_all_sent(ids, *, timeout: float, workers) -> None:
    """What beat does every minute, faster: run the dispatcher until the database says all is sent."""

    def all_sent():
        tasks.reminders_dispatch()
        return _sent(ids) == len(ids)

    wait_for(all_sent, timeout=timeout, what="every reminder sent", workers=workers, every=0.5)


def test_real_worker_delivers_due_reminders_by_email_in_each_recipients_language_and_time_zone(
    world, workers, smtp_server
):
    english, arabic = world.rep_a2, world.rep_a1
    english.time_zone = "Asia/Dubai"
    english.save()
    due_at = (timezone.now() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    remind_at = timezone.now() - timedelta(minutes=1)
    for_english = f.FollowUpFactory(
        assignee=english,
        team=world.team_a,
        subject="Call Omar about the renewal",
        due_at=due_at,
        remind_at=remind_at,
        contact=world.a2.contact,
    )
    for_arabic = f.FollowUpFactory(
        assignee=arabic, team=world.team_a, subject="اتصل بأحمد بشأن التجديد", due_at=due_at, remind_at=remind_at
    )

    workers.start("first")
    # The dispatcher itself goes through Redis too: the worker claims and then delivers.
    tasks.reminders_dispatch.delay()
    wait_for(
        lambda: _sent([for_english.pk, for_arabic.pk]) == 2, timeout=30, what="both reminders sent", workers=workers
    )

    _assert_each_delivered_once(smtp_server, [for_english, for_arabic])
    by_recipient = {message["To"]: message for message in smtp_server.messages}

    in_english = by_recipient[english.email]
    assert in_english["Subject"] == "Reminder: Call Omar about the renewal"
    assert in_english["Content-Language"] == "en"
    text = in_english.get_body(("plain",)).get_content()
    assert "2:00\u202fPM" in text  # 10:00 UTC in Dubai, in the one time format
    assert "Asia/Dubai" in text
    assert str(world.a2.contact) in text
    assert f"/follow-ups/{for_english.pk}/" in text
    assert 'lang="en" dir="ltr"' in in_english.get_body(("html",)).get_content()

    in_arabic = by_recipient[arabic.email]
    assert in_arabic["Content-Language"] == "ar"
    assert "اتصل بأحمد بشأن التجديد" in in_arabic["Subject"]
    text = in_arabic.get_body(("plain",)).get_content()
    assert "1:00 م" in text  # 10:00 UTC in Riyadh, in the one time format
    assert "Asia/Riyadh" in text
    with translation.override("ar"):
        assert str(dates.MONTHS[due_at.month]) in text  # Django's own Arabic month names
    assert 'lang="ar" dir="rtl"' in in_arabic.get_body(("html",)).get_content()

    # The follow-up's subject is isolated inside the sentence (it may be in either script).
    assert Notification.objects.get(recipient=english).title == "Reminder: \u2068Call Omar about the renewal\u2069"


def test_worker_killed_in_the_middle_of_a_batch_then_a_new_worker_delivers_each_reminder_exactly_once(
    world, workers, smtp_server, settings
):
    follow_ups = _due_reminders(world.rep_a2, world.team_a, 6)
    ids = [follow_up.pk for follow_up in follow_ups]
    # Two reminders a delivery task: three tasks, the second of which the worker dies in.
    settings.REMINDER_SEND_CHUNK = 2
    # The third email's SMTP conversation hangs: the worker has sent two and is in the middle of the third.
    smtp_server.mailbox.block_at = 3
    first = workers.start("first")
    tasks.reminders_dispatch()
    assert FollowUp.objects.filter(pk__in=ids, reminder_state=ReminderState.SENDING).count() == 6

    wait_for(smtp_server.mailbox.blocked.is_set, timeout=30, what="the third email to start", workers=workers)
    workers.kill(first)
    smtp_server.mailbox.release.set()
    assert len(smtp_server.messages) == 2
    assert _sent(ids) == 2

    workers.start("second")
    # The task still queued in Redis (reminders five and six) is delivered by the new
    # worker; the two of the dead worker's task are "sending" with nobody behind them.
    wait_for(lambda: _sent(ids) == 4, timeout=30, what="the queued reminders", workers=workers)
    orphans = list(FollowUp.objects.filter(pk__in=ids, reminder_state=ReminderState.SENDING))
    assert len(orphans) == 2
    # Once their lease is over (test_dispatch.py checks nothing happens before), the
    # dispatcher claims them again and the new worker delivers them, once.
    lease_end = max(orphan.reminder_claimed_at for orphan in orphans) + timedelta(seconds=LEASE_SECONDS)
    time.sleep(max((lease_end - timezone.now()).total_seconds(), 0))
    _dispatch_until_all_sent(ids, timeout=30, workers=workers)

    _assert_each_delivered_once(smtp_server, follow_ups)
    for orphan in orphans:
        orphan.refresh_from_db()
        assert orphan.reminder_attempts >= 2  # claimed by the dead worker's batch, then again after the lease
    assert len(smtp_server.messages) == 6


def test_reminders_queued_when_redis_loses_its_queue_are_all_delivered_once(world, workers, smtp_server, redis_broker):
    follow_ups = _due_reminders(world.rep_b, world.team_b, 4, subject="تابع العرض")
    ids = [follow_up.pk for follow_up in follow_ups]
    tasks.reminders_dispatch()  # claimed in the database, in Redis one task for the four, no worker yet
    assert redis_broker.llen("realtime") == 1

    # What a Redis restart without persistence does to the queue (FLUSHDB of the
    # broker's database rather than FLUSHALL, so other databases on a shared Redis survive).
    redis_broker.flushdb()
    assert redis_broker.llen("realtime") == 0

    workers.start("only")
    time.sleep(LEASE_SECONDS)
    _dispatch_until_all_sent(ids, timeout=30, workers=workers)

    _assert_each_delivered_once(smtp_server, follow_ups)
    assert len(smtp_server.messages) == 4


def test_a_full_batch_queues_its_deliveries_a_chunk_a_task_then_the_next_dispatch(world, redis_broker, settings):
    settings.REMINDER_BATCH_SIZE = 3
    settings.REMINDER_SEND_CHUNK = 2
    _due_reminders(world.rep_a1, world.team_a, 4)
    assert tasks.reminders_dispatch() == 3
    # Oldest message at the right end: the three claimed in two tasks, then, behind them,
    # the next dispatch for the fourth, at once rather than at the next minute.
    messages = [json.loads(raw) for raw in reversed(redis_broker.lrange("realtime", 0, -1))]
    assert [message["headers"]["task"] for message in messages] == [
        "notifications.tasks.reminders_send",
        "notifications.tasks.reminders_send",
        "notifications.tasks.reminders_dispatch",
    ]
    chunks = [json.loads(base64.b64decode(message["body"]))[0][0] for message in messages[:2]]
    assert [len(chunk) for chunk in chunks] == [2, 1]
