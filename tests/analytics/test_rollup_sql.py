"""The set-based rollup (PostgreSQL, analytics.rollup_sql) stores exactly the rows of the per-day definitions."""

import random
import threading
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from analytics import services
from analytics.figures import TABLES
from analytics.models import RollupDay
from crm import services as crm_services
from crm.models import ActivityKind, FollowUpStatus
from pipeline import services as pipeline_services
from pipeline.models import Deal, StageKind
from tests import factories as f
from tests.analytics.builders import DAY, at, make_case, make_deal, make_follow_up, make_survey

pytestmark = pytest.mark.postgres

SKIPPED = {"id", "created_at", "updated_at"}


def _value(value):
    # 1000 and 1000.00 are the same amount; the ORM path keeps the exponent of the sum.
    return str(value.normalize()) if isinstance(value, Decimal) else str(value)


def _row(values: dict) -> tuple:
    return tuple(sorted((name, _value(value)) for name, value in values.items() if name not in SKIPPED))


def per_day_rows(teams, days) -> dict[str, list]:
    """What the per-day definitions (analytics.figures through compute_rows) give, day by day."""
    rows = {table: [] for table in TABLES}
    for team in teams:
        for day in days:
            for table, instances in services.compute_rows(team=team, day=day).items():
                fields = [field.attname for field in instances[0]._meta.concrete_fields] if instances else []
                rows[table] += [_row({name: getattr(instance, name) for name in fields}) for instance in instances]
    return {table: sorted(found) for table, found in rows.items()}


def stored_rows(teams, days) -> dict[str, list]:
    rows = {}
    for table in TABLES:
        model = services._model(table)
        found = model.objects.filter(team__in=teams, day__in=days).values()
        rows[table] = sorted(_row(values) for values in found)
    return rows


def test_the_hand_built_day_and_its_neighbours_match_the_per_day_definitions(scenario):
    teams = [scenario.world.team_a, scenario.world.team_b]
    days = [DAY + timedelta(days=offset) for offset in range(-10, 3)]
    services.rollup_range(teams=teams, day_from=days[0], day_to=days[-1])
    expected = per_day_rows(teams, days)
    assert all(expected[table] for table in TABLES)
    assert stored_rows(teams, days) == expected


def _instant(rng, team, *, days_before=12, days_after=2) -> datetime:
    """A random local instant around DAY; one in five exactly at a local midnight."""
    day = DAY + timedelta(days=rng.randint(-days_before, days_after))
    clock = time(0, 0) if rng.random() < 0.2 else time(rng.randint(0, 23), rng.choice([0, 1, 30, 59]))
    return datetime.combine(day, clock, tzinfo=ZoneInfo(team.time_zone))


def _random_deal(rng, *, owner, team, stages, reason):
    created = _instant(rng, team)
    history, when = [(rng.choice([s for s in stages if s.kind == StageKind.OPEN]), created)], created
    for _step in range(rng.choice([0, 0, 1, 1, 2, 3, 4])):
        # Same instant, minutes, hours or days later: ties and same-day moves included.
        when += rng.choice([timedelta(0), timedelta(minutes=7), timedelta(hours=5), timedelta(days=rng.randint(1, 4))])
        history.append((rng.choice(stages), when))
    deal = make_deal(
        owner=owner,
        team=team,
        history=history,
        amount=f"{rng.randint(0, 90000)}.{rng.randint(0, 99):02d}",
        currency=rng.choice(["SAR", "USD"]),
        loss_reason=rng.choice([reason, None]),
    )
    extra = {"competitor": rng.choice(["", "Rival", " rival ", "RIVAL", "منافس"])}
    if rng.random() < 0.15:
        # Imported: created before its first recorded stage change, or with no history at all.
        extra["created_at"] = created - timedelta(days=rng.randint(1, 5))
        if rng.random() < 0.5:
            deal.stage_changes.all().delete()
    Deal.objects.filter(pk=deal.pk).update(**extra)


