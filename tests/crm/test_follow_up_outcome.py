"""Finishing a follow-up in one step: its outcome as an activity and the next step, saved together or not at all."""

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from crm import services
from crm.models import Activity, ActivityKind, ActivityOutcome, FollowUp, FollowUpStatus

RIYADH = zoneinfo.ZoneInfo("Asia/Riyadh")


def _counts():
    return Activity.objects.count(), FollowUp.objects.count(), FollowUp.objects.filter(status="done").count()


def test_done_with_outcome_logs_the_activity_and_schedules_the_next_step_together(world):
    follow_up = world.a1.follow_up
    follow_up.deal = world.a1.deal
    follow_up.save()
    next_due = timezone.now() + timedelta(days=3)
    result = services.follow_up_complete_with_outcome(
        follow_up=follow_up,
        by=world.rep_a1,
        kind=ActivityKind.CALL,
        outcome=ActivityOutcome.CONNECTED,
        note="طلب عرض سعر",
        next_due_at=next_due,
    )
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE and follow_up.completed_at is not None
    activity = result.activity
    assert (activity.kind, activity.outcome, activity.body) == ("call", "connected", "طلب عرض سعر")
    assert (activity.contact, activity.deal, activity.actor) == (world.a1.contact, world.a1.deal, world.rep_a1)
    following = result.next_follow_up
    assert following.status == FollowUpStatus.OPEN and following.due_at == next_due
    assert (following.contact, following.deal, following.assignee) == (world.a1.contact, world.a1.deal, world.rep_a1)
    assert following.subject == follow_up.subject
    world.a1.contact.refresh_from_db()
    assert world.a1.contact.last_contacted_at == activity.occurred_at


def test_done_without_a_next_step_only_logs_the_outcome(world):
    result = services.follow_up_complete_with_outcome(
        follow_up=world.a1.follow_up, by=world.rep_a1, outcome=ActivityOutcome.NO_ANSWER
    )
    assert result.next_follow_up is None and result.activity.outcome == "no_answer"


@pytest.mark.parametrize(
    "values, field",
    [
        ({"outcome": "shouted"}, "outcome"),
        ({"kind": "telepathy", "outcome": "connected"}, "kind"),
        ({"outcome": "connected", "next_due_at": datetime(2001, 1, 1, tzinfo=UTC)}, "next_due_at"),
        ({"outcome": ""}, "outcome"),
    ],
)
def test_bad_input_changes_nothing_and_says_why_in_arabic(world, values, field):
    before = _counts()
    with pytest.raises(ValidationError) as error:
        services.follow_up_complete_with_outcome(follow_up=world.a1.follow_up, by=world.rep_a1, **values)
    assert field in error.value.message_dict
    assert any(any("\u0600" <= ch <= "\u06ff" for ch in m) for m in error.value.message_dict[field])
    assert _counts() == before
    world.a1.follow_up.refresh_from_db()
    assert world.a1.follow_up.status == FollowUpStatus.OPEN


def test_a_failure_in_the_next_step_rolls_back_the_activity_and_the_completion(world):
    """A next subject too long for the column fails after the activity was written: all of it is undone."""
    before = _counts()
    with pytest.raises(ValidationError) as error:
        services.follow_up_complete_with_outcome(
            follow_up=world.a1.follow_up,
            by=world.rep_a1,
            outcome="connected",
            next_due_at=timezone.now() + timedelta(days=1),
            next_subject="x" * 201,
        )
    assert "subject" in error.value.message_dict
    assert _counts() == before


def test_a_follow_up_already_done_is_refused(world):
    services.follow_up_complete(follow_up=world.a1.follow_up, by=world.rep_a1)
    before = _counts()
    with translation.override("en"):
        with pytest.raises(ValidationError) as error:
            services.follow_up_complete_with_outcome(follow_up=world.a1.follow_up, by=world.rep_a1, outcome="connected")
        assert "already done" in " ".join(error.value.messages)
    assert _counts() == before


def test_quick_dates_are_nine_in_the_morning_in_the_users_time_zone(world):
    now = datetime(2031, 3, 10, 20, 30, tzinfo=UTC)  # 23:30 in Riyadh
    due = {key: services.next_step_due(key, by=world.rep_a1, now=now) for key in ("tomorrow", "in_3_days", "next_week")}
    assert due == {
        "tomorrow": datetime(2031, 3, 11, 9, 0, tzinfo=RIYADH),
        "in_3_days": datetime(2031, 3, 13, 9, 0, tzinfo=RIYADH),
        "next_week": datetime(2031, 3, 17, 9, 0, tzinfo=RIYADH),
    }
