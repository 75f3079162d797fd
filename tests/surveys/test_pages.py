"""Surveys on the team's pages: the panel and timeline of contacts and deals, and "Ask for feedback"."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import PreferredChannel
from surveys import services, tokens
from surveys.models import Survey
from tests import factories as f
from tests.surveys.conftest import SurveyTemplateFactory

pytestmark = pytest.mark.django_db


def test_answer_and_comment_show_on_the_contact_and_deal_pages_for_the_manager(client, world, answered):
    client.force_login(world.manager_a)
    for url in (world.a1.contact.get_absolute_url(), world.a1.deal.get_absolute_url()):
        html = client.get(url).content.decode()
        assert "التركيب تأخر أسبوعاً" in html
        assert "timeline__entry--survey_response" in html
        assert 'id="surveys"' in html


def test_comment_is_not_shown_to_a_colleague_who_may_not_see_the_deal(client, world, answered):
    client.force_login(world.rep_a2)  # same team: sees the customer, not rep_a1's deal
    html = client.get(world.a1.contact.get_absolute_url()).content.decode()
    assert "التركيب تأخر أسبوعاً" not in html
    assert client.get(world.a1.deal.get_absolute_url()).status_code == 404


def test_ask_for_feedback_sends_a_survey_once(client, world, csat, eager_celery, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.force_login(world.rep_a1)
    url = reverse("surveys:ask_deal", args=[world.a1.deal.pk])
    form = client.get(url)
    assert form.status_code == 200
    token = form.context["form"]["form_token"].value()
    data = {"template": csat.pk, "channel": "", "form_token": token}
    sent = client.post(url, data)
    assert sent.status_code == 302 and sent["Location"].startswith(world.a1.deal.get_absolute_url())
    again = client.post(url, data)  # a double submission
    assert again.status_code == 302
    assert Survey.objects.filter(deal=world.a1.deal).count() == 1


def test_ask_for_feedback_without_consent_shows_the_reason(client, world, csat):
    contact = world.a1.contact
    contact.consent_email = False
    contact.save()
    client.force_login(world.rep_a1)
    url = reverse("surveys:ask_contact", args=[contact.pk])
    response = client.post(url, {"template": csat.pk, "channel": "", "form_token": "a" * 24})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Survey.objects.exists()


def test_ask_for_feedback_about_an_invisible_customer_is_404(client, world, csat):
    client.force_login(world.rep_a1)
    assert client.get(reverse("surveys:ask_contact", args=[world.b.contact.pk])).status_code == 404
    assert client.post(reverse("surveys:ask_deal", args=[world.a2.deal.pk]), {"template": csat.pk}).status_code == 404
    assert not Survey.objects.exists()


def test_whatsapp_survey_offers_the_ready_message_on_the_contact_page(client, world, csat):
    contact = world.a1.contact
    contact.consent_whatsapp = True
    contact.preferred_channel = PreferredChannel.WHATSAPP
    contact.save()
    services.survey_send(template=csat, contact=contact, by=world.rep_a1)
    client.force_login(world.rep_a1)
    html = client.get(contact.get_absolute_url()).content.decode()
    assert "https://wa.me/" + contact.phone.lstrip("+") in html


def _answered_surveys(world, count):
    for index in range(count):
        template = SurveyTemplateFactory()
        survey = Survey.objects.create(
            template=template,
            kind=template.kind,
            contact=world.a1.contact,
            deal=world.a1.deal,
            team=world.team_a,
            owner=world.rep_a1,
            channel="email",
            language="ar",
            sent_at=world.a1.deal.created_at,
            expires_at=world.a1.deal.created_at.replace(year=2099),
            nonce=tokens.new_nonce(),
        )
        services.survey_respond(token=tokens.make_token(survey), score=str(1 + index % 5), comment=f"تعليق {index}")


def test_contact_and_deal_pages_queries_do_not_grow_with_surveys(client, world, settings):
    client.force_login(world.manager_a)
    pages = (world.a1.contact.get_absolute_url(), world.a1.deal.get_absolute_url())
    _answered_surveys(world, 1)
    small = []
    for url in pages:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        small.append(len(queries))
    _answered_surveys(world, 8)
    f.ActivityFactory(actor=world.rep_a1, team=world.team_a, contact=world.a1.contact)
    for url, before in zip(pages, small, strict=True):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) <= before, (url, before, len(queries))
