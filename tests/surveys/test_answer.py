"""The customer's page and what an answer does: single use, expiry, forgery, bad input, low scores, the rate limit."""

from datetime import timedelta

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import FollowUp
from notifications.models import Notification, NotificationKind
from surveys import services, tokens
from surveys.models import Survey, SurveyResponse, SurveyStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(world, csat):
    return services.survey_send(template=csat, contact=world.a1.contact, deal=world.a1.deal, by=world.rep_a1)


def page(survey):
    return tokens.survey_path(survey)


def unchanged(survey):
    survey.refresh_from_db()
    return survey.status == SurveyStatus.SENT and survey.nonce and not SurveyResponse.objects.exists()


def test_page_shows_first_name_question_and_scale_without_sign_in(client, survey):
    response = client.get(page(survey))
    assert response.status_code == 200
    html = response.content.decode()
    contact = survey.contact
    assert contact.first_name in html
    assert contact.last_name not in html and contact.email not in html and contact.phone not in html
    assert "ما مدى رضاك عن خدمتنا؟" in html
    assert 'lang="ar" dir="rtl"' in html
    assert html.count('type="radio" name="score"') == 5
    assert "<fieldset" in html and "<legend" in html
    # Strict CSP: no script at all, no inline style or handler.
    assert "<script" not in html and "style=" not in html and " onclick" not in html
    assert response["Cache-Control"].startswith("no-store")


def test_page_in_english_for_an_english_customer_and_nps_scale(client, world, nps):
    contact = world.a1.contact
    contact.preferred_language = "en"
    contact.save()
    survey = services.survey_send(template=nps, contact=contact, by=world.rep_a1)
    html = client.get(page(survey)).content.decode()
    assert 'lang="en" dir="ltr"' in html
    assert "How likely are you to recommend us?" in html
    assert html.count('type="radio" name="score"') == 11


def test_large_print_customer_gets_the_larger_layout(client, survey):
    assert "survey-page--large" not in client.get(page(survey)).content.decode()
    survey.contact.needs_large_print = True
    survey.contact.save()
    assert "survey-page--large" in client.get(page(survey)).content.decode()


def test_answer_is_recorded_once_and_the_link_is_spent(client, survey):
    link = page(survey)
    response = client.post(link, {"score": "5", "comment": "خدمة ممتازة، شكراً"})
    assert response.status_code == 200
    assert "شكراً" in response.content.decode() or "Thank" in response.content.decode()
    answer = SurveyResponse.objects.get()
    assert (answer.score, answer.comment, answer.kind) == (5, "خدمة ممتازة، شكراً", "csat")
    assert answer.owner == survey.owner and answer.deal == survey.deal and answer.team == survey.team
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.RESPONDED and survey.nonce == "" and survey.responded_at
    # The same link again: a clear page, nothing changed.
    again = client.post(link, {"score": "1"})
    assert again.status_code == 410
    assert SurveyResponse.objects.get().score == 5
    assert not FollowUp.objects.filter(deal=survey.deal, created_by=survey.owner).exclude(pk__in=[]).filter(notes="x")


def test_reused_link_shows_already_answered(client, survey):
    link = page(survey)
    assert client.post(link, {"score": "4"}).status_code == 200
    again = client.get(link)
    assert again.status_code == 410
    assert "already answered" in again.content.decode().lower() or "سبقت" in again.content.decode()
    assert client.post(link, {"score": "1"}).status_code == 410
    assert SurveyResponse.objects.get().score == 4


def test_forged_or_altered_link_changes_nothing(client, survey):
    forged = signing.dumps({"s": survey.pk, "n": survey.nonce}, salt="another-salt")
    assert client.get(f"/s/{forged}/").status_code == 404
    wrong_nonce = signing.dumps({"s": survey.pk, "n": "guessed"}, salt=tokens.SALT)
    assert client.post(f"/s/{wrong_nonce}/", {"score": "1"}).status_code == 404
    token = tokens.make_token(survey)
    assert client.post(f"/s/{token[:-2]}xx/", {"score": "1"}).status_code == 404
    assert client.get("/s/not-a-token/").status_code == 404
    assert unchanged(survey)


def test_expired_link_changes_nothing(client, survey):
    Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(page(survey), {"score": "3"})
    assert response.status_code == 410
    assert unchanged(survey)


def test_link_older_than_its_lifetime_is_expired(client, survey, settings):
    settings.SURVEY_LINK_DAYS = 30
    old = signing.TimestampSigner(salt=tokens.SALT)
    token = tokens.make_token(survey)
    # Re-sign the same payload as if made 31 days ago.
    payload = signing.loads(token, salt=tokens.SALT)
    import time

    real_time = time.time
    try:
        time.time = lambda: real_time() - 31 * 86400
        aged = signing.dumps(payload, salt=tokens.SALT, compress=True)
    finally:
        time.time = real_time
    assert old  # the signer in use is the timestamped one
    assert client.get(f"/s/{aged}/").status_code == 410
    assert unchanged(survey)


