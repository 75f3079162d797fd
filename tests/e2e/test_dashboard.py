"""The dashboard in a real browser: a manager reads it in Arabic and English, changes the period, drills down."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.days import local_date
from analytics.services import rollup_range
from tests.analytics.builders import make_deal
from tests.e2e.conftest import assert_accessible, screenshot, wait_until
from tests.e2e.test_shell import sign_in


@pytest.fixture
def sales(world):
    """Two won deals for team A: one three days ago (rolled up) and one today (read live)."""
    s = world.pipeline.s
    now = timezone.now()
    team = world.team_a
    make_deal(
        owner=world.rep_a1,
        team=team,
        amount="1200",
        history=[(s.lead, now - timedelta(days=6)), (s.won, now - timedelta(days=3))],
    )
    make_deal(
        owner=world.rep_a2,
        team=team,
        amount="800",
        history=[(s.lead, now - timedelta(days=2)), (s.won, now - timedelta(minutes=5))],
    )
    today = local_date(team.time_zone, now)
    rollup_range(teams=[team, world.team_b], day_from=today - timedelta(days=8), day_to=today - timedelta(days=1))
    return world


def _custom_period(page, days_back):
    today = timezone.localdate()
    filters = page.locator("details.dash-filters-toggle")
    if filters.get_attribute("open") is None:
        filters.locator("summary").click()  # the filters fold away below the period line
    page.select_option("#id_period", "custom")
    page.fill("#id_start", (today - timedelta(days=days_back)).isoformat())
    page.fill("#id_end", today.isoformat())
    # wait_for_load_state() alone returns at once: the page before the submit is loaded already.
    with page.expect_navigation():
        page.click("form.dash-filters button[type=submit]")


def test_manager_reads_the_dashboard_in_arabic_changes_the_period_and_drills_down(page, sales):
    sign_in(page, "manager_a")
    page.goto("/dashboard/")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("h1").is_visible()
    wait_until(page, "document.querySelector('#chart-trend') !== null")
    _custom_period(page, 10)
    assert "period=custom" in page.url
    kpi = page.locator("#def-won_count")
    page.locator('[aria-describedby="def-won_count"]').focus()
    assert kpi.is_visible()
    page.keyboard.press("Escape")
    assert not kpi.is_visible()
    screenshot(page, "dashboard-ar")
    assert_accessible(page, "dashboard (ar)")
    page.locator('[aria-describedby="def-won_count"] ~ .kpi__value a').click()
    page.wait_for_url("**/dashboard/deals/**")
    assert page.locator("table.deal-table tbody tr").count() == 2
    assert_accessible(page, "drill-down (ar)")


def test_manager_reads_the_dashboard_in_english(page, sales):
    sales.manager_a.language = "en"
    sales.manager_a.save(update_fields=["language"])
    sign_in(page, "manager_a")
    page.goto("/dashboard/?period=year")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("h1").inner_text() == "Team dashboard"
    _custom_period(page, 30)
    assert page.locator("#leaderboard-table tbody tr").count() >= 2
    screenshot(page, "dashboard-en")
    assert_accessible(page, "dashboard (en)")
    page.goto("/targets/")
    assert_accessible(page, "targets (en)")