def test_a_random_world_in_three_zones_one_with_a_clock_change_matches_on_every_day(world):
    rng = random.Random(20251110)
    # New York leaves daylight-saving time on 2 November 2025, inside the days compared: a 25-hour day.
    new_york = f.TeamFactory(name="New York", time_zone="America/New_York")
    teams = [world.team_a, world.team_b, new_york]
    reps = {
        world.team_a.pk: [world.rep_a1, world.rep_a2],
        world.team_b.pk: [world.rep_b],
        new_york.pk: [f.EnglishUserFactory()],
    }
    other = f.PipelineFactory(name="تجديد", name_en="Renewals")
    pipelines = [
        list(vars(world.pipeline.s).values()),
        [
            f.StageFactory(pipeline=other, name="تواصل", name_en="Contacted", order=0, probability=25),
            f.StageFactory(pipeline=other, name="تفاوض", name_en="Negotiation", order=1, probability=75),
            f.StageFactory(pipeline=other, name="فوز", name_en="Won", order=2, probability=100, kind=StageKind.WON),
            f.StageFactory(pipeline=other, name="خسارة", name_en="Lost", order=3, probability=0, kind=StageKind.LOST),
        ],
    ]
    reason = f.LossReasonFactory()
    for team in teams:
        contact = f.ContactFactory(owner=reps[team.pk][0], team=team)
        for _number in range(25):
            _random_deal(rng, owner=rng.choice(reps[team.pk]), team=team, stages=rng.choice(pipelines), reason=reason)
        for _number in range(25):
            f.ActivityFactory(
                actor=rng.choice(reps[team.pk]),
                team=team,
                contact=contact,
                kind=rng.choice(ActivityKind.values),
                occurred_at=_instant(rng, team),
            )
        for _number in range(20):
            status = rng.choice([FollowUpStatus.OPEN, FollowUpStatus.DONE, FollowUpStatus.CANCELLED])
            created = _instant(rng, team, days_before=14)
            completed = created + timedelta(hours=rng.randint(0, 200)) if status == FollowUpStatus.DONE else None
            make_follow_up(
                assignee=rng.choice(reps[team.pk]),
                team=team,
                due_at=_instant(rng, team),
                created_at=created,
                status=status,
                completed_at=None if rng.random() < 0.1 else completed,
            )
        for _number in range(15):
            opened = _instant(rng, team, days_before=14)
            answered = opened + timedelta(minutes=rng.randint(1, 3000)) if rng.random() < 0.7 else None
            solved = opened + timedelta(minutes=rng.randint(30, 6000)) if rng.random() < 0.6 else None
            closed = solved + timedelta(hours=rng.randint(1, 48)) if solved and rng.random() < 0.3 else None
            make_case(
                owner=rng.choice(reps[team.pk]),
                team=team,
                created_at=opened,
                priority=rng.choice(["low", "normal", "high", "urgent"]),
                first_response_at=answered,
                solved_at=solved,
                closed_at=closed,
            )
        for _number in range(15):
            kind = rng.choice(["csat", "nps"])
            sent = _instant(rng, team, days_before=14)
            answered = rng.random() < 0.7
            make_survey(
                owner=rng.choice(reps[team.pk]),
                team=team,
                kind=kind,
                sent_at=sent,
                score=(rng.randint(1, 5) if kind == "csat" else rng.randint(0, 10)) if answered else None,
                responded_at=sent + timedelta(hours=rng.randint(1, 100)) if answered else None,
            )
    days = [DAY + timedelta(days=offset) for offset in range(-12, 4)]

    services.rollup_range(teams=teams, day_from=days[0], day_to=days[-1])
    expected = per_day_rows(teams, days)
    assert all(expected[table] for table in TABLES)
    assert stored_rows(teams, days) == expected

    # Recomputing what did not change writes nothing: the very same rows, not rewritten.
    stamps = {table: set(services._model(table).objects.values_list("pk", "updated_at")) for table in TABLES}
    services.rollup_range(teams=teams, day_from=days[0], day_to=days[-1])
    assert {table: set(services._model(table).objects.values_list("pk", "updated_at")) for table in TABLES} == stamps

    # The nightly path, on a scattered set of dirty days, stores the same rows again.
    for team in teams:
        services.mark_days_dirty(team=team, days=days[::3], reason="edited")
    recomputed = services.rollup_due(
        now=datetime.combine(days[-1] + timedelta(days=2), time(3), tzinfo=ZoneInfo("UTC"))
    )
    assert {day for _team, day in recomputed} >= set(days[::3])
    assert stored_rows(teams, days) == expected


