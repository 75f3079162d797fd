"""A satisfaction survey end to end in a real browser: a deal is won, the after-sale survey's email reaches an
SMTP server, the customer answers on a phone without signing in (Arabic comment, a low score), and the manager
finds the answer on the deal's timeline and in the dashboard's satisfaction figures. axe on the
customer's pages in Arabic and English.
"""

import re
from urllib.parse import urlsplit

import pytest

from core.text import normalize_digits
from notifications.models import Notification, NotificationKind
from surveys.models import SurveyResponse
from tests.e2e.conftest import PHONE, assert_accessible, open_sized_page, screenshot
from tests.e2e.test_shell import sign_in
from tests.notifications.conftest import SmtpServer
from tests.surveys.conftest import SurveyTemplateFactory

COMMENT = "التركيب تأخر أسبوعاً، والفني كان لطيفاً"


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.mailbox.release.set()
        server.controller.stop()


@pytest.fixture
def survey_world(world, settings, live_server, smtp_server, eager_celery):
    smtp_server.use_in(settings)
    settings.SITE_URL = live_server.url
    SurveyTemplateFactory(pipelines=[world.pipeline], send_after_days=0)
    contact = world.a1.contact
    contact.preferred_language = "ar"
    contact.needs_large_print = True  # the larger layout, on a phone
    contact.save()
    return world


def _wait_for_mail(server, timeout=15.0):
    import time

    deadline = time.monotonic() + timeout
    while not server.messages:
        if time.monotonic() > deadline:
            raise AssertionError("the survey email never reached the SMTP server")
        time.sleep(0.1)
    return server.messages[0]


def _link(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_content()
            break
    else:  # pragma: no cover - the email always has a text part
        raise AssertionError("no text part")
    match = re.search(r"(https?://[^\s/]+/s/[^\s/]+/)", text)
    assert match, text
    return match.group(1)


def test_won_deal_survey_answered_on_a_phone_reaches_the_managers_timeline(
    browser, live_server, page, survey_world, smtp_server
):
    world = survey_world
    deal = world.a1.deal

    # The rep wins the deal on its page: the pipeline's day-0 survey goes with the after-sale check-ins.
    sign_in(page, world.rep_a1.username)
    page.goto(deal.get_absolute_url())
    page.locator("form[action$='/won/'] button[type=submit]").click()
    page.wait_for_load_state()
    message = _wait_for_mail(smtp_server)
    assert message["To"] == world.a1.contact.email
    assert message["Content-Language"] == "ar"
    link = _link(message)

    # A fresh browser context: no session, a 390 px phone.
    customer_pages = open_sized_page(browser, live_server, PHONE)
    customer = next(customer_pages)
    try:
        path = urlsplit(link).path
        # English first (the page's language switch), for axe; then the customer's Arabic.
        customer.goto(path + "?lang=en")
        assert customer.get_attribute("html", "dir") == "ltr"
        assert customer.locator("legend").inner_text() == "How satisfied are you with our service?"
        screenshot(customer, "survey-en-phone")
        assert_accessible(customer, "survey page (en, phone)")

        customer.goto(path)
        assert customer.get_attribute("html", "lang") == "ar"
        assert customer.get_attribute("html", "dir") == "rtl"
        assert "survey-page--large" in customer.get_attribute("body", "class")
        assert world.a1.contact.last_name not in customer.content()
        assert customer.locator("input[type=radio][name=score]").count() == 5
        # Large targets: each score is at least 44 px high.
        box = customer.locator("label[for=score-2] .survey-scale__label").bounding_box()
        assert box["height"] >= 44
        screenshot(customer, "survey-ar-phone")
        assert_accessible(customer, "survey page (ar, phone)")

        # Submitting without a score: the error summary, in Arabic, focused; nothing recorded.
        customer.locator("button[type=submit]").click()
        customer.wait_for_selector(".form-errors")
        assert customer.evaluate("document.activeElement.id") == "survey-errors"
        assert_accessible(customer, "survey page with an error (ar, phone)")
        assert not SurveyResponse.objects.exists()

        customer.locator("label[for=score-2]").click()
        customer.fill("textarea[name=comment]", COMMENT)
        customer.locator("button[type=submit]").click()
        customer.wait_for_selector("#thanks-title")
        screenshot(customer, "survey-thanks-ar-phone")
        assert_accessible(customer, "thank-you page (ar, phone)")

        # The link works once.
        customer.goto(path)
        assert customer.locator("#closed-title").count() == 1
        assert_accessible(customer, "already answered (ar, phone)")
        customer.goto(path + "?lang=en")
        assert_accessible(customer, "already answered (en, phone)")
    finally:
        next(customer_pages, None)

    answer = SurveyResponse.objects.get()
    assert (answer.score, answer.comment) == (2, COMMENT)
    assert answer.follow_up is not None and answer.follow_up.assignee == world.rep_a1
    assert Notification.objects.filter(recipient=world.manager_a, kind=NotificationKind.SURVEY_LOW_SCORE).exists()

    # The manager sees the answer and the comment on the deal's timeline.
    page.context.clear_cookies()
    sign_in(page, world.manager_a.username)
    page.goto(deal.get_absolute_url())
    entry = page.locator(".timeline__entry--survey_response")
    entry.wait_for()
    assert COMMENT in entry.inner_text()
    screenshot(page, "survey-answer-on-deal-timeline")
    assert_accessible(page, "deal page with a survey answer")

    # And the satisfaction figures on the dashboard (today's, computed live): one CSAT answer of 2.
    page.goto("/dashboard/")
    average = page.locator(".kpi:has(#def-csat_average) .kpi__value").inner_text()
    assert re.sub(r"\D", "", normalize_digits(average)) == "200", average
    satisfied = page.locator(".kpi:has(#def-satisfied_share) .kpi__value").inner_text()
    assert re.sub(r"\D", "", normalize_digits(satisfied)).startswith("0"), satisfied
    screenshot(page, "survey-figures-on-dashboard")


@pytest.mark.parametrize(("language", "viewport"), [("ar", PHONE), ("en", {"width": 1366, "height": 800})])
def test_ask_for_feedback_from_the_contact_page(
    browser, live_server, world, settings, eager_celery, language, viewport
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    SurveyTemplateFactory(name="رضا بعد التركيب" if language == "ar" else "After installation")
    rep = world.rep_a1
    rep.language = language
    rep.save()
    pages = open_sized_page(browser, live_server, viewport)
    page = next(pages)
    try:
        sign_in(page, rep.username)
        contact = world.a1.contact
        page.goto(contact.get_absolute_url())
        panel = page.locator("#surveys")
        assert panel.locator(".empty").count() == 1
        panel.locator("a.button").click()
        page.wait_for_selector("#ask-title")
        screenshot(page, f"survey-ask-{language}-{viewport['width']}")
        assert_accessible(page, f"ask for feedback ({language}, {viewport['width']} px)")
        page.locator("form button[type=submit].button--primary").click()
        page.wait_for_url(lambda url: urlsplit(url).path == contact.get_absolute_url())
        page.locator("#surveys .survey-list__item").wait_for()
        assert_accessible(page, f"contact page with a survey sent ({language}, {viewport['width']} px)")
    finally:
        next(pages, None)
    assert contact.surveys.count() == 1
