"""The win probability: features as of a moment, training with a known answer, factors, pages, API."""

import math
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from assistant.display import factor_sentence
from assistant.features import closed_record, features_as_of, load_histories, snapshot_moments
from assistant.models import DealScore, WinModelStatus
from assistant.planted import auc
from crm.models import Activity, ActivityKind, FollowUp
from pipeline.models import Deal, StageChange
from tests import factories as f
from tests.assistant.conftest import build_history

pytestmark = pytest.mark.django_db


def _train(**kwargs):
    from assistant.training import score_open_deals, train

    model = train(**kwargs)
    score_open_deals(model)
    return model


def test_features_as_of_a_snapshot_ignore_the_deals_future(world):
    history = build_history(team=world.team_a, owners=[world.rep_a1], closed=20, open_=0)
    deal = Deal.objects.filter(pipeline=history.pipeline).order_by("pk").first()
    moments = snapshot_moments(load_histories([deal.pk])[deal.pk], deal.closed_at)
    assert moments
    before = features_as_of([(deal.pk, moment) for moment in moments])
    # Rewrite the deal's future: activities, a follow-up, another stage move, all after the last snapshot.
    later = max(moments) + timedelta(minutes=1)
    for offset in range(5):
        Activity.objects.create(
            kind=ActivityKind.MEETING,
            occurred_at=later + timedelta(hours=offset),
            deal=deal,
            company=deal.company,
            actor=world.rep_a1,
            team=world.team_a,
        )
    FollowUp.objects.create(
        subject="x", due_at=later + timedelta(days=1), deal=deal, assignee=world.rep_a1, team=world.team_a
    )
    StageChange.objects.create(deal=deal, from_stage=deal.stage, to_stage=history.lead, at=later, by=world.rep_a1)
    # ...and another of the owner's deals closes after it (the owner's earlier win rate must not see it).
    f.DealFactory(
        owner=world.rep_a1,
        team=world.team_a,
        company=deal.company,
        stage=history.won,
        closed_at=later + timedelta(hours=1),
    )
    after = features_as_of([(deal.pk, moment) for moment in moments], record=closed_record())
    for (old, old_context), (new, new_context) in zip(before, after, strict=True):
        assert {k: (v, new[k]) for k, v in old.items() if new[k] != v} == {}
        assert {k: (v, new_context[k]) for k, v in old_context.items() if new_context[k] != v} == {}


def test_training_on_planted_signal_recovers_it(world, settings):
    settings.ASSISTANT_MIN_CLOSED_DEALS = 200
    history = build_history(team=world.team_a, owners=[world.rep_a1, world.rep_a2])
    model = _train()
    best = auc([logit for logit, _won in history.truths], [won for _logit, won in history.truths])
    assert model.status == WinModelStatus.IN_USE
    assert model.metrics["model"]["auc"] > 0.68
    assert model.metrics["model"]["auc"] > model.metrics["baseline"]["auc"] + 0.1
    assert model.metrics["model"]["brier"] < model.metrics["baseline"]["brier"]
    assert best - model.metrics["model"]["auc"] < 0.15
    assert len(model.metrics["model"]["calibration"]) == 10
    # Every open deal got a score with three factors; the biggest planted effect shows.
    scores = DealScore.objects.filter(deal__in=history.open_deals)
    assert scores.count() == len(history.open_deals)
    assert all(len(score.factors) == 3 for score in scores)
    columns = model.params["columns"]
    coef = dict(zip(columns, model.params["coef"], strict=True))
    assert coef["source:referral"] > 0 > coef["source:cold_call"]
    assert coef["amount_magnitude"] < 0


def test_pure_noise_falls_back_to_the_stage_percentage(world, settings):
    settings.ASSISTANT_MIN_CLOSED_DEALS = 200
    build_history(team=world.team_a, owners=[world.rep_a1, world.rep_a2], signal=False, probabilities=(50, 50))
    model = _train()
    assert model.status == WinModelStatus.NOT_BETTER
    assert not DealScore.objects.exists()
    page = _client(world.rep_a1, language="en").get(reverse("pipeline:deal_detail", args=[world.a1.deal.pk]))
    assert "did not predict the newest deals better than the stage" in page.content.decode()
    assert "win__factor" not in page.content.decode()


