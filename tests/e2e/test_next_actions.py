"""My day's next best actions in a real browser (phone and laptop, Arabic and English): reasons, actions,
dismiss without a reload, axe-clean; and the dashboard's sales forecast panel for a manager."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from assistant.forecast import add_months, refresh_all
from assistant.models import DealScore, WinModel, WinModelStatus
from assistant.planning_models import DealScoreSnapshot, SuggestionDismissal
from pipeline.models import Deal
from tests import factories as f
from tests.e2e.conftest import LAPTOP, PHONE, assert_accessible, open_sized_page, screenshot, wait_until
from tests.e2e.test_shell import sign_in


@pytest.fixture
def sized_page(browser, live_server, request):
    yield from open_sized_page(browser, live_server, request.param)


def _suggestions(world):
    rep, team, stage = world.rep_a1, world.team_a, world.pipeline.s.proposal
    company = f.CompanyFactory(owner=rep, team=team, name="مؤسسة النخيل للتجارة")
    contact = f.ContactFactory(owner=rep, team=team, company=company, first_name="Huda", last_name="Saleh")
    f.FollowUpFactory(assignee=rep, team=team, deal=world.a1.deal, contact=world.a1.contact)
    overdue = f.DealFactory(
        owner=rep, team=team, stage=stage, company=company, contact=contact, title="عقد التوريد 2027"
    )
    f.FollowUpFactory(
        assignee=rep,
        team=team,
        deal=overdue,
        contact=contact,
        subject="Send the revised quote",
        due_at=timezone.now() - timedelta(days=2),
    )
    dropped = f.DealFactory(owner=rep, team=team, stage=stage, company=company, contact=contact, title="Fleet renewal")
    f.FollowUpFactory(assignee=rep, team=team, deal=dropped, contact=contact)
    WinModel.objects.create(version=1, trained_at=timezone.now(), status=WinModelStatus.IN_USE)
    DealScore.objects.create(
        deal=dropped,
        probability=Decimal("0.31"),
        base_probability=Decimal("0.4"),
        model_version=1,
        scored_at=timezone.now(),
    )
    DealScoreSnapshot.objects.create(
        deal=dropped, day=timezone.now().date() - timedelta(days=6), probability=Decimal("0.64"), model_version=1
    )
    quiet = f.DealFactory(owner=rep, team=team, stage=stage, title="تجديد الترخيص السنوي")
    Deal.objects.filter(pk=quiet.pk).update(created_at=timezone.now() - timedelta(days=35))
    f.FollowUpFactory(assignee=rep, team=team, deal=quiet)
    f.DealFactory(owner=rep, team=team, stage=stage, company=company, contact=contact, title="مشروع التدريب")
    f.ActivityFactory(actor=rep, team=team, contact=contact, company=company)


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("sized_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
def test_my_day_lists_next_best_actions_and_dismisses_one_without_a_reload(sized_page, world, language):
    page = sized_page
    rep = world.rep_a1
    rep.language = language
    rep.save()
    _suggestions(world)
    sign_in(page, rep.username)
    size = "phone" if page.viewport_size["width"] < 700 else "laptop"
    section = page.locator("section.next-actions")
    heading = {"ar": "الخطوات التالية المقترحة", "en": "Next best actions"}[language]
    assert section.locator("h2").inner_text() == heading
    items = section.locator("li.next-action")
    assert items.count() == 4
    kinds = [items.nth(n).get_attribute("class").split("next-action--")[1] for n in range(4)]
    assert kinds == ["overdue_follow_up", "probability_drop", "going_cold", "no_next_step"]
    reasons = section.inner_text()
    assert "Send the revised quote" in reasons and "Fleet renewal" in reasons
    if language == "en":
        assert "fell from 64% to 31% this week" in reasons
    else:
        assert "انخفض احتمال الفوز بالصفقة" in reasons
    # The one-tap actions are there: open the deal, schedule, the customer's channels.
    drop = items.nth(1)
    assert drop.locator("a.button", has_text={"ar": "افتح الصفقة", "en": "Open the deal"}[language]).count() == 1
    assert drop.locator("a.customer-action--phone").count() == 1
    screenshot(page, f"next-actions-{size}-{language}")
    assert_accessible(page, f"My day with next best actions ({size}, {language})")

    page.evaluate("window.__marker = 'stayed'")
    items.nth(2).locator("button", has_text={"ar": "أخفِ", "en": "Dismiss"}[language]).click()
    wait_until(page, "document.querySelector('#next-action-3 [role=status]') !== null")
    assert page.evaluate("window.__marker") == "stayed"
    assert SuggestionDismissal.objects.filter(user=rep, key__startswith="cold:").count() == 1
    assert_accessible(page, f"My day after a dismissal ({size}, {language})")

    page.reload()
    assert page.locator("section.next-actions li.next-action").count() == 3
    assert "تجديد الترخيص السنوي" not in page.locator("section.next-actions").inner_text()


def _won_history(world, team, months):
    zone = ZoneInfo(team.time_zone)
    this_month = timezone.now().astimezone(zone).date().replace(day=1)
    deals = []
    for index in range(months):
        month = add_months(this_month, index - months)
        deals.append(
            Deal(
                title="صفقة رابحة",
                owner=world.rep_a1,
                team=team,
                pipeline=world.pipeline,
                stage=world.pipeline.s.won,
                amount=Decimal(40000 + 1500 * index + (3000 if index % 3 else 0)),
                currency="SAR",
                closed_at=datetime(month.year, month.month, 10, 12, tzinfo=zone),
            )
        )
    Deal.objects.bulk_create(deals)


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("sized_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
def test_the_manager_reads_the_sales_forecast_with_its_error_on_the_dashboard(sized_page, world, language):
    page = sized_page
    manager = world.manager_a
    manager.language = language
    manager.save()
    _won_history(world, world.team_a, 20)
    refresh_all()
    sign_in(page, manager.username)
    page.goto("/dashboard/")
    panel = page.locator("section.sales-forecast")
    assert panel.locator("h2").inner_text() == {"ar": "توقعات المبيعات", "en": "Sales forecast"}[language]
    assert panel.locator("table").first.locator("tbody tr").count() == 3
    assert "MAPE" in panel.inner_text()
    panel.locator("summary").click()
    assert panel.locator("table").nth(1).locator("tbody tr").count() == 6
    size = "phone" if page.viewport_size["width"] < 700 else "laptop"
    panel.scroll_into_view_if_needed()
    screenshot(page, f"sales-forecast-{size}-{language}")
    assert_accessible(page, f"dashboard with the sales forecast ({size}, {language})")
