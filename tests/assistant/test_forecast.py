"""The sales forecast: the model recovers a known trend, says when history is too short, computes MAPE right;
the nightly task stores it per team and currency; the dashboard and the API show it to managers only."""

import math
import random
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from assistant.forecast import (
    BACKTEST_MONTHS,
    add_months,
    fit_and_forecast,
    mape,
    monthly_won_values,
    months_needed,
    refresh_all,
)
from assistant.planning_models import SalesForecast, SalesForecastMonthKind
from pipeline.models import Deal
from tests import factories as f


def test_mape_against_hand_values():
    # |100-110|/100 = 10 %, |200-150|/200 = 25 %, the month with nothing won is left out, 400 = 400: 0 %.
    value, months = mape([100, 200, 0, 400], [110, 150, 50, 400])
    assert months == 3
    assert value == Decimal("11.67")  # (10 + 25 + 0) / 3
    assert mape([Decimal("80")], [Decimal("100")]) == (Decimal("25.00"), 1)


def test_mape_is_unknown_when_nothing_was_won():
    assert mape([0, 0, 0], [10, 0, 5]) == (None, 0)


def test_a_known_trend_is_recovered_with_its_interval_and_a_small_backtest_error():
    rng = random.Random(3)
    truth = [Decimal(1000 + 100 * month) for month in range(30)]
    history = [value + Decimal(round(rng.gauss(0, 15), 2)) for value in truth[:24]]
    result = fit_and_forecast(history, first_month=date(2024, 1, 1))
    assert result.status == "forecast"
    assert result.method == "trend"  # 18 months before the backtest: no yearly season yet
    assert result.history_months == 24
    assert [row.month for row in result.ahead] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    for row, expected in zip(result.ahead, truth[24:27], strict=True):
        assert abs(row.value - expected) / expected < Decimal("0.03")
        # An interval around the forecast, of the noise's scale (σ = 15: an 80 % interval is some ±19).
        assert row.low < row.value < row.high
        assert Decimal(10) < row.high - row.low < Decimal(200)
    assert [row.month for row in result.backtest] == [add_months(date(2024, 1, 1), 18 + n) for n in range(6)]
    assert [row.actual for row in result.backtest] == history[18:]
    assert result.mape is not None and result.mape < Decimal("3")
    assert result.backtest_months == BACKTEST_MONTHS
    # The stored error is the error of the stored backtest months, recomputed by hand.
    assert result.mape == mape([r.actual for r in result.backtest], [r.value for r in result.backtest])[0]


def test_a_yearly_season_is_used_and_recovered_with_two_years_before_the_backtest():
    def truth(month):
        return Decimal(5000 + 50 * month + 1500 * math.sin(2 * math.pi * month / 12)).quantize(Decimal("0.01"))

    history = [truth(month) for month in range(36)]
    result = fit_and_forecast(history, first_month=date(2023, 1, 1))
    assert result.method == "seasonal"
    for index, row in enumerate(result.ahead):
        expected = truth(36 + index)
        assert abs(row.value - expected) / expected < Decimal("0.05")
    # Without the season, the same series is forecast much worse: the season is what recovers it.
    plain = fit_and_forecast(history[:29], first_month=date(2023, 1, 1))
    assert plain.method == "trend"


def test_short_history_says_so_and_forecasts_nothing():
    result = fit_and_forecast([Decimal(100)] * (months_needed() - 1), first_month=date(2025, 1, 1))
    assert result.status == "too_short"
    assert result.history_months == months_needed() - 1
    assert result.months_needed == 18
    assert result.ahead == [] and result.backtest == [] and result.mape is None


def test_forecasts_never_go_below_zero():
    history = [Decimal(max(0, 3000 - 200 * month)) for month in range(20)]
    result = fit_and_forecast(history, first_month=date(2024, 1, 1))
    assert all(row.value >= 0 and row.low >= 0 and row.high >= 0 for row in result.ahead)


def _won(world, team, owner, *, when: datetime, amount, currency="SAR"):
    return Deal(
        title="صفقة رابحة",
        owner=owner,
        team=team,
        pipeline=world.pipeline,
        stage=world.pipeline.s.won,
        amount=Decimal(amount),
        currency=currency,
        closed_at=when,
    )


