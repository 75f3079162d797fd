"""The board's deal cards: `{% deal_cards column.deals %}` for a column, `{% deal_card deal %}` for one card.

A board shows hundreds of cards. Rendering pipeline/partials/deal_card.html once
per card (a dozen variable lookups, two URL reversals, a date format and the
stage select's options each time) was most of the page's time. All the cards
of a stage look alike except for a few text fields, so the template is
rendered once per stage and shape (with or without a company, with or without
an expected close date) with markers in place of those fields, and each card
fills the markers in with its own escaped values. The template stays the only
description of a card: one card (the HTMX answer to a move) is rendered from it
directly, with the same field values, and the two give the same HTML.
"""

import re
from html import escape
from typing import NamedTuple

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from core import formatting
from pipeline.models import StageKind

register = template.Library()

CARD_TEMPLATE = "pipeline/partials/deal_card.html"


class Card(NamedTuple):
    """What a card shows of a deal: the stage, then text the template only places."""

    stage_id: int
    pk: str
    version: str
    title: str
    url: str
    move_url: str
    company: str
    amount: str
    owner: str
    closes_on: str
    closes_text: str
    in_stage: str
    next_on: str
    next_text: str
    # The win model's probability ("62%"), or "" when the deal has no score (the stage's percentage applies).
    win: str
    # "stale" or "": only tested by the template, so it picks the shape and is never placed as text.
    stale: str


# The text fields: they differ between the cards of one shape (stage, with or without company and close date).
_SLOTS = Card._fields[1:]
# Private-use characters: escaping leaves them alone, and no translation or markup contains them.
_MARKER = re.compile("\ue000([a-z_]+)\ue001")


def _marker(name: str) -> str:
    return f"\ue000{name}\ue001"


# An id no URL pattern contains otherwise: reversed once, it splits a URL into the parts around the id.
_PROBE_ID = 987_654_321_012_345


class _PkUrl:
    """A URL of a deal for any pk, from a single reversal; the same text `reverse()` gives."""

    def __init__(self, name: str):
        self.name = name
        self.parts = reverse(name, args=[_PROBE_ID]).split(str(_PROBE_ID))

    def __call__(self, pk: int) -> str:
        if len(self.parts) != 2:
            return reverse(self.name, args=[pk])
        return f"{self.parts[0]}{pk}{self.parts[1]}"


