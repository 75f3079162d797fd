"""`manage.py rollup_kpis` backfills a range with a progress bar, refuses bad input, and fills the demo's 90 days."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import Team
from analytics.days import day_window, local_date
from analytics.models import (
    DailyActivityFigure,
    DailyDealFigure,
    DailyFollowUpFigure,
    DailyStageFigure,
    RollupDay,
)
from crm.models import Activity
from pipeline.models import Deal, StageChange
from tests.analytics.builders import DAY


def run(*args):
    out = StringIO()
    call_command("rollup_kpis", *args, stdout=out)
    return out.getvalue()


def test_backfills_a_range_for_every_team_with_a_progress_bar(scenario):
    out = run("--from", str(DAY - timedelta(days=2)), "--to", str(DAY))
    assert "6/6" in out and "100%" in out and "[" + "#" * 30 + "]" in out
    assert "Rolled up 6 team-days" in out
    computed = set(RollupDay.objects.filter(computed_at__isnull=False).values_list("team__name", "day"))
    assert len(computed) == 6
    assert DailyDealFigure.objects.filter(day=DAY, team=scenario.world.team_a, won_count=3).exists()


def test_backfill_twice_gives_the_same_rows(scenario):
    run("--from", str(DAY - timedelta(days=1)), "--to", str(DAY))
    first = list(
        DailyDealFigure.objects.order_by("day", "team", "rep", "currency").values_list(
            "day", "team", "rep", "currency", "won_value", "open_value", "weighted_open_value", "avg_days_to_close"
        )
    )
    run("--from", str(DAY - timedelta(days=1)), "--to", str(DAY))
    again = list(
        DailyDealFigure.objects.order_by("day", "team", "rep", "currency").values_list(
            "day", "team", "rep", "currency", "won_value", "open_value", "weighted_open_value", "avg_days_to_close"
        )
    )
    assert again == first


def test_one_team_by_name_or_id_and_arabic_digits(scenario):
    team_a = scenario.world.team_a
    run("--team", team_a.name, "--from", "٢٠٢٥-١١-١٠", "--to", "2025-11-10")
    run("--team", str(team_a.pk), "--from", str(DAY), "--to", str(DAY))
    assert set(RollupDay.objects.values_list("team", "day")) == {(team_a.pk, DAY)}


def test_defaults_to_yesterday_in_each_team_zone(world):
    run()
    now = timezone.now()
    expected = {(team.pk, local_date(team.time_zone, now) - timedelta(days=1)) for team in Team.objects.all()}
    assert set(RollupDay.objects.values_list("team", "day")) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-13-01", "--to", "2025-12-01"], "is not a date"),
        (["--from", "yesterday"], "is not a date"),
        (["--from", "2025-11-10", "--to", "2025-11-01"], "is after"),
        (["--team", "no such team"], "No team"),
        (["--team", "999999"], "No team"),
        (["--to", "2999-01-01"], "not over yet"),
        (["--from", "2025-11-10", "--typo"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(world, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not RollupDay.objects.exists()


def test_today_cannot_be_rolled_up_before_it_is_over(world):
    today = local_date(world.team_a.time_zone, timezone.now())
    with pytest.raises(CommandError, match="not over yet"):
        run("--team", world.team_a.name, "--from", str(today), "--to", str(today))


@pytest.mark.django_db
def test_seeded_90_days_are_filled_by_the_backfill():
    call_command("seed_demo", "--seed", "7", stdout=StringIO())
    now = timezone.now()
    yesterday = min(local_date(team.time_zone, now) for team in Team.objects.all()) - timedelta(days=1)
    first = yesterday - timedelta(days=89)
    out = run("--from", str(first), "--to", str(yesterday))
    assert "180/180" in out

    assert RollupDay.objects.filter(computed_at__isnull=False).count() == 180
    for model in (DailyDealFigure, DailyStageFigure, DailyActivityFigure):
        assert model.objects.exists(), model.__name__
    # The demo's follow-ups are all created at seeding time, so no past day has any
    # overdue (a follow-up that did not exist yet was not overdue); none is done either.
    assert not DailyFollowUpFigure.objects.exists()
    # The stored figures agree with the source rows they summarise, team by team.
    for team in Team.objects.all():
        start = day_window(team.time_zone, first).start
        end = day_window(team.time_zone, yesterday).end
        figures = DailyDealFigure.objects.filter(team=team)
        won = Deal.objects.won().filter(team=team, closed_at__gte=start, closed_at__lt=end)
        assert figures.aggregate(n=Sum("won_count"))["n"] == won.count()
        created = Deal.objects.filter(team=team, created_at__gte=start, created_at__lt=end).count()
        assert figures.aggregate(n=Sum("deals_created"))["n"] == created
        activities = Activity.objects.filter(team=team, occurred_at__gte=start, occurred_at__lt=end).count()
        assert DailyActivityFigure.objects.filter(team=team).aggregate(n=Sum("count"))["n"] == activities
        changes = StageChange.objects.filter(deal__team=team, at__gte=start, at__lt=end).count()
        assert DailyStageFigure.objects.filter(team=team).aggregate(n=Sum("entries"))["n"] == changes
        # The demo never reopens a deal, so "open at yesterday's end" is: created before it, not closed before it.
        open_then = Deal.objects.filter(team=team, created_at__lt=end).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=end)
        )
        for currency in set(open_then.values_list("currency", flat=True)):
            stored = figures.filter(day=yesterday, currency=currency).aggregate(v=Sum("open_value"))["v"]
            assert stored == open_then.filter(currency=currency).aggregate(v=Sum("amount"))["v"]
