"""How the web shows a deal's win probability and its reasons (no scikit-learn here: it reads stored scores).

A deal with a stored score (the worker's, see assistant/training.py) shows the model's
probability and its three strongest factors in words; any other open deal shows its
stage's percentage, and the page says why the model is not used. The factors are stored
as codes with their raw values and worded here, at display time, in the reader's language,
with data (stage names) bidi-isolated and numbers through the one formatter.

Points: a factor's points are tenths of a unit of log-odds (POINTS_PER_LOGIT in
training.py). The model's log-odds are the base rate's plus every factor's points / 10,
so the three shown plus "other factors" add up exactly to the distance from the base rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Value, When
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import formatting
from pipeline.models import DealSource, StageKind

POINTS_PER_LOGIT = 10

ACTIVITY_WORDS = {
    "call": gettext_lazy("calls"),
    "meeting": gettext_lazy("meetings"),
    "email": gettext_lazy("emails"),
    "note": gettext_lazy("notes"),
}


def win_probability_expression():
    """The probability a deal list sorts by: the model's score where there is one, else the stage's percentage.

    A won or lost deal has no chance left to estimate: it sorts as −1, after every open deal
    when sorting by the highest chance (a number rather than NULL, so cursor paging works).
    """
    decimal = DecimalField(max_digits=7, decimal_places=4)
    chance = Coalesce(
        F("win_score__probability"),
        Cast(F("stage__probability"), decimal) / Value(Decimal(100)),
        output_field=decimal,
    )
    return Case(When(stage__kind=StageKind.OPEN, then=chance), default=Value(Decimal(-1)), output_field=decimal)


def points_text(points) -> str:
    """Signed points, read left to right in both languages: "+18", "−12"."""
    value = round(float(points))
    sign = "+" if value > 0 else ("−" if value < 0 else "")
    return formatting.ltr(f"{sign}{formatting.count(abs(value))}")


def _stage_name(params: dict) -> str:
    from django.utils.translation import get_language

    english = (get_language() or "").startswith("en")
    return (params.get("name_en") if english and params.get("name_en") else params.get("name")) or ""


def factor_text(code: str, params: dict) -> str:
    """The words of one factor, without its points: "no activity for 21 days", "stage: Negotiation"."""
    if code == "stage":
        return _("stage: %(stage)s") % {"stage": formatting.isolate(_stage_name(params))}
    if code == "source":
        source = params.get("source") or ""
        label = dict(DealSource.choices).get(source) if source else _("not recorded")
        return _("source: %(source)s") % {"source": label}
    if code == "amount_magnitude":
        return _("value %(amount)s") % {"amount": formatting.money(Decimal(params["amount"]), params["currency"])}
    if code == "days_in_stage":
        return _("%(days)s in this stage") % {"days": formatting.days(params["days"])}
    if code == "age_days":
        return _("open for %(days)s") % {"days": formatting.days(params["days"])}
    if code == "days_since_activity":
        if not params.get("any"):
            return _("no activity since it was created %(days)s ago") % {"days": formatting.days(params["days"])}
        return _("no activity for %(days)s") % {"days": formatting.days(params["days"])}
    if code.startswith("acts"):
        words = ACTIVITY_WORDS.get(params.get("kind"), params.get("kind", ""))
        return ngettext(
            "%(kind)s in the last %(window)s day: %(count)s",
            "%(kind)s in the last %(window)s days: %(count)s",
            params["window"],
        ) % {"kind": words, "window": formatting.count(params["window"]), "count": formatting.count(params["count"])}
    if code == "open_follow_ups":
        if not params["count"]:
            return _("no next step scheduled")
        return _("open follow-ups: %(count)s") % {"count": formatting.count(params["count"])}
    if code == "overdue_follow_ups":
        return _("overdue follow-ups: %(count)s") % {"count": formatting.count(params["count"])}
    if code in ("owner_win_rate", "company_win_rate"):
        closed, won = params.get("closed", 0), params.get("won", 0)
        if code == "owner_win_rate":
            if not closed:
                return _("owner has no closed deals yet")
            return _("owner's earlier deals: %(won)s won of %(closed)s") % {
                "won": formatting.count(won),
                "closed": formatting.count(closed),
            }
        if not closed:
            return _("no earlier deals with this customer")
        return _("customer's earlier deals: %(won)s won of %(closed)s") % {
            "won": formatting.count(won),
            "closed": formatting.count(closed),
        }
    return code


def points_label(points) -> str:
    """Signed points with their unit: "+18 points", "−1 point"."""
    return ngettext("%(points)s point", "%(points)s points", abs(round(float(points)))) % {
        "points": points_text(points)
    }


def factor_sentence(code: str, points, params: dict) -> str:
    """The factor with its points: "no activity for 21 days −12 points"."""
    return _("%(factor)s %(points)s") % {"factor": factor_text(code, params), "points": points_label(points)}


@dataclass
class Factor:
    code: str
    points: float
    params: dict
    text: str
    points_text: str
    points_label: str
    sentence: str
    direction: str  # "up", "down" or "none": only picks the badge's look


@dataclass
class WinView:
    """What a page shows of a deal's chance of winning."""

    probability: Decimal  # 0..1
    source: str  # "model" or "stage"
    factors: list[Factor] = field(default_factory=list)
    base_probability: Decimal | None = None
    other_points: float = 0.0
    model_version: int | None = None
    scored_at: object = None

    @property
    def percent(self) -> Decimal:
        return self.probability * 100

    @property
    def other_points_label(self) -> str:
        return points_label(self.other_points)

    @property
    def base_percent(self) -> Decimal | None:
        return None if self.base_probability is None else self.base_probability * 100


