"""Lists that fit a phone, actions where the customer is, and finishing a follow-up in one step (issue 13 items 3-5)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity, FollowUp, FollowUpStatus
from tests.e2e.conftest import LAPTOP, PHONE, assert_accessible, open_sized_page, screenshot, wait_until
from tests.e2e.test_shell import sign_in
from tests.factories import FollowUpFactory


@pytest.fixture
def sized_page(browser, live_server, request):
    yield from open_sized_page(browser, live_server, request.param)


# Counted taps: every click the rep makes after signing in.
class Taps:
    def __init__(self, page):
        self.page, self.count = page, 0

    def tap(self, locator):
        self.count += 1
        locator.click()


def _due_follow_up(world):
    FollowUp.objects.filter(assignee=world.rep_a1).update(due_at=timezone.now() + timedelta(days=30))
    return FollowUpFactory(
        assignee=world.rep_a1,
        team=world.team_a,
        contact=world.a1.contact,
        company=world.a1.company,
        deal=world.a1.deal,
        subject="اتصل لتأكيد العرض",
        due_at=timezone.now() - timedelta(hours=2),
    )


@pytest.mark.parametrize("sized_page", [PHONE], ids=["phone"], indirect=True)
def test_rep_calls_logs_and_schedules_from_my_day_in_arabic_in_few_taps(sized_page, world):
    page = sized_page
    due = _due_follow_up(world)
    contact = world.a1.contact
    sign_in(page, world.rep_a1.username)
    assert page.get_attribute("html", "lang") == "ar"
    taps = Taps(page)
    first = page.locator("#follow-up-list li").first
    assert "اتصل لتأكيد العرض" in first.inner_text()
    screenshot(page, "j3-journey-1-my-day-phone-ar")
    taps.tap(first.locator("a.follow-up-item__customer"))
    page.wait_for_url(f"**{contact.get_absolute_url()}?follow_up={due.pk}")
    call = page.locator(".crm-record-header a[data-log-channel=phone]")
    assert call.get_attribute("href") == f"tel:{contact.phone}"
    # The phone app is not there in a test browser: the dial itself is stopped, after the page's own handler ran.
    page.evaluate(
        "window.addEventListener('click', (e) => { if (e.target.closest('a[href^=\"tel:\"]')) e.preventDefault(); })"
    )
    taps.tap(call)
    prompt = page.locator(".crm-record-header form.log-prompt")
    prompt.wait_for(state="visible")
    assert "تسجيل هذه المكالمة؟" in prompt.inner_text()
    screenshot(page, "j3-journey-2-prompt-phone-ar")
    assert_accessible(page, "log prompt (ar, phone)")
    assert prompt.locator("input[name=outcome][value=connected]").is_checked()  # the usual outcome, preselected
    taps.tap(prompt.get_by_role("button", name="غداً"))
    page.locator(".log-prompt--done").wait_for()
    screenshot(page, "j3-journey-3-logged-phone-ar")
    assert taps.count <= 6, taps.count
    activity = Activity.objects.get(contact=contact, actor=world.rep_a1, outcome="connected")
    assert (activity.kind, activity.deal) == ("call", world.a1.deal)
    due.refresh_from_db()
    assert due.status == FollowUpStatus.DONE
    following = FollowUp.objects.get(contact=contact, deal=world.a1.deal, status="open", created_by=world.rep_a1)
    assert following.due_at > timezone.now()


@pytest.mark.parametrize("sized_page", [PHONE], ids=["phone"], indirect=True)
def test_done_panel_on_my_day_saves_outcome_and_next_step(sized_page, world):
    page = sized_page
    due = _due_follow_up(world)
    sign_in(page, world.rep_a1.username)
    page.evaluate("window.__marker = 'same page'")
    item = page.locator("#follow-up-list li", has_text="اتصل لتأكيد العرض")
    item.locator(f"a[href='{reverse('crm:follow_up_finish', args=[due.pk])}']").click()
    panel = page.locator(f"#finish-{due.pk} form.finish-panel")
    panel.wait_for()
    wait_until(page, "document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "j3-done-panel-phone-ar")
    assert_accessible(page, "done panel (ar, phone)")
    panel.get_by_label("لم يُجب").check()
    panel.locator("input[name=next_step][value=in_3_days]").check()
    panel.locator("button[type=submit]").click()
    # It leaves the due list (the next best actions above keep their copy until the page is next read).
    page.wait_for_selector("#follow-up-list >> text=اتصل لتأكيد العرض", state="detached")
    assert page.evaluate("window.__marker") == "same page"
    due.refresh_from_db()
    assert due.status == FollowUpStatus.DONE
    assert Activity.objects.filter(contact=world.a1.contact, outcome="no_answer").exists()
    assert FollowUp.objects.filter(contact=world.a1.contact, status="open", created_by=world.rep_a1).exists()


LISTS = {
    "contacts": "crm:contact_list",
    "companies": "crm:company_list",
    "deals": "pipeline:deal_list",
    "follow-ups": "crm:follow_up_list",
}


@pytest.mark.parametrize("sized_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_lists_are_cards_on_a_phone_and_tables_on_a_laptop(sized_page, world, language):
    page = sized_page
    world.rep_a1.language = language
    world.rep_a1.save(update_fields=["language"])
    sign_in(page, world.rep_a1.username)
    phone = page.viewport_size["width"] < 700
    for name, url_name in LISTS.items():
        page.goto(reverse(url_name))
        table = page.locator("table.card-table").first
        table.wait_for()
        shape = page.evaluate(
            """() => {
              const t = document.querySelector('table.card-table');
              const row = t.querySelector('tbody tr');
              return {
                table: getComputedStyle(t).display,
                row: getComputedStyle(row).display,
                head: t.querySelector('thead').getBoundingClientRect().height,
                scroll: document.documentElement.scrollWidth,
                width: window.innerWidth,
                rowRight: row.getBoundingClientRect().right,
                rowLeft: row.getBoundingClientRect().left,
              };
            }"""
        )
        size = "phone" if phone else "laptop"
        screenshot(page, f"j3-list-{name}-{size}-{language}")
        assert shape["scroll"] <= shape["width"], (name, shape)
        if phone:
            assert (shape["table"], shape["row"]) == ("block", "block"), (name, shape)
            assert shape["head"] <= 1, (name, shape)
            assert shape["rowLeft"] >= 0 and shape["rowRight"] <= shape["width"], (name, shape)
        else:
            assert (shape["table"], shape["row"]) == ("table", "table-row"), (name, shape)
        assert_accessible(page, f"{name} ({size}, {language})")


@pytest.mark.parametrize("sized_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_customer_pages_show_actions_and_stay_accessible(sized_page, world, language):
    page = sized_page
    contact = world.a1.contact
    contact.preferred_channel, contact.consent_whatsapp = "whatsapp", True
    contact.save()
    world.rep_a1.language = language
    world.rep_a1.save(update_fields=["language"])
    sign_in(page, world.rep_a1.username)
    size = "phone" if page.viewport_size["width"] < 700 else "laptop"
    for name, url in {
        "contact": contact.get_absolute_url(),
        "deal": world.a1.deal.get_absolute_url(),
        "my-day": reverse("workspace:home"),
    }.items():
        page.goto(url)
        if name != "my-day":
            channels = page.locator(".customer-actions").first.locator("a[data-log-channel]")
            assert channels.first.get_attribute("data-log-channel") == "whatsapp"
            assert channels.first.get_attribute("href").startswith("https://wa.me/")
        wait_until(page, "document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, f"j3-{name}-{size}-{language}")
        assert_accessible(page, f"{name} ({size}, {language})")
