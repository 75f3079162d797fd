"""A team's deal history with a known answer, built fast (bulk inserts) for training tests."""

import math
import random
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from assistant.planted import draw_won, gap_days_for, planted_logit
from crm.models import Activity, ActivityKind
from pipeline.models import Deal, DealSource, StageChange, StageKind
from tests import factories as f

SOURCES = list(DealSource.values)


def build_history(*, team, owners, closed=600, open_=12, signal=True, seed=7, probabilities=(10, 50)):
    """`closed` deals over the last year (won or lost), `open_` open ones, with stage history and activities.

    With `signal`, outcomes follow assistant.planted (source, amount, days between
    activities); without it every deal is won with probability one half, whatever it looks
    like, and the stages' percentages are that half too (the baseline is then the truth).
    """
    rng = random.Random(seed)
    now = timezone.now()
    pipeline = f.PipelineFactory(name="مسار الاختبار", name_en="Test pipeline")
    lead = f.StageFactory(pipeline=pipeline, name="عميل محتمل", name_en="Lead", order=0, probability=probabilities[0])
    proposal = f.StageFactory(
        pipeline=pipeline, name="تفاوض", name_en="Negotiation", order=1, probability=probabilities[1]
    )
    won_stage = f.StageFactory(
        pipeline=pipeline, name="رابحة", name_en="Won", order=2, probability=100, kind=StageKind.WON
    )
    lost_stage = f.StageFactory(
        pipeline=pipeline, name="خاسرة", name_en="Lost", order=3, probability=0, kind=StageKind.LOST
    )
    reason = f.LossReasonFactory()
    company = f.CompanyFactory(owner=owners[0], team=team)
    specs = []
    for index in range(closed + open_):
        is_open = index >= closed
        start = now - timedelta(days=(30 + rng.random() * 20) if is_open else (70 + 290 * (closed - index) / closed))
        amount = Decimal(rng.choice((2, 5, 10, 20, 50, 100, 200, 500)) * 1000)
        source = rng.choice(SOURCES)
        specs.append((index, is_open, start, amount, source, owners[index % len(owners)]))
    deals = Deal.objects.bulk_create(
        [
            Deal(
                title=f"صفقة {index}",
                owner=owner,
                team=team,
                company=company,
                pipeline=pipeline,
                stage=lead,
                amount=amount,
                currency="SAR",
                source=source,
            )
            for index, is_open, start, amount, source, owner in specs
        ]
    )
    changes, activities, truths = [], [], []
    for deal, (_index, is_open, start, amount, source, owner) in zip(deals, specs, strict=True):
        gap = gap_days_for(deal.pk)
        logit = planted_logit(amount=float(amount), source=source, gap_days=gap)
        won = draw_won(rng, logit) if signal else rng.random() < 0.5
        to_proposal = start + timedelta(days=3 + rng.random() * 5)
        end = start + timedelta(days=30 + rng.random() * 30) if not is_open else now
        changes.append(StageChange(deal=deal, from_stage=None, to_stage=lead, at=start, by=owner))
        changes.append(StageChange(deal=deal, from_stage=lead, to_stage=proposal, at=to_proposal, by=owner))
        final = proposal
        if not is_open:
            final = won_stage if won else lost_stage
            changes.append(StageChange(deal=deal, from_stage=proposal, to_stage=final, at=end, by=owner))
            truths.append((logit, won))
        at = start + timedelta(days=1)
        while at < end:
            activities.append(
                Activity(
                    kind=rng.choice([ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING]),
                    occurred_at=at,
                    deal=deal,
                    company=company,
                    actor=owner,
                    team=team,
                )
            )
            at += timedelta(days=gap * (0.8 + 0.4 * rng.random()))
        Deal.objects.filter(pk=deal.pk).update(
            created_at=start,
            stage=final,
            stage_entered_at=end if not is_open else to_proposal,
            closed_at=None if is_open else end,
            loss_reason=reason if final == lost_stage else None,
        )
    StageChange.objects.bulk_create(changes)
    Activity.objects.bulk_create(activities)
    return SimpleNamespace(
        pipeline=pipeline,
        lead=lead,
        proposal=proposal,
        won=won_stage,
        lost=lost_stage,
        truths=truths,
        open_deals=list(Deal.objects.filter(pipeline=pipeline, closed_at__isnull=True).order_by("pk")),
    )


@pytest.fixture
def history(world):
    return build_history(team=world.team_a, owners=[world.rep_a1, world.rep_a2])


def logit(p: float) -> float:
    return math.log(p / (1 - p))