def test_too_few_closed_deals_fall_back_and_say_why(world, settings):
    settings.ASSISTANT_MIN_CLOSED_DEALS = 200
    build_history(team=world.team_a, owners=[world.rep_a1], closed=60, open_=2)
    model = _train()
    assert model.status == WinModelStatus.TOO_FEW_DEALS
    assert not DealScore.objects.exists()
    translation.activate("en")
    client = _client(world.rep_a1, language="en")
    page = client.get(reverse("pipeline:deal_detail", args=[world.a1.deal.pk])).content.decode()
    assert "needs at least" in page and "200" in page


def test_factors_add_up_to_the_distance_from_the_base_rate(world):
    import numpy as np

    from assistant.training import Layout, contributions, factor_group, logits

    history = build_history(team=world.team_a, owners=[world.rep_a1, world.rep_a2])
    model = _train(min_closed=100)
    assert model.in_use
    params = model.params
    layout = Layout(params["columns"], params["medians"], params["default_median"])
    pairs = [(deal.pk, timezone.now()) for deal in history.open_deals]
    histories = load_histories([pk for pk, _ in pairs])
    X = np.zeros((len(pairs), len(layout.columns)))
    for i, (features, _context) in enumerate(features_as_of(pairs)):
        layout.row(features, histories[pairs[i][0]].currency, X[i])
    terms = contributions(params, X)
    # In log-odds: intercept (the base rate's) + every column's term = the score's log-odds, exactly.
    assert np.allclose(terms.sum(axis=1) + params["intercept"], logits(params, X))
    # Stored: the three factors shown plus "other factors" = 10 × (logit(score) − logit(base)), up to rounding.
    for score in DealScore.objects.filter(deal__in=history.open_deals):
        from assistant.display import score_view

        view = score_view(score)
        total = 10 * (_logit(float(score.probability)) - _logit(float(score.base_probability)))
        assert abs(sum(f.points for f in view.factors) + view.other_points - total) < 0.2
        groups = {factor_group(c) for c in layout.columns}
        assert {f.code for f in view.factors} <= groups
        shown = sorted(abs(f.points) for f in view.factors)
        assert shown[0] >= 0


def _logit(p):
    return math.log(p / (1 - p))


def test_factor_wording_in_arabic_and_english():
    with translation.override("en"):
        assert (
            factor_sentence("days_since_activity", -12, {"days": 21, "any": True})
            == "no activity for 21 days \u2066−12\u2069 points"
        )
        stage = factor_sentence("stage", 18, {"name": "تفاوض", "name_en": "Negotiation"})
        assert stage == "stage: \u2068Negotiation\u2069 \u2066+18\u2069 points"
    with translation.override("ar"):
        text = factor_sentence("days_since_activity", -12, {"days": 21, "any": True})
        assert "لا نشاط منذ" in text and "نقطة" in text
        stage = factor_sentence("stage", 18, {"name": "تفاوض", "name_en": "Negotiation"})
        assert "\u2068تفاوض\u2069" in stage and "المرحلة" in stage


