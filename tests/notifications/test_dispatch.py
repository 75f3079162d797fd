"""The reminder state machine: claim, deliver, retry with backoff, fail visibly; concurrent dispatchers.

Deliveries here run in the test process (the worker tests cover the real
worker); email goes to Django's test outbox, or to a real SMTP server where the
SMTP conversation itself is under test (server down, server back).
"""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from crm import services as crm_services
from crm.models import FollowUp, FollowUpStatus, ReminderState
from notifications import services
from notifications.models import Notification
from tests import factories as f
from tests.notifications.conftest import SmtpServer, free_port


@pytest.fixture
def due(world):
    """A follow-up of rep_a2 (English) whose reminder is due: the only follow-up, so the only reminder."""
    FollowUp.objects.all().delete()
    now = timezone.now()
    return f.FollowUpFactory(
        assignee=world.rep_a2,
        team=world.team_a,
        subject="Send the revised quote",
        due_at=now + timedelta(minutes=30),
        remind_at=now - timedelta(minutes=1),
        contact=world.a2.contact,
    )


def _claim_and_deliver(now=None) -> list[str]:
    return [services.reminder_deliver(follow_up_id=pk, now=now) for pk in services.reminders_claim(now=now)]


def test_due_reminder_becomes_one_notification_and_one_email(due):
    assert _claim_and_deliver() == ["sent"]
    due.refresh_from_db()
    assert due.reminder_state == ReminderState.SENT
    assert due.reminder_attempts == 1
    assert due.reminder_sent_at is not None
    notification = Notification.objects.get(follow_up=due)
    assert notification.recipient == due.assignee
    assert notification.url == reverse("crm:follow_up_update", args=[due.pk])
    assert notification.email_sent_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == notification.email_message_id
    assert mail.outbox[0].to == [due.assignee.email]


def test_reminder_not_yet_due_and_reminder_of_a_done_follow_up_are_not_claimed(world, due):
    later = f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a)  # reminds in two hours
    due.status = FollowUpStatus.DONE
    due.save()
    assert services.reminders_claim() == []
    assert services.reminders_claim(now=timezone.now() + timedelta(hours=3)) == [later.pk]


def test_a_duplicated_delivery_of_the_same_reminder_sends_nothing_more(due):
    [follow_up_id] = services.reminders_claim()
    assert services.reminder_deliver(follow_up_id=follow_up_id) == "sent"
    assert services.reminder_deliver(follow_up_id=follow_up_id) == "skipped"
    assert services.reminders_claim() == []
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_follow_up_done_after_the_claim_is_released_without_sending(world, due):
    [follow_up_id] = services.reminders_claim()
    crm_services.follow_up_complete(follow_up=due, by=world.rep_a2)
    assert services.reminder_deliver(follow_up_id=follow_up_id) == "skipped"
    due.refresh_from_db()
    assert due.reminder_state == ReminderState.PENDING
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_rescheduled_follow_up_reminds_again_with_a_new_notification(world, due):
    _claim_and_deliver()
    later = timezone.now() + timedelta(days=1)
    crm_services.follow_up_reschedule(follow_up=due, by=world.rep_a2, due_at=later, remind_at=later)
    assert services.reminders_claim() == []
    assert _claim_and_deliver(now=later + timedelta(seconds=1)) == ["sent"]
    assert Notification.objects.filter(follow_up=due).count() == 2
    assert len(mail.outbox) == 2


def test_claim_lost_with_its_worker_is_taken_again_only_after_the_lease(settings, due):
    settings.REMINDER_LEASE_SECONDS = 300
    now = timezone.now()
    assert services.reminders_claim(now=now) == [due.pk]  # …and the task message is lost
    assert services.reminders_claim(now=now + timedelta(seconds=299)) == []
    assert services.reminders_claim(now=now + timedelta(seconds=301)) == [due.pk]
    due.refresh_from_db()
    assert (due.reminder_state, due.reminder_attempts) == (ReminderState.SENDING, 2)
    assert services.reminder_deliver(follow_up_id=due.pk) == "sent"
    assert len(mail.outbox) == 1