def _history(world, *, team, owner, months, now, currency="SAR", start=2000, step=100):
    """One won deal a month (two in even months, half each) over `months` complete months before `now`'s month."""
    zone = ZoneInfo(team.time_zone)
    this_month = now.astimezone(zone).date().replace(day=1)
    deals = []
    for index in range(months):
        month = add_months(this_month, index - months)
        value = start + step * index
        local = datetime(
            month.year, month.month, 1, 0, 30, tzinfo=zone
        )  # just after local midnight: UTC is the month before
        if index % 2:
            deals.append(_won(world, team, owner, when=local, amount=value, currency=currency))
        else:
            deals.append(_won(world, team, owner, when=local + timedelta(days=3), amount=value / 2, currency=currency))
            deals.append(_won(world, team, owner, when=local + timedelta(days=9), amount=value / 2, currency=currency))
    Deal.objects.bulk_create(deals)


def test_monthly_history_is_per_team_local_month_and_currency(world):
    now = timezone.now()
    _history(world, team=world.team_a, owner=world.rep_a1, months=4, now=now)
    _history(world, team=world.team_a, owner=world.rep_a1, months=2, now=now, currency="USD", start=7)
    # This month's wins are not history yet; another team's are not this team's.
    Deal.objects.bulk_create([_won(world, world.team_a, world.rep_a1, when=now, amount=999)])
    _history(world, team=world.team_b, owner=world.rep_b, months=3, now=now)
    series = monthly_won_values(team=world.team_a, until=now.astimezone(ZoneInfo("Asia/Riyadh")).date())
    _first, values = series["SAR"]
    assert values == [Decimal(2000), Decimal(2100), Decimal(2200), Decimal(2300)]
    assert series["USD"][1] == [Decimal(7), Decimal(107)]


def test_the_nightly_task_stores_each_team_and_currency(world, eager_celery):
    from assistant.planning_tasks import sales_forecasts_refresh

    now = timezone.now()
    _history(world, team=world.team_a, owner=world.rep_a1, months=24, now=now)
    _history(world, team=world.team_a, owner=world.rep_a2, months=5, now=now, currency="USD")
    assert sales_forecasts_refresh.delay().get() == 2
    sar = SalesForecast.objects.get(team=world.team_a, currency="SAR")
    assert sar.status == "forecast" and sar.method == "trend" and sar.history_months == 24
    assert sar.mape is not None and sar.backtest_months == 6
    assert sar.months.filter(kind=SalesForecastMonthKind.FORECAST).count() == 3
    assert sar.months.filter(kind=SalesForecastMonthKind.BACKTEST).count() == 6
    usd = SalesForecast.objects.get(team=world.team_a, currency="USD")
    assert usd.status == "too_short" and usd.history_months == 5 and not usd.months.exists()
    # Twice is the same: replaced, not added.
    refresh_all()
    assert SalesForecast.objects.count() == 2
    assert SalesForecast.objects.get(pk=sar.pk).months.count() == 9


def _forecasts(world):
    now = timezone.now()
    _history(world, team=world.team_a, owner=world.rep_a1, months=20, now=now)
    _history(world, team=world.team_b, owner=world.rep_b, months=3, now=now, currency="AED")
    refresh_all(now=now)


def test_dashboard_shows_the_forecast_table_and_error_to_the_manager(client, world):
    _forecasts(world)
    client.force_login(world.manager_a)
    html = client.get(reverse("analytics:dashboard")).content.decode()
    assert 'id="sales-forecast-title"' in html
    forecast = SalesForecast.objects.get(team=world.team_a)
    assert f'id="sales-forecast-{forecast.pk}-caption"' in html
    assert "MAPE" in html
    # The other team's forecast (and its note) is not the manager's.
    assert "AED" not in html.split('id="sales-forecast-title"')[1].split("</section>")[0]


