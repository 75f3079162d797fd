"""The board's cards: rendered once per stage and shape then filled in, they are the card template's HTML."""

import re
from datetime import date
from decimal import Decimal

from django.template import RequestContext, Template
from django.urls import reverse
from django.utils import translation

from pipeline.selectors import board_deals, board_stages
from tests import factories as f

SEPARATOR = "\n<!-- one by one -->\n"


def odd_deals(world):
    """Deals of every card shape, with text that needs escaping and a date whose format differs by language."""
    s, company = world.pipeline.s, world.a1.company
    company.name = 'Ben & "Jerry\'s" <Co>'
    company.save()
    shapes = [
        (s.lead, company, date(2026, 3, 9)),
        (s.lead, None, date(2026, 3, 9)),
        (s.proposal, company, None),
        (s.proposal, None, None),
        (s.won, company, date(2025, 12, 31)),
        (s.lost, None, date(2026, 1, 2)),
    ]
    for index, (stage, with_company, closes) in enumerate(shapes):
        f.DealFactory(
            title=f'<script>alert("{index}")</script> & عرض {index}',
            owner=world.rep_a1,
            team=world.team_a,
            stage=stage,
            company=with_company,
            expected_close=closes,
            amount=Decimal("1234567.891") if index % 2 else Decimal("0.5"),
            currency=("SAR", "KWD", "USD")[index % 3],
        )


def test_filled_in_cards_are_the_card_template_rendered_for_each_deal(rf, world):
    odd_deals(world)
    stages = board_stages(pipeline=world.pipeline)
    columns = board_deals(user=world.rep_a1, pipeline=world.pipeline, stages=stages)
    deals = [deal for stage in stages for deal in columns.get(stage.pk, [])]
    assert len(deals) == 7  # the six above and world.a1.deal
    template = Template(
        "{% load board %}{% deal_cards deals %}" + SEPARATOR + "{% for deal in deals %}{% deal_card deal %}{% endfor %}"
    )
    for language in ("ar", "en"):
        with translation.override(language):
            context = RequestContext(rf.get("/board/"), {"deals": deals, "stages": stages, "next": "/board/?a=1&b=2"})
            filled, one_by_one = template.render(context).split(SEPARATOR)
        assert filled == one_by_one
        assert filled.count('<li class="deal-card') == 7
        assert "<script>" not in filled and "&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;" in filled
        assert "Ben &amp; &quot;Jerry&#x27;s&quot; &lt;Co&gt;" in filled


def test_each_cards_move_menu_offers_every_other_stage(client, world):
    odd_deals(world)
    client.force_login(world.rep_a1)
    html = client.get(reverse("pipeline:board")).content.decode()
    cards = re.findall(
        r'<li class="deal-card[^"]*" id="deal-(\d+)" data-version="\d+" data-stage="(\d+)">(.*?)</li>\n', html, re.S
    )
    assert len(cards) == 5  # the open deals: won and lost are summary columns
    stage_ids = {str(stage.pk) for stage in world.pipeline.stages.all()}
    for pk, stage_id, body in cards:
        offered = re.findall(r'<button type="submit" name="stage" value="(\d+)"', body)
        assert set(offered) == stage_ids - {stage_id} and len(offered) == len(stage_ids) - 1
        assert f'action="{reverse("pipeline:deal_move", args=[pk])}"' in body
        assert f'href="{reverse("pipeline:deal_detail", args=[pk])}"' in body