def test_claim_lost_again_and_again_ends_failed_and_shown_to_the_assignee(settings, due):
    settings.REMINDER_LEASE_SECONDS = 60
    settings.REMINDER_MAX_ATTEMPTS = 2
    now = timezone.now()
    services.reminders_claim(now=now)
    services.reminders_claim(now=now + timedelta(minutes=2))
    assert services.reminders_claim(now=now + timedelta(minutes=4)) == []
    due.refresh_from_db()
    assert due.reminder_state == ReminderState.FAILED
    assert "2 attempts" in due.reminder_error
    notification = Notification.objects.get(follow_up=due)
    assert notification.is_unread
    assert notification.email_error


def test_smtp_down_is_retried_with_exponential_backoff_then_failed_and_visible(client, settings, due):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    settings.REMINDER_RETRY_SECONDS = 60
    settings.REMINDER_MAX_ATTEMPTS = 3
    now = timezone.now()

    assert _claim_and_deliver(now=now) == ["retry"]
    due.refresh_from_db()
    assert due.reminder_state == ReminderState.PENDING
    assert due.reminder_next_attempt_at == now + timedelta(seconds=60)
    assert "ConnectionRefusedError" in due.reminder_error
    # The in-app notification did not wait for the email.
    assert Notification.objects.filter(follow_up=due, email_sent_at__isnull=True).count() == 1

    assert services.reminders_claim(now=now + timedelta(seconds=59)) == []
    assert _claim_and_deliver(now=now + timedelta(seconds=60)) == ["retry"]
    due.refresh_from_db()
    assert due.reminder_next_attempt_at == now + timedelta(seconds=60 + 120)
    assert _claim_and_deliver(now=now + timedelta(seconds=180)) == ["failed"]

    due.refresh_from_db()
    assert (due.reminder_state, due.reminder_attempts) == (ReminderState.FAILED, 3)
    assert services.reminders_claim(now=now + timedelta(days=1)) == []
    notification = Notification.objects.get(follow_up=due)
    assert notification.email_error and notification.is_unread

    client.force_login(due.assignee)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "The reminder email could not be sent." in page
    assert "Send the revised quote" in page
    assert "Notifications, 1 unread" in client.get(reverse("notifications:bell")).content.decode()


def test_smtp_back_before_the_last_attempt_delivers_the_email_once(settings, due):
    settings.REMINDER_RETRY_SECONDS = 1
    server = SmtpServer()
    server.use_in(settings)
    now = timezone.now()
    assert _claim_and_deliver(now=now) == ["retry"]  # the server is not started yet

    server.controller.start()
    try:
        assert _claim_and_deliver(now=now + timedelta(seconds=1)) == ["sent"]
        assert _claim_and_deliver(now=now + timedelta(minutes=5)) == []
    finally:
        server.controller.stop()
    assert len(server.messages) == 1
    assert Notification.objects.filter(follow_up=due).count() == 1
    due.refresh_from_db()
    assert (due.reminder_state, due.reminder_error) == (ReminderState.SENT, "")


