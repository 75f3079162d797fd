"""The sign-in lockout page in a real browser: translated, right-to-left in Arabic, accessible, CSP-clean."""

import pytest

from tests.e2e.conftest import assert_accessible, screenshot
from tests.factories import PASSWORD


def _try(page, username: str, password: str):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit].button--primary")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_locked_out_sign_in_shows_a_translated_accessible_page(page, world, settings, language):
    settings.AXES_FAILURE_LIMIT = 2
    rep = world.rep_a1
    page.goto("/accounts/login/")
    if language == "en":
        page.context.add_cookies([{"name": "safqa_language", "value": "en", "url": page.url}])
    for _ in range(2):
        _try(page, rep.username, "wrong")
    _try(page, rep.username, PASSWORD)  # the right password, refused while locked out
    assert page.get_attribute("html", "lang") == language
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    heading = page.locator("h1").inner_text()
    assert heading == ("تسجيل الدخول موقوف مؤقتاً" if language == "ar" else "Sign-in locked")
    assert "/accounts/login/" in page.url
    screenshot(page, f"login-locked-{language}")
    assert_accessible(page, f"lockout page ({language})")
