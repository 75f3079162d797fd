"""Writes to surveys: templates (admins), sending a survey (by hand, the API, or after a won deal), answering one.

Sending rules (`survey_send`), in this order:

- the customer must have agreed to be contacted on the channel used (crm.Contact's
  consent_email / consent_whatsapp, with an address or a number to use);
- never twice for the same deal and template (also a database constraint);
- at most one survey per customer every SURVEY_MIN_DAYS days.

A survey goes by email (a Celery task, once the survey is committed) in the customer's
language, with a personal link; when the customer prefers WhatsApp and agreed to it, the
rep gets a ready-to-send WhatsApp text with the same link (`whatsapp_link`).
"""

import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from analytics.services import mark_dirty_for
from core import formatting, sync
from core.i18n import supported_languages, user_locale
from core.querysets import is_admin
from core.services import save_new_version
from core.text import clean_text
from crm.models import Contact, PreferredChannel
from surveys import tokens
from surveys.models import (
    COMMENT_MAX_LENGTH,
    SCALES,
    Survey,
    SurveyChannel,
    SurveyResponse,
    SurveyStatus,
    SurveyTemplate,
    is_low_score,
)
from webhooks import events as webhook_events

logger = logging.getLogger(__name__)

# A won deal whose survey day passed more than this many days ago is not surveyed any more
# (a template added today does not write to every customer of the past).
AFTER_SALE_CATCH_UP_DAYS = 7
# The local hour a low score's follow-up is due at: the owner's next working morning.
FOLLOW_UP_HOUR = 9


class SurveyRefused(ValidationError):
    """A sending rule says no (consent, already sent, too soon): a 400 with the reason, nothing written."""


# ---- templates (admins) ----


def _require_admin(by) -> None:
    if by is not None and not is_admin(by):
        raise ValidationError(_("Only administrators can change survey templates."))


@transaction.atomic
def survey_template_create(*, by, name: str, kind: str, question_ar: str, question_en: str, pipelines=(), **fields):
    _require_admin(by)
    template = SurveyTemplate(name=name, kind=kind, question_ar=question_ar, question_en=question_en, **fields)
    template.full_clean()
    template.save()
    template.pipelines.set(pipelines)
    return template


@transaction.atomic
def survey_template_update(*, template: SurveyTemplate, by, pipelines=None, **fields) -> SurveyTemplate:
    _require_admin(by)
    if "kind" in fields and fields["kind"] != template.kind and template.surveys.exists():
        raise ValidationError({"kind": _("Surveys were sent with this template: its kind can no longer change.")})
    for name, value in fields.items():
        setattr(template, name, value)
    template.full_clean()
    save_new_version(template)
    if pipelines is not None:
        template.pipelines.set(pipelines)
    return template


@transaction.atomic
def survey_template_delete(*, template: SurveyTemplate, by) -> None:
    _require_admin(by)
    if template.surveys.exists():
        raise ValidationError(_("Surveys were sent with this template: deactivate it instead."))
    template.delete()


# ---- sending ----


def contact_language(contact: Contact) -> str:
    """The customer's language (their preferred one), else the product's default, Arabic."""
    if contact.preferred_language in supported_languages():
        return contact.preferred_language
    return settings.LANGUAGE_CODE


def can_email(contact: Contact) -> bool:
    return bool(contact.email and contact.consent_email)


def can_whatsapp(contact: Contact) -> bool:
    return bool(contact.phone and contact.consent_whatsapp)


def _channels(contact: Contact, channel: str | None) -> tuple[str, bool]:
    """The survey's channel and whether it is emailed, or SurveyRefused when the customer agreed to neither."""
    if channel == SurveyChannel.EMAIL:
        if not can_email(contact):
            raise SurveyRefused(_("This customer has not agreed to emails (or has no email address)."))
        return SurveyChannel.EMAIL, True
    if channel == SurveyChannel.WHATSAPP:
        if not can_whatsapp(contact):
            raise SurveyRefused(_("This customer has not agreed to WhatsApp messages (or has no mobile number)."))
        return SurveyChannel.WHATSAPP, False
    if channel not in (None, ""):
        raise SurveyRefused(_("Choose email or WhatsApp."))
    emailed = can_email(contact)
    whatsapp = can_whatsapp(contact) and contact.preferred_channel == PreferredChannel.WHATSAPP
    if not emailed and not can_whatsapp(contact):
        raise SurveyRefused(
            _("This customer has not agreed to be contacted by email or WhatsApp, so no survey can be sent.")
        )
    if whatsapp or not emailed:
        return SurveyChannel.WHATSAPP, emailed
    return SurveyChannel.EMAIL, True


