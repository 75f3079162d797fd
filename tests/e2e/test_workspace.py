"""A rep's day in a real browser, in Arabic and in English: customers, a call, a follow-up, a deal across the board.

Each step goes through the pages as a rep would; the database is checked after
the browser says it is done. Every main page is also checked with axe-core.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Activity, Company, Contact, FollowUp
from pipeline.models import Deal, StageChange, StageKind
from tests.e2e.conftest import assert_accessible, screenshot, wait_until
from tests.e2e.test_shell import sign_in

TEXT = {
    "ar": {
        "company": "مؤسسة الأفق للتقنية",
        "first": "مُنى",
        "last": "الحربي",
        "call": "ناقشنا عرض السعر",
        "follow": "أرسل العقد لمنى",
        "deal": "ترخيص سنوي — الأفق",
    },
    "en": {
        "company": "Horizon Trading",
        "first": "Mona",
        "last": "Harbi",
        "call": "Went through the quote",
        "follow": "Send Mona the contract",
        "deal": "Annual licence — Horizon",
    },
}


def submit(page):
    page.locator("main form button[type=submit].button--primary").last.click()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_rep_works_a_customer_from_first_call_to_won_deal(page, world, language):
    text = TEXT[language]
    rep = world.rep_a1
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")

    # A company, then a contact at it.
    page.goto("/companies/new/")
    page.fill("#id_name", text["company"])
    page.fill("#id_city", "الرياض")
    submit(page)
    page.wait_for_url(re.compile(r"/companies/\d+/$"))  # the new record's page ("**/companies/*/" matches /new/ too)
    company = Company.objects.get(name=text["company"])
    assert company.owner == rep and company.team == world.team_a
    screenshot(page, f"company-detail-{language}")
    assert_accessible(page, f"company detail ({language})")

    page.goto(f"/contacts/new/?company={company.pk}")
    page.fill("#id_first_name", text["first"])
    page.fill("#id_last_name", text["last"])
    page.fill("#id_phone_raw", "٠٥٠ ١٢٣ ٤٥٦٧")
    submit(page)
    page.wait_for_url(re.compile(r"/contacts/\d+/$"))  # the new record's page ("**/contacts/*/" matches /new/ too)
    contact = Contact.objects.get(first_name=text["first"])
    assert (contact.company, contact.phone) == (company, "+966501234567")

    # Log the call without leaving the page.
    page.evaluate("window.__marker = 'stayed'")
    page.select_option("#id_activity-kind", "call")
    page.select_option("#id_activity-outcome", "connected")
    page.fill("#id_activity-body", text["call"])
    page.locator("#activity-panel form").first.locator("button[type=submit]").click()
    page.wait_for_selector(f".timeline >> text={text['call']}")
    assert page.evaluate("window.__marker") == "stayed"
    assert Activity.objects.filter(contact=contact, kind="call", body=text["call"]).exists()
    contact.refresh_from_db()
    assert contact.last_contacted_at is not None

    # Schedule a follow-up for later today and find it on My day.
    due = timezone.localtime(timezone.now(), timezone=__import__("zoneinfo").ZoneInfo(rep.time_zone))
    due = due + timedelta(minutes=30) if due.hour < 23 else due - timedelta(minutes=30)
    page.locator("#activity-panel summary").nth(1).click()
    page.fill("#id_follow_up-subject", text["follow"])
    page.fill("#id_follow_up-due_at", due.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#activity-panel form").nth(1).locator("button[type=submit]").click()
    page.wait_for_selector(f".timeline >> text={text['follow']}")
    screenshot(page, f"contact-detail-{language}")
    assert_accessible(page, f"contact detail with timeline ({language})")
    assert FollowUp.objects.filter(subject=text["follow"], assignee=rep, contact=contact).exists()
    page.goto("/")
    assert page.locator("#follow-up-list", has_text=text["follow"]).is_visible()

    # A deal, dragged across two stages of the board, then won.
    page.goto("/deals/new/")
    page.fill("#id_title", text["deal"])
    # The company field is a combobox (static/js/combobox.js): type, then pick the option.
    page.fill("#id_company", company.name)
    page.locator("#id_company-listbox [role=option]", has_text=company.name).first.click()
    assert page.locator("#id_company-select").input_value() == str(company.pk)
    page.fill("#id_amount", "125000")
    page.select_option("#id_currency", "SAR")
    submit(page)
    page.wait_for_url(re.compile(r"/deals/\d+/$"))  # the new record's page ("**/deals/*/" matches /new/ too)
    deal = Deal.objects.get(title=text["deal"])
    assert deal.stage == world.pipeline.s.lead

    page.goto(f"/board/{world.pipeline.pk}/")
    assert_accessible(page, f"board ({language})")
    for target in (world.pipeline.s.proposal, world.pipeline.s.won):
        card = page.locator(f"#deal-{deal.pk}")
        with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as answer:
            card.drag_to(page.locator(f"#stage-{target.pk}-cards"))
        assert answer.value.status == 200
        page.wait_for_selector(f"#stage-{target.pk}-cards #deal-{deal.pk}")
        deal.refresh_from_db()
        assert deal.stage == target
    screenshot(page, f"board-{language}")
    moves = list(StageChange.objects.filter(deal=deal).order_by("at", "pk").values_list("to_stage", flat=True))
    assert moves == [world.pipeline.s.lead.pk, world.pipeline.s.proposal.pk, world.pipeline.s.won.pk]
    assert deal.stage.kind == StageKind.WON and deal.closed_at is not None


@pytest.mark.parametrize("language", ["ar", "en"])
def test_mark_won_from_the_deal_page_and_stale_board_move_is_refused(page, world, language):
    rep = world.rep_a1
    rep.language = language
    rep.save()
    deal = world.a1.deal
    sign_in(page, rep.username)

    page.goto(f"/board/{world.pipeline.pk}/")
    # Someone else moves the deal meanwhile: the drag is refused and the card goes back.
    from pipeline import services

    services.deal_move_to_stage(deal=deal, stage=world.pipeline.s.proposal, by=world.manager_a)
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as answer:
        page.locator(f"#deal-{deal.pk}").drag_to(page.locator(f"#stage-{world.pipeline.s.won.pk}-cards"))
    assert answer.value.status == 409
    page.wait_for_selector(f"#stage-{world.pipeline.s.lead.pk}-cards #deal-{deal.pk}")
    wait_until(page, "document.querySelector('#board-status').innerText.trim() !== ''")
    deal.refresh_from_db()
    assert deal.stage == world.pipeline.s.proposal

    page.goto(f"/deals/{deal.pk}/")
    assert_accessible(page, f"deal detail ({language})")
    with page.expect_navigation():  # back to the same URL: waiting for it would return at once
        page.locator("form[action$='/won/'] button[type=submit]").click()
    deal.refresh_from_db()
    assert deal.stage.kind == StageKind.WON


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("path", ["/companies/", "/contacts/", "/deals/", "/contacts/new/", "/deals/new/"])
def test_lists_and_forms_are_accessible(page, world, language, path):
    rep = world.rep_a1
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    page.goto(path)
    if path.endswith("/new/"):
        submit(page)  # empty required fields: the page with its errors is what must be accessible
        page.wait_for_selector(".field__errors")
        assert page.locator(".field__errors").count() >= 1
    assert_accessible(page, f"{path} ({language})")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_bad_deal_value_gets_a_translated_error_and_saves_nothing(page, world, language):
    rep = world.rep_a1
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    before = Deal.objects.count()
    for value in ("abc", "-5"):
        page.goto("/deals/new/")
        page.fill("#id_title", "Bad value")
        page.fill("#id_amount", value)
        submit(page)
        page.wait_for_selector(".field--invalid .field__errors")
        error = page.locator(".field--invalid .field__errors").first.inner_text()
        assert error
        if language == "ar":
            assert any("\u0600" <= ch <= "\u06ff" for ch in error)
    assert Deal.objects.count() == before


@pytest.fixture
def my_day_page(browser, live_server, request):
    from tests.e2e.conftest import open_sized_page

    yield from open_sized_page(browser, live_server, request.param)


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("my_day_page", [{"width": 390, "height": 844}, {"width": 1366, "height": 800}], indirect=True)
def test_my_day_shows_the_first_ten_and_see_all_opens_the_full_filtered_lists(my_day_page, world, language):
    from django.utils import translation

    from core import formatting
    from tests import factories as f
    from workspace.my_day import CLOSING_DEALS_SHOWN, FOLLOW_UPS_SHOWN

    page = my_day_page
    rep = world.rep_a1
    FollowUp.objects.filter(assignee=rep).update(due_at=timezone.now() + timedelta(days=3))
    Deal.objects.filter(owner=rep).update(expected_close=None)
    rep.language = language
    rep.save()
    now = timezone.now()
    month_end = (timezone.localdate().replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    for n in range(FOLLOW_UPS_SHOWN + 4):
        f.FollowUpFactory(
            assignee=rep,
            team=world.team_a,
            contact=world.a1.contact,
            subject=f"متابعة {n}",
            due_at=now - timedelta(hours=n + 1),
        )
    for n in range(CLOSING_DEALS_SHOWN + 7):
        f.DealFactory(
            owner=rep,
            team=world.team_a,
            stage=world.pipeline.s.proposal,
            title=f"صفقة {n}",
            expected_close=month_end - timedelta(days=n % 5),
        )
    sign_in(page, rep.username)
    assert page.locator("#follow-up-list li.follow-up-item").count() == FOLLOW_UPS_SHOWN
    closing = page.locator("section[aria-labelledby=closing-title]")
    assert closing.locator("li").count() == CLOSING_DEALS_SHOWN
    name = f"my-day-{page.viewport_size['width']}-{language}"
    screenshot(page, name)
    assert_accessible(page, f"My day ({language}, {page.viewport_size['width']} px)")

    with translation.override(language):
        follow_ups_total, deals_total = (
            formatting.count(FOLLOW_UPS_SHOWN + 4),
            formatting.count(CLOSING_DEALS_SHOWN + 7),
        )
    page.locator("#follow-up-list a", has_text=follow_ups_total).click()
    page.wait_for_url(re.compile(r"due=today_or_overdue"))
    assert page.locator("#follow-up-table tbody tr").count() == FOLLOW_UPS_SHOWN + 4

    page.goto("/")
    closing.locator("a", has_text=deals_total).click()
    page.wait_for_url(re.compile(r"expected_close_after="))
    assert page.locator("table.deal-table tbody tr").count() == CLOSING_DEALS_SHOWN + 7
