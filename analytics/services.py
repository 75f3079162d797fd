"""Writes to the KPI rollups: compute a (team, day), the nightly run, backfills, and dirty marking.

A (team, day) is computed in one transaction: its rows in every daily table are
deleted and inserted again from a handful of grouped queries (one per source in
`analytics.figures`), so running it twice gives the same rows. `RollupDay` is
the fill state: which days are computed, and which an edit made dirty.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Team
from analytics.days import day_window, days_between, is_over, local_date
from analytics.figures import DERIVED, SOURCES, TABLES, figures_from, figures_of
from analytics.models import RollupDay

logger = logging.getLogger(__name__)

# The nightly run also computes any of this many past days that were never
# computed (the beat was down over a weekend, a team was just created); older
# gaps are filled with `manage.py rollup_kpis`.
CATCH_UP_DAYS = 7

REASON_MAX_LENGTH = RollupDay._meta.get_field("reason").max_length


# Dirty marking ----------------------------------------------------------------


def mark_days_dirty(*, team: Team, days: Iterable[date], reason: str, now: datetime | None = None) -> int:
    """Mark (team, day) pairs for recomputing at the next rollup run, in one statement. Returns how many."""
    now = now or timezone.now()
    reason = reason[:REASON_MAX_LENGTH]
    states = [RollupDay(team=team, day=day, is_dirty=True, reason=reason, marked_dirty_at=now) for day in set(days)]
    if not states:
        return 0
    # An upsert rather than read-then-write: an edit racing the rollup of the same day
    # waits for the rollup's row lock and then leaves the day dirty, so it is never lost.
    RollupDay.objects.bulk_create(
        states,
        update_conflicts=True,
        unique_fields=["team", "day"],
        update_fields=["is_dirty", "reason", "marked_dirty_at", "updated_at"],
    )
    return len(states)


def mark_day_dirty(*, team: Team, day: date, reason: str) -> None:
    """Mark one team-local day for recomputing at the next rollup run."""
    mark_days_dirty(team=team, days=[day], reason=reason)


def mark_dirty_for(*, team: Team, when: datetime | None, reason: str, now: datetime | None = None) -> date | None:
    """Mark the team-local day `when` falls on, if it is a day before today in the team's zone.

    Today and the future are left alone: they are rolled up after they end anyway.
    Returns the day marked, or None.
    """
    if when is None:
        return None
    now = now or timezone.now()
    day = local_date(team.time_zone, when)
    if day >= local_date(team.time_zone, now):
        return None
    mark_days_dirty(team=team, days=[day], reason=reason, now=now)
    return day


def mark_dirty_since(*, team: Team, when: datetime | None, reason: str, now: datetime | None = None) -> list[date]:
    """Mark every team-local day from the one `when` falls on through yesterday.

    For edits that change end-of-day snapshots from then on, not only one day's
    flows: a stage change dated in the past changes which stage the deal was in
    at the end of every day since.
    """
    if when is None:
        return []
    now = now or timezone.now()
    first = local_date(team.time_zone, when)
    yesterday = local_date(team.time_zone, now) - timedelta(days=1)
    if first > yesterday:
        return []
    days = days_between(first, yesterday)
    mark_days_dirty(team=team, days=days, reason=reason, now=now)
    return days


# Computing --------------------------------------------------------------------


def _model(table: str):
    return apps.get_model("analytics", table)


def compute_rows(*, team: Team, day: date) -> dict[str, list]:
    """The figure rows of one (team, day), unsaved: one grouped query per source, merged by grain."""
    window = day_window(team.time_zone, day)
    rows: dict[str, dict[tuple, dict]] = {table: {} for table in TABLES}
    for source in SOURCES:
        figures = figures_from(source.name)
        paths = list(source.group.values())
        results = (
            source.rows(team, window)
            .order_by()
            .values(*paths)
            .annotate(**{figure.name: figure.aggregate(window) for figure in figures})
        )
        for result in results:
            grain = {column: result[path] for column, path in source.group.items()}
            key = tuple(grain[column] for column in ("rep", *TABLES[source.table]))
            row = rows[source.table].setdefault(key, grain)
            for figure in figures:
                value = result[figure.name]
                if value is not None and figure.finish:
                    value = figure.finish(value)
                row[figure.name] = value
    built = {}
    for table, table_rows in rows.items():
        model = _model(table)
        figures = figures_of(table)
        instances = []
        for key in sorted(table_rows, key=str):
            row = table_rows[key]
            for figure in figures:
                if figure.kind != DERIVED and row.get(figure.name) is None:
                    row[figure.name] = figure.zero()
            for figure in figures:
                if figure.kind == DERIVED:
                    row[figure.name] = figure.derive(row)
            # Grouped queries return ids for foreign keys (rep, pipeline, stage).
            fields = {
                f"{name}_id" if model._meta.get_field(name).is_relation else name: value for name, value in row.items()
            }
            instances.append(model(day=day, team=team, **fields))
        built[table] = instances
    return built


@transaction.atomic
def rollup_team_day(*, team: Team, day: date, force: bool = True, now: datetime | None = None) -> bool:
    """Compute (or recompute) every figure of one team-local day, replacing its rows.

    With `force=False` the day is skipped when it is already computed and not
    dirty (a concurrent run did it meanwhile). Returns whether it was computed.
    """
    now = now or timezone.now()
    RollupDay.objects.bulk_create([RollupDay(team=team, day=day)], ignore_conflicts=True)
    # The row lock serialises two runs of the same day and makes a concurrent
    # dirty mark wait until this computation is committed (see mark_days_dirty).
    state = RollupDay.objects.select_for_update().get(team=team, day=day)
    if not force and state.computed_at is not None and not state.is_dirty:
        return False
    for table, instances in compute_rows(team=team, day=day).items():
        model = _model(table)
        model.objects.filter(team=team, day=day).delete()
        if instances:
            model.objects.bulk_create(instances)
    state.is_dirty = False
    state.reason = ""
    state.computed_at = now
    state.save(update_fields=["is_dirty", "reason", "computed_at", "updated_at"])
    return True


def rollup_range(
    *,
    teams: Iterable[Team],
    day_from: date,
    day_to: date,
    progress: Callable[[int, int, Team, date], None] | None = None,
) -> int:
    """Backfill: recompute every day from `day_from` to `day_to` (both included) for each team.

    Each (team, day) is its own transaction, so an interrupted backfill keeps
    what it finished and can simply be run again. Returns how many were computed.
    """
    pairs = [(team, day) for day in days_between(day_from, day_to) for team in teams]
    for done, (team, day) in enumerate(pairs, start=1):
        rollup_team_day(team=team, day=day)
        if progress:
            progress(done, len(pairs), team, day)
    return len(pairs)


def due_days(*, now: datetime | None = None) -> list[tuple[Team, date]]:
    """The (team, day) pairs the nightly run must compute now, oldest first.

    A day is due once it is over in the team's zone and the grace period
    (01:00 the next morning) has passed, and it was never computed or is dirty.
    """
    now = now or timezone.now()
    teams = list(Team.objects.order_by("pk"))
    if not teams:
        return []
    todays = {team.pk: local_date(team.time_zone, now) for team in teams}
    earliest = min(todays.values()) - timedelta(days=CATCH_UP_DAYS)
    states = {
        (state.team_id, state.day): state
        for state in RollupDay.objects.filter(Q(is_dirty=True) | Q(day__gte=earliest)).only(
            "team", "day", "is_dirty", "computed_at"
        )
    }
    due = {(team_id, day) for (team_id, day), state in states.items() if state.is_dirty}
    for team in teams:
        for offset in range(1, CATCH_UP_DAYS + 1):
            day = todays[team.pk] - timedelta(days=offset)
            state = states.get((team.pk, day))
            if state is None or state.computed_at is None:
                due.add((team.pk, day))
    by_pk = {team.pk: team for team in teams}
    ready = [(by_pk[team_id], day) for team_id, day in due if is_over(by_pk[team_id].time_zone, day, now)]
    return sorted(ready, key=lambda pair: (pair[1], pair[0].pk))


def rollup_due(*, now: datetime | None = None) -> list[tuple[Team, date]]:
    """The nightly run: compute every due (team, day). Returns the pairs it computed.

    A day that fails is logged and left as it was (still due), so the next run
    retries it without holding up the other days.
    """
    now = now or timezone.now()
    computed = []
    for team, day in due_days(now=now):
        try:
            if rollup_team_day(team=team, day=day, force=False, now=now):
                computed.append((team, day))
        except Exception:
            logger.exception("KPI rollup failed for team %s on %s", team.pk, day)
    return computed
