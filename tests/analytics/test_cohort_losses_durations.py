"""The rollups behind lead-to-won conversion, median time in stage and the loss panels have known answers."""

from datetime import timedelta
from decimal import Decimal

from analytics import services
from analytics.figures import DURATION_EDGES_HOURS
from analytics.models import DailyDealFigure, DailyLossFigure, DailyStageDuration, RollupDay
from analytics.selectors import histogram_median
from pipeline.models import Deal
from pipeline.services import deal_move_to_stage
from tests.analytics.builders import DAY, at, make_deal


def bucket_of(hours):
    return max(index for index, edge in enumerate(DURATION_EDGES_HOURS) if edge <= hours)


def test_created_won_counts_the_deals_created_that_day_that_are_won_now(scenario):
    w = scenario.world
    # won_later: created five days before DAY, won two days after it.
    services.rollup_team_day(team=w.team_a, day=DAY - timedelta(days=5))
    row = DailyDealFigure.objects.get(team=w.team_a, rep=w.rep_a1, day=DAY - timedelta(days=5), currency="SAR")
    assert (row.deals_created, row.created_won_count, row.created_won_value) == (1, 1, Decimal("6000.00"))
    # The reopened deal was won once but is open now: its creation day counts it created, not won.
    services.rollup_team_day(team=w.team_a, day=DAY - timedelta(days=9))
    row = DailyDealFigure.objects.get(team=w.team_a, rep=w.rep_a1, day=DAY - timedelta(days=9), currency="SAR")
    assert (row.deals_created, row.created_won_count, row.created_won_value) == (1, 0, Decimal("0.00"))
    # Created on DAY and still open.
    services.rollup_team_day(team=w.team_a, day=DAY)
    for currency in ("SAR", "USD"):
        row = DailyDealFigure.objects.get(team=w.team_a, rep=w.rep_a1, day=DAY, currency=currency)
        assert (row.deals_created, row.created_won_count) == (1, 0)


def test_stage_exits_of_the_day_are_a_histogram_of_hours_in_the_stage(scenario):
    w, s = scenario.world, scenario.world.pipeline.s
    services.rollup_team_day(team=w.team_a, day=DAY)
    rows = DailyStageDuration.objects.filter(team=w.team_a, day=DAY)
    histogram = {(row.rep_id, row.stage_id, row.bucket): row.count for row in rows}
    assert histogram == {
        # Lead, rep_a1: 48 h (won1), 144 h (won3), 24 h (lost1), 5 h (new_usd), 118 h (won_later).
        (w.rep_a1.pk, s.lead.pk, bucket_of(48)): 1,
        (w.rep_a1.pk, s.lead.pk, bucket_of(144)): 1,
        (w.rep_a1.pk, s.lead.pk, bucket_of(24)): 1,
        (w.rep_a1.pk, s.lead.pk, bucket_of(5)): 1,
        (w.rep_a1.pk, s.lead.pk, bucket_of(118)): 1,
        # Proposal, rep_a1: 27 h (won2), 74 h (lost2).
        (w.rep_a1.pk, s.proposal.pk, bucket_of(27)): 1,
        (w.rep_a1.pk, s.proposal.pk, bucket_of(74)): 1,
        # Lead, rep_a2: 72 h, exactly on an edge: the bucket it opens.
        (w.rep_a2.pk, s.lead.pk, bucket_of(72)): 1,
    }
    assert bucket_of(72) == DURATION_EDGES_HOURS.index(72)
    assert {row.pipeline_id for row in rows} == {w.pipeline.pk}


def test_histogram_median_interpolates_inside_its_bucket():
    # Five exits in [4, 8), [24, 48), [48, 72), [96, 120), [120, 168): the 2.5th is half-way into [48, 72).
    assert histogram_median({3: 1, 6: 1, 7: 1, 9: 1, 10: 1}) == Decimal(60)
    assert histogram_median({6: 4}) == Decimal(36)  # the middle of [24, 48)
    assert histogram_median({len(DURATION_EDGES_HOURS) - 1: 2}) == Decimal(2160)  # open-ended: its lower edge
    assert histogram_median({}) is None


def test_losses_of_the_day_per_reason_and_normalized_competitor(scenario):
    w, d = scenario.world, scenario.deals
    Deal.objects.filter(pk=d.lost1.pk).update(competitor="  Rival ")
    services.rollup_team_day(team=w.team_a, day=DAY)
    rows = {
        (row.rep_id, row.currency, row.loss_reason_id, row.competitor): (row.count, row.value)
        for row in DailyLossFigure.objects.filter(team=w.team_a, day=DAY)
    }
    assert rows == {
        (w.rep_a1.pk, "SAR", scenario.reason.pk, "rival"): (1, Decimal("500.00")),
        (w.rep_a1.pk, "SAR", scenario.reason.pk, ""): (1, Decimal("700.00")),
    }
    assert not DailyLossFigure.objects.filter(team=w.team_b).exists()


def test_winning_a_deal_created_on_a_past_day_recomputes_that_day(world):
    a, s = world.team_a, world.pipeline.s
    created = DAY - timedelta(days=3)
    deal = make_deal(owner=world.rep_a1, team=a, history=[(s.lead, at(a, created, "10:00"))], amount="1200")
    services.rollup_team_day(team=a, day=created)
    row = DailyDealFigure.objects.get(team=a, day=created)
    assert (row.deals_created, row.created_won_count) == (1, 0)

    deal_move_to_stage(deal=deal, stage=s.won, by=world.rep_a1)
    state = RollupDay.objects.get(team=a, day=created)
    assert state.is_dirty and state.reason == "deal created that day changed outcome"
    assert (a, created) in services.rollup_due()
    row = DailyDealFigure.objects.get(team=a, day=created)
    assert (row.created_won_count, row.created_won_value) == (1, Decimal("1200.00"))

    # Reopening undoes it at the next run.
    deal_move_to_stage(deal=Deal.objects.get(pk=deal.pk), stage=s.proposal, by=world.rep_a1)
    assert RollupDay.objects.get(team=a, day=created).is_dirty
    services.rollup_due()
    assert DailyDealFigure.objects.get(team=a, day=created).created_won_count == 0


def test_a_move_between_open_stages_leaves_the_creation_day_alone(world):
    a, s = world.team_a, world.pipeline.s
    created = DAY - timedelta(days=3)
    deal = make_deal(owner=world.rep_a1, team=a, history=[(s.lead, at(a, created, "10:00"))], amount="1200")
    services.rollup_team_day(team=a, day=created)
    deal_move_to_stage(deal=deal, stage=s.proposal, by=world.rep_a1)
    assert not RollupDay.objects.get(team=a, day=created).is_dirty


def test_rerunning_a_day_keeps_the_same_new_rows(scenario):
    w = scenario.world
    Deal.objects.filter(pk=scenario.deals.lost1.pk).update(competitor="Rival")

    def rows():
        skip = {"id", "created_at", "updated_at"}
        return {
            model.__name__: sorted(
                tuple(sorted((k, str(v)) for k, v in row.items() if k not in skip))
                for row in model.objects.filter(team=w.team_a, day=DAY).values()
            )
            for model in (DailyStageDuration, DailyLossFigure)
        }

    services.rollup_team_day(team=w.team_a, day=DAY)
    first = rows()
    assert all(first.values())
    services.rollup_team_day(team=w.team_a, day=DAY)
    assert rows() == first
