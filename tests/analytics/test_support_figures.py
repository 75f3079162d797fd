"""Satisfaction and support-case rollups (issue 17 item 5) against hand-computed values (tests/analytics/conftest.py).

rep_a1 on DAY (Riyadh):
- surveys sent on DAY: a CSAT at 09:00, an NPS at 09:00 and one at 11:00 → 3;
- answers on DAY: CSAT 5 (sent 3 days before) and 2; NPS 10, 6 (sent the day before) and 8
  (sent 2 days before) → 5 responses; CSAT 2 answers, total 7, 1 satisfied (4–5);
  NPS 3 answers, 1 promoter (9–10), 1 detractor (0–6): NPS = (1 − 1) / 3 = 0;
- cases: opened 09:00 (answered 10:30 = 90 min, solved 15:00 = 360 min) and 10:00 (low, open);
  an urgent one opened the day before at 08:00, due 12:00 that day, never answered, solved on DAY
  at 11:00 (27 h = 1620 min): overdue the day before, solved on DAY; a high one opened the day
  before at 20:00, due DAY 04:00, answered DAY 06:00 (600 min): answered and overdue on DAY.
  → opened 2, solved 2, responded 2, overdue 1; median first response (90 + 600) / 2 = 345 min,
  median solution (360 + 1620) / 2 = 990 min.
rep_a2: a CSAT 4 answered on DAY; a case opened 11:00 and answered 11:30 (30 min).
"""

from datetime import timedelta

import pytest

from analytics import services
from analytics.models import DailyCaseDuration, DailyCaseFigure, DailySatisfactionFigure
from tests.analytics.builders import DAY


def test_satisfaction_figures_have_the_known_answer(scenario):
    w = scenario.world
    services.rollup_team_day(team=w.team_a, day=DAY)
    row = DailySatisfactionFigure.objects.get(team=w.team_a, rep=w.rep_a1, day=DAY)
    assert (row.surveys_sent, row.responses) == (3, 5)
    assert (row.csat_responses, row.csat_score_total, row.csat_satisfied) == (2, 7, 1)
    assert (row.nps_responses, row.nps_promoters, row.nps_detractors) == (3, 1, 1)
    rep2 = DailySatisfactionFigure.objects.get(team=w.team_a, rep=w.rep_a2, day=DAY)
    assert (rep2.surveys_sent, rep2.responses, rep2.csat_score_total, rep2.csat_satisfied) == (0, 1, 4, 1)
    assert not DailySatisfactionFigure.objects.filter(rep=w.rep_b).exists()  # team B's are B's


def test_case_figures_have_the_known_answer(scenario):
    w = scenario.world
    services.rollup_days(pairs=[(w.team_a, DAY - timedelta(days=1)), (w.team_a, DAY)])
    row = DailyCaseFigure.objects.get(team=w.team_a, rep=w.rep_a1, day=DAY)
    assert (row.opened, row.solved, row.responded, row.overdue) == (2, 2, 1 + 1, 1)
    before = DailyCaseFigure.objects.get(team=w.team_a, rep=w.rep_a1, day=DAY - timedelta(days=1))
    assert (before.opened, before.solved, before.responded, before.overdue) == (2, 0, 0, 1)
    times = sorted(
        DailyCaseDuration.objects.filter(team=w.team_a, rep=w.rep_a1, day=DAY).values_list(
            "measure", "minutes", "count"
        )
    )
    assert times == [("response", 90, 1), ("response", 600, 1), ("solution", 360, 1), ("solution", 1620, 1)]
    rep2 = DailyCaseDuration.objects.get(team=w.team_a, rep=w.rep_a2, day=DAY)
    assert (rep2.measure, rep2.minutes, rep2.count) == ("response", 30, 1)


@pytest.mark.parametrize("postgres_path", [True, False])
def test_both_rollup_paths_give_the_same_support_rows(scenario, postgres_path, monkeypatch):
    from django.db import connection

    w = scenario.world
    if not postgres_path:
        monkeypatch.setattr(connection, "vendor", "other")
    services.rollup_days(pairs=[(w.team_a, DAY - timedelta(days=1)), (w.team_a, DAY)])
    row = DailyCaseFigure.objects.get(team=w.team_a, rep=w.rep_a1, day=DAY)
    assert (row.opened, row.solved, row.responded, row.overdue) == (2, 2, 2, 1)
    assert DailySatisfactionFigure.objects.get(team=w.team_a, rep=w.rep_a1, day=DAY).nps_detractors == 1


# The dashboard ---------------------------------------------------------------------


def _rolled(scenario):
    from datetime import date

    from analytics.services import rollup_range

    w = scenario.world
    rollup_range(teams=[w.team_a, w.team_b], day_from=date(2025, 10, 31), day_to=date(2025, 12, 2))
    return w


def _url(name="analytics:dashboard", **params):
    from urllib.parse import urlencode

    from django.urls import reverse

    query = {"period": "custom", "start": str(DAY), "end": str(DAY), **params}
    return reverse(name) + "?" + urlencode(query)


