"""Survey fixtures: a CSAT template on the world's pipeline, and a won deal with a consenting customer."""

import factory
import pytest
from factory.django import DjangoModelFactory

from surveys.models import SurveyKind, SurveyTemplate


class SurveyTemplateFactory(DjangoModelFactory):
    class Meta:
        model = SurveyTemplate
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"رضا العملاء {n}")
    kind = SurveyKind.CSAT
    question_ar = "ما مدى رضاك عن خدمتنا؟"
    question_en = "How satisfied are you with our service?"
    send_after_days = 0

    @factory.post_generation
    def pipelines(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.pipelines.set(extracted)


@pytest.fixture
def csat(world):
    return SurveyTemplateFactory(pipelines=[world.pipeline])


@pytest.fixture
def nps(world):
    return SurveyTemplateFactory(
        name="ترشيح",
        kind=SurveyKind.NPS,
        question_ar="ما احتمال أن توصي بنا؟",
        question_en="How likely are you to recommend us?",
        send_after_days=7,
    )


@pytest.fixture
def mail_eager(settings, eager_celery):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://127.0.0.1:8000"
    return settings


@pytest.fixture
def bearer(db):
    """bearer(user) → an APIClient with a Bearer token of `user` (as tests/api's fixture)."""
    from rest_framework.test import APIClient

    from accounts.tokens import api_token_create

    def make(user, **headers):
        client = APIClient(**headers)
        _record, token = api_token_create(user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def answered(world, csat):
    """rep_a1's customer answered 2 of 5 with a comment (a low score) about rep_a1's deal."""
    from surveys import services, tokens

    survey = services.survey_send(template=csat, contact=world.a1.contact, deal=world.a1.deal, by=world.rep_a1)
    return services.survey_respond(token=tokens.make_token(survey), score="2", comment="التركيب تأخر أسبوعاً")
