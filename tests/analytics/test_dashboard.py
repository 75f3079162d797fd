"""The dashboards read the rollups for past days, with known answers for a team, a rep and two time zones."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from analytics.periods import Filters, Period, period_for
from analytics.selectors import Dashboard, my_quota_progress
from analytics.services import rollup_range
from pipeline.models import Deal, StageChange
from tests import factories as f
from tests.analytics.builders import DAY, at, make_deal

NOVEMBER = Period("custom", date(2025, 11, 1), date(2025, 11, 30))
# A moment well after the scenario, so every one of its days is rolled up (past) and none is "today".
LATER = datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo("UTC"))


@pytest.fixture
def rolled(scenario):
    w = scenario.world
    rollup_range(teams=[w.team_a, w.team_b], day_from=date(2025, 10, 31), day_to=date(2025, 12, 2))
    return scenario


def board(user, period=NOVEMBER, now=LATER, **filters):
    return Dashboard(user=user, filters=Filters(period=period, **filters), now=now)


def test_periods_are_the_week_month_quarter_and_year_containing_today():
    today = date(2025, 11, 13)
    assert period_for("week", today) == Period("week", date(2025, 11, 10), date(2025, 11, 16))
    assert period_for("month", today) == Period("month", date(2025, 11, 1), date(2025, 11, 30))
    assert period_for("quarter", today) == Period("quarter", date(2025, 10, 1), date(2025, 12, 31))
    assert period_for("year", today) == Period("year", date(2025, 1, 1), date(2025, 12, 31))


def test_team_headline_figures_have_known_answers(rolled):
    headline = board(rolled.world.manager_a).headline
    assert headline["per_currency"] == [
        {"currency": "SAR", "won_value": Decimal("23499.50"), "won_count": 6, "average": Decimal("3916.58")}
    ]
    assert headline["won_count"] == 6
    assert headline["lost_count"] == 2
    assert headline["closed_count"] == 8
    assert headline["win_rate"] == Decimal("75.0")
    assert headline["deals_created"] == 13
    assert (headline["cohort_created"], headline["cohort_won"]) == (13, 6)
    assert headline["conversion"] == Decimal("46.2")
    # 2 + 4 + 6 + 1 + 7 + (7 days − 1 hour) + 7 + 3 = 36.96 days over 8 closed deals.
    assert headline["cycle_days"] == Decimal("4.6")


def test_rep_sees_only_their_own_figures(rolled):
    w = rolled.world
    mine = board(w.rep_a2)
    assert mine.self_only
    assert mine.headline["per_currency"][0]["won_value"] == Decimal("1500.00")
    assert mine.headline["won_count"] == 1
    assert [row["rep"] for row in mine.leaderboard] == [w.rep_a2]
    # Asking for a colleague changes nothing: a rep only ever sees themselves.
    assert board(w.rep_a2, rep=w.rep_a1).headline["won_count"] == 1


def test_manager_sees_their_team_and_admin_everyone(rolled):
    w = rolled.world
    assert {row["rep"] for row in board(w.manager_b).leaderboard} == {w.manager_b, w.rep_b}
    assert board(w.manager_b).headline["per_currency"] == [
        {"currency": "AED", "won_value": Decimal("50000.00"), "won_count": 1, "average": Decimal("50000.00")}
    ]
    currencies = [row["currency"] for row in board(w.admin).headline["per_currency"]]
    assert currencies == ["AED", "SAR"]


def test_a_period_boundary_splits_the_figures(rolled):
    w = rolled.world
    before = board(w.manager_a, Period("custom", date(2025, 11, 1), DAY - timedelta(days=1))).headline
    after = board(w.manager_a, Period("custom", DAY, date(2025, 11, 30))).headline
    assert before["won_count"] == 1 and before["per_currency"][0]["won_value"] == Decimal("9999.00")
    assert after["won_count"] == 5 and after["per_currency"][0]["won_value"] == Decimal("13500.50")
    assert before["deals_created"] + after["deals_created"] == 13


def test_each_team_reads_the_period_in_its_own_time_zone(scenario):
    w = scenario.world
    s = w.pipeline.s
    # 23:30 on 30 November in Riyadh is already 1 December in Dubai, and 00:30 on 1 December in Dubai
    # is still 30 November in Riyadh: each deal belongs to its own team's day.
    riyadh_late = make_deal(
        owner=w.rep_a1,
        team=w.team_a,
        amount="100",
        history=[
            (s.lead, at(w.team_a, date(2025, 11, 20), "10:00")),
            (s.won, at(w.team_a, date(2025, 11, 30), "23:30")),
        ],
    )
    dubai_early = make_deal(
        owner=w.rep_b,
        team=w.team_b,
        amount="200",
        currency="AED",
        history=[
            (s.lead, at(w.team_b, date(2025, 11, 20), "10:00")),
            (s.won, at(w.team_b, date(2025, 12, 1), "00:30")),
        ],
    )
    rollup_range(teams=[w.team_a, w.team_b], day_from=date(2025, 10, 31), day_to=date(2025, 12, 2))
    everyone = board(w.admin)
    by_currency = {row["currency"]: row for row in everyone.headline["per_currency"]}
    assert by_currency["SAR"]["won_value"] == Decimal("23599.50")
    assert by_currency["AED"]["won_value"] == Decimal("50000.00")
    won = set(everyone.drilldown("won").values_list("pk", flat=True))
    assert riyadh_late.pk in won and dubai_early.pk not in won
    assert len(won) == everyone.headline["won_count"] == 8


def test_drilldown_lists_add_up_to_the_figures(rolled):
    d = board(rolled.world.manager_a)
    won = d.drilldown("won")
    assert won.count() == d.headline["won_count"]
    assert sum(deal.amount for deal in won) == d.headline["per_currency"][0]["won_value"]
    assert d.drilldown("lost").count() == d.headline["lost_count"]
    assert d.drilldown("closed").count() == d.headline["closed_count"]
    assert d.drilldown("created").count() == d.headline["deals_created"]
    assert d.drilldown("created_won").count() == d.headline["cohort_won"]


def test_past_days_come_from_the_rollups_not_the_deals(rolled):
    w = rolled.world
    Deal.objects.filter(pk=rolled.deals.won1.pk).update(amount=Decimal("1"))
    Deal.objects.filter(pk=rolled.deals.won2.pk).delete()
    headline = board(w.manager_a).headline
    assert headline["per_currency"][0]["won_value"] == Decimal("23499.50")
    assert headline["won_count"] == 6


def test_conversion_time_in_stage_and_losses_of_past_days_come_from_the_rollups(rolled):
    w, d = rolled.world, rolled.deals
    before = board(w.manager_a, pipeline=w.pipeline)
    expected = (before.headline["conversion"], before.cohort, before.median_days_in_stage, before.losses)
    assert before.cohort == {"created": 13, "won": 6}
    assert before.losses["reasons"][0]["count"] == 2

    # Rewrite the raw history of the rolled-up days: none of it is read again until they are recomputed.
    Deal.objects.filter(pk=d.moved_later.pk).update(stage=w.pipeline.s.won, closed_at=d.moved_later.created_at)
    Deal.objects.filter(pk=d.lost1.pk).update(competitor="Someone else", loss_reason=None)
    Deal.objects.filter(pk__in=[d.won2.pk, d.lost2.pk]).delete()
    StageChange.objects.filter(deal__team=w.team_a).delete()

    after = board(w.manager_a, pipeline=w.pipeline)
    assert (after.headline["conversion"], after.cohort, after.median_days_in_stage, after.losses) == expected


def test_today_is_read_live(scenario):
    w = scenario.world
    # DAY is "today" here and nothing is rolled up: the figures come from the live computation.
    now = at(w.team_a, DAY, "20:00")
    today = board(w.manager_a, Period("custom", DAY, DAY), now=now).headline
    assert today["won_count"] == 4
    assert today["per_currency"][0]["won_value"] == Decimal("7500.50")


def test_activities_per_rep_by_type(rolled):
    w = rolled.world
    activities = board(w.manager_a).activities
    assert activities[w.rep_a1.pk] == {"call": 2, "meeting": 1, "email": 1, "note": 1}
    assert activities[w.rep_a2.pk] == {"note": 1}


def test_funnel_entries_conversion_and_median_time_in_stage(rolled):
    w = rolled.world
    rows = {row["stage"].name_en: row for row in board(w.manager_a, pipeline=w.pipeline).funnel}
    assert [rows[name]["entries"] for name in ("Lead", "Proposal", "Won", "Lost")] == [13, 6, 7, 2]
    assert rows["Proposal"]["conversion"] == Decimal("46.2")
    assert rows["Won"]["conversion"] == Decimal("116.7")
    assert rows["Lost"]["conversion"] is None
    # The 11 exits from Lead in November, in days: 0.21, 1, 2, 2.875, 3, 3.875, 3.92, 4.92, 6, 7, 7
    # (exact median 3.875). In hour buckets: [4, 8) 1, [24, 48) 1, [48, 72) 2, [72, 96) 3, [96, 120) 1,
    # [120, 168) 1, [168, 240) 2; the 5.5th of 11 is 1.5 of the 3 in [72, 96): 72 + 24 × 1.5 / 3 = 84 h.
    assert rows["Lead"]["median_days"] == Decimal("3.5")


def test_loss_reasons_and_competitors(rolled):
    w = rolled.world
    Deal.objects.filter(pk=rolled.deals.lost1.pk).update(competitor=" =Rival ")
    Deal.objects.filter(pk=rolled.deals.lost2.pk).update(competitor="=RIVAL")
    # The lost deals' days are recomputed after the edit (what the dirty marking does for real edits).
    rollup_range(teams=[w.team_a], day_from=DAY, day_to=DAY)
    losses = board(w.manager_a).losses
    assert losses["reasons"] == [
        {
            "loss_reason__name": rolled.reason.name,
            "loss_reason__name_en": rolled.reason.name_en,
            "count": 2,
        }
    ]
    # Competitor names are grouped trimmed and case-folded.
    assert losses["competitors"] == [{"competitor": "=rival", "count": 2}]
    assert board(w.manager_a, currency="USD").losses == {"reasons": [], "competitors": []}


def test_forecast_weights_open_deals_by_probability_with_commit_and_best_case(world):
    s = world.pipeline.s
    hot = f.StageFactory(pipeline=world.pipeline, name="تفاوض", name_en="Negotiation", order=1, probability=80)
    for stage, amount in [(s.lead, "1000"), (s.proposal, "2000"), (hot, "4000")]:
        f.DealFactory(
            owner=world.rep_a1,
            team=world.team_a,
            stage=stage,
            amount=Decimal(amount),
            expected_close=date(2025, 12, 15),
        )
    f.DealFactory(
        owner=world.rep_a1, team=world.team_a, stage=s.lead, amount=Decimal("500"), expected_close=date(2026, 2, 1)
    )
    from accounts.services import quota_set

    quota_set(
        rep=world.rep_a1,
        kind="quarter",
        start=date(2025, 10, 1),
        target_won_value=Decimal("9000"),
        currency="SAR",
        target_won_deals=3,
        target_activities=0,
        by=world.manager_a,
    )
    december = Period("custom", date(2025, 12, 1), date(2025, 12, 31))
    rows = board(world.manager_a, december).forecast
    december_row = next(row for row in rows if row["month"] == date(2025, 12, 1) and row["currency"] == "SAR")
    assert december_row["count"] == 3
    assert december_row["commit"] == Decimal("4000.00")
    assert december_row["best_case"] == Decimal("7000.00")
    # 1000 × 10 % + 2000 × 50 % + 4000 × 80 % = 4300.
    assert december_row["weighted"] == Decimal("4300.00")
    # The quarter's target pro rata for December's days: 9000 × 31 / 92.
    assert december_row["target"] == Decimal("3032.61")
    d = board(world.manager_a, december)
    assert d.drilldown("forecast", month="2025-12", bucket="commit").count() == 1


def test_quota_attainment_and_pace(rolled):
    from accounts.services import quota_set

    w = rolled.world
    quota_set(
        rep=w.rep_a1,
        kind="month",
        start=date(2025, 11, 1),
        target_won_value=Decimal("40000"),
        currency="SAR",
        target_won_deals=10,
        target_activities=20,
        by=w.manager_a,
    )
    quota_set(
        rep=w.rep_a2,
        kind="month",
        start=date(2025, 11, 1),
        target_won_value=Decimal("10000"),
        currency="SAR",
        target_won_deals=4,
        target_activities=4,
        by=w.manager_a,
    )
    now = at(w.team_a, date(2025, 11, 15), "12:00")
    progress = {p["quota"].rep_id: p for p in board(w.manager_a, now=now).quota_progress}
    mine = progress[w.rep_a1.pk]
    # 1000 + 2000 + 3000.50 + 6000 (12 Nov) + 9999 (9 Nov) won by 15 November.
    assert mine["won_value"] == Decimal("21999.50")
    assert mine["won_count"] == 5
    assert mine["activities"] == 5
    assert mine["value_attainment"] == Decimal("55.0")
    assert mine["elapsed_share"] == Decimal("50.0")
    assert mine["on_track"] is True
    theirs = progress[w.rep_a2.pk]
    assert theirs["won_value"] == Decimal("1500.00")
    assert theirs["on_track"] is False and theirs["behind_by"] == Decimal("3500.00")
    # My day shows the rep their own current target only.
    assert [p["quota"].rep for p in my_quota_progress(user=w.rep_a2, now=now)] == [w.rep_a2]


def test_trend_is_won_value_per_week_against_the_quota_line(rolled):
    from accounts.services import quota_set

    w = rolled.world
    quota_set(
        rep=w.rep_a1,
        kind="month",
        start=date(2025, 11, 1),
        target_won_value=Decimal("30000"),
        currency="SAR",
        target_won_deals=0,
        target_activities=0,
        by=w.manager_a,
    )
    trend = board(w.manager_a).trend
    assert trend["weeks"][0] == date(2025, 10, 27)
    sar = trend["series"][0]
    weeks = dict(zip(trend["weeks"], sar["won"], strict=True))
    assert weeks[date(2025, 11, 3)] == Decimal("9999.00")
    assert weeks[date(2025, 11, 10)] == Decimal("13500.50")
    assert sum(sar["won"]) == Decimal("23499.50")
    assert sum(sar["target"]) == Decimal("30000.00")


# The pages ---------------------------------------------------------------------


def _url(**params):
    from urllib.parse import urlencode

    query = {"period": "custom", "start": "2025-11-01", "end": "2025-11-30", **params}
    return reverse("analytics:dashboard") + "?" + urlencode(query)


def test_dashboard_page_shows_the_team_figures_and_drills_down(client, rolled):
    client.force_login(rolled.world.manager_a)
    response = client.get(_url())
    assert response.status_code == 200
    assert response.context["headline"]["won_count"] == 6
    assert b'id="dashboard-data"' in response.content and b"chart.umd.min.js" in response.content
    drill = client.get(reverse("analytics:drilldown") + "?" + _url(figure="won").split("?")[1])
    assert drill.status_code == 200
    assert drill.context["count"] == 6
    assert drill.context["totals"][0]["total"] == Decimal("23499.50")


def test_dashboard_csv_exports_are_formula_safe_utf8_with_bom(client, rolled):
    Deal.objects.filter(pk=rolled.deals.lost1.pk).update(competitor="=HYPERLINK(1)")
    rollup_range(teams=[rolled.world.team_a], day_from=DAY, day_to=DAY)
    client.force_login(rolled.world.manager_a)
    response = client.get(_url(export="competitors"))
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    assert "'=hyperlink(1)" in body  # stored normalized (docs/kpis.md)
    for table in ("sales", "activities", "quotas", "funnel", "trend", "leaderboard", "forecast", "loss_reasons"):
        assert client.get(_url(export=table)).status_code == 200, table
    assert client.get(_url(export="nope")).status_code == 404


def test_leaderboard_sorts_by_each_figure(client, rolled):
    w = rolled.world
    client.force_login(w.manager_a)
    for key in ("rep", "won_value", "won_count", "win_rate", "cycle_days", "activities", "attainment"):
        assert client.get(_url(sort=key, dir="asc")).status_code == 200
    rows = client.get(_url(sort="won_count")).context["tables"]["leaderboard"]["rows"]
    assert rows[0][0].value == str(w.rep_a1)


def test_rep_cannot_pick_a_colleague_on_the_dashboard(client, rolled):
    w = rolled.world
    client.force_login(w.rep_a2)
    response = client.get(_url(rep=w.rep_a1.pk))
    assert response.status_code == 200
    assert response.context["board"].self_only
    assert response.context["headline"]["won_count"] == 1
    assert str(w.rep_a1) not in [row[0].value for row in response.context["tables"]["leaderboard"]["rows"]]


def test_custom_period_needs_both_ends_in_order(client, world):
    client.force_login(world.manager_a)
    response = client.get(_url(start="2025-11-30", end="2025-11-01"))
    assert response.status_code == 200
    assert response.context["form"].errors


@pytest.mark.django_db
def test_dashboard_query_count_does_not_grow_with_the_data(client, world, django_assert_max_num_queries):
    s = world.pipeline.s
    day = date(2025, 11, 10)
    when = at(world.team_a, day, "12:00")
    deals = [
        Deal(
            title=f"deal {n}",
            owner=world.rep_a1 if n % 2 else world.rep_a2,
            team=world.team_a,
            pipeline=world.pipeline,
            stage=[s.lead, s.proposal, s.won, s.lost][n % 4],
            amount=Decimal(100 + n),
            currency=["SAR", "USD"][n % 2],
            expected_close=date(2025, 11, 20),
            closed_at=when if n % 4 in (2, 3) else None,
        )
        for n in range(300)
    ]
    Deal.objects.bulk_create(deals)
    Deal.objects.filter(title__startswith="deal ").update(created_at=when)
    rollup_range(teams=[world.team_a, world.team_b], day_from=day - timedelta(days=1), day_to=day + timedelta(days=1))
    client.force_login(world.manager_a)
    with django_assert_max_num_queries(29):  # no raw scans of past days; one pass over the open deals
        response = client.get(_url(sort="won_value"))
    assert response.context["headline"]["won_count"] == 75
    with django_assert_max_num_queries(20):
        client.get(reverse("analytics:drilldown") + "?" + _url(figure="won").split("?")[1])


def test_total_sales_converted_with_the_admin_rates_or_the_missing_rate_named(client, rolled):
    from analytics.models import ExchangeRate

    w = rolled.world
    client.force_login(w.admin)
    missing = client.get(_url(convert_to="USD"))
    assert missing.context["board"].conversion["missing"] == ["AED", "SAR"]
    assert missing.context["board"].conversion["total"] is None
    ExchangeRate.objects.create(day=date(2025, 11, 1), from_currency="SAR", to_currency="USD", rate=Decimal("0.26"))
    ExchangeRate.objects.create(day=date(2025, 11, 20), from_currency="SAR", to_currency="USD", rate=Decimal("0.25"))
    ExchangeRate.objects.create(day=date(2025, 12, 5), from_currency="SAR", to_currency="USD", rate=Decimal("9"))
    ExchangeRate.objects.create(day=date(2025, 11, 2), from_currency="AED", to_currency="USD", rate=Decimal("0.27"))
    conversion = client.get(_url(convert_to="USD")).context["board"].conversion
    # 23499.50 × 0.25 (the rate of 20 November, not the later one) + 50000 × 0.27.
    assert conversion["total"] == Decimal("19374.88")
    assert [rate.day for rate in conversion["rates"]] == [date(2025, 11, 2), date(2025, 11, 20)]
    assert conversion["missing"] == []


def test_exchange_rates_are_kept_by_admins_and_validated(client, world):
    from django.core.exceptions import ValidationError

    from analytics.models import ExchangeRate

    world.admin.is_staff = world.admin.is_superuser = True
    world.admin.save()
    client.force_login(world.admin)
    assert client.get(reverse("admin:analytics_exchangerate_changelist")).status_code == 200
    assert client.get(reverse("admin:analytics_exchangerate_add")).status_code == 200
    for bad in ({"from_currency": "XYZ"}, {"rate": Decimal("-1")}, {"to_currency": "SAR"}):
        rate = ExchangeRate(
            **{"day": DAY, "from_currency": "SAR", "to_currency": "USD", "rate": Decimal("0.27"), **bad}
        )
        with pytest.raises(ValidationError):
            rate.full_clean()
