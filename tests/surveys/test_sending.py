"""Sending rules: consent per channel, once per deal and template, one per customer every SURVEY_MIN_DAYS, after a win."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.models import PreferredChannel
from pipeline.services import deal_move_to_stage
from surveys import services, tasks
from surveys.models import Survey, SurveyChannel, SurveyStatus
from tests.surveys.conftest import SurveyTemplateFactory

pytestmark = pytest.mark.django_db


def test_survey_is_emailed_with_a_personal_link_in_the_customers_language(world, csat, mail_eager):
    contact = world.a1.contact
    contact.preferred_language = "en"
    contact.save()
    with django_capture_on_commit():
        survey = services.survey_send(template=csat, contact=contact, deal=world.a1.deal, by=world.rep_a1)
    assert survey.owner == world.rep_a1 and survey.team == world.team_a and survey.language == "en"
    assert survey.channel == SurveyChannel.EMAIL and survey.status == SurveyStatus.SENT
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [contact.email]
    assert "How satisfied are you with our service?" in message.body
    assert "ما مدى" not in message.body
    link = services.tokens.survey_url(survey).split("/s/")[0] + "/s/"
    assert link in message.body
    survey.refresh_from_db()
    assert survey.emailed is True


def test_survey_in_arabic_for_a_customer_without_a_language(world, csat, mail_eager):
    with django_capture_on_commit():
        services.survey_send(template=csat, contact=world.a1.contact, by=world.rep_a1)
    assert "ما مدى رضاك عن خدمتنا؟" in mail.outbox[0].body


def test_no_survey_without_consent_for_any_channel(world, csat, mail_eager):
    contact = world.a1.contact
    contact.consent_email = False
    contact.consent_whatsapp = False
    contact.save()
    with pytest.raises(ValidationError) as refused, django_capture_on_commit():
        services.survey_send(template=csat, contact=contact, by=world.rep_a1)
    assert "agreed" in " ".join(refused.value.messages) or "يوافق" in " ".join(refused.value.messages)
    assert not Survey.objects.exists()
    assert mail.outbox == []


def test_email_asked_for_without_email_consent_is_refused(world, csat, mail_eager):
    contact = world.a1.contact
    contact.consent_email = False
    contact.consent_whatsapp = True
    contact.save()
    with pytest.raises(ValidationError):
        services.survey_send(template=csat, contact=contact, by=world.rep_a1, channel="email")
    assert not Survey.objects.exists()


def test_whatsapp_customer_gets_a_ready_to_send_message_with_the_same_link(world, csat, mail_eager):
    contact = world.a1.contact
    contact.consent_whatsapp = True
    contact.consent_email = False
    contact.preferred_channel = PreferredChannel.WHATSAPP
    contact.save()
    with django_capture_on_commit():
        survey = services.survey_send(template=csat, contact=contact, by=world.rep_a1)
    assert survey.channel == SurveyChannel.WHATSAPP
    assert mail.outbox == []  # no email consent: nothing emailed
    link = services.whatsapp_link(survey)
    assert link.startswith("https://wa.me/" + contact.phone.lstrip("+") + "?text=")
    from urllib.parse import unquote

    assert services.tokens.survey_url(survey).split("/s/")[0] in unquote(link)


def test_whatsapp_without_consent_has_no_link(world, csat):
    contact = world.a1.contact
    survey = services.survey_send(template=csat, contact=contact, by=world.rep_a1)
    assert survey.channel == SurveyChannel.EMAIL
    assert services.whatsapp_link(survey) == ""


def test_never_twice_for_the_same_deal_and_template(world, csat, settings):
    settings.SURVEY_MIN_DAYS = 0
    services.survey_send(template=csat, contact=world.a1.contact, deal=world.a1.deal, by=world.rep_a1)
    with pytest.raises(ValidationError) as refused:
        services.survey_send(template=csat, contact=world.a1.contact, deal=world.a1.deal, by=world.rep_a1)
    assert Survey.objects.count() == 1
    assert refused.value.messages
    # Another template for the same deal is a different survey.
    other = SurveyTemplateFactory()
    services.survey_send(template=other, contact=world.a1.contact, deal=world.a1.deal, by=world.rep_a1)
    assert Survey.objects.count() == 2


def test_at_most_one_survey_per_customer_every_min_days(world, csat, settings):
    settings.SURVEY_MIN_DAYS = 30
    now = timezone.now()
    other = SurveyTemplateFactory()
    services.survey_send(template=csat, contact=world.a1.contact, by=world.rep_a1, now=now - timedelta(days=29))
    with pytest.raises(ValidationError):
        services.survey_send(template=other, contact=world.a1.contact, by=world.rep_a1, now=now)
    assert Survey.objects.count() == 1
    services.survey_send(template=other, contact=world.a1.contact, by=world.rep_a1, now=now + timedelta(days=2))
    assert Survey.objects.count() == 2


def test_rep_cannot_send_about_a_customer_they_cannot_see(world, csat):
    with pytest.raises(ValidationError):
        services.survey_send(template=csat, contact=world.b.contact, by=world.rep_a1)
    with pytest.raises(ValidationError):
        # Same team's customer, another rep's deal.
        services.survey_send(template=csat, contact=world.a2.contact, deal=world.a2.deal, by=world.rep_a1)
    assert not Survey.objects.exists()


def test_inactive_template_is_refused(world, csat):
    csat.is_active = False
    csat.save()
    with pytest.raises(ValidationError):
        services.survey_send(template=csat, contact=world.a1.contact, by=world.rep_a1)


def test_won_deal_sends_the_pipelines_survey_of_the_day_of_the_win(world, csat, mail_eager):
    deal = world.a1.deal
    with django_capture_on_commit():
        deal_move_to_stage(deal=deal, stage=world.pipeline.s.won, by=world.rep_a1)
    survey = Survey.objects.get()
    assert survey.deal == deal and survey.template == csat and survey.sent_by is None
    assert len(mail.outbox) == 1
    # Idempotent: the task again, and the sweep, send nothing more.
    assert tasks.survey_send_after_sale(deal.pk, csat.pk) is False
    tasks.surveys_send_due()
    assert Survey.objects.count() == 1 and len(mail.outbox) == 1


def test_later_survey_waits_for_its_day_then_the_sweep_sends_it_once(world, nps, mail_eager):
    nps.pipelines.set([world.pipeline])
    deal = world.a1.deal
    with django_capture_on_commit():
        deal_move_to_stage(deal=deal, stage=world.pipeline.s.won, by=world.rep_a1)
    assert not Survey.objects.exists()
    deal.refresh_from_db()
    assert services.after_sale_surveys_due(now=deal.closed_at + timedelta(days=6)) == []
    due = services.after_sale_surveys_due(now=deal.closed_at + timedelta(days=7, minutes=1))
    assert due == [(deal.pk, nps.pk)]
    for deal_id, template_id in due * 2:  # a doubled run
        services.survey_send_after_sale(deal_id=deal_id, template_id=template_id)
    assert Survey.objects.filter(deal=deal, template=nps).count() == 1
    # Long past its day (beyond the catch-up window) a deal is not surveyed any more.
    assert services.after_sale_surveys_due(now=deal.closed_at + timedelta(days=30)) == []


def test_after_sale_survey_respects_consent(world, csat, mail_eager):
    contact = world.a1.contact
    contact.consent_email = False
    contact.save()
    with django_capture_on_commit():
        deal_move_to_stage(deal=world.a1.deal, stage=world.pipeline.s.won, by=world.rep_a1)
    assert not Survey.objects.exists()
    assert mail.outbox == []


def test_lost_deal_sends_no_survey(world, csat, mail_eager):
    from tests import factories as f

    reason = f.LossReasonFactory()
    with django_capture_on_commit():
        deal_move_to_stage(deal=world.a1.deal, stage=world.pipeline.s.lost, by=world.rep_a1, loss_reason=reason)
    assert not Survey.objects.exists()


class django_capture_on_commit:
    """Run the transaction.on_commit callbacks of the block (the test transaction never commits)."""

    def __enter__(self):
        from django.db import connection
        from django.test import TestCase

        self._context = TestCase.captureOnCommitCallbacks(using=connection.alias, execute=True)
        return self._context.__enter__()

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)


def test_sweep_sends_an_email_whose_task_was_lost_and_never_one_not_wanted(world, csat, mail_eager, settings):
    settings.SURVEY_MIN_DAYS = 0
    contact = world.a1.contact
    contact.consent_whatsapp = True
    contact.save()
    earlier = timezone.now() - timedelta(minutes=10)
    # Sent without running the on-commit queueing: as if the task message were lost.
    lost = services.survey_send(template=csat, contact=contact, by=world.rep_a1, now=earlier)
    by_whatsapp = services.survey_send(
        template=SurveyTemplateFactory(), contact=contact, by=world.rep_a1, channel="whatsapp", now=earlier
    )
    assert mail.outbox == []
    assert services.surveys_unsent_email_ids() == [lost.pk]
    tasks.surveys_send_due()
    tasks.surveys_send_due()  # a doubled run
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [contact.email]
    lost.refresh_from_db()
    by_whatsapp.refresh_from_db()
    assert lost.emailed is True and by_whatsapp.emailed is False
    assert services.survey_email_deliver(survey_id=by_whatsapp.pk) is False
