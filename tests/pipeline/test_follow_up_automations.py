"""Follow-ups Safqa schedules by itself: customers going cold (nightly) and after-sale check-ins (on a win)."""

import threading
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from crm.models import Activity, FollowUp, FollowUpKind, FollowUpStatus
from pipeline import automations, tasks
from pipeline import services as deal_services
from pipeline.models import Deal, StageKind
from tests import factories as f

RIYADH = zoneinfo.ZoneInfo("Asia/Riyadh")


def _quiet(records, days: int, *, now=None) -> None:
    """No activity with this rep's customer for `days`, and no follow-up open on it."""
    then = (now or timezone.now()) - timedelta(days=days)
    Activity.objects.filter(Q(contact=records.contact) | Q(company=records.company) | Q(deal=records.deal)).update(
        occurred_at=then
    )
    Deal.objects.filter(pk=records.deal.pk).update(created_at=then)
    FollowUp.objects.filter(pk=records.follow_up.pk).update(status=FollowUpStatus.DONE)


def _going_cold():
    return FollowUp.objects.filter(kind=FollowUpKind.GOING_COLD)


# ---- going cold ----


def test_going_cold_customer_gets_one_follow_up_for_the_deal_owner_and_a_second_run_adds_none(world):
    now = datetime(2031, 3, 10, 1, 30, tzinfo=UTC)  # the nightly run: 04:30 in Riyadh
    _quiet(world.a1, 20, now=now)

    [follow_up] = automations.going_cold_follow_ups_create(now=now)
    assert follow_up.kind == FollowUpKind.GOING_COLD
    assert follow_up.assignee == world.rep_a1
    assert (follow_up.deal, follow_up.company, follow_up.contact) == (world.a1.deal, world.a1.company, world.a1.contact)
    assert str(world.a1.company) in follow_up.subject
    assert follow_up.due_at == datetime(2031, 3, 10, 9, 0, tzinfo=RIYADH)  # that morning, 09:00 the owner's time
    assert follow_up.remind_at == follow_up.due_at
    assert follow_up.status == FollowUpStatus.OPEN

    assert automations.going_cold_follow_ups_create(now=now) == []
    assert automations.going_cold_follow_ups_create(now=now + timedelta(days=1)) == []
    assert _going_cold().count() == 1


def test_going_cold_follow_up_after_the_owners_morning_is_due_the_next_morning(world):
    world.rep_a1.time_zone = "America/New_York"
    world.rep_a1.save()
    now = datetime(2031, 3, 10, 1, 30, tzinfo=UTC)  # 21:30 the evening before in New York
    _quiet(world.a1, 20, now=now)
    [follow_up] = automations.going_cold_follow_ups_create(now=now)
    assert follow_up.due_at == datetime(2031, 3, 10, 9, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))


def test_recent_contact_or_an_open_follow_up_keeps_a_customer_off_the_going_cold_list(world):
    # a2: a call today. a1: quiet for 20 days, but a follow-up is already open on the contact.
    _quiet(world.a1, 20)
    FollowUp.objects.filter(pk=world.a1.follow_up.pk).update(status=FollowUpStatus.OPEN)
    assert automations.going_cold_follow_ups_create() == []

    # Once that follow-up is done, the customer needs contact again.
    FollowUp.objects.filter(pk=world.a1.follow_up.pk).update(status=FollowUpStatus.DONE)
    assert [fu.deal for fu in automations.going_cold_follow_ups_create()] == [world.a1.deal]


def test_going_cold_days_are_set_per_team_and_zero_switches_the_alert_off(world):
    _quiet(world.b, 20)  # team B (Dubai)
    world.team_b.going_cold_days = 30
    world.team_b.save()
    assert automations.going_cold_follow_ups_create() == []
    world.team_b.going_cold_days = 0
    world.team_b.save()
    assert automations.going_cold_follow_ups_create() == []
    world.team_b.going_cold_days = 10
    world.team_b.save()
    [follow_up] = automations.going_cold_follow_ups_create()
    assert follow_up.assignee == world.rep_b


def test_closed_deals_do_not_go_cold(world):
    _quiet(world.a1, 20)
    Deal.objects.filter(pk=world.a1.deal.pk).update(stage=world.pipeline.s.won)
    assert automations.going_cold_follow_ups_create() == []


def test_one_customer_with_two_quiet_deals_gets_one_follow_up(world):
    f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.proposal, company=world.a1.company)
    Deal.objects.filter(company=world.a1.company).update(created_at=timezone.now() - timedelta(days=40))
    _quiet(world.a1, 20)
    assert len(automations.going_cold_follow_ups_create()) == 1
    assert _going_cold().count() == 1


def test_nightly_task_runs_the_service(world):
    _quiet(world.a1, 20)
    assert tasks.going_cold_follow_ups_create.apply().get() == 1
    assert tasks.going_cold_follow_ups_create.apply().get() == 0