def _check_rules(*, template: SurveyTemplate, contact: Contact, deal, now: datetime) -> None:
    if not template.is_active:
        raise SurveyRefused(_("This survey template is not active."))
    if deal is not None and Survey.objects.filter(deal=deal, template=template).exists():
        raise SurveyRefused(_("This survey was already sent for this deal."))
    since = now - timedelta(days=settings.SURVEY_MIN_DAYS)
    last = Survey.objects.filter(contact=contact, sent_at__gt=since).order_by("-sent_at").first()
    if last is not None:
        raise SurveyRefused(
            _("This customer was asked for feedback on %(day)s; at most one survey every %(days)s days.")
            % {
                "day": formatting.date(timezone.localtime(last.sent_at).date()),
                "days": formatting.count(settings.SURVEY_MIN_DAYS),
            }
        )


@transaction.atomic
def survey_send(
    *, template: SurveyTemplate, contact: Contact, deal=None, case=None, by, channel: str | None = None, now=None
) -> Survey:
    """Send `template` to `contact` (about `deal`, optional) as `by` (None: Safqa itself, after a win).

    Raises SurveyRefused (a ValidationError) when a sending rule says no; writes nothing then.
    """
    from pipeline.models import Deal

    now = now or timezone.now()
    if by is not None:
        # The caller reached these records through visibility; a service never trusts that alone.
        if not Contact.objects.visible_to(by).filter(pk=contact.pk).exists():
            raise ValidationError({"contact": _("Choose a customer you can see.")})
        if deal is not None and not Deal.objects.visible_to(by).filter(pk=deal.pk).exists():
            raise ValidationError({"deal": _("Choose a deal you can see.")})
    if deal is not None and deal.contact_id not in (None, contact.pk):
        raise ValidationError({"deal": _("This deal is with another customer.")})
    # One sender at a time per customer: the minimum-days rule is read and written under this lock.
    contact = Contact.objects.select_for_update(of=("self",)).get(pk=contact.pk)
    channel, emailed = _channels(contact, channel)
    _check_rules(template=template, contact=contact, deal=deal, now=now)
    owner = deal.owner if deal is not None else contact.owner
    team = deal.team if deal is not None else contact.team
    survey = Survey(
        template=template,
        kind=template.kind,
        contact=contact,
        deal=deal,
        team=team,
        owner=owner,
        sent_by=by,
        channel=channel,
        email_wanted=emailed,
        emailed=False,
        language=contact_language(contact),
        sent_at=now,
        expires_at=now + timedelta(days=settings.SURVEY_LINK_DAYS),
        nonce=tokens.new_nonce(),
    )
    if case is not None:
        if case.contact_id != contact.pk:
            raise ValidationError({"case": _("This support case is with another customer.")})
        survey.case = case
    survey.full_clean(exclude=["nonce"])
    try:
        with transaction.atomic():
            survey.save()
    except IntegrityError:
        # A concurrent sender won the race for this deal and template.
        raise SurveyRefused(_("This survey was already sent for this deal.")) from None
    mark_dirty_for(team=team, when=now, reason="survey sent")
    sync.stamp(survey)
    if emailed:
        survey_id = survey.pk
        transaction.on_commit(lambda: _queue_email(survey_id))
    return survey


def _queue_email(survey_id: int) -> None:
    from surveys.tasks import survey_email_send

    try:
        survey_email_send.delay(survey_id)
    except Exception:  # the hourly sweep (surveys_send_due) sends what was not queued
        logger.exception("survey %s email not queued; the sweep will send it", survey_id)


def survey_company_name(survey: Survey) -> str:
    """The seller's name the customer sees: COMPANY_NAME, else the team's."""
    return settings.COMPANY_NAME or survey.team.name


