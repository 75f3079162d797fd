"""The board in a real browser at 1366×800 and 390×844, in Arabic and English.

Wide: every column of a pipeline with the demo's stages is inside the viewport (won and
lost as narrow summaries, never clipped). Phone: one column per screen with scroll
snapping, and the stage switcher scrolls to a stage. The move menu works with the keyboard.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from core import formatting
from crm.models import FollowUpStatus
from pipeline.models import Deal, StageKind
from tests import factories as f
from tests.e2e.conftest import _assert_no_csp_violations, _watch_csp, assert_accessible, screenshot, wait_until
from tests.e2e.test_shell import sign_in

# The demo's first pipeline (workspace/management/commands/seed_demo.py).
DEMO_STAGES = [
    ("عميل محتمل", "Lead", 10, StageKind.OPEN),
    ("تأهيل", "Qualified", 25, StageKind.OPEN),
    ("عرض سعر", "Proposal", 50, StageKind.OPEN),
    ("تفاوض", "Negotiation", 75, StageKind.OPEN),
    ("رابحة", "Won", 100, StageKind.WON),
    ("خاسرة", "Lost", 0, StageKind.LOST),
]


@pytest.fixture
def demo(world):
    pipeline = f.PipelineFactory(name="مبيعات جديدة", name_en="New business", order=0, stale_after_days=14)
    stages = [
        f.StageFactory(pipeline=pipeline, name=ar, name_en=en, order=n, probability=p, kind=kind)
        for n, (ar, en, p, kind) in enumerate(DEMO_STAGES)
    ]
    rep, now = world.rep_a1, timezone.now()
    company = f.CompanyFactory(name="شركة الأفق للتجارة والمقاولات العامة", owner=rep, team=world.team_a)
    for n in range(14):
        stage = stages[n % 6]
        deal = f.DealFactory(
            title=f"توريد أجهزة مكتبية للفرع رقم {n}" if n % 2 else f"Annual licence renewal {n}",
            owner=rep,
            team=world.team_a,
            stage=stage,
            company=company if n % 3 else None,
            amount=Decimal(125000 + n * 1000),
            currency=("SAR", "USD")[n % 2],
            stage_entered_at=now - timedelta(days=n * 3),
            expected_close=(now + timedelta(days=20 + n)).date(),
            closed_at=None if stage.kind == StageKind.OPEN else now,
            loss_reason=f.LossReasonFactory() if stage.kind == StageKind.LOST else None,
        )
        if n % 2 == 0 and stage.kind == StageKind.OPEN:
            f.FollowUpFactory(
                deal=deal, team=world.team_a, assignee=rep, status=FollowUpStatus.OPEN, due_at=now + timedelta(days=n)
            )
    return pipeline, stages


@pytest.fixture
def sized(browser, live_server):
    """A page of the given viewport size, CSP violations checked at the end like the shared fixtures."""
    contexts = []

    def make(width, height, **options):
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height}, **options)
        page = context.new_page()
        page.set_default_timeout(10_000)
        contexts.append((context, _watch_csp(page)))
        return page

    yield make
    for context, violations in contexts:
        context.close()
        _assert_no_csp_violations(violations)


def as_member(world, language):
    rep = world.rep_a1
    rep.language = language
    rep.save()
    return rep


@pytest.mark.parametrize("language", ["ar", "en"])
def test_every_column_fits_at_1366_without_clipping(sized, world, demo, language):
    pipeline, stages = demo
    page = sized(1366, 800)
    sign_in(page, as_member(world, language).username)
    page.goto(f"/board/{pipeline.pk}/")
    boxes = [page.locator(f"#stage-{stage.pk}").bounding_box() for stage in stages]
    for stage, box in zip(stages, boxes, strict=True):
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1366, f"{stage} is clipped: {box}"
    board = page.locator(".board")
    assert board.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    # Won and lost are narrow summaries: no cards, a link to the list.
    won, lost = stages[4], stages[5]
    assert page.locator(f"#stage-{won.pk} .deal-card").count() == 0
    assert page.locator(f"#stage-{lost.pk} a[href$='?stage={lost.pk}']").count() == 1
    # The switcher is for phones only.
    assert not page.locator(".board-switcher").is_visible()
    assert page.locator(".deal-card--stale").count() > 0
    screenshot(page, f"board-1366-{language}")
    assert_accessible(page, f"board 1366 ({language})")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_phone_shows_one_column_per_screen_and_the_switcher_scrolls_to_a_stage(sized, world, demo, language):
    pipeline, stages = demo
    page = sized(390, 844, is_mobile=True, has_touch=True)
    sign_in(page, as_member(world, language).username)
    page.goto(f"/board/{pipeline.pk}/")
    board = page.locator(".board")
    assert board.evaluate("el => getComputedStyle(el).scrollSnapType").startswith(("inline", "x"))
    width = board.evaluate("el => el.clientWidth")
    first = page.locator(f"#stage-{stages[0].pk}").bounding_box()
    assert abs(first["width"] - width) <= 2
    assert page.locator(".board-switcher").is_visible()
    screenshot(page, f"board-390-{language}")
    assert_accessible(page, f"board 390 ({language})")

    target = stages[3]
    page.locator(f".board-switcher [data-stage-link='{target.pk}']").click()
    # The chosen column is the one on the screen, and its link is marked current.
    wait_until(
        page,
        f"(() => {{ const r = document.getElementById('stage-{target.pk}').getBoundingClientRect();"
        f" return r.left >= -2 && r.right <= window.innerWidth + 2; }})()",
    )
    assert page.get_attribute(f".board-switcher [data-stage-link='{target.pk}']", "aria-current") == "true"
    assert page.evaluate("document.activeElement.id") == f"stage-{target.pk}-title"
    screenshot(page, f"board-390-{language}-switched")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_move_menu_works_with_the_keyboard(sized, world, demo, language):
    pipeline, stages = demo
    page = sized(1366, 800)
    sign_in(page, as_member(world, language).username)
    page.goto(f"/board/{pipeline.pk}/")
    deal = Deal.objects.filter(stage=stages[0]).first()
    menu = page.locator(f"#deal-{deal.pk} .move-menu__button")
    menu.focus()
    page.keyboard.press("Enter")
    assert page.locator(f"#deal-{deal.pk} details.move-menu").get_attribute("open") is not None
    # Escape closes it again, focus stays on its button.
    page.keyboard.press("Escape")
    assert page.locator(f"#deal-{deal.pk} details.move-menu").get_attribute("open") is None
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the first other stage: Qualified
    assert page.evaluate("document.activeElement.value") == str(stages[1].pk)
    page.keyboard.press("Tab")  # Proposal
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    page.wait_for_selector(f"#stage-{stages[2].pk}-cards #deal-{deal.pk}")
    deal.refresh_from_db()
    assert deal.stage == stages[2]
    wait_until(page, "document.activeElement.classList.contains('move-menu__button')")
    assert page.evaluate("document.activeElement.closest('.deal-card').id") == f"deal-{deal.pk}"
    wait_until(page, "document.querySelector('#board-status').innerText.trim() !== ''")
    screenshot(page, f"board-moved-{language}")
    assert_accessible(page, f"board after a keyboard move ({language})")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_drag_and_drop_moves_a_card_to_an_open_column_and_onto_won(sized, world, demo, language):
    pipeline, stages = demo
    page = sized(1366, 800)
    sign_in(page, as_member(world, language).username)
    page.goto(f"/board/{pipeline.pk}/")
    # The column's top card: source and target both in view, as a hand would drag it.
    first_card = page.locator(f"#stage-{stages[0].pk}-cards .deal-card").first.get_attribute("id")
    deal = Deal.objects.get(pk=first_card.removeprefix("deal-"))
    for target in (stages[2], stages[4]):
        source = page.locator(f"#deal-{deal.pk} .deal-card__amount").bounding_box()
        goal = page.locator(f"#stage-{target.pk}-cards").bounding_box()
        with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as answer:
            # Step by step, as a hand moves: SortableJS follows the pointer over the columns.
            page.mouse.move(source["x"] + 10, source["y"] + source["height"] / 2)
            page.mouse.down()
            page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + 12, steps=12)
            # A few more moves on the spot: SortableJS settles on the list under the pointer.
            for nudge in (2, 4, 6):
                page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + 12 + nudge)
                page.wait_for_timeout(50)
            page.mouse.up()
        assert answer.value.status == 200
        page.wait_for_selector(f"#stage-{target.pk}-cards #deal-{deal.pk}")
        deal.refresh_from_db()
        assert deal.stage == target
    # The won summary's header (out of band) counts the deal just won.
    won_count = Deal.objects.filter(stage=stages[4]).count()
    with translation.override(language):
        wait_until(
            page,
            f"document.querySelector('#stage-{stages[4].pk}-head').innerText.includes('{formatting.count(won_count)}')",
        )
    assert deal.closed_at is not None
    screenshot(page, f"board-dropped-{language}")
