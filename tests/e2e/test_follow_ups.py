"""Follow-up pages in a real browser, both languages: list, filters, schedule with errors, no axe violations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.conftest import assert_accessible, screenshot, wait_until
from tests.e2e.test_shell import sign_in
from tests.factories import FollowUpFactory


@pytest.fixture
def rep_with_follow_ups(world):
    now = timezone.now()
    FollowUpFactory(
        assignee=world.rep_a1,
        team=world.team_a,
        subject="اتصل بشركة الأفق",
        due_at=now - timedelta(days=1),
        contact=world.a1.contact,
    )
    FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="Send the proposal", due_at=now + timedelta(days=2)
    )
    return world.rep_a1


@pytest.mark.parametrize("language", ["ar", "en"])
def test_follow_up_list_and_form_are_accessible(page, rep_with_follow_ups, language):
    rep = rep_with_follow_ups
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    page.goto("/follow-ups/")
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    assert page.locator("#follow-up-table tbody tr").count() == 3
    screenshot(page, f"follow-ups-{language}")
    assert_accessible(page, f"follow-up list ({language})")

    page.select_option("#id_due", "overdue")
    wait_until(page, "document.querySelectorAll('#follow-up-table tbody tr').length === 1")
    assert "due=overdue" in page.url

    page.goto("/follow-ups/new/")
    page.fill("#id_follow_up-subject", "")
    page.click("form button[type=submit].button--primary")
    page.wait_for_selector(".field__errors")  # the refused form's answer
    assert page.locator(".field__errors").count() >= 1
    screenshot(page, f"follow-up-form-errors-{language}")
    assert_accessible(page, f"follow-up form with errors ({language})")


def test_snooze_from_my_day_moves_the_follow_up_out_of_today(page, rep_with_follow_ups):
    sign_in(page, rep_with_follow_ups.username)
    item = page.locator("#follow-up-list li", has_text="اتصل بشركة الأفق")
    item.get_by_role("button", name="غداً").click()
    page.wait_for_selector("#follow-up-list >> text=اتصل بشركة الأفق", state="detached")