def _email(survey: Survey) -> EmailMultiAlternatives:
    from notifications.services import _message_id

    with translation.override(survey.language):
        context = {
            "survey": survey,
            "first_name": survey.contact.first_name,
            "company_name": survey_company_name(survey),
            "question": survey.template.question(survey.language),
            "url": tokens.survey_url(survey),
            "expires_text": formatting.date(
                timezone.localtime(survey.expires_at, timezone.get_default_timezone()).date()
            ),
            "language": survey.language,
            "direction": "rtl" if translation.get_language_bidi() else "ltr",
        }
        subject = " ".join(render_to_string("surveys/email/survey_subject.txt", context).split())
        context["subject"] = subject
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("surveys/email/survey.txt", context),
            to=[survey.contact.email],
            headers={"Message-ID": _message_id("survey", survey.pk), "Content-Language": survey.language},
        )
        message.attach_alternative(render_to_string("surveys/email/survey.html", context), "text/html")
    return message


@transaction.atomic
def survey_email_deliver(*, survey_id: int) -> bool:
    """Email a sent survey's link to the customer, once; returns whether an email left now.

    The row stays locked while the email is handed to the mail server, so two deliveries
    of one survey (a retried task, the sweep) never both send it.
    """
    survey = (
        Survey.objects.select_for_update(of=("self",))
        .select_related("contact", "template", "team")
        .filter(pk=survey_id)
        .first()
    )
    if survey is None or not survey.email_wanted or survey.emailed:
        return False
    if survey.status != SurveyStatus.SENT or survey.is_expired():
        return False
    if not can_email(survey.contact):  # consent withdrawn since the survey was sent
        return False
    _email(survey).send()
    survey.emailed = True
    survey.save(update_fields=["emailed", "updated_at"])
    sync.stamp(survey)
    return True


def whatsapp_text(survey: Survey) -> str:
    """The message a rep sends on WhatsApp, in the customer's language, with the survey's link."""
    from crm.channels import whatsapp_greeting

    with translation.override(survey.language):
        return whatsapp_greeting(survey.contact) + gettext(
            "how did it go with %(company)s? One question, under a minute: %(url)s"
        ) % {"company": survey_company_name(survey), "url": tokens.survey_url(survey)}


def whatsapp_link(survey: Survey) -> str:
    """A wa.me link that opens WhatsApp with `whatsapp_text` ready to send; empty without consent."""
    from crm.channels import whatsapp_url

    if survey.channel != SurveyChannel.WHATSAPP or not can_whatsapp(survey.contact) or not survey.nonce:
        return ""
    return whatsapp_url(survey.contact.phone, whatsapp_text(survey))


# ---- after a won deal ----


def after_sale_surveys_queue(*, deal) -> None:
    """Called when a deal is won: queue the surveys of its pipeline that are due on the day of the win.

    Later ones (send_after_days > 0) are sent by the hourly sweep once their day comes.
    """
    templates = list(
        SurveyTemplate.objects.filter(is_active=True, pipelines=deal.pipeline_id, send_after_days=0).values_list(
            "pk", flat=True
        )
    )
    if not templates or deal.contact_id is None:
        return
    deal_id = deal.pk

    def queue():
        from surveys.tasks import survey_send_after_sale

        for template_id in templates:
            try:
                survey_send_after_sale.delay(deal_id, template_id)
            except Exception:
                logger.exception("after-sale survey of deal %s not queued; the sweep will send it", deal_id)

    transaction.on_commit(queue)


def after_sale_surveys_due(*, now=None) -> list[tuple[int, int]]:
    """(deal id, template id) of won deals whose survey day has come and whose survey was not sent."""
    from django.db.models import Exists, OuterRef

    from pipeline.models import Deal, StageKind

    now = now or timezone.now()
    due = []
    for template in SurveyTemplate.objects.filter(is_active=True).prefetch_related("pipelines"):
        pipelines = [pipeline.pk for pipeline in template.pipelines.all()]
        if not pipelines:
            continue
        latest = now - timedelta(days=template.send_after_days)
        deals = (
            Deal.objects.filter(
                pipeline_id__in=pipelines,
                stage__kind=StageKind.WON,
                contact__isnull=False,
                closed_at__lte=latest,
                closed_at__gt=latest - timedelta(days=AFTER_SALE_CATCH_UP_DAYS),
            )
            .filter(~Exists(Survey.objects.filter(deal=OuterRef("pk"), template=template)))
            .values_list("pk", flat=True)
        )
        due += [(deal_id, template.pk) for deal_id in deals]
    return due


