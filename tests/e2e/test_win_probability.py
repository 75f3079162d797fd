"""The win probability in a real browser (phone and laptop, Arabic and English): the deal page's chance of
winning with its reasons, the board card and list column, and the manager's model card; axe-clean."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from assistant import services
from assistant.models import WinModelStatus
from tests.e2e.conftest import LAPTOP, PHONE, assert_accessible, open_sized_page, screenshot
from tests.e2e.test_shell import sign_in


@pytest.fixture
def sized_page(browser, live_server, request):
    yield from open_sized_page(browser, live_server, request.param)


def _calibration(pairs):
    edges = [round(0.1 * n, 2) for n in range(11)]
    return [
        {"low": low, "high": high, "count": count, "predicted": predicted, "observed": observed}
        for (low, high), (count, predicted, observed) in zip(pairwise(edges), pairs, strict=True)
    ]


def _scored(world):
    now = timezone.now()
    model_bins = [(12, 0.06, 0.08), (30, 0.15, 0.13), (41, 0.25, 0.27), (38, 0.35, 0.33), (35, 0.45, 0.49)]
    model_bins += [(29, 0.55, 0.52), (22, 0.65, 0.68), (15, 0.74, 0.73), (9, 0.85, 0.89), (4, 0.93, 1.0)]
    stage_bins = [(0, None, None), (120, 0.1, 0.33), (0, None, None), (0, None, None), (0, None, None)]
    stage_bins += [(115, 0.5, 0.52), (0, None, None), (0, None, None), (0, None, None), (0, None, None)]
    model = services.win_model_record(
        version=3,
        trained_at=now - timedelta(hours=5),
        status=WinModelStatus.IN_USE,
        closed_deals=612,
        min_closed_deals=200,
        train_deals=490,
        holdout_deals=122,
        train_snapshots=980,
        holdout_snapshots=235,
        cutoff=now - timedelta(days=60),
        training_seconds=1.8,
        params={},
        metrics={
            "model": {"auc": 0.741, "brier": 0.2114, "calibration": _calibration(model_bins)},
            "baseline": {"auc": 0.5, "brier": 0.3067, "calibration": _calibration(stage_bins)},
            "brier_difference": -0.0953,
            "brier_difference_error": 0.0253,
            "beats_baseline": True,
        },
        by=None,
    )
    factors = [
        {"code": "days_since_activity", "points": -12.4, "params": {"days": 21, "any": True}},
        {"code": "stage", "points": 8.2, "params": {"name": "عميل محتمل", "name_en": "Lead"}},
        {"code": "source", "points": 6.0, "params": {"source": "referral"}},
    ]
    services.deal_scores_write(
        rows=[{"deal_id": world.a1.deal.pk, "probability": 0.47, "base_probability": 0.45, "factors": factors}],
        model=model,
        scored_at=now - timedelta(hours=4),
        by=None,
    )


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("sized_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
def test_a_rep_reads_a_deals_chance_of_winning_and_its_reasons(sized_page, world, language):
    page = sized_page
    rep = world.rep_a1
    rep.language = language
    rep.save()
    _scored(world)
    sign_in(page, rep.username)
    size = "phone" if page.viewport_size["width"] < 700 else "laptop"
    page.goto(world.a1.deal.get_absolute_url())
    section = page.locator("section.win")
    # Data and signed numbers are direction-isolated (U+2066–U+2069): compare without the marks.
    # A factor's points sit on their own line on a phone and beside it on a laptop: compare the
    # words with any run of white space as one space.
    text = "".join(ch for ch in section.inner_text() if ch not in "\u2066\u2067\u2068\u2069")
    text = " ".join(text.split())
    if language == "en":
        assert "Chance of winning" in text and "47%" in text
        assert "no activity for 21 days −12 points" in text
        assert "stage: Lead +8 points" in text and "source: Referral +6 points" in text
    else:
        assert "فرصة الفوز" in text and "لا نشاط منذ 21 يومًا −12 نقطة" in text
        assert "المرحلة: عميل محتمل" in text
    screenshot(page, f"win-deal-{size}-{language}")
    assert_accessible(page, f"deal page with its chance of winning ({size}, {language})")

    page.goto("/deals/?o=-win_probability")
    assert page.locator("table.deal-table").count() == 1
    assert_accessible(page, f"deal list sorted by chance of winning ({size}, {language})")
    page.goto(f"/board/{world.pipeline.pk}/")
    assert page.locator(".deal-card__win").count() == 1
    screenshot(page, f"win-board-{size}-{language}")
    assert_accessible(page, f"board with a scored card ({size}, {language})")


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("sized_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
def test_a_manager_reads_the_win_models_card(sized_page, world, language):
    page = sized_page
    manager = world.manager_a
    manager.language = language
    manager.save()
    _scored(world)
    sign_in(page, manager.username)
    size = "phone" if page.viewport_size["width"] < 700 else "laptop"
    page.goto("/assistant/win-model/")
    assert page.locator("table").count() == 2
    assert page.locator("table").nth(1).locator("tbody tr").count() == 10
    assert "0.741" in page.locator("table").first.inner_text()
    screenshot(page, f"win-model-card-{size}-{language}")
    assert_accessible(page, f"win model card ({size}, {language})")
