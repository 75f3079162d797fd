"""Rolling up one team-local day gives the known answer for every figure, set-based and repeatably."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import services
from analytics.models import (
    DailyActivityFigure,
    DailyDealFigure,
    DailyFollowUpFigure,
    DailyLossFigure,
    DailyStageDuration,
    DailyStageFigure,
    RollupDay,
)
from crm.models import ActivityKind
from pipeline.models import Deal
from tests import factories as f
from tests.analytics.builders import DAY, at, make_activity, make_deal, make_follow_up
from tests.analytics.totals import figure_totals

TABLES = [
    DailyDealFigure,
    DailyStageFigure,
    DailyStageDuration,
    DailyLossFigure,
    DailyActivityFigure,
    DailyFollowUpFigure,
]


def deal_row(team, rep, currency, day=DAY):
    return DailyDealFigure.objects.get(team=team, rep=rep, day=day, currency=currency)


def snapshot_rows(**filters):
    """Every stored figure, without ids and timestamps: what must not change on a re-run."""
    skip = {"id", "created_at", "updated_at"}
    return {
        model.__name__: sorted(
            tuple(sorted((k, str(v)) for k, v in row.items() if k not in skip))
            for row in model.objects.filter(**filters).values()
        )
        for model in TABLES
    }


def test_deal_figures_of_a_rep_have_the_known_answer(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)

    sar = deal_row(w.team_a, w.rep_a1, "SAR")
    assert sar.pipeline == w.pipeline
    assert sar.deals_created == 1
    assert (sar.won_count, sar.lost_count, sar.closed_count) == (3, 2, 5)  # 3 won of 5 closed
    assert sar.won_value == Decimal("6000.50")
    assert sar.lost_value == Decimal("1200.00")
    assert sar.time_to_close_total == timedelta(days=20)
    assert sar.avg_days_to_close == Decimal("4.00")
    # Open at the end of the day, from the stage history: the new 4000.25 in lead (10 %),
    # 6000 in proposal (50 %, won two days later), 2000 still in lead (moved the day after).
    assert sar.open_count == 3
    assert sar.open_value == Decimal("12000.25")
    assert sar.weighted_open_value == Decimal("3600.03")  # 3600.025, rounded half up once


def test_two_currencies_are_never_summed(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)

    usd = deal_row(w.team_a, w.rep_a1, "USD")
    assert usd.deals_created == 1
    assert (usd.open_count, usd.open_value, usd.weighted_open_value) == (1, Decimal("10000.00"), Decimal("5000.00"))
    assert (usd.won_count, usd.won_value, usd.closed_count, usd.avg_days_to_close) == (0, Decimal("0.00"), 0, None)
    assert set(DailyDealFigure.objects.filter(team=w.team_a, day=DAY).values_list("currency", flat=True)) == {
        "SAR",
        "USD",
    }
    with pytest.raises(ValueError, match="currency"):
        figure_totals(DailyDealFigure.objects.filter(team=w.team_a), day_to=DAY)


def test_team_figures_add_up_the_reps_per_currency(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)

    totals = figure_totals(DailyDealFigure.objects.filter(team=w.team_a), day_to=DAY, group_by=("currency",))
    by_currency = {row["currency"]: row for row in totals}
    sar = by_currency["SAR"]
    assert (sar["won_count"], sar["closed_count"], sar["won_value"]) == (4, 6, Decimal("7500.50"))
    assert sar["avg_days_to_close"] == Decimal("3.83")  # (20 + 3) / 6, not the mean of the reps' averages
    assert (sar["open_value"], sar["weighted_open_value"]) == (Decimal("12000.25"), Decimal("3600.03"))
    assert by_currency["USD"]["open_value"] == Decimal("10000.00")
    assert "AED" not in by_currency  # team B's deal is not team A's

    rep2 = deal_row(w.team_a, w.rep_a2, "SAR")
    assert (rep2.won_count, rep2.won_value, rep2.avg_days_to_close, rep2.open_count) == (
        1,
        Decimal("1500.00"),
        Decimal("3.00"),
        0,
    )


def test_weighted_value_uses_the_probability_of_the_stage_at_day_end(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)
    before = deal_row(w.team_a, w.rep_a1, "SAR").weighted_open_value

    # A more optimistic proposal stage changes the weight of the deal that was in it at day end.
    w.pipeline.s.proposal.probability = 80
    w.pipeline.s.proposal.save()
    services.rollup_team_day(team=w.team_a, day=DAY)
    assert deal_row(w.team_a, w.rep_a1, "SAR").weighted_open_value == before + Decimal("6000") * Decimal("0.30")


def test_stage_entries_and_exits_come_from_the_stage_changes_of_the_day(scenario):
    w = scenario.world
    s = w.pipeline.s
    services.rollup_team_day(team=w.team_a, day=DAY)

    rows = {
        row.stage_id: (row.entries, row.exits)
        for row in DailyStageFigure.objects.filter(team=w.team_a, rep=w.rep_a1, day=DAY)
    }
    assert rows == {s.lead.pk: (2, 5), s.proposal.pk: (2, 2), s.won.pk: (3, 0), s.lost.pk: (2, 0)}
    assert DailyStageFigure.objects.get(team=w.team_a, rep=w.rep_a2, day=DAY, stage=s.won).entries == 1


def test_activities_are_counted_by_type_within_the_local_day(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)

    rows = set(DailyActivityFigure.objects.filter(team=w.team_a, day=DAY).values_list("rep", "kind", "count"))
    assert rows == {
        (w.rep_a1.pk, ActivityKind.CALL, 2),
        (w.rep_a1.pk, ActivityKind.MEETING, 1),
        (w.rep_a2.pk, ActivityKind.NOTE, 1),  # 00:00 sharp belongs to the day it starts
    }


def test_follow_ups_done_that_day_and_overdue_at_its_end(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)

    rows = set(DailyFollowUpFigure.objects.filter(team=w.team_a, day=DAY).values_list("rep", "done", "overdue"))
    assert rows == {(w.rep_a1.pk, 2, 2), (w.rep_a2.pk, 0, 1)}
    team = figure_totals(DailyFollowUpFigure.objects.filter(team=w.team_a), day_to=DAY)[0]
    assert (team["done"], team["overdue"]) == (2, 3)


def test_rollup_is_idempotent(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)
    first = snapshot_rows(team=w.team_a, day=DAY)
    assert all(first.values())

    services.rollup_team_day(team=w.team_a, day=DAY)
    services.rollup_range(teams=[w.team_a], day_from=DAY, day_to=DAY)
    assert snapshot_rows(team=w.team_a, day=DAY) == first
    state = RollupDay.objects.get(team=w.team_a, day=DAY)
    assert state.computed_at is not None and not state.is_dirty


def test_a_recomputed_day_drops_rows_that_no_longer_apply(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)
    Deal.objects.filter(owner=w.rep_a2).delete()
    services.rollup_team_day(team=w.team_a, day=DAY)
    assert not DailyDealFigure.objects.filter(rep=w.rep_a2, day=DAY).exists()


def test_a_deal_won_at_23_30_in_riyadh_counts_on_that_riyadh_day(world):
    a, b, s = world.team_a, world.team_b, world.pipeline.s
    won_at = at(a, DAY, "23:30")
    assert won_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") == "2025-11-10 20:30"
    make_deal(owner=world.rep_a1, team=a, history=[(s.lead, at(a, DAY, "10:00")), (s.won, won_at)], amount="100")
    # The same instant, 20:30 UTC, is already 00:30 the next day in Dubai.
    make_deal(owner=world.rep_b, team=b, history=[(s.lead, at(a, DAY, "10:00")), (s.won, won_at)], amount="200")

    services.rollup_range(teams=[a, b], day_from=DAY, day_to=DAY + timedelta(days=1))

    assert deal_row(a, world.rep_a1, "SAR").won_count == 1
    assert not DailyDealFigure.objects.filter(team=a, day=DAY + timedelta(days=1), won_count__gt=0).exists()
    assert deal_row(b, world.rep_b, "SAR", day=DAY + timedelta(days=1)).won_count == 1
    assert deal_row(b, world.rep_b, "SAR").won_count == 0  # created that Dubai day, won the next


def test_dubai_day_starts_an_hour_before_riyadh_day(world):
    a, b = world.team_a, world.team_b
    # 23:30 Riyadh on the day before DAY = 00:30 Dubai on DAY.
    when = at(a, DAY, "23:30", days=-1)
    make_activity(actor=world.rep_a1, team=a, kind=ActivityKind.CALL, occurred_at=when)
    make_activity(actor=world.rep_b, team=b, kind=ActivityKind.CALL, occurred_at=when)
    services.rollup_range(teams=[a, b], day_from=DAY - timedelta(days=1), day_to=DAY)

    assert DailyActivityFigure.objects.get(team=a, rep=world.rep_a1).day == DAY - timedelta(days=1)
    assert DailyActivityFigure.objects.get(team=b, rep=world.rep_b).day == DAY


def _add_busy_day(world, n):
    a, s = world.team_a, world.pipeline.s
    reason = f.LossReasonFactory()
    for i in range(n):
        owner = world.rep_a1 if i % 2 else world.rep_a2
        final = [s.won, s.lost, s.proposal][i % 3]
        make_deal(
            owner=owner,
            team=a,
            history=[(s.lead, at(a, DAY, "09:00", days=-i)), (final, at(a, DAY, "15:00"))],
            amount=str(1000 + i),
            currency=["SAR", "USD"][i // 2 % 2],
            loss_reason=reason,
        )
        make_activity(actor=owner, team=a, kind=ActivityKind.values[i % 4], occurred_at=at(a, DAY, "11:00"))
        make_follow_up(assignee=owner, team=a, due_at=at(a, DAY, "10:00"), created_at=at(a, DAY, "08:00", days=-1))


def test_rollup_query_count_does_not_grow_with_the_data(world, django_assert_max_num_queries):
    _add_busy_day(world, 3)
    with CaptureQueriesContext(connection) as small:
        services.rollup_team_day(team=world.team_a, day=DAY)

    _add_busy_day(world, 60)
    with django_assert_max_num_queries(len(small.captured_queries)):
        services.rollup_team_day(team=world.team_a, day=DAY)
    # Fixed cost: lock and state, one set-based SELECT per table (9: deals, stages, stage durations, losses,
    # activities, follow-ups, satisfaction, cases, case times), a delete and an insert per table (18).
    assert len(small.captured_queries) <= 35
    assert DailyDealFigure.objects.filter(team=world.team_a, day=DAY).count() == 4  # 2 reps × 2 currencies