def survey_send_after_sale(*, deal_id: int, template_id: int) -> Survey | None:
    """Send a pipeline's survey for a won deal (from a task); None when a rule says no or it was sent already."""
    from pipeline.models import Deal, StageKind

    deal = Deal.objects.select_related("contact", "stage", "owner", "team").filter(pk=deal_id).first()
    template = SurveyTemplate.objects.filter(pk=template_id, is_active=True).first()
    if deal is None or template is None or deal.contact is None or deal.stage.kind != StageKind.WON:
        return None
    if Survey.objects.filter(deal=deal, template=template).exists():
        return None
    try:
        return survey_send(template=template, contact=deal.contact, deal=deal, by=None)
    except SurveyRefused as refusal:
        logger.info("after-sale survey of deal %s not sent: %s", deal_id, "; ".join(refusal.messages))
        return None


def surveys_unsent_email_ids(*, now=None) -> list[int]:
    """Surveys to be emailed whose email has not left yet (a lost task message), from the last day."""
    now = now or timezone.now()
    return list(
        Survey.objects.filter(
            status=SurveyStatus.SENT,
            email_wanted=True,
            emailed=False,
            sent_at__gt=now - timedelta(days=1),
            sent_at__lt=now - timedelta(minutes=5),
        ).values_list("pk", flat=True)
    )


# ---- answering ----


class SurveyClosed(Exception):
    """The link cannot be answered any more: `reason` is "used", "expired" or "invalid"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def survey_for_token(token: str, *, lock: bool = False) -> Survey:
    """The survey a link opens, or SurveyClosed saying why not (forged, expired, already answered)."""
    try:
        survey_id, nonce = tokens.read_token(token)
    except tokens.ExpiredToken:
        raise SurveyClosed("expired") from None
    except tokens.BadToken:
        raise SurveyClosed("invalid") from None
    surveys = Survey.objects.select_related("template", "contact", "team")
    if lock:
        surveys = surveys.select_for_update(of=("self",))
    survey = surveys.filter(pk=survey_id).first()
    if survey is None:
        raise SurveyClosed("invalid")
    if survey.status == SurveyStatus.RESPONDED:
        raise SurveyClosed("used")
    if not survey.nonce or not constant_time_compare(survey.nonce, nonce):
        raise SurveyClosed("invalid")
    if survey.is_expired():
        raise SurveyClosed("expired")
    return survey


def parse_score(survey: Survey, raw) -> int:
    """The score typed or chosen, within the survey's scale, or a ValidationError in the active language."""
    low, high = SCALES[survey.kind]
    error = ValidationError(
        {
            "score": _("Choose a score from %(low)s to %(high)s.")
            % {"low": formatting.count(low), "high": formatting.count(high)}
        }
    )
    text = str(raw if raw is not None else "").strip()
    from core.text import normalize_digits

    text = normalize_digits(text)
    if not text.isascii() or not text.isdigit() or len(text) > 2:
        raise error
    score = int(text)
    if not low <= score <= high:
        raise error
    return score


def clean_comment(raw) -> str:
    comment = clean_text(str(raw or ""), multiline=True).strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            {
                "comment": _("Keep the comment under %(max)s characters (it has %(length)s).")
                % {"max": formatting.count(COMMENT_MAX_LENGTH), "length": formatting.count(len(comment))}
            }
        )
    return comment


def next_working_morning(user, moment: datetime) -> datetime:
    """09:00 in `user`'s time zone: today's if it is still ahead, else tomorrow's.

    Safqa has no notion of a team's weekend yet, so no day is skipped.
    """
    with user_locale(user):
        local = timezone.localtime(moment)
        candidate = timezone.make_aware(datetime.combine(local.date(), time(FOLLOW_UP_HOUR)))
        if candidate <= moment:
            candidate = timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time(FOLLOW_UP_HOUR)))
    return candidate


