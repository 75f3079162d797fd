"""The survey operations of the benchmark (survey_page, survey_answer): the links they mint open the public
page with no session, the answer they POST is what a customer's browser sends (CSRF cookie and token) and
is recorded once, the floor reads the same survey, and the bench server lifts the per-address page limit."""

import pytest
from django.conf import settings
from django.db import connection
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.test import Client
from django.utils.crypto import get_random_string

from bench import floor
from bench.run import SURVEY_TEMPLATE, app_environment, forget_surveys, send_surveys
from crm.models import Contact
from surveys import tokens
from surveys.models import Survey, SurveyResponse, SurveyStatus
from tests.factories import ContactFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def contacts():
    owner = UserFactory()
    membership = MembershipFactory(user=owner)
    made = ContactFactory.create_batch(3, owner=owner, team=membership.team, consent_whatsapp=False)
    made[0].consent_whatsapp = True
    made[0].save(update_fields=["consent_whatsapp"])
    return made


def test_minted_links_open_the_page_without_a_session_and_take_one_answer(contacts, settings):
    settings.SURVEY_PAGE_RATE = 1000
    surveys, _consent = send_surveys(5)
    assert len(surveys) == 3  # only three contacts have a mobile number and no recent survey
    assert {survey.status for survey in surveys} == {SurveyStatus.SENT}
    assert not any(survey.email_wanted for survey in surveys)  # no e-mail task for a worker to send later

    browser = Client(enforce_csrf_checks=True)
    path = tokens.survey_path(surveys[0])
    page = browser.get(path)
    assert page.status_code == 200
    assert "_auth_user_id" not in browser.session

    # The answer as op_survey_answer sends it: a CSRF cookie of its own making and the same token in the form.
    secret = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    answer = Client(enforce_csrf_checks=True)
    answer.cookies[settings.CSRF_COOKIE_NAME] = secret
    form = {"csrfmiddlewaretoken": secret, "score": "4", "comment": "الخدمة ممتازة والتسليم في الوقت 1"}
    assert answer.post(path, form).status_code == 200
    response = SurveyResponse.objects.get(survey=surveys[0])
    assert (response.score, response.follow_up) == (4, None)  # not a low score: no follow-up
    assert answer.post(path, form).status_code == 410  # a link answers once: a reused one is an error
    assert answer.post(tokens.survey_path(surveys[1]), {"score": "4"}).status_code == 403  # no CSRF token


def test_forgetting_deletes_the_surveys_and_gives_the_consent_back(contacts):
    _surveys, consent = send_surveys(3)
    assert set(Contact.objects.filter(pk__in=[c.pk for c in contacts]).values_list("consent_whatsapp", flat=True)) == {
        True
    }
    forget_surveys(consent)
    assert not Survey.objects.filter(template__name=SURVEY_TEMPLATE).exists()
    consents = dict(Contact.objects.filter(pk__in=[c.pk for c in contacts]).values_list("pk", "consent_whatsapp"))
    assert consents == {contacts[0].pk: True, contacts[1].pk: False, contacts[2].pk: False}


def test_a_contact_surveyed_recently_is_not_surveyed_again(contacts):
    first, _consent = send_surveys(3)
    again, _consent = send_surveys(3)
    assert len(first) == 3 and again == []


def test_the_floor_reads_the_row_the_link_opens(contacts):
    import json

    surveys, _consent = send_surveys(1)
    query, params = floor.survey_page(survey=surveys[0].pk)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = json.loads(cursor.fetchone()[0])
    assert row["id"] == surveys[0].pk
    assert row["status"] == "sent" and row["nonce"] == surveys[0].nonce
    assert row["first_name"] == surveys[0].contact.first_name
    assert row["question_en"] == surveys[0].template.question_en


def test_the_bench_server_lifts_the_survey_pages_per_address_limit():
    env = app_environment("postgres://postgres@127.0.0.1:5432/unused", "redis://127.0.0.1:6379/15", 8000)
    # 16 users from 127.0.0.1 at up to ~60 answers a second: far more than the default 30 a minute.
    assert int(env["SURVEY_PAGE_RATE"]) >= 60 * 60 * 10
    assert int(env["SURVEY_PAGE_RATE"]) > settings.SURVEY_PAGE_RATE
