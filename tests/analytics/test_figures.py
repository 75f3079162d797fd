"""Each figure is defined once in code, stored in a column of its table, documented in docs/kpis.md."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from analytics.figures import DERIVED, FIGURES, SOURCES, TABLES
from analytics.models import DailyDealFigure, DailyFollowUpFigure, RollupDay
from analytics.services import rollup_team_day
from tests.analytics.builders import DAY

DOC = Path(settings.BASE_DIR) / "docs" / "kpis.md"


def test_every_figure_is_a_column_of_its_table_with_a_translatable_label():
    for figure in FIGURES:
        field = figure.model._meta.get_field(figure.name)
        assert figure.table in TABLES
        with translation.override("en"):
            assert str(figure.label) == str(field.verbose_name)
        if figure.kind == DERIVED:
            assert figure.derive and set(figure.depends_on) <= {f.name for f in FIGURES if f.table == figure.table}
        else:
            assert figure.aggregate and figure.source in {source.name for source in SOURCES}


def test_every_figure_and_its_formula_are_in_the_documentation():
    doc = DOC.read_text(encoding="utf-8")
    for figure in FIGURES:
        assert f"`{figure.name}`" in doc, figure.name
        assert figure.formula in doc, figure.name


def test_every_source_groups_by_the_grain_of_its_table():
    for source in SOURCES:
        assert tuple(source.group) == ("rep", *TABLES[source.table])


@pytest.fixture
def admin_client(client, world):
    world.admin.is_staff = True
    world.admin.is_superuser = True
    world.admin.save()
    client.force_login(world.admin)
    return client


def test_admin_lists_the_rollups_read_only(admin_client, scenario):
    rollup_team_day(team=scenario.world.team_a, day=DAY)
    for model in ("dailydealfigure", "dailystagefigure", "dailyactivityfigure", "dailyfollowupfigure", "rollupday"):
        response = admin_client.get(reverse(f"admin:analytics_{model}_changelist"))
        assert response.status_code == 200, model
        assert admin_client.get(reverse(f"admin:analytics_{model}_add")).status_code == 403
    row = DailyDealFigure.objects.filter(team=scenario.world.team_a).first()
    page = admin_client.get(reverse("admin:analytics_dailydealfigure_change", args=[row.pk]))
    assert page.status_code == 200 and b'name="won_count"' not in page.content


def test_reps_see_their_own_figures_and_managers_their_teams(scenario):
    w = scenario.world
    rollup_team_day(team=w.team_a, day=DAY)
    rollup_team_day(team=w.team_b, day=DAY)
    assert set(DailyFollowUpFigure.objects.visible_to(w.rep_a1).values_list("rep", flat=True)) == {w.rep_a1.pk}
    assert set(DailyDealFigure.objects.visible_to(w.manager_a).values_list("team", flat=True)) == {w.team_a.pk}
    assert set(RollupDay.objects.visible_to(w.manager_b).values_list("team", flat=True)) == {w.team_b.pk}
    assert not RollupDay.objects.visible_to(w.rep_a1).exists()
    assert not RollupDay.objects.editable_by(w.manager_a).exists()