@transaction.atomic
def survey_respond(*, token: str, score, comment="", now=None) -> SurveyResponse:
    """Record a customer's answer to the survey `token` opens; the link is spent.

    Raises SurveyClosed for a forged, expired or used link and ValidationError for an
    answer out of range or too long; nothing is written then. A low score becomes a
    follow-up for the owner, due their next working morning, and a notification to
    their managers.
    """
    now = now or timezone.now()
    survey = survey_for_token(token, lock=True)
    with translation.override(survey.language):
        score = parse_score(survey, score)
        comment = clean_comment(comment)
    response = SurveyResponse(
        survey=survey,
        kind=survey.kind,
        score=score,
        comment=comment,
        responded_at=now,
        contact=survey.contact,
        deal_id=survey.deal_id,
        team=survey.team,
        owner=survey.owner,
    )
    response.full_clean(exclude=["survey", "follow_up"])
    response.save()
    survey.status = SurveyStatus.RESPONDED
    survey.responded_at = now
    survey.nonce = ""
    survey.save(update_fields=["status", "responded_at", "nonce", "updated_at"])
    if is_low_score(survey.kind, score):
        response.follow_up = _low_score_follow_up(response)
        response.save(update_fields=["follow_up", "updated_at"])
        _notify_managers(response)
    mark_dirty_for(team=survey.team, when=now, reason="survey answered")
    sync.stamp(survey)
    sync.stamp(response)
    webhook_events.emit("survey.responded", response)
    return response


def _customer_label(response: SurveyResponse) -> str:
    deal = response.deal
    return str((deal.company if deal is not None else None) or response.contact)


def _low_score_follow_up(response: SurveyResponse):
    from crm.models import FollowUpKind
    from crm.services import follow_up_schedule

    owner = response.owner
    with user_locale(owner):
        subject = gettext("Unhappy customer: %(customer)s answered %(score)s of %(high)s") % {
            "customer": formatting.isolate(_customer_label(response)),
            "score": formatting.count(response.score),
            "high": formatting.count(SCALES[response.kind][1]),
        }
        notes = response.comment
    try:
        return follow_up_schedule(
            by=owner,
            assignee=owner,
            subject=subject[:200],
            notes=notes,
            due_at=next_working_morning(owner, response.responded_at),
            contact=response.contact,
            deal=response.deal,
            kind=FollowUpKind.MANUAL,
        )
    except ValidationError:
        # The owner left every team: the managers' notification still tells someone.
        logger.warning("no follow-up for survey answer %s: its owner has no team", response.pk)
        return None


def _managers_of(response: SurveyResponse) -> list:
    from accounts.models import Membership

    manager_ids = set(
        Membership.objects.filter(team_id=response.team_id, is_manager=True).values_list("user_id", flat=True)
    )
    owner_teams = Membership.objects.filter(user_id=response.owner_id).values("team_id")
    manager_ids |= set(
        Membership.objects.filter(team_id__in=owner_teams, is_manager=True).values_list("user_id", flat=True)
    )
    manager_ids.discard(response.owner_id)
    from accounts.models import User

    return list(User.objects.filter(pk__in=manager_ids, is_active=True).order_by("pk"))


def _notify_managers(response: SurveyResponse) -> None:
    from notifications.models import NotificationKind
    from notifications.services import notification_send

    url = reverse("crm:contact_detail", args=[response.contact_id])
    if response.deal_id:
        url = reverse("pipeline:deal_detail", args=[response.deal_id])
    for manager in _managers_of(response):
        with user_locale(manager):
            title = gettext("Unhappy customer: %(customer)s answered %(score)s of %(high)s") % {
                "customer": formatting.isolate(_customer_label(response)),
                "score": formatting.count(response.score),
                "high": formatting.count(SCALES[response.kind][1]),
            }
            body = gettext("Survey answer for %(owner)s's customer; a follow-up is due %(when)s.") % {
                "owner": formatting.isolate(response.owner.get_full_name() or response.owner.username),
                "when": formatting.datetime(response.follow_up.due_at) if response.follow_up else "—",
            }
        notification_send(recipient=manager, kind=NotificationKind.SURVEY_LOW_SCORE, title=title, body=body, url=url)


def tombstone_deleted(sender, instance, **kwargs) -> None:
    """post_delete receiver: a deleted survey or answer (its contact was deleted) gets its sync tombstone."""
    sync.tombstone_write(instance)
