"""Dirty days and the nightly run: an edit to a past day is recomputed at the next run, and only that day."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics import services
from analytics.models import DailyActivityFigure, DailyDealFigure, RollupDay
from analytics.tasks import rollup_kpis_nightly
from config.celery import app
from crm.models import ActivityKind
from pipeline.models import Deal, StageChange
from tests import factories as f
from tests.analytics.builders import DAY, at, make_activity, make_deal


def fill(world, first, last):
    services.rollup_range(teams=[world.team_a, world.team_b], day_from=first, day_to=last)


def test_mark_dirty_for_marks_the_team_local_day_of_a_past_instant(world):
    a, b = world.team_a, world.team_b
    when = at(a, DAY, "23:30")  # 20:30 UTC: DAY in Riyadh, the day after in Dubai
    assert services.mark_dirty_for(team=a, when=when, reason="late activity") == DAY
    assert services.mark_dirty_for(team=b, when=when, reason="late activity") == DAY + timedelta(days=1)
    assert set(RollupDay.objects.dirty().values_list("team", "day", "reason")) == {
        (a.pk, DAY, "late activity"),
        (b.pk, DAY + timedelta(days=1), "late activity"),
    }


def test_mark_dirty_for_leaves_today_and_the_future_alone(world):
    now = timezone.now()
    assert services.mark_dirty_for(team=world.team_a, when=now, reason="today") is None
    assert services.mark_dirty_for(team=world.team_a, when=now + timedelta(days=3), reason="future") is None
    assert services.mark_dirty_for(team=world.team_a, when=None, reason="no date") is None
    assert not RollupDay.objects.exists()


def test_marking_a_computed_day_again_keeps_one_state_row_with_the_latest_reason(world):
    services.rollup_team_day(team=world.team_a, day=DAY)
    services.mark_day_dirty(team=world.team_a, day=DAY, reason="first")
    services.mark_day_dirty(team=world.team_a, day=DAY, reason="second " + "x" * 300)
    state = RollupDay.objects.get(team=world.team_a, day=DAY)
    assert state.is_dirty and state.reason.startswith("second") and len(state.reason) == 200
    assert state.computed_at is not None and state.marked_dirty_at is not None


def test_mark_dirty_since_marks_every_day_through_yesterday(world):
    now = at(world.team_a, DAY, "10:00", days=3)
    days = services.mark_dirty_since(
        team=world.team_a, when=at(world.team_a, DAY, "12:00"), reason="backdated", now=now
    )
    assert days == [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    assert RollupDay.objects.dirty().count() == 3
    assert services.mark_dirty_since(team=world.team_a, when=now, reason="today", now=now) == []


def test_a_late_logged_activity_recomputes_only_its_day(world):
    a = world.team_a
    first, last = DAY - timedelta(days=8), DAY
    for offset in range(9):
        make_activity(
            actor=world.rep_a1, team=a, kind=ActivityKind.CALL, occurred_at=at(a, first, "10:00", days=offset)
        )
    fill(world, first, last)
    before = {row.pk: (row.day, row.count, row.updated_at) for row in DailyActivityFigure.objects.all()}
    now = at(a, DAY, "02:00", days=1)  # the next night, after 01:00 everywhere
    assert services.rollup_due(now=now) == []  # everything is computed: nothing to do

    late_day = DAY - timedelta(days=3)
    late = make_activity(actor=world.rep_a1, team=a, kind=ActivityKind.CALL, occurred_at=at(a, late_day, "16:00"))
    assert services.mark_dirty_for(team=a, when=late.occurred_at, reason="activity logged late") == late_day

    assert services.rollup_due(now=now) == [(a, late_day)]
    after = {row.pk: (row.day, row.count, row.updated_at) for row in DailyActivityFigure.objects.all()}
    recomputed = DailyActivityFigure.objects.get(team=a, day=late_day)
    assert recomputed.count == 2
    # Written again: updated in place (PostgreSQL) or replaced (day by day, elsewhere).
    assert recomputed.pk not in before or recomputed.updated_at > before[recomputed.pk][2]
    # Every other day's row is the very same row, untouched.
    assert {pk: v for pk, v in before.items() if v[0] != late_day} == {
        pk: v for pk, v in after.items() if v[0] != late_day
    }
    assert not RollupDay.objects.dirty().exists()
    assert services.rollup_due(now=now) == []  # idempotent: a second run finds nothing due


def test_the_nightly_run_waits_for_01_00_in_each_team_zone(world):
    a, b = world.team_a, world.team_b
    fill(world, DAY - timedelta(days=7), DAY - timedelta(days=1))

    # 00:30 in Riyadh is 01:30 in Dubai: only Dubai's yesterday is due.
    assert services.due_days(now=at(a, DAY, "00:30", days=1)) == [(b, DAY)]
    assert services.rollup_due(now=at(a, DAY, "00:30", days=1)) == [(b, DAY)]
    assert services.rollup_due(now=at(a, DAY, "00:59", days=1)) == []
    assert services.rollup_due(now=at(a, DAY, "01:00", days=1)) == [(a, DAY)]
    assert services.rollup_due(now=at(a, DAY, "01:15", days=1)) == []


def test_a_dirty_yesterday_still_waits_for_01_00(world):
    a = world.team_a
    fill(world, DAY - timedelta(days=7), DAY - timedelta(days=1))
    services.mark_day_dirty(team=a, day=DAY - timedelta(days=1), reason="late")
    night = at(a, DAY, "00:10", days=1)
    # Riyadh: DAY (yesterday) is not due before 01:00; the dirty day before it is.
    assert services.due_days(now=night) == [(a, DAY - timedelta(days=1)), (world.team_b, DAY)]


def test_the_nightly_run_catches_up_on_recent_days_never_computed(world):
    now = at(world.team_a, DAY, "03:00", days=1)
    due = services.due_days(now=now)
    assert {day for _team, day in due} == {DAY - timedelta(days=n) for n in range(services.CATCH_UP_DAYS)}
    assert len(due) == 2 * services.CATCH_UP_DAYS


def test_a_failing_day_is_left_due_and_the_others_are_computed(world, monkeypatch):
    fill(world, DAY - timedelta(days=7), DAY - timedelta(days=1))
    original = services.compute_days

    def broken_for_team_b(*, pairs):
        if any(team == world.team_b for team, _day in pairs):
            raise RuntimeError("boom")
        return original(pairs=pairs)

    monkeypatch.setattr(services, "compute_days", broken_for_team_b)
    now = at(world.team_a, DAY, "03:00", days=1)
    assert services.rollup_due(now=now) == [(world.team_a, DAY)]
    assert services.due_days(now=now) == [(world.team_b, DAY)]


def test_the_beat_runs_the_nightly_task_every_quarter_hour(world):
    entry = app.conf.beat_schedule["analytics-rollup-kpis"]
    assert entry["task"] == rollup_kpis_nightly.name
    assert entry["task"] in app.tasks
    assert entry["schedule"].minute == {0, 15, 30, 45}
    assert app.conf.timezone == "UTC"


def test_the_nightly_task_rolls_up_what_is_due(world):
    computed = rollup_kpis_nightly.apply().get()
    # Nothing was ever computed: the recent days of both teams that are over are computed now.
    assert 0 < computed <= 2 * services.CATCH_UP_DAYS
    assert RollupDay.objects.filter(computed_at__isnull=False).count() == computed
    assert rollup_kpis_nightly.apply().get() == 0


def test_now_is_compared_as_an_instant_not_a_wall_clock(world):
    # 21:30 UTC = 00:30 Riyadh = 01:30 Dubai, the same instant written in UTC.
    now = datetime(2025, 11, 10, 21, 30, tzinfo=UTC)
    fill(world, DAY - timedelta(days=7), DAY - timedelta(days=1))
    assert services.due_days(now=now) == [(world.team_b, DAY)]


def test_a_reopened_deal_is_no_longer_won_on_its_old_day_after_the_next_run(world):
    a, s = world.team_a, world.pipeline.s
    won_day = DAY - timedelta(days=2)
    deal = make_deal(
        owner=world.rep_a1,
        team=a,
        history=[(s.lead, at(a, DAY, "09:00", days=-4)), (s.won, at(a, won_day, "12:00"))],
        amount="900",
    )
    fill(world, DAY - timedelta(days=8), DAY)
    assert DailyDealFigure.objects.get(team=a, day=won_day).won_count == 1

    # What deal_move_to_stage does when the deal is reopened today, and the hook it calls.
    old_closed_at, reopened_at = deal.closed_at, at(a, DAY, "10:00", days=1)
    Deal.objects.filter(pk=deal.pk).update(stage=s.proposal, closed_at=None)
    StageChange.objects.create(deal=deal, from_stage=s.won, to_stage=s.proposal, at=reopened_at)
    services.mark_dirty_for(team=a, when=old_closed_at, reason="deal reopened")

    assert services.rollup_due(now=at(a, DAY, "11:00", days=1)) == [(a, won_day)]
    # Nothing left to report that day (rows with nothing in them are not stored).
    assert not DailyDealFigure.objects.filter(team=a, day=won_day).exists()
    # The days before keep the deal open at their ends; the days after keep it won (history), not open.
    assert DailyDealFigure.objects.get(team=a, day=won_day - timedelta(days=1)).open_value == Decimal("900.00")
    assert not DailyDealFigure.objects.filter(team=a, day__gt=won_day).exists()


def test_a_stage_change_dated_in_the_past_recomputes_every_snapshot_since(world):
    a, s = world.team_a, world.pipeline.s
    deal = make_deal(owner=world.rep_a1, team=a, history=[(s.lead, at(a, DAY, "09:00", days=-6))], amount="1000")
    fill(world, DAY - timedelta(days=7), DAY)
    weighted = dict(DailyDealFigure.objects.filter(team=a).values_list("day", "weighted_open_value"))
    assert set(weighted.values()) == {Decimal("100.00")}  # 10 % of 1000 every day since creation

    moved_at = at(a, DAY, "15:00", days=-3)
    Deal.objects.filter(pk=deal.pk).update(stage=s.proposal)
    StageChange.objects.create(deal=deal, from_stage=s.lead, to_stage=s.proposal, at=moved_at)
    now = at(a, DAY, "11:00", days=1)
    services.mark_dirty_since(team=a, when=moved_at, reason="backdated stage change", now=now)

    assert [day for _team, day in services.rollup_due(now=now)] == [DAY - timedelta(days=n) for n in (3, 2, 1, 0)]
    after = dict(DailyDealFigure.objects.filter(team=a).values_list("day", "weighted_open_value"))
    assert after[DAY - timedelta(days=4)] == Decimal("100.00")
    assert {after[DAY - timedelta(days=n)] for n in range(4)} == {Decimal("500.00")}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dirty_mark_racing_a_rollup_of_the_same_day_is_not_lost():
    team = f.TeamFactory()
    services.rollup_team_day(team=team, day=DAY)
    marked = threading.Event()

    def mark_from_another_connection():
        try:
            services.mark_day_dirty(team=team, day=DAY, reason="logged during the rollup")
            marked.set()
        finally:
            connection.close()

    with transaction.atomic():
        # What rollup_team_day holds while it computes: the day's fill-state row lock.
        state = RollupDay.objects.select_for_update().get(team=team, day=DAY)
        other = threading.Thread(target=mark_from_another_connection)
        other.start()
        assert not marked.wait(0.5)  # the mark waits for the rollup to commit…
        state.is_dirty = False
        state.save()
    other.join(10)
    assert marked.is_set()
    assert RollupDay.objects.get(team=team, day=DAY).is_dirty  # …and then leaves the day dirty
