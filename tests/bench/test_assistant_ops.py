"""The win model operation leaves what a nightly run leaves: every open deal scored, and the scores of some
days ago kept as that day's snapshot beside today's, so My day's "probability fell" actions have a week to
compare with."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assistant.models import DealScore, WinModelStatus
from assistant.next_actions import DROP_WINDOW_DAYS
from assistant.planning_models import DealScoreSnapshot
from assistant.training import train
from bench.ops_assistant import SNAPSHOT_DAYS_AGO, score_with_snapshots
from tests.assistant.conftest import build_history

pytestmark = pytest.mark.django_db


def test_scoring_keeps_a_snapshot_of_days_ago_and_of_today(world, settings):
    settings.ASSISTANT_MIN_CLOSED_DEALS = 200
    history = build_history(team=world.team_a, owners=[world.rep_a1, world.rep_a2])
    model = train()
    assert model.status == WinModelStatus.IN_USE
    assert 0 < SNAPSHOT_DAYS_AGO < DROP_WINDOW_DAYS

    scored, seconds, snapshots = score_with_snapshots(model, SNAPSHOT_DAYS_AGO)
    open_deals = len(history.open_deals)
    assert scored == DealScore.objects.count() >= open_deals and seconds > 0
    today = timezone.now().date()
    days = {
        day: DealScoreSnapshot.objects.filter(day=day, model_version=model.version).count()
        for day in (today - timedelta(days=SNAPSHOT_DAYS_AGO), today)
    }
    assert days == dict.fromkeys(days, scored) and snapshots == 2 * scored
    # Today's snapshot holds today's scores; the earlier one was scored as of then (deals age, go quiet).
    current = dict(DealScore.objects.values_list("deal_id", "probability"))
    assert dict(DealScoreSnapshot.objects.filter(day=today).values_list("deal_id", "probability")) == current
    earlier = dict(
        DealScoreSnapshot.objects.filter(day=today - timedelta(days=SNAPSHOT_DAYS_AGO)).values_list(
            "deal_id", "probability"
        )
    )
    assert earlier != current
