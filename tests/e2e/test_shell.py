"""The bilingual shell in a real browser: Arabic and right-to-left first, English one click away, no axe violations."""

from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import assert_accessible, screenshot
from tests.factories import PASSWORD


@pytest.fixture
def rep(world):
    return world.rep_a1


def sign_in(page, username: str):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].button--primary")
    # My day itself: a glob like "**/" also matches the login page a refused sign-in stays on.
    page.wait_for_url(lambda url: urlsplit(url).path == "/")


def test_login_page_is_arabic_rtl_and_accessible(page, db):
    page.goto("/accounts/login/")
    assert page.get_attribute("html", "lang") == "ar"
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("h1").inner_text() == "تسجيل الدخول إلى صفقة"
    screenshot(page, "login-ar")
    assert_accessible(page, "login (ar)")


def test_wrong_password_shows_an_arabic_error_and_stays_signed_out(page, rep):
    page.goto("/accounts/login/")
    page.fill("#id_username", rep.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit].button--primary")
    page.wait_for_selector(".form-errors")  # the answer to the submit, not the page before it
    assert page.locator(".form-errors").is_visible()
    assert "/accounts/login/" in page.url
    screenshot(page, "login-error-ar")
    assert_accessible(page, "login with error (ar)")


def test_rep_signs_in_switches_to_english_and_back(page, rep):
    sign_in(page, rep.username)
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("h2#due-title").inner_text() == "المتابعات المستحقة اليوم والمتأخرة"
    screenshot(page, "home-ar")
    assert_accessible(page, "home (ar)")

    page.click("form.language-switch button")
    page.wait_for_selector("html[lang=en]")
    assert page.get_attribute("html", "dir") == "ltr"
    assert page.locator("h2#due-title").inner_text() == "Follow-ups due today and overdue"
    screenshot(page, "home-en")
    assert_accessible(page, "home (en)")

    rep.refresh_from_db()
    assert rep.language == "en"
    page.click("form.language-switch button")
    page.wait_for_selector("html[lang=ar]")


def test_follow_up_done_in_one_click_without_reload(page, world):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import FollowUpFactory

    FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="اتصل بشركة الأفق", due_at=timezone.now() - timedelta(hours=3)
    )
    sign_in(page, world.rep_a1.username)
    item = page.locator("#follow-up-list li", has_text="اتصل بشركة الأفق")
    assert item.is_visible()
    page.evaluate("window.__marker = 'same page'")
    item.locator("form[action$='/done/'] button").click()
    page.wait_for_selector("text=اتصل بشركة الأفق", state="detached")
    assert page.evaluate("window.__marker") == "same page"  # swapped by HTMX, not reloaded


def test_phone_width_layout_has_no_horizontal_scroll(phone_page, rep):
    sign_in(phone_page, rep.username)
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    screenshot(phone_page, "home-ar-375")
    assert_accessible(phone_page, "home at 375px (ar)")