def _client(user, language="ar"):
    from django.test import Client

    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def test_scores_show_only_on_deals_the_user_may_see(world):
    history = build_history(team=world.team_a, owners=[world.rep_a1, world.rep_a2])
    _train(min_closed=100)
    mine = Deal.objects.filter(owner=world.rep_a1, pk__in=[d.pk for d in history.open_deals]).first()
    theirs = Deal.objects.filter(owner=world.rep_a2, pk__in=[d.pk for d in history.open_deals]).first()
    client = _client(world.rep_a1)
    assert client.get(reverse("pipeline:deal_detail", args=[theirs.pk])).status_code == 404
    assert client.get(f"/api/v1/deals/{theirs.pk}/").status_code == 404
    assert set(DealScore.objects.visible_to(world.rep_a1).values_list("deal__owner", flat=True)) == {world.rep_a1.pk}
    body = client.get("/api/v1/deals/?o=-win_probability&page_size=500").json()
    ids = [row["id"] for row in body["results"]]
    assert theirs.pk not in ids and mine.pk in ids
    row = next(row for row in body["results"] if row["id"] == mine.pk)
    assert row["win_model_version"] is not None and len(row["win_factors"]) == 3
    probabilities = [row["win_probability"] for row in body["results"] if row["win_probability"] is not None]
    assert probabilities == sorted(probabilities, reverse=True)
    page = client.get(reverse("pipeline:deal_detail", args=[mine.pk])).content.decode()
    assert "win__factor" in page
    # The model card is for managers: a rep gets the 404 of a missing page.
    assert client.get(reverse("assistant:win_model")).status_code == 404
    assert client.get("/api/v1/win-model/").status_code == 404
    manager = _client(world.manager_a)
    assert manager.get(reverse("assistant:win_model")).status_code == 200
    assert manager.get("/api/v1/win-model/").json()["in_use"] is True


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_scored_deals(world):
    build_history(team=world.team_a, owners=[world.rep_a1], open_=5)
    _train(min_closed=100)
    client = _client(world.manager_a)
    urls = [reverse("pipeline:deal_list") + "?o=-win_probability", "/api/v1/deals/?o=-win_probability"]
    small = [_queries(client, url) for url in urls]
    history = build_history(team=world.team_a, owners=[world.rep_a1], closed=0, open_=30, seed=11)
    _train(min_closed=100)
    assert DealScore.objects.filter(deal__in=history.open_deals).count() == 30
    large = [_queries(client, url) for url in urls]
    assert large == small
    board = reverse("pipeline:board_pipeline", args=[history.pipeline.pk])
    assert _queries(client, board) <= _queries(client, reverse("pipeline:board_pipeline", args=[world.pipeline.pk]))
    assert "deal-card__win" in client.get(board).content.decode()