@pytest.mark.parametrize("score", ["0", "6", "-1", "abc", "", "5.5", "99999999999"])
def test_score_out_of_range_answers_400_translated_and_changes_nothing(client, survey, score):
    response = client.post(page(survey), {"score": score, "comment": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "اختر" in html  # the Arabic message (the customer's language)
    assert unchanged(survey)


def test_huge_comment_answers_400_and_changes_nothing(client, survey):
    response = client.post(page(survey), {"score": "4", "comment": "ب" * 100_000})
    assert response.status_code == 400
    assert unchanged(survey)


def test_english_error_for_an_english_customer(client, survey):
    survey.contact.preferred_language = "en"
    survey.contact.save()
    Survey.objects.filter(pk=survey.pk).update(language="en")
    response = client.post(page(survey), {"score": "9"})
    assert response.status_code == 400
    assert "Choose a score from 1 to 5" in response.content.decode()


def test_low_score_creates_a_follow_up_for_the_deal_owner_and_notifies_the_managers(client, world, survey):
    before = timezone.now()
    assert client.post(page(survey), {"score": "2", "comment": "تأخر التوصيل"}).status_code == 200
    answer = SurveyResponse.objects.get()
    follow_up = answer.follow_up
    assert follow_up is not None and follow_up.assignee == world.rep_a1 and follow_up.deal == world.a1.deal
    assert follow_up.notes == "تأخر التوصيل"
    # Due at the owner's next 09:00 (Riyadh), within a day.
    local = timezone.localtime(follow_up.due_at, timezone=__import__("zoneinfo").ZoneInfo("Asia/Riyadh"))
    assert (local.hour, local.minute) == (9, 0)
    assert before < follow_up.due_at <= before + timedelta(days=1)
    notified = Notification.objects.filter(kind=NotificationKind.SURVEY_LOW_SCORE)
    assert list(notified.values_list("recipient__username", flat=True)) == ["manager_a"]
    assert notified.get().url == world.a1.deal.get_absolute_url()


def test_nps_passive_and_good_csat_create_no_follow_up(client, world, csat, nps, settings):
    settings.SURVEY_MIN_DAYS = 0
    good = services.survey_send(template=csat, contact=world.a1.contact, by=world.rep_a1)
    client.post(page(good), {"score": "3"})
    passive = services.survey_send(template=nps, contact=world.a1.contact, by=world.rep_a1)
    client.post(page(passive), {"score": "7"})
    detractor_template = type(nps).objects.create(name="n2", kind="nps", question_ar="س", question_en="q")
    detractor = services.survey_send(template=detractor_template, contact=world.a1.contact, by=world.rep_a1)
    client.post(page(detractor), {"score": "6"})
    scores = dict(SurveyResponse.objects.values_list("score", "follow_up"))
    assert scores[3] is None and scores[7] is None and scores[6] is not None


def test_next_working_morning_is_today_before_nine_else_tomorrow(world):
    import zoneinfo
    from datetime import datetime

    riyadh = zoneinfo.ZoneInfo("Asia/Riyadh")
    early = datetime(2026, 12, 7, 7, 30, tzinfo=riyadh)
    late = datetime(2026, 12, 7, 15, 0, tzinfo=riyadh)
    assert services.next_working_morning(world.rep_a1, early) == datetime(2026, 12, 7, 9, 0, tzinfo=riyadh)
    assert services.next_working_morning(world.rep_a1, late) == datetime(2026, 12, 8, 9, 0, tzinfo=riyadh)


def test_page_is_rate_limited_per_address(client, survey, settings):
    settings.SURVEY_PAGE_RATE = 3
    link = page(survey)
    assert [client.get(link).status_code for _ in range(3)] == [200, 200, 200]
    assert client.get(link).status_code == 429
    assert client.post(link, {"score": "5"}).status_code == 429
    assert unchanged(survey)
    other = client.get(link, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_page_queries_do_not_depend_on_history(client, world, csat, settings):
    settings.SURVEY_MIN_DAYS = 0
    first = services.survey_send(template=csat, contact=world.a1.contact, by=world.rep_a1)
    with CaptureQueriesContext(connection) as small:
        client.get(page(first))
    for _ in range(10):
        services.survey_send(template=csat, contact=world.a1.contact, by=world.rep_a1)
    last = Survey.objects.order_by("-pk").first()
    with CaptureQueriesContext(connection) as large:
        client.get(page(last))
    assert len(large) == len(small) <= 4
