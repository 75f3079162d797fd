"""The bell and the notification list in a real browser, both directions: HTMX actions, focus, no axe violations."""

import pytest
from django.urls import reverse

from notifications.models import Notification, NotificationKind
from tests.e2e.conftest import assert_accessible, screenshot, wait_until
from tests.e2e.test_shell import sign_in


@pytest.fixture
def rep_with_notifications(world):
    rep = world.rep_a1
    for title in ("تذكير: اتصل بشركة الأفق", "Reminder: send the proposal", "تذكير: جدّد العقد"):
        Notification.objects.create(
            recipient=rep,
            kind=NotificationKind.REMINDER,
            title=title,
            body="مستحقة غداً",
            url=reverse("crm:follow_up_list"),
        )
    Notification.objects.filter(title="تذكير: جدّد العقد").update(email_error="ConnectionRefusedError: [Errno 111]")
    return rep


@pytest.mark.parametrize("language", ["ar", "en"])
def test_bell_and_notification_list_work_with_htmx_and_are_accessible(page, rep_with_notifications, language):
    rep = rep_with_notifications
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    bell = page.locator("#notification-bell")
    bell.locator(".bell__count").wait_for()  # loaded by HTMX right after the page
    assert "3" in bell.get_attribute("aria-label")
    assert bell.locator(".bell__count").inner_text() == "3"

    bell.click()
    page.wait_for_url("**/notifications/")
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    assert page.locator("#notification-list li").count() == 3
    screenshot(page, f"notifications-{language}")
    assert_accessible(page, f"notification list ({language})")

    page.locator("#notification-list li").first.locator("button[type=submit]").click()
    wait_until(page, "document.querySelector('#notification-bell .bell__count').textContent.trim() === '2'")
    assert "2" in page.locator("#notification-bell").get_attribute("aria-label")
    # The button is gone with the swap; focus moved to the item's link, not to the page's top.
    assert page.evaluate("document.activeElement.closest('#notification-list li') !== null")

    page.locator(".notification-list__actions button").click()
    page.wait_for_selector("#notification-bell .bell__count", state="detached")
    assert "0" in page.locator("#notification-bell").get_attribute("aria-label")
    wait_until(page, "document.querySelectorAll('.notification--unread').length === 0")
    screenshot(page, f"notifications-read-{language}")
    assert_accessible(page, f"notification list, all read ({language})")
