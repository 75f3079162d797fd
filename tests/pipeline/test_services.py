"""Deal services: money validation, stage moves with history, optimistic concurrency, win and loss."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from core.exceptions import StaleVersionError
from pipeline import services
from pipeline.models import Deal, StageChange, StageKind
from tests import factories as f


def create(world, **fields):
    defaults = {
        "by": world.rep_a1,
        "title": "توريد أجهزة",
        "amount": "15000.50",
        "currency": "SAR",
        "pipeline": world.pipeline,
    }
    return services.deal_create(**{**defaults, **fields})


def test_new_deal_starts_in_first_open_stage_with_history(world):
    deal = create(world)
    assert deal.stage == world.pipeline.s.lead
    assert deal.amount == Decimal("15000.50")
    assert deal.version == 1
    assert list(deal.stage_changes.values_list("from_stage", "to_stage")) == [(None, world.pipeline.s.lead.pk)]


@pytest.mark.parametrize(
    ("fields", "field", "arabic"),
    [
        ({"amount": "-5"}, "amount", "لا يمكن أن يكون المبلغ"),
        ({"amount": "abc"}, "amount", "أدخل المبلغ"),
        ({"currency": "XYZ"}, "currency", "ليس رمز عملة"),
        ({"currency": ""}, "currency", "لا يمكن ترك هذا الحقل"),
        ({"title": ""}, "title", "لا يمكن ترك هذا الحقل"),
    ],
)
def test_bad_deal_input_is_refused_in_arabic_and_nothing_is_saved(world, fields, field, arabic):
    before = (Deal.objects.count(), StageChange.objects.count())
    with translation.override("ar"):
        with pytest.raises(ValidationError) as error:
            create(world, **fields)
        assert any(arabic in message for message in error.value.message_dict[field]), error.value.message_dict
    assert (Deal.objects.count(), StageChange.objects.count()) == before


def test_moving_a_deal_records_the_change_and_bumps_the_version(world):
    deal = create(world)
    moved = services.deal_move_to_stage(deal=deal, stage=world.pipeline.s.proposal, by=world.rep_a1, expected_version=1)
    assert moved.stage == world.pipeline.s.proposal
    assert moved.version == 2
    assert moved.closed_at is None
    last = moved.stage_changes.last()
    assert (last.from_stage, last.to_stage, last.by) == (world.pipeline.s.lead, world.pipeline.s.proposal, world.rep_a1)


def test_stale_move_is_refused_and_changes_nothing(world):
    deal = create(world)
    services.deal_move_to_stage(deal=deal, stage=world.pipeline.s.proposal, by=world.manager_a, expected_version=1)
    with translation.override("ar"):
        with pytest.raises(StaleVersionError) as error:
            services.deal_move_to_stage(deal=deal, stage=world.pipeline.s.won, by=world.rep_a1, expected_version=1)
        assert "شخص آخر" in str(error.value.message)
    deal.refresh_from_db()
    assert (deal.stage, deal.version, deal.stage_changes.count()) == (world.pipeline.s.proposal, 2, 2)


def test_winning_closes_the_deal_and_reopening_clears_it(world):
    deal = create(world)
    won = services.deal_mark_won(deal=deal, by=world.rep_a1)
    assert won.stage.kind == StageKind.WON and won.closed_at is not None
    reopened = services.deal_move_to_stage(deal=won, stage=world.pipeline.s.lead, by=world.rep_a1)
    assert reopened.closed_at is None


def test_losing_needs_a_reason_and_keeps_the_competitor(world):
    deal = create(world)
    with pytest.raises(ValidationError):
        services.deal_mark_lost(deal=deal, by=world.rep_a1, loss_reason=None)
    deal.refresh_from_db()
    assert deal.stage == world.pipeline.s.lead
    reason = f.LossReasonFactory()
    lost = services.deal_mark_lost(deal=deal, by=world.rep_a1, loss_reason=reason, competitor="Zoho")
    assert (lost.stage.kind, lost.loss_reason, lost.competitor) == (StageKind.LOST, reason, "Zoho")


def test_stage_of_another_pipeline_is_refused(world):
    deal = create(world)
    other = f.StageFactory()
    with pytest.raises(ValidationError):
        services.deal_move_to_stage(deal=deal, stage=other, by=world.rep_a1)


def test_money_is_never_stored_as_float(world):
    deal = create(world, amount=Decimal("0.10") + Decimal("0.20"))
    deal.refresh_from_db()
    assert deal.amount == Decimal("0.30")
    assert isinstance(deal.amount, Decimal)
