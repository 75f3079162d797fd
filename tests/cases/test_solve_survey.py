"""Solving a case can ask the customer how it went (surveys.services.survey_send); a refusal changes nothing."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import services
from cases.models import Case, CaseStatus
from surveys.models import Survey
from tests.surveys.conftest import SurveyTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(world):
    return SurveyTemplateFactory()


@pytest.fixture
def mailbox(settings, eager_celery):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


def _case(world):
    contact = world.a1.contact
    contact.consent_email = True
    contact.save(update_fields=["consent_email"])
    return services.case_create(by=world.rep_a1, contact=contact, subject="انقطاع الخدمة")


def test_solving_with_a_template_sends_the_customer_a_survey_about_the_case(
    world, template, mailbox, django_capture_on_commit_callbacks
):
    case = _case(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_solve(case=case, by=world.rep_a1, survey_template=template)
    survey = Survey.objects.get()
    assert survey.case_id == case.pk and survey.contact_id == case.contact_id and survey.template == template
    case.refresh_from_db()
    assert case.status == CaseStatus.SOLVED
    assert [message.to for message in mailbox] == [[case.contact.email]]


def test_a_survey_the_rules_refuse_leaves_the_case_unsolved(world, template):
    case = _case(world)
    contact = case.contact
    contact.consent_email = False
    contact.consent_whatsapp = False
    contact.save(update_fields=["consent_email", "consent_whatsapp"])
    with pytest.raises(ValidationError):
        services.case_solve(case=case, by=world.rep_a1, survey_template=template)
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW and not Survey.objects.exists()


def test_the_status_form_offers_the_survey_and_the_api_solve_accepts_it(client, world, template, mailbox):
    case = _case(world)
    client.force_login(world.rep_a1)
    page = client.get(case.get_absolute_url())
    assert template in page.context["status_form"].fields["survey_template"].queryset
    refused = client.post(
        reverse("cases:case_status", args=[case.pk]),
        {"status": "in_progress", "version": case.version, "survey_template": template.pk},
    )
    assert refused.status_code == 400 and not Survey.objects.exists()
    solved = client.post(
        reverse("cases:case_status", args=[case.pk]),
        {"status": "solved", "version": case.version, "survey_template": template.pk},
    )
    assert solved.status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.SOLVED
    assert Survey.objects.filter(case=case).count() == 1


def test_api_solve_with_a_survey(world, template, mailbox):
    from rest_framework.test import APIClient

    from accounts.tokens import api_token_create

    case = _case(world)
    api = APIClient()
    _record, token = api_token_create(user=world.rep_a1, name="t")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post(f"/api/v1/cases/{case.pk}/solve/", {"survey_template": template.pk}, format="json")
    assert response.status_code == 200, response.content
    assert Survey.objects.filter(case=case).exists()