def test_a_card_moved_on_the_board_keeps_its_chance_of_winning(world):
    """The HTMX move answers with the moved card: it shows the stored score as the board does."""
    history = build_history(team=world.team_a, owners=[world.rep_a1], open_=5)
    _train(min_closed=100)
    score = DealScore.objects.filter(deal__in=history.open_deals).select_related("deal__stage").first()
    deal = score.deal
    target = deal.pipeline.stages.filter(kind="open").exclude(pk=deal.stage_id).order_by("order").first()
    client = _client(deal.owner, language="en")
    response = client.post(
        reverse("pipeline:deal_move", args=[deal.pk]),
        {"stage": target.pk, "version": deal.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "deal-card__win" in html
    assert f"Chance of winning: {round(float(score.probability) * 100)}" in html


def test_web_code_never_imports_scikit_learn():
    import subprocess

    code = (
        "import django, os, sys;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        "django.setup();"
        "import config.urls, pipeline.views, assistant.views, assistant.display, assistant.api.win, pipeline.api.views;"
        "from django.urls import resolve; resolve('/');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'numpy', 'scipy')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_dashboard_forecast_weights_scored_deals_by_the_model_and_the_rest_by_stage(world):
    from datetime import date, datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from analytics.periods import Filters, Period
    from analytics.selectors import Dashboard
    from assistant import services
    from assistant.models import WinModelStatus

    s = world.pipeline.s
    scored = f.DealFactory(
        owner=world.rep_a1, team=world.team_a, stage=s.lead, amount=Decimal("1000"), expected_close=date(2025, 12, 15)
    )
    f.DealFactory(  # unscored: counts at the stage's 50 %
        owner=world.rep_a1,
        team=world.team_a,
        stage=s.proposal,
        amount=Decimal("2000"),
        expected_close=date(2025, 12, 20),
    )
    period = Period("custom", date(2025, 12, 1), date(2025, 12, 31))
    later = datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo("UTC"))

    def december():
        rows = Dashboard(user=world.manager_a, filters=Filters(period=period), now=later).forecast
        return next(row for row in rows if row["month"] == date(2025, 12, 1) and row["currency"] == "SAR")

    assert december()["model_weighted"] is None  # no model in use: no model-weighted figure
    model = services.win_model_record(
        version=1, trained_at=later, status=WinModelStatus.IN_USE, params={}, metrics={}, by=None
    )
    services.deal_scores_write(
        rows=[{"deal_id": scored.pk, "probability": 0.8, "base_probability": 0.4, "factors": []}],
        model=model,
        scored_at=later,
        by=None,
    )
    board = Dashboard(user=world.manager_a, filters=Filters(period=period), now=later)
    with CaptureQueriesContext(connection) as queries:
        assert board.forecast
    # Both weightings come from one pass over the period's open deals.
    assert sum('FROM "pipeline_deal"' in query["sql"] for query in queries.captured_queries) == 1
    row = december()
    # Stage-weighted: 1000 × 10 % + 2000 × 50 %; the model's: 1000 × 80 % + 2000 × 50 %.
    assert row["weighted"] == Decimal("1100.00")
    assert row["model_weighted"] == Decimal("1800.00")
    # The dashboard's table shows it beside the stage-weighted figure.
    client = _client(world.manager_a, language="en")
    page = client.get(
        reverse("analytics:dashboard") + "?period=custom&start=2025-12-01&end=2025-12-31"
    ).content.decode()
    assert "Weighted by the win model" in page


def test_the_nightly_task_records_a_run_and_the_card_says_why_the_model_is_not_used(world, settings):
    from assistant.models import WinModel
    from assistant.tasks import win_model_train

    settings.ASSISTANT_MIN_CLOSED_DEALS = 200
    build_history(team=world.team_a, owners=[world.rep_a1], closed=60, open_=2)
    version = win_model_train()
    card = WinModel.objects.get(version=version)
    assert card.status == WinModelStatus.TOO_FEW_DEALS and card.closed_deals == 60
    assert not DealScore.objects.exists()
    body = _client(world.manager_a).get("/api/v1/win-model/").json()
    assert body["in_use"] is False and "يحتاج نموذج الفوز إلى 200 صفقة مغلقة على الأقل ولديه 60" in body["reason"]
    assert win_model_train() == version + 1  # a second run records a new version and changes nothing else


def test_a_batch_of_scores_replaces_the_previous_ones_exactly(world):
    """The worker's batch write (COPY and one upsert on PostgreSQL): values, rounding and factors as given."""
    from assistant import services

    now = timezone.now()
    first = services.win_model_record(
        version=1, trained_at=now, status=WinModelStatus.IN_USE, params={}, metrics={}, by=None
    )
    second = services.win_model_record(
        version=2, trained_at=now, status=WinModelStatus.IN_USE, params={}, metrics={}, by=None
    )
    deals = [world.a1.deal.pk, world.a2.deal.pk]
    services.deal_scores_write_many(
        deal_ids=deals, probabilities=[0.5, 0.5], base_probabilities=0.5, factors=[[], []], model=first, scored_at=now
    )
    factors = [
        [{"code": "stage", "points": -12.4, "params": {"name": 'عرض "نهائي" \\ {أ,ب}', "name_en": "Offer"}}],
        [{"code": "days_since_activity", "points": 3.0, "params": {"days": 21, "any": True}}],
    ]
    later = now + timedelta(hours=1)
    written = services.deal_scores_write_many(
        deal_ids=deals,
        probabilities=[0.123456, 1.5],
        base_probabilities=[0.40004, 0.4],
        factors=factors,
        model=second,
        scored_at=later,
    )
    assert written == 2
    scores = {score.deal_id: score for score in DealScore.objects.filter(deal__in=deals)}
    assert len(scores) == 2 == DealScore.objects.count()
    one, two = scores[deals[0]], scores[deals[1]]
    assert (str(one.probability), str(one.base_probability)) == ("0.1235", "0.4000")
    assert str(two.probability) == "1.0000"  # clamped to a probability
    assert [one.factors, two.factors] == factors
    assert {one.model_version, two.model_version} == {2}
    assert one.scored_at == later
