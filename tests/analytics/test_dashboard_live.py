"""Today's figures on the dashboards: every flow the rollup would store, without the open-pipeline snapshot."""

from analytics.figures import FLOW, TABLES, figures_of
from analytics.selectors import LIVE_SOURCES, LIVE_TABLES, live_rows
from analytics.services import compute_rows
from tests.analytics.builders import DAY


def flows_by_grain(table: str, rows) -> dict[tuple, dict]:
    """{grain: {flow: value}} of the rows with any flow; rows holding only snapshot figures are left out."""
    grain = [
        f"{column}_id" if column in ("rep", "pipeline", "stage", "loss_reason") else column for column in TABLES[table]
    ]
    flows = [figure.name for figure in figures_of(table) if figure.kind == FLOW]
    found = {}
    for row in rows:
        values = {name: getattr(row, name) for name in flows}
        if any(values.values()):
            found[(row.rep_id, *(getattr(row, column) for column in grain))] = values
    return found


def test_live_rows_give_the_flows_the_rollup_stores_for_the_day(scenario):
    team = scenario.world.team_a
    stored = compute_rows(team=team, day=DAY)
    live = live_rows(team=team, day=DAY)
    assert set(live) == set(LIVE_TABLES)
    for table in LIVE_TABLES:
        expected = flows_by_grain(table, stored[table])
        assert expected, f"the scenario has no {table} flows on DAY"
        assert flows_by_grain(table, live[table]) == expected
        assert all(row.day == DAY and row.team_id == team.pk for row in live[table])


def test_the_open_pipeline_snapshot_is_not_computed_live(scenario, django_assert_num_queries):
    assert "open_at_end" not in {source.name for source in LIVE_SOURCES}
    with django_assert_num_queries(len(LIVE_SOURCES)):
        live_rows(team=scenario.world.team_a, day=DAY)
