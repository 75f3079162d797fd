"""The morning digest: 08:00 in each member's time zone, once a day, none when there is nothing to say."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection

from crm.models import FollowUp
from notifications import services
from notifications.models import DailyDigest
from pipeline.models import Deal
from tests import factories as f
from tests.notifications.conftest import free_port

DAY = date(2031, 1, 15)
RIYADH_8 = datetime(2031, 1, 15, 5, 0, tzinfo=UTC)  # 08:00 in Riyadh (UTC+3)
NEW_YORK_8 = datetime(2031, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 in New York (UTC-5 in January)


@pytest.fixture
def morning(world):
    """rep_a1 (Arabic, Riyadh) and rep_a2 (English, New York), with nothing on their plates yet."""
    FollowUp.objects.all().delete()
    Deal.objects.update(expected_close=None)
    world.rep_a2.time_zone = "America/New_York"
    world.rep_a2.save()
    return world


def _sent_to(user) -> list:
    return [message for message in mail.outbox if message.to == [user.email]]


def test_digest_goes_out_at_eight_in_each_members_time_zone(morning):
    arabic, english = morning.rep_a1, morning.rep_a2
    f.FollowUpFactory(
        assignee=arabic, team=morning.team_a, subject="اتصل بشركة الأفق", due_at=datetime(2031, 1, 14, 15, tzinfo=UTC)
    )
    f.FollowUpFactory(
        assignee=arabic, team=morning.team_a, subject="أرسل العقد", due_at=datetime(2031, 1, 15, 9, tzinfo=UTC)
    )
    f.FollowUpFactory(
        assignee=english,
        team=morning.team_a,
        subject="Demo for Gulf Foods",
        due_at=datetime(2031, 1, 15, 20, tzinfo=UTC),
    )
    Deal.objects.filter(pk=morning.a2.deal.pk).update(title="Fleet renewal", expected_close=date(2031, 1, 18))
    f.DealFactory(
        owner=english,
        team=morning.team_a,
        stage=morning.pipeline.s.lead,
        title="Next month's deal",
        expected_close=date(2031, 1, 25),
    )

    assert services.digests_send(now=RIYADH_8 - timedelta(minutes=15)) == 0
    assert services.digests_send(now=RIYADH_8) == 1
    [for_arabic] = mail.outbox
    assert for_arabic.to == [arabic.email]
    assert for_arabic.extra_headers["Content-Language"] == "ar"
    assert "اتصل بشركة الأفق" in for_arabic.body and "أرسل العقد" in for_arabic.body
    assert "12:00 م" in for_arabic.body  # 09:00 UTC in Riyadh, in the one time format
    assert 'lang="ar" dir="rtl"' in for_arabic.alternatives[0][0]

    # Later checks the same morning send nothing more, to anyone.
    assert services.digests_send(now=RIYADH_8 + timedelta(minutes=15)) == 0
    assert services.digests_send(now=RIYADH_8 + timedelta(hours=2)) == 0

    assert services.digests_send(now=NEW_YORK_8) == 1
    [for_english] = _sent_to(english)
    assert for_english.subject == "Your day in Safqa, Jan 15, 2031"
    body = for_english.body
    assert "Overdue" not in body
    assert (
        "Due today (1)" in body and "Demo for Gulf Foods" in body and "Jan 15, 2031, 3:00\u202fPM" in body
    )  # 20:00 UTC in New York
    assert "Deals closing this week (1)" in body and "Fleet renewal" in body
    assert "Next month's deal" not in body
    assert "America/New_York" in body
    assert len(mail.outbox) == 2
    assert set(DailyDigest.objects.filter(email_sent_at__isnull=False).values_list("user", "day")) == {
        (arabic.pk, DAY),
        (english.pk, DAY),
    }


def test_no_digest_when_there_is_nothing_to_say(morning):
    assert services.digests_send(now=RIYADH_8) == 0
    assert mail.outbox == []
    # The day is settled for them: nothing is re-examined at every check.
    assert DailyDigest.objects.filter(user=morning.rep_a1, day=DAY, email_sent_at__isnull=True).exists()


def test_digest_comes_again_the_next_day_and_a_missed_morning_is_made_up_until_eleven(morning):
    f.FollowUpFactory(assignee=morning.rep_a1, team=morning.team_a, due_at=datetime(2031, 1, 14, 15, tzinfo=UTC))
    assert services.digests_send(now=RIYADH_8) == 1
    # Workers were down at 08:00 the next day: the 10:45 check still sends, an 11:00 one would not.
    assert services.digests_send(now=RIYADH_8 + timedelta(days=2, hours=3)) == 0
    assert services.digests_send(now=RIYADH_8 + timedelta(days=1, hours=2, minutes=45)) == 1
    assert [digest.day for digest in DailyDigest.objects.filter(user=morning.rep_a1, email_sent_at__isnull=False)] == [
        DAY + timedelta(days=1),
        DAY,
    ]


def test_digest_not_sent_while_smtp_is_down_is_sent_at_the_next_check(morning, settings):
    f.FollowUpFactory(assignee=morning.rep_a1, team=morning.team_a, due_at=datetime(2031, 1, 14, 15, tzinfo=UTC))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    assert services.digests_send(now=RIYADH_8) == 0
    assert not DailyDigest.objects.filter(user=morning.rep_a1).exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.digests_send(now=RIYADH_8 + timedelta(minutes=15)) == 1
    assert len(_sent_to(morning.rep_a1)) == 1


@pytest.mark.postgres
def test_two_digest_checks_at_once_send_one_email(transactional_db, morning):
    f.FollowUpFactory(assignee=morning.rep_a1, team=morning.team_a, due_at=datetime(2031, 1, 14, 15, tzinfo=UTC))
    start = threading.Barrier(2)
    errors = []

    def check():
        try:
            start.wait()
            services.digests_send(now=RIYADH_8)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(_sent_to(morning.rep_a1)) == 1
    assert DailyDigest.objects.filter(user=morning.rep_a1).count() == 1