def test_dashboard_says_when_history_is_too_short(client, world):
    _forecasts(world)
    client.force_login(world.manager_b)
    html = client.get(reverse("analytics:dashboard")).content.decode()
    panel = html.split('id="sales-forecast-title"')[1].split("</section>")[0]
    assert "Not enough history to forecast: 3 complete months of won deals in" in panel
    assert "a forecast needs 18." in panel


def test_a_rep_sees_no_team_forecast(client, world):
    _forecasts(world)
    client.force_login(world.rep_a1)
    html = client.get(reverse("analytics:dashboard")).content.decode()
    assert 'id="sales-forecast-title"' not in html


def test_dashboard_forecast_queries_do_not_grow_with_teams(world):
    from types import SimpleNamespace

    from django.db import connection
    from django.template import Context, Template
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Team

    _forecasts(world)
    panel = Template("{% load assistant_forecast %}{% sales_forecast_panel board %}")

    def count():
        board = SimpleNamespace(user=world.admin, self_only=False, teams=list(Team.objects.all()))
        with CaptureQueriesContext(connection) as context:
            html = panel.render(Context({"board": board}))
        return len(context.captured_queries), html.count("<caption")

    few, tables = count()
    for n in range(4):
        team = f.TeamFactory(name=f"فريق {n}")
        _history(world, team=team, owner=world.rep_b, months=19, now=timezone.now())
    refresh_all()
    many, more_tables = count()
    assert more_tables == tables + 2 * 4
    assert many == few <= 3  # the forecasts with their teams, the months ahead, the backtest months


def test_the_api_gives_managers_their_teams_forecasts(client, world):
    _forecasts(world)
    client.force_login(world.manager_a)
    response = client.get("/api/v1/sales-forecast/")
    assert response.status_code == 200
    body = response.json()
    assert [(row["team"], row["currency"], row["status"]) for row in body] == [(world.team_a.pk, "SAR", "forecast")]
    row = body[0]
    assert len(row["ahead"]) == 3 and len(row["backtest"]) == 6
    assert set(row["ahead"][0]) == {"month", "value", "low", "high", "actual"}
    assert Decimal(row["ahead"][0]["low"]) <= Decimal(row["ahead"][0]["value"]) <= Decimal(row["ahead"][0]["high"])
    assert row["mape"] is not None and row["interval_level"] == 80
    client.force_login(world.admin)
    assert len(client.get("/api/v1/sales-forecast/").json()) == 2


def test_the_api_refuses_reps_in_the_error_shape(client, world):
    _forecasts(world)
    client.force_login(world.rep_a1)
    response = client.get("/api/v1/sales-forecast/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    client.logout()
    assert client.get("/api/v1/sales-forecast/").status_code in (401, 403)


def test_the_web_process_never_imports_statsmodels():
    code = (
        "import django, os, sys;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        "django.setup();"
        "import config.urls, assistant.forecast, assistant.forecast_selectors, assistant.api.planning;"
        "import assistant.templatetags.assistant_forecast, assistant.next_actions, workspace.views;"
        "print(sorted(m for m in ('statsmodels', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("months", [0, 1])
def test_a_team_whose_first_win_is_this_month_has_no_history_yet(world, months):
    now = timezone.now()
    _history(world, team=world.team_a, owner=world.rep_a1, months=months, now=now)
    Deal.objects.bulk_create([_won(world, world.team_a, world.rep_a1, when=now, amount=5)])
    refresh_all(now=now)
    forecast = SalesForecast.objects.get(team=world.team_a)
    assert forecast.status == "too_short" and forecast.history_months == months


def test_the_beat_schedule_runs_the_forecast_and_the_snapshots_after_the_scoring():
    from config.celery import app

    schedule = app.conf.beat_schedule
    train = schedule["assistant-win-model-train"]["schedule"]
    snapshots = schedule["assistant-deal-score-snapshots"]
    forecast = schedule["assistant-sales-forecasts-refresh"]
    assert snapshots["task"] == "assistant.tasks.deal_score_snapshots_take"
    assert forecast["task"] == "assistant.tasks.sales_forecasts_refresh"
    assert min(snapshots["schedule"].hour) > max(train.hour)
    app.loader.import_default_modules()
    assert {snapshots["task"], forecast["task"]} <= set(app.tasks)