def render_factors(factors: list[dict]) -> list[Factor]:
    rendered = []
    for item in factors:
        points = float(item.get("points", 0))
        rounded = round(points)
        rendered.append(
            Factor(
                code=item["code"],
                points=points,
                params=item.get("params", {}),
                text=factor_text(item["code"], item.get("params", {})),
                points_text=points_text(points),
                points_label=points_label(points),
                sentence=factor_sentence(item["code"], points, item.get("params", {})),
                direction="up" if rounded > 0 else ("down" if rounded < 0 else "none"),
            )
        )
    return rendered


def _logit(probability: float) -> float:
    probability = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(probability / (1 - probability))


def score_view(score) -> WinView:
    """The view of a stored score, with the points of the factors not shown."""
    total = (_logit(float(score.probability)) - _logit(float(score.base_probability))) * POINTS_PER_LOGIT
    shown = sum(float(item.get("points", 0)) for item in score.factors)
    return WinView(
        probability=score.probability,
        source="model",
        factors=render_factors(score.factors),
        base_probability=score.base_probability,
        other_points=round(total - shown, 1),
        model_version=score.model_version,
        scored_at=score.scored_at,
    )


def win_view(deal) -> WinView | None:
    """The deal's chance of winning (None once it is won or lost): its score, else its stage's percentage."""
    if deal.stage.kind != StageKind.OPEN:
        return None
    try:
        score = deal.win_score
    except deal._meta.model.win_score.RelatedObjectDoesNotExist:
        score = None
    if score is not None:
        return score_view(score)
    return WinView(probability=Decimal(deal.stage.probability) / 100, source="stage")


def status_reason(card) -> str:
    """Why the stage percentage is shown instead of the model (the latest training run's verdict)."""
    from assistant.models import WinModelStatus

    if card is None:
        return _("The win model has not been trained yet, so the stage's percentage is shown.")
    if card.status == WinModelStatus.TOO_FEW_DEALS:
        return ngettext(
            "The win model needs at least %(needed)s closed deal and has %(closed)s, so the stage's percentage is shown.",
            "The win model needs at least %(needed)s closed deals and has %(closed)s, so the stage's percentage is shown.",
            card.min_closed_deals,
        ) % {"needed": formatting.count(card.min_closed_deals), "closed": formatting.count(card.closed_deals)}
    if card.status == WinModelStatus.NOT_BETTER:
        return _(
            "The win model did not predict the newest deals better than the stage's percentage, so the stage's percentage is shown."
        )
    return _("This deal has not been scored yet; the stage's percentage is shown until the next nightly run.")