def test_median_of_minutes_is_exact():
    from decimal import Decimal

    from analytics.support import median_minutes

    assert median_minutes({}) is None
    assert median_minutes({90: 1, 600: 1}) == Decimal(345)
    assert median_minutes({30: 1, 90: 1, 600: 1}) == Decimal(90)
    assert median_minutes({10: 3, 20: 1}) == Decimal(10)


def _board(user, **filters):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from analytics.periods import Filters, Period
    from analytics.selectors import Dashboard

    later = datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo("UTC"))
    return Dashboard(user=user, filters=Filters(period=Period("custom", DAY, DAY), **filters), now=later)


def test_support_figures_of_the_day_and_their_drilldowns(client, scenario):
    from decimal import Decimal

    from django.template import Context, Template

    from analytics.support import SupportFigures

    w = _rolled(scenario)
    board = _board(w.manager_a, rep=w.rep_a1)
    figures = SupportFigures(board).headline
    assert (figures["surveys_sent"], figures["responses"]) == (3, 5)
    assert figures["csat_average"] == Decimal("3.50")  # (5 + 2) / 2
    assert figures["satisfied_share"] == Decimal("50.0")
    assert figures["nps"] == Decimal("0.0")  # (1 − 1) / 3
    assert (figures["opened"], figures["solved"], figures["overdue"]) == (2, 2, 1)
    assert figures["response_hours"] == Decimal("5.8")  # 345 minutes
    assert figures["solution_hours"] == Decimal("16.5")  # 990 minutes
    html = Template("{% load analytics_support %}{% support_panel board q %}").render(
        Context({"board": board, "q": "period=custom"})
    )
    assert 'id="support-title"' in html and "/dashboard/support/?period=custom&amp;figure=cases_overdue" in html

    client.force_login(w.manager_a)
    for figure, expected in [
        ("responses", 5),
        ("csat_satisfied", 1),
        ("nps_detractors", 1),
        ("surveys_sent", 3),
        ("cases_opened", 2),
        ("cases_solved", 2),
        ("cases_overdue", 1),
        ("cases_responded", 2),
    ]:
        drill = client.get(_url("analytics:support_drilldown", rep=w.rep_a1.pk, figure=figure))
        assert drill.status_code == 200, figure
        assert drill.context["paginator"].count == expected, figure
    assert client.get(_url("analytics:support_drilldown", figure="nonsense")).status_code == 404


def test_team_figures_and_per_rep_rows_for_the_manager(scenario):
    from decimal import Decimal

    from analytics.support import SupportFigures

    w = _rolled(scenario)
    support = SupportFigures(_board(w.manager_a))
    assert support.headline["responses"] == 6  # rep_a1's 5 and rep_a2's 1; team B's answer is not team A's
    assert support.headline["csat_average"] == Decimal("3.67")  # (5 + 2 + 4) / 3
    by_rep = {row["rep"]: row for row in support.per_rep}
    assert by_rep[w.rep_a2]["response_hours"] == Decimal("0.5")
    assert by_rep[w.rep_a1]["opened"] == 2
    (week,) = support.trend
    assert week["responses"] == 6 and week["opened"] == 3


def test_a_rep_sees_only_their_own_support_figures_and_records(client, scenario):
    from analytics.support import SupportFigures

    w = _rolled(scenario)
    support = SupportFigures(_board(w.rep_a2))
    assert support.headline["responses"] == 1 and support.headline["opened"] == 1
    client.force_login(w.rep_a2)
    drill = client.get(_url("analytics:support_drilldown", figure="cases_opened"))
    assert drill.context["paginator"].count == 1


def test_support_panel_and_drilldown_queries_do_not_grow_with_the_data(client, scenario, django_assert_max_num_queries):
    from analytics.support import SupportFigures
    from tests.analytics.builders import at, make_case, make_survey

    w = scenario.world

    def count_queries():
        _rolled(scenario)
        board = _board(w.manager_a)
        board.teams  # noqa: B018  (the board's own reads are not the panel's)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as panel:
            support = SupportFigures(board)
            support.headline, support.per_rep, support.trend  # noqa: B018
        client.force_login(w.manager_a)
        with CaptureQueriesContext(connection) as drill:
            client.get(_url("analytics:support_drilldown", figure="cases_opened"))
        return len(panel.captured_queries), len(drill.captured_queries)

    small = count_queries()
    for minute in range(40):
        opened = at(w.team_a, DAY, "08:00") + timedelta(minutes=minute)
        make_case(
            owner=w.rep_a2, team=w.team_a, created_at=opened, first_response_at=opened + timedelta(minutes=minute)
        )
        make_survey(owner=w.rep_a2, team=w.team_a, kind="nps", sent_at=opened, score=minute % 11, responded_at=opened)
    assert count_queries() == small
    assert small[0] <= 4  # three grouped reads and the reps' names
