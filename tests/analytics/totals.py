"""The reference reading of the daily figure tables the rollup tests check the rollups against.

Flows add up over the days, snapshots are the last day's values, derived figures are recomputed
from the totals; deal figures only per currency. (The dashboards read the tables in
analytics.selectors; this reading stays with the tests that need it.)
"""

from datetime import date

from django.db.models import Q, QuerySet, Sum

from analytics.figures import DERIVED, FLOW, SNAPSHOT, figures_of


def figure_totals(rows: QuerySet, *, day_to: date, group_by: tuple[str, ...] = ()) -> list[dict]:
    """Totals of the figures in `rows` (one daily table, already filtered by team, rep, days…).

    Flows are added up over all the days in `rows` up to `day_to`; snapshots
    (open pipeline, overdue follow-ups) are the values of `day_to` only; derived
    figures (the average days to close) are recomputed from the totals, never
    averaged. Deal figures must be grouped by currency: money in different
    currencies is never added together.
    """
    table = rows.model.__name__
    if table == "DailyDealFigure" and "currency" not in group_by:
        raise ValueError("deal figures are totalled per currency: include 'currency' in group_by")
    figures = figures_of(table)
    aggregates = {}
    for figure in figures:
        if figure.kind == FLOW:
            aggregates[figure.name] = Sum(figure.name)
        elif figure.kind == SNAPSHOT:
            aggregates[figure.name] = Sum(figure.name, filter=Q(day=day_to))
    rows = rows.filter(day__lte=day_to).order_by()
    results = list(rows.values(*group_by).annotate(**aggregates)) if group_by else [rows.aggregate(**aggregates)]
    for result in results:
        for figure in figures:
            if figure.kind != DERIVED and result.get(figure.name) is None:
                result[figure.name] = figure.zero()
        for figure in figures:
            if figure.kind == DERIVED:
                result[figure.name] = figure.derive(result)
    return sorted(results, key=lambda result: tuple(str(result[column]) for column in group_by))