def _in_thread(function):
    """Run `function` in a thread with its own database connection; return its result."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function()
        except BaseException as error:  # surfaced in the test's thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.postgres
def test_two_dispatchers_at_once_claim_each_reminder_once(transactional_db, world):
    now = timezone.now()
    follow_ups = [
        f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, remind_at=now - timedelta(minutes=1))
        for _ in range(60)
    ]
    start = threading.Barrier(2)

    def dispatcher():
        start.wait()
        claimed = []
        while batch := services.reminders_claim(batch=4):
            claimed += batch
        return claimed

    runs = [_in_thread(dispatcher) for _ in range(2)]
    for thread, _outcome in runs:
        thread.join(timeout=60)
    results = [outcome.get("value", outcome.get("error")) for _thread, outcome in runs]
    assert all(isinstance(result, list) for result in results), results
    claimed = results[0] + results[1]
    assert len(claimed) == len(set(claimed)) == 60
    assert set(claimed) == {follow_up.pk for follow_up in follow_ups}
    assert FollowUp.objects.filter(reminder_state=ReminderState.SENDING, reminder_attempts=1).count() == 60


@pytest.mark.postgres
def test_dispatcher_skips_rows_another_dispatcher_or_a_sender_holds_without_waiting(transactional_db, world):
    now = timezone.now()
    follow_ups = [
        f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, remind_at=now - timedelta(minutes=1))
        for _ in range(5)
    ]
    held = [follow_up.pk for follow_up in follow_ups[:2]]
    with transaction.atomic():
        # This connection plays the other dispatcher (or a live sender) holding two rows.
        list(FollowUp.objects.select_for_update().filter(pk__in=held))
        thread, outcome = _in_thread(services.reminders_claim)
        thread.join(timeout=10)
        assert not thread.is_alive(), "the dispatcher waited for a locked row instead of skipping it"
    assert sorted(outcome["value"]) == sorted(follow_up.pk for follow_up in follow_ups[2:])
    # Released, the two rows are claimed by the next run.
    assert sorted(services.reminders_claim()) == sorted(held)


def _due_follow_ups(world, count: int) -> list[FollowUp]:
    now = timezone.now()
    return [
        f.FollowUpFactory(
            assignee=world.rep_a2,
            team=world.team_a,
            subject=f"Quote {number}",
            due_at=now + timedelta(minutes=30),
            remind_at=now - timedelta(minutes=1),
            contact=world.a2.contact,
        )
        for number in range(count)
    ]


def test_a_batch_costs_the_same_few_statements_per_reminder(world, django_assert_max_num_queries):
    """One query for the batch's records, one for its existing notifications, then six per reminder:
    transaction, lock, savepoint, the notification inserted already stamped with its email, "sent", commit."""
    FollowUp.objects.all().delete()
    follow_ups = _due_follow_ups(world, 5)
    claimed = services.reminders_claim()
    with django_assert_max_num_queries(2 + 6 * len(claimed)):
        assert services.reminders_deliver(follow_up_ids=claimed) == ["sent"] * len(follow_ups)
    assert len(mail.outbox) == 5
    for follow_up in follow_ups:
        notification = Notification.objects.get(follow_up=follow_up)
        message = next(m for m in mail.outbox if m.extra_headers["Message-ID"] == notification.email_message_id)
        assert notification.email_sent_at is not None and message.to == [world.rep_a2.email]
        assert notification.title == "Reminder: \u2068" + follow_up.subject + "\u2069"


def test_a_batch_reuses_the_notification_of_an_earlier_attempt(world):
    """A reminder whose notification exists (an attempt whose email failed) is sent once, on that notification,
    whether the batch saw the notification before locking the row or it appeared after that look."""
    FollowUp.objects.all().delete()
    earlier, raced, fresh = _due_follow_ups(world, 3)
    claimed = services.reminders_claim()
    for follow_up in (earlier, raced):
        follow_up.refresh_from_db()
        services._reminder_notification(follow_up)
    existing = {n.follow_up_id: n.pk for n in Notification.objects.all()}

    loaded = FollowUp.objects.select_related("assignee", "contact", "company", "deal").get(pk=raced.pk)
    mailer = services._Mailer()
    # The batch looked before `raced` got its notification: the insert conflicts, and the general path sends.
    assert services._deliver(raced.pk, None, mailer, loaded, notified=False) == "sent"
    assert services.reminders_deliver(follow_up_ids=[pk for pk in claimed if pk != raced.pk]) == ["sent", "sent"]

    assert Notification.objects.count() == 3
    for follow_up in (earlier, raced, fresh):
        notification = Notification.objects.get(follow_up=follow_up)
        assert notification.email_sent_at is not None
        assert existing.get(follow_up.pk, notification.pk) == notification.pk
        follow_up.refresh_from_db()
        assert follow_up.reminder_state == ReminderState.SENT
    assert sorted(m.extra_headers["Message-ID"] for m in mail.outbox) == sorted(
        Notification.objects.values_list("email_message_id", flat=True)
    )


def test_a_batch_whose_email_fails_keeps_the_notification_and_retries(settings, world):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    FollowUp.objects.all().delete()
    (follow_up,) = _due_follow_ups(world, 1)
    assert services.reminders_deliver(follow_up_ids=services.reminders_claim()) == ["retry"]
    follow_up.refresh_from_db()
    assert follow_up.reminder_state == ReminderState.PENDING and "ConnectionRefusedError" in follow_up.reminder_error
    notification = Notification.objects.get(follow_up=follow_up)
    assert (notification.email_sent_at, notification.email_message_id) == (None, "")