@pytest.mark.postgres
def test_two_going_cold_runs_at_once_create_one_follow_up_per_customer(transactional_db, world):
    _quiet(world.a1, 20)
    _quiet(world.a2, 20)
    start = threading.Barrier(2)
    errors = []

    def run():
        try:
            start.wait()
            automations.going_cold_follow_ups_create()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(_going_cold().values_list("deal_id", flat=True)) == sorted([world.a1.deal.pk, world.a2.deal.pk])


# ---- after the sale ----


def _win(deal, *, by, at: datetime, stage=None):
    stage = stage or deal.pipeline.stages.filter(kind=StageKind.WON).order_by("order").first()
    return deal_services.deal_move_to_stage(deal=deal, stage=stage, by=by, at=at)


def _check_ins(deal):
    return FollowUp.objects.filter(deal=deal, kind=FollowUpKind.AFTER_SALE).order_by("due_at")


def test_won_deal_gets_check_ins_7_and_30_days_after_the_win_and_calling_again_adds_none(world):
    won_at = datetime(2031, 5, 4, 21, 30, tzinfo=UTC)  # 00:30 on 5 May in Riyadh
    deal = _win(world.a1.deal, by=world.rep_a1, at=won_at)
    automations.after_sale_checkins_schedule(deal=deal, by=world.rep_a1)

    check_ins = list(_check_ins(deal))
    assert [check_in.due_at for check_in in check_ins] == [
        datetime.combine(date(2031, 5, 12), time(10), tzinfo=RIYADH),
        datetime.combine(date(2031, 6, 4), time(10), tzinfo=RIYADH),
    ]
    assert {check_in.assignee for check_in in check_ins} == {world.rep_a1}
    assert all(check_in.contact == world.a1.contact for check_in in check_ins)
    assert all(check_in.status == FollowUpStatus.OPEN for check_in in check_ins)

    assert automations.after_sale_checkins_schedule(deal=deal, by=world.rep_a1) == []
    assert _check_ins(deal).count() == 2


def test_check_in_days_come_from_the_pipeline(world):
    world.pipeline.after_sale_checkin_days = "٣، 14"  # Arabic digits and comma, as typed on an Arabic keyboard
    world.pipeline.save()
    deal = _win(world.a2.deal, by=world.rep_a2, at=datetime(2031, 5, 4, 8, tzinfo=UTC))
    automations.after_sale_checkins_schedule(deal=deal, by=world.rep_a2)
    assert [check_in.due_at.astimezone(RIYADH).date() for check_in in _check_ins(deal)] == [
        date(2031, 5, 7),
        date(2031, 5, 18),
    ]


def test_moving_between_won_stages_is_not_a_new_win(world):
    signed = f.StageFactory(pipeline=world.pipeline, name="موقّعة", kind=StageKind.WON, probability=100, order=5)
    deal = _win(world.a1.deal, by=world.rep_a1, at=datetime(2031, 5, 4, 8, tzinfo=UTC))
    automations.after_sale_checkins_schedule(deal=deal, by=world.rep_a1)
    deal = _win(deal, by=world.rep_a1, at=datetime(2031, 5, 9, 8, tzinfo=UTC), stage=signed)
    assert automations.after_sale_checkins_schedule(deal=deal, by=world.rep_a1) == []
    assert _check_ins(deal).count() == 2


def test_a_deal_won_again_after_reopening_gets_check_ins_for_the_new_win(world):
    deal = _win(world.a1.deal, by=world.rep_a1, at=datetime(2031, 5, 4, 8, tzinfo=UTC))
    automations.after_sale_checkins_schedule(deal=deal, by=world.rep_a1)
    deal = deal_services.deal_move_to_stage(
        deal=deal, stage=world.pipeline.s.proposal, by=world.rep_a1, at=datetime(2031, 5, 6, 8, tzinfo=UTC)
    )
    deal = _win(deal, by=world.rep_a1, at=datetime(2031, 7, 1, 8, tzinfo=UTC))
    automations.after_sale_checkins_schedule(deal=deal, by=world.rep_a1)
    assert [check_in.due_at.astimezone(RIYADH).date() for check_in in _check_ins(deal)] == [
        date(2031, 5, 11),
        date(2031, 6, 3),
        date(2031, 7, 8),
        date(2031, 7, 31),
    ]


def test_manager_who_wins_a_reps_deal_schedules_the_check_ins_for_the_rep(world):
    deal = _win(world.a1.deal, by=world.manager_a, at=datetime(2031, 5, 4, 8, tzinfo=UTC))
    automations.after_sale_checkins_schedule(deal=deal, by=world.manager_a)
    assert {(c.assignee, c.created_by) for c in _check_ins(deal)} == {(world.rep_a1, world.manager_a)}


def test_open_deal_gets_no_check_ins(world):
    with pytest.raises(ValueError):
        automations.after_sale_checkins_schedule(deal=world.a1.deal, by=world.rep_a1)
    assert not _check_ins(world.a1.deal).exists()