class _CardMaker:
    """Turns deals into Cards; URLs, dates, durations and owners' names are worked out once each per page.

    `stages` (the page's stages) tells which stages are open: only a deal in an open
    stage can be stale. A deal's pipeline (read along with it) says after how many days.
    """

    def __init__(self, stages=(), now=None):
        self.detail_url = _PkUrl("pipeline:deal_detail")
        self.move_url = _PkUrl("pipeline:deal_move")
        self.closed = {stage.pk for stage in stages if stage.kind != StageKind.OPEN}
        self.now = now or timezone.now()
        self.dates: dict = {}
        self.owners: dict = {}
        self.durations: dict = {}
        self.percents: dict = {}

    def _date(self, value) -> tuple[str, str]:
        day = formatting.iso_date(value)
        if day not in self.dates:
            self.dates[day] = (day, formatting.date(value))
        return self.dates[day]

    def _percent(self, probability) -> str:
        # Whole percents: a hundred texts at most, however many cards.
        if probability not in self.percents:
            self.percents[probability] = formatting.percent(probability * 100, 0)
        return self.percents[probability]

    def _in_stage(self, entered) -> tuple[str, int]:
        """The time in the stage as text ("12 days", "3 hours"), and its whole days."""
        seconds = max(int((self.now - entered).total_seconds()), 0)
        whole_days = seconds // 86400
        # Whole days from the first day on, hours before: the same text for every deal of one key.
        key = whole_days if whole_days else -(seconds // 3600) - 1
        if key not in self.durations:
            self.durations[key] = formatting.duration(entered, self.now)
        return self.durations[key], whole_days

    @staticmethod
    def _company(deal) -> str:
        """The company's name: read along with the deal on the board (`company_name`), else from the company."""
        if not deal.company_id:
            return ""
        name = getattr(deal, "company_name", None)
        return name if name is not None else deal.company.name

    def __call__(self, deal) -> Card:
        close = deal.expected_close
        closes_on, closes_text = self._date(close) if close is not None else ("", "")
        follow_up = getattr(deal, "next_follow_up_at", None)
        next_on, next_text = self._date(follow_up) if follow_up is not None else ("", "")
        in_stage, stale = "", ""
        if deal.stage_entered_at is not None:
            in_stage, whole_days = self._in_stage(deal.stage_entered_at)
            limit = deal.pipeline.stale_after_days
            if limit and whole_days >= limit and deal.stage_id not in self.closed:
                stale = "stale"
        probability = getattr(deal, "win_probability", None)
        win = self._percent(probability) if probability is not None else ""
        owner = self.owners.get(deal.owner_id)
        if owner is None:
            owner = self.owners[deal.owner_id] = str(deal.owner)
        return Card(
            pk=str(deal.pk),
            version=str(deal.version),
            stage_id=deal.stage_id,
            title=deal.title,
            url=self.detail_url(deal.pk),
            move_url=self.move_url(deal.pk),
            company=self._company(deal),
            amount=formatting.money(deal.amount, deal.currency),
            owner=owner,
            closes_on=closes_on,
            closes_text=closes_text,
            in_stage=in_stage,
            next_on=next_on,
            next_text=next_text,
            win=win,
            stale=stale,
        )


class _CardShapes:
    """The card template rendered once per shape with markers, turned into a format string with one field per slot."""

    def __init__(self, context):
        self.context = context
        self.template = context.template.engine.get_template(CARD_TEMPLATE)
        self.shapes: dict[tuple, str] = {}

    def render(self, card: Card) -> str:
        key = (
            card.stage_id,
            bool(card.company),
            bool(card.closes_on),
            bool(card.in_stage),
            bool(card.next_on),
            bool(card.win),
            card.stale,
        )
        shape = self.shapes.get(key)
        if shape is None:
            shape = self.shapes[key] = self._shape(key)
        # html.escape is what Django's escape() applies, without its lazy-string wrapper (hundreds of cards).
        return shape.format(*map(escape, card[1:]))

    def _shape(self, key) -> str:
        stage_id, has_company, has_close, has_in_stage, has_next, has_win, stale = key
        markers = {name: _marker(name) for name in _SLOTS}
        if not has_company:
            markers["company"] = ""
        if not has_close:
            markers["closes_on"] = markers["closes_text"] = ""
        if not has_in_stage:
            markers["in_stage"] = ""
        if not has_next:
            markers["next_on"] = markers["next_text"] = ""
        if not has_win:
            markers["win"] = ""
        markers["stale"] = stale
        with self.context.push(card=Card(stage_id=stage_id, **markers)):
            html = self.template.render(self.context)
        text = html.replace("{", "{{").replace("}", "}}")
        return _MARKER.sub(lambda found: f"{{{_SLOTS.index(found.group(1))}}}", text)


def _page_state(context) -> dict:
    # dicts[0] is shared by every template of one render, included ones too: state for this page only.
    return context.render_context.dicts[0].setdefault("pipeline.board", {})


@register.simple_tag(takes_context=True)
def deal_cards(context, deals):
    """Every card of a column, in order: the card template's HTML for each deal.

    The page's `stages`, `next` and CSRF token are the same for every card, so
    they are part of the shapes, kept for the rest of the page.
    """
    state = _page_state(context)
    if "shapes" not in state:
        state["maker"], state["shapes"] = _CardMaker(context.get("stages") or ()), _CardShapes(context)
    make, shapes = state["maker"], state["shapes"]
    return mark_safe("".join(shapes.render(make(deal)) for deal in deals))


@register.simple_tag(takes_context=True)
def deal_card(context, deal):
    """One card, rendered straight from the card template."""
    with context.push(card=_CardMaker(context.get("stages") or ())(deal)):
        return context.template.engine.get_template(CARD_TEMPLATE).render(context)
