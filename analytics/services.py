"""Writes to the KPI rollups: compute a (team, day), the nightly run, backfills, and dirty marking.

A set of (team, day) pairs is computed in one transaction and their rows in every daily
table replaced: on PostgreSQL by one set-based statement per table for all the pairs
(`analytics.rollup_sql`), elsewhere day by day from a handful of grouped queries (one
per source in `analytics.figures`). Running it twice gives the same rows. `RollupDay`
is the fill state: which days are computed, and which an edit made dirty.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts.models import Team
from analytics import rollup_sql
from analytics.days import day_window, days_between, is_over, local_date
from analytics.figures import DERIVED, SOURCES, TABLES, figures_from, figures_of
from analytics.models import RollupDay

logger = logging.getLogger(__name__)

# The nightly run also computes any of this many past days that were never
# computed (the beat was down over a weekend, a team was just created); older
# gaps are filled with `manage.py rollup_kpis`.
CATCH_UP_DAYS = 7

REASON_MAX_LENGTH = RollupDay._meta.get_field("reason").max_length

# A backfill computes and commits this many days (of every team) at a time. Each chunk
# reads the teams' whole history once for the snapshots, so fewer is faster; the
# fill-state locks are held only while a chunk's rows are written.
RANGE_CHUNK_DAYS = 366


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


def compute_rows(*, team: Team, day: date, sources=SOURCES, tables=TABLES) -> dict[str, list]:
    """The figure rows of `tables` for one (team, day), unsaved: one grouped query per source, merged by grain.

    With fewer `sources` (the dashboard's live figures), figures no source gives stay at zero.
    """
    window = day_window(team.time_zone, day)
    rows: dict[str, dict[tuple, dict]] = {table: {} for table in tables}
    for source in sources:
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


def compute_days(*, pairs: list[tuple[Team, date]]) -> Callable[[], None]:
    """Compute every figure of the (team, day) pairs, taking no lock; returns what stores them, in the same transaction.

    On PostgreSQL one set-based statement per table computes every pair at once into a
    temporary table (`analytics.rollup_sql`); elsewhere (SQLite in development) each
    day is computed in memory with the per-day definitions. Storing replaces the
    pairs' rows.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            rollup_sql.compute(cursor, pairs)

        def store_computed() -> None:
            with connection.cursor() as cursor:
                rollup_sql.write(cursor, pairs, timezone.now())

        return store_computed
    computed = [(team, day, compute_rows(team=team, day=day)) for team, day in pairs]

    def store_instances() -> None:
        for team, day, tables in computed:
            for table, instances in tables.items():
                model = _model(table)
                model.objects.filter(team=team, day=day).delete()
                if instances:
                    model.objects.bulk_create(instances)

    return store_instances


@transaction.atomic
def rollup_days(
    *, pairs: list[tuple[Team, date]], force: bool = True, now: datetime | None = None
) -> list[tuple[Team, date]]:
    """Compute (or recompute) every figure of the (team, day) pairs in one transaction, replacing their rows.

    With `force=False` a pair is skipped when it is already computed and not dirty.
    Returns the pairs computed, in the given order.
    """
    now = now or timezone.now()
    if not pairs:
        return []
    RollupDay.objects.bulk_create([RollupDay(team=team, day=day) for team, day in pairs], ignore_conflicts=True)
    days_by_team: dict[int, set[date]] = {}
    for team, day in pairs:
        days_by_team.setdefault(team.pk, set()).add(day)
    scope = Q()
    for team_id, days in days_by_team.items():
        scope |= Q(team_id=team_id, day__in=days)
    seen = {(state.team_id, state.day): state for state in RollupDay.objects.filter(scope)}
    todo = [
        (team, day)
        for team, day in pairs
        if force or seen[(team.pk, day)].computed_at is None or seen[(team.pk, day)].is_dirty
    ]
    if not todo:
        return []
    store = compute_days(pairs=todo)
    # Only the storing holds the days' fill-state row locks (always taken in (team, day)
    # order): a dirty mark made while the figures were computed did not wait, and its day
    # stays dirty, to be computed again; one made from now on waits for the commit (see
    # mark_days_dirty). Two runs of the same days store one after the other.
    locked = {
        (state.team_id, state.day): state
        for state in RollupDay.objects.select_for_update().filter(scope).order_by("team_id", "day")
    }
    store()
    keys = [(team.pk, day) for team, day in todo]
    unchanged = [locked[key].pk for key in keys if locked[key].marked_dirty_at == seen[key].marked_dirty_at]
    RollupDay.objects.filter(pk__in=[locked[key].pk for key in keys]).update(
        computed_at=now,
        is_dirty=Case(When(pk__in=unchanged, then=Value(False)), default=F("is_dirty")),
        reason=Case(When(pk__in=unchanged, then=Value("")), default=F("reason")),
        updated_at=timezone.now(),
    )
    return todo


def rollup_team_day(*, team: Team, day: date, force: bool = True, now: datetime | None = None) -> bool:
    """Compute (or recompute) every figure of one team-local day, replacing its rows.

    With `force=False` the day is skipped when it is already computed and not
    dirty (a concurrent run did it meanwhile). Returns whether it was computed.
    """
    return bool(rollup_days(pairs=[(team, day)], force=force, now=now))


def rollup_range(
    *,
    teams: Iterable[Team],
    day_from: date,
    day_to: date,
    progress: Callable[[int, int, Team, date], None] | None = None,
) -> int:
    """Backfill: recompute every day from `day_from` to `day_to` (both included) for each team.

    RANGE_CHUNK_DAYS days of every team make one transaction, so an interrupted
    backfill keeps what it finished and can simply be run again. Returns how many
    (team, day) pairs were computed.
    """
    teams = list(teams)
    days = days_between(day_from, day_to)
    done = 0
    total = len(days) * len(teams)
    for start in range(0, len(days), RANGE_CHUNK_DAYS):
        pairs = [(team, day) for day in days[start : start + RANGE_CHUNK_DAYS] for team in teams]
        rollup_days(pairs=pairs)
        for team, day in pairs:
            done += 1
            if progress:
                progress(done, total, team, day)
    return total


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
    """The nightly run: compute every due (team, day), all in one go. Returns the pairs it computed.

    When that fails, each team is tried on its own: a team whose days fail is logged
    and left as it was (still due), so the next run retries it without holding up
    the other teams.
    """
    now = now or timezone.now()
    due = due_days(now=now)
    try:
        return rollup_days(pairs=due, force=False, now=now)
    except Exception:
        logger.exception("KPI rollup of %s due days failed; retrying team by team", len(due))
    computed = []
    for team in {team.pk: team for team, _day in due}.values():
        try:
            computed += rollup_days(pairs=[pair for pair in due if pair[0] == team], force=False, now=now)
        except Exception:
            logger.exception("KPI rollup failed for team %s", team.pk)
    return sorted(computed, key=lambda pair: (pair[1], pair[0].pk))