def test_the_nightly_run_after_edits_through_the_services_stores_what_a_full_recompute_gives(world):
    """The bench's edits in small: activities logged late, deals won, lost, reopened and moved back-dated.

    Only the days the edits marked dirty are recomputed, scattered over the period; every day then holds
    the rows of the per-day definitions over the data as it now is.
    """
    rng = random.Random(20261208)
    teams = [world.team_a, world.team_b]
    reps = {world.team_a.pk: [world.rep_a1, world.rep_a2], world.team_b.pk: [world.rep_b]}
    stages = list(vars(world.pipeline.s).values())
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
    reason = f.LossReasonFactory()
    contacts = {}
    for team in teams:
        contacts[team.pk] = f.ContactFactory(owner=reps[team.pk][0], team=team)
        for _number in range(30):
            _random_deal(rng, owner=rng.choice(reps[team.pk]), team=team, stages=stages, reason=reason)
    days = [DAY + timedelta(days=offset) for offset in range(-12, 4)]
    services.rollup_range(teams=teams, day_from=days[0], day_to=days[-1])
    assert not RollupDay.objects.filter(is_dirty=True).exists()

    deals = list(Deal.objects.select_related("stage", "owner", "team").order_by("pk"))
    rng.shuffle(deals)
    opened = [deal for deal in deals if deal.stage.kind == StageKind.OPEN]
    closed = [deal for deal in deals if deal.stage.kind != StageKind.OPEN]
    assert len(opened) >= 12 and len(closed) >= 3
    for deal in opened[:3]:
        pipeline_services.deal_mark_won(deal=deal, by=deal.owner)
    for deal in opened[3:6]:
        pipeline_services.deal_mark_lost(deal=deal, by=deal.owner, loss_reason=reason)
    for deal in opened[6:12]:
        # Dated back to a day inside the period (or just after the deal entered its stage).
        when = max(deal.stage_entered_at + timedelta(minutes=1), at(deal.team, rng.choice(days), "13:00"))
        others = [stage for stage in open_stages if stage != deal.stage]
        pipeline_services.deal_move_to_stage(deal=deal, stage=rng.choice(others), by=deal.owner, at=when)
    for deal in closed[:3]:
        pipeline_services.deal_move_to_stage(deal=deal, stage=open_stages[0], by=deal.owner)
    for team in teams:
        for _number in range(4):
            crm_services.activity_log(
                by=reps[team.pk][0],
                kind=rng.choice([ActivityKind.CALL, ActivityKind.MEETING]),
                occurred_at=at(team, rng.choice(days), "11:30"),
                contact=contacts[team.pk],
                subject="logged late",
            )
    dirty = set(RollupDay.objects.filter(is_dirty=True, day__in=days).values_list("team_id", "day"))
    assert dirty and len(dirty) < len(days) * len(teams)

    recomputed = services.rollup_due()
    assert {(team.pk, day) for team, day in recomputed} >= dirty
    assert not RollupDay.objects.filter(is_dirty=True).exists()
    expected = per_day_rows(teams, days)
    tables = ("DailyDealFigure", "DailyStageFigure", "DailyStageDuration", "DailyLossFigure", "DailyActivityFigure")
    assert all(expected[table] for table in tables)
    assert stored_rows(teams, days) == expected


@pytest.mark.django_db(transaction=True)
def test_a_day_marked_dirty_while_its_figures_are_computed_is_stored_and_stays_dirty(monkeypatch):
    team = f.TeamFactory()
    services.rollup_team_day(team=team, day=DAY)
    original = services.compute_days
    marked = threading.Event()

    def mark_from_another_connection():
        try:
            services.mark_day_dirty(team=team, day=DAY, reason="logged while computing")
            marked.set()
        finally:
            connection.close()

    def compute_while_someone_edits(*, pairs):
        store = original(pairs=pairs)
        other = threading.Thread(target=mark_from_another_connection)
        other.start()
        other.join(10)
        return store

    monkeypatch.setattr(services, "compute_days", compute_while_someone_edits)
    assert services.rollup_team_day(team=team, day=DAY)
    assert marked.is_set()  # computing holds no lock: the edit did not wait
    state = RollupDay.objects.get(team=team, day=DAY)
    assert state.is_dirty and state.reason == "logged while computing"
