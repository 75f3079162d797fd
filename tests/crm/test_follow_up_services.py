"""Follow-up writes live in the services: the one-click snooze and the edit page call them, nothing else."""

import zoneinfo
from datetime import UTC, datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import FollowUp, ReminderState

RIYADH = zoneinfo.ZoneInfo("Asia/Riyadh")


def test_snooze_moves_to_nine_tomorrow_in_the_snoozers_time_zone(world):
    late_evening = datetime(2031, 3, 10, 20, 30, tzinfo=UTC)  # 23:30 in Riyadh, 16:30 in New York
    follow_up = services.follow_up_snooze(follow_up=world.a1.follow_up, by=world.rep_a1, now=late_evening)
    assert follow_up.due_at == datetime(2031, 3, 11, 9, 0, tzinfo=RIYADH)
    world.rep_a2.time_zone = "America/New_York"
    follow_up = services.follow_up_snooze(follow_up=world.a2.follow_up, by=world.rep_a2, now=late_evening)
    assert follow_up.due_at == datetime(2031, 3, 11, 9, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert follow_up.reminder_state == ReminderState.PENDING


def test_tomorrow_button_uses_the_snooze_service(client, world):
    client.force_login(world.rep_a1)
    response = client.post(reverse("crm:follow_up_snooze", args=[world.a1.follow_up.pk]), {"from": "list"})
    assert response.status_code == 302
    follow_up = FollowUp.objects.get(pk=world.a1.follow_up.pk)
    tomorrow = timezone.localtime(timezone.now(), RIYADH).date() + timedelta(days=1)
    assert timezone.localtime(follow_up.due_at, RIYADH).replace(tzinfo=None) == datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, 9, 0
    )


def test_edit_page_reschedules_and_reassigns_in_one_save_through_the_service(client, world):
    follow_up = world.a1.follow_up
    FollowUp.objects.filter(pk=follow_up.pk).update(reminder_state=ReminderState.SENT)
    client.force_login(world.manager_a)
    new_due = timezone.localtime(timezone.now() + timedelta(days=2), RIYADH).replace(second=0, microsecond=0)
    response = client.post(
        reverse("crm:follow_up_update", args=[follow_up.pk]),
        {
            "follow_up-subject": "موضوع جديد",
            "follow_up-due_at": new_due.strftime("%Y-%m-%dT%H:%M"),
            "follow_up-assignee": world.rep_a2.pk,
            "follow_up-notes": "",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    follow_up.refresh_from_db()
    assert (follow_up.subject, follow_up.due_at, follow_up.assignee) == ("موضوع جديد", new_due, world.rep_a2)
    assert follow_up.remind_at == new_due - timedelta(minutes=world.rep_a2.reminder_offset_minutes)
    assert follow_up.reminder_state == ReminderState.PENDING
