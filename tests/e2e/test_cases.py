"""Support cases in the browser (issue 17 item 4): open one from the contact, log work, solve it; list, page and
My day at 390 px and 1366 px, in Arabic and English, axe-clean and without CSP violations."""

import pytest
from django.urls import reverse

from cases import services
from cases.models import Case, CaseStatus
from tests.e2e.conftest import LAPTOP, PHONE, assert_accessible, open_sized_page, screenshot
from tests.e2e.test_shell import sign_in


@pytest.fixture
def sized_page(browser, live_server, request):
    yield from open_sized_page(browser, live_server, request.param)


def _shape(page) -> dict:
    return page.evaluate(
        """() => {
          const t = document.querySelector('table.card-table');
          const row = t.querySelector('tbody tr');
          return {
            table: getComputedStyle(t).display,
            row: getComputedStyle(row).display,
            scroll: document.documentElement.scrollWidth,
            width: window.innerWidth,
          };
        }"""
    )


@pytest.mark.parametrize("sized_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_open_work_and_solve_a_case(sized_page, world, language):
    page = sized_page
    rep = world.rep_a1
    rep.language = language
    rep.save(update_fields=["language"])
    size = "phone" if page.viewport_size["width"] < 700 else "laptop"
    services.case_create(by=rep, contact=world.a1.contact, subject="Printer “X-200” stops", priority="urgent")
    sign_in(page, rep.username)
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")

    # My day lists the open case.
    cases_card = page.locator("section[aria-labelledby=my-cases-title]")
    assert "X-200" in cases_card.inner_text()
    screenshot(page, f"cases-my-day-{size}-{language}")

    # Open a case from the contact's page.
    page.goto(world.a1.contact.get_absolute_url())
    page.locator(".crm-record-header__actions a[href*='/cases/new/']").click()
    page.wait_for_url("**/cases/new/**")
    screenshot(page, f"cases-form-{size}-{language}")
    assert_accessible(page, f"case form ({size}, {language})")
    page.fill("#id_subject", "الجهاز يتوقف بعد التشغيل" if language == "ar" else "The device stops after start")
    page.select_option("#id_priority", "high")
    page.locator("form.deal-form button[type=submit]").click()
    page.wait_for_url("**/cases/*/")
    case = Case.objects.exclude(subject__contains="X-200").get()
    assert case.priority == "high" and case.contact == world.a1.contact

    # Log the first response, then solve it.
    page.fill("#id_activity-body", "شرحت الحل للعميل" if language == "ar" else "Explained the fix")
    page.locator("form[action$='/activities/'] button[type=submit]").click()
    page.wait_for_url(f"**{case.get_absolute_url()}")
    case.refresh_from_db()
    assert case.first_response_at is not None and case.status == CaseStatus.IN_PROGRESS
    screenshot(page, f"cases-detail-{size}-{language}")
    assert_accessible(page, f"case page ({size}, {language})")
    page.select_option("#id_status", "solved")
    page.locator("form[action$='/status/'] button[type=submit]").click()
    page.wait_for_url(f"**{case.get_absolute_url()}")
    case.refresh_from_db()
    assert case.status == CaseStatus.SOLVED
    assert ("تم الحل" if language == "ar" else "Solved") in page.locator(".deal-head__status").inner_text()

    # The list: cards on a phone, a table on a laptop, nothing wider than the screen.
    page.goto(reverse("cases:case_list"))
    page.locator("table.card-table").wait_for()
    shape = _shape(page)
    assert shape["scroll"] <= shape["width"], shape
    if size == "phone":
        assert (shape["table"], shape["row"]) == ("block", "block"), shape
    else:
        assert (shape["table"], shape["row"]) == ("table", "table-row"), shape
    screenshot(page, f"cases-list-{size}-{language}")
    assert_accessible(page, f"case list ({size}, {language})")
