"""The board's cards and columns: days in the stage, the next follow-up, the stale mark, weighted totals."""

import re
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone, translation

from core import formatting
from crm.models import FollowUpStatus
from pipeline import services
from pipeline.selectors import board_deals, board_stages, stage_summaries
from tests import factories as f


def card_html(html: str, deal) -> str:
    match = re.search(rf'<li class="deal-card[^"]*" id="deal-{deal.pk}".*?</li>\n', html, re.S)
    assert match, f"no card for {deal}"
    return match.group(0)


def board(client, user, language="en"):
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    return client.get(reverse("pipeline:board")).content.decode()


def deal_in_stage(world, *, days, stage=None, **fields):
    return f.DealFactory(
        owner=world.rep_a1,
        team=world.team_a,
        stage=stage or world.pipeline.s.lead,
        stage_entered_at=timezone.now() - timedelta(days=days, hours=1),
        **fields,
    )


def follow_up(world, deal, *, due_in_days, status=FollowUpStatus.OPEN):
    return f.FollowUpFactory(
        deal=deal,
        team=world.team_a,
        assignee=world.rep_a1,
        status=status,
        due_at=timezone.now() + timedelta(days=due_in_days),
    )


def test_card_shows_whole_days_in_the_current_stage(client, world):
    deal = deal_in_stage(world, days=12)
    html = card_html(board(client, world.rep_a1), deal)
    with translation.override("en"):
        assert f"<bdi>{formatting.days(12)}</bdi> in this stage" in html
    arabic = card_html(board(client, world.rep_a1, "ar"), deal)
    with translation.override("ar"):
        assert formatting.days(12) in arabic


def test_card_shows_hours_on_the_first_day_in_a_stage(client, world):
    deal = f.DealFactory(
        owner=world.rep_a1,
        team=world.team_a,
        stage=world.pipeline.s.lead,
        stage_entered_at=timezone.now() - timedelta(hours=3, minutes=5),
    )
    html = card_html(board(client, world.rep_a1), deal)
    assert "<bdi>3 hours</bdi> in this stage" in html


def test_card_shows_the_earliest_open_follow_up_only(client, world):
    deal = deal_in_stage(world, days=1)
    follow_up(world, deal, due_in_days=-30, status=FollowUpStatus.DONE)
    follow_up(world, deal, due_in_days=9)
    earliest = follow_up(world, deal, due_in_days=4)
    follow_up(world, deal, due_in_days=2, status=FollowUpStatus.CANCELLED)
    html = card_html(board(client, world.rep_a1), deal)
    expected = formatting.iso_date(earliest.due_at)
    assert re.findall(r'<span class="deal-card__next">.*?<time datetime="([\d-]+)">', html) == [expected]
    without = card_html(board(client, world.rep_a1), world.a1.deal)
    assert "deal-card__next" not in without


def test_a_deal_is_stale_past_its_pipelines_days_in_one_open_stage(client, world):
    world.pipeline.stale_after_days = 10
    world.pipeline.save()
    fresh = deal_in_stage(world, days=9)
    stale = deal_in_stage(world, days=10)
    html = board(client, world.rep_a1)
    assert "deal-card--stale" in card_html(html, stale) and "Stale" in card_html(html, stale)
    assert "deal-card--stale" not in card_html(html, fresh) and "Stale" not in card_html(html, fresh)


def test_zero_stale_days_switches_the_mark_off(client, world):
    world.pipeline.stale_after_days = 0
    world.pipeline.save()
    deal = deal_in_stage(world, days=400)
    assert "deal-card--stale" not in card_html(board(client, world.rep_a1), deal)


def test_a_deal_moved_to_a_closed_stage_is_not_marked_stale(client, world):
    deal = deal_in_stage(world, days=100)
    client.force_login(world.rep_a1)
    response = client.post(
        reverse("pipeline:deal_move", args=[deal.pk]),
        {"stage": world.pipeline.s.won.pk, "version": deal.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "deal-card--stale" not in response.content.decode()


def test_a_moved_card_keeps_its_next_follow_up_and_starts_its_days_again(client, world):
    deal = deal_in_stage(world, days=40)
    due = follow_up(world, deal, due_in_days=3)
    client.force_login(world.rep_a1)
    response = client.post(
        reverse("pipeline:deal_move", args=[deal.pk]),
        {"stage": world.pipeline.s.proposal.pk, "version": deal.version},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert f'<time datetime="{formatting.iso_date(due.due_at)}">' in html
    assert "deal-card--stale" not in html
    with translation.override(world.rep_a1.language):
        assert f"<bdi>{formatting.duration(timezone.now())}</bdi>" in html  # "less than an hour"


def test_weighted_total_is_amount_times_probability_per_currency(world):
    lead, proposal = world.pipeline.s.lead, world.pipeline.s.proposal
    services.stage_update(stage=proposal, by=world.admin, probability=50)
    proposal.refresh_from_db()
    for amount, currency in (("1000", "SAR"), ("3000", "SAR"), ("200", "USD")):
        f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=proposal, amount=Decimal(amount), currency=currency)
    summaries = stage_summaries(user=world.rep_a1, stage_ids=[lead.pk, proposal.pk])
    totals = {currency: (total, weighted) for currency, total, weighted in summaries[proposal.pk]["totals"]}
    assert totals == {"SAR": (Decimal("4000"), Decimal("2000")), "USD": (Decimal("200"), Decimal("100"))}


def test_column_head_shows_the_weighted_total_beside_the_total(client, world):
    proposal = world.pipeline.s.proposal
    services.stage_update(stage=proposal, by=world.admin, probability=50)
    f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=proposal, amount=Decimal("1000"), currency="SAR")
    html = board(client, world.rep_a1)
    head = re.search(rf'<header[^>]*id="stage-{proposal.pk}-head">(.*?)</header>', html, re.S).group(1)
    with translation.override("en"):
        assert formatting.money(Decimal("1000"), "SAR") in head
        assert f"weighted {formatting.money(Decimal('500'), 'SAR')}" in head


def test_next_follow_ups_are_read_in_the_cards_query(world, django_assert_num_queries):
    deals = [deal_in_stage(world, days=n) for n in range(5)]
    for deal in deals:
        follow_up(world, deal, due_in_days=2)
    stages = board_stages(pipeline=world.pipeline)
    with django_assert_num_queries(2):  # who the user may see, then the cards
        columns = board_deals(user=world.rep_a1, pipeline=world.pipeline, stages=stages)
        cards = [deal for deal_list in columns.values() for deal in deal_list]
        assert all(deal.pipeline.stale_after_days == 21 for deal in cards)
    assert sum(deal.next_follow_up_at is not None for deal in cards) == 5


def test_the_board_reads_as_many_queries_with_follow_ups_on_every_card(client, world, django_assert_max_num_queries):
    client.force_login(world.rep_a1)
    client.get(reverse("pipeline:board"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("pipeline:board"))
    for n in range(60):
        deal = deal_in_stage(world, days=n)
        follow_up(world, deal, due_in_days=n % 7)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("pipeline:board"))
    assert response.content.decode().count("deal-card__next") == 60
