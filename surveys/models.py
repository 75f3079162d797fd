"""Customer satisfaction surveys: the templates admins keep, the surveys sent, and the customers' answers."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import CleanCharField, CleanTextField
from core.models import SyncedModel, TimeStampedModel, VersionedModel
from core.querysets import OwnedQuerySet, ReferenceQuerySet

# The longest comment a customer may leave (characters, after cleaning).
COMMENT_MAX_LENGTH = 2000


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Customer satisfaction (1–5)")
    NPS = "nps", _("Net promoter score (0–10)")


# The scale of each kind: (lowest, highest) score.
SCALES = {SurveyKind.CSAT: (1, 5), SurveyKind.NPS: (0, 10)}
# A score at or below this is an unhappy answer: it becomes a follow-up for the owner.
LOW_SCORE_MAX = {SurveyKind.CSAT: 2, SurveyKind.NPS: 6}
# CSAT: a satisfied customer answers 4 or 5. NPS: promoters answer 9–10, detractors 0–6.
CSAT_SATISFIED_MIN = 4
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6


def is_low_score(kind: str, score: int) -> bool:
    return score <= LOW_SCORE_MAX[kind]


class SurveyChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WHATSAPP = "whatsapp", _("WhatsApp")


class SurveyStatus(models.TextChoices):
    SENT = "sent", _("Waiting for an answer")
    RESPONDED = "responded", _("Answered")


class SurveyTemplate(VersionedModel, TimeStampedModel):
    """A question admins keep, in both languages, and the pipelines that send it after a won deal."""

    name = CleanCharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices, default=SurveyKind.CSAT)
    question_ar = CleanCharField(_("question (Arabic)"), max_length=300)
    question_en = CleanCharField(_("question (English)"), max_length=300)
    pipelines = models.ManyToManyField(
        "pipeline.Pipeline",
        blank=True,
        related_name="survey_templates",
        verbose_name=_("pipelines"),
        help_text=_("A deal won in one of these pipelines gets this survey with its after-sale check-in."),
    )
    send_after_days = models.PositiveSmallIntegerField(
        _("send after (days after winning)"),
        default=7,
        validators=[MinValueValidator(0), MaxValueValidator(365)],
        help_text=_("Days after the deal is won; 0 sends it on the day of the win."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey template")
        verbose_name_plural = _("survey templates")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def question(self, language: str) -> str:
        """The question in `language` (Arabic unless English is asked for and written)."""
        if (language or "").startswith("en") and self.question_en:
            return self.question_en
        return self.question_ar or self.question_en

    @property
    def scale(self) -> tuple[int, int]:
        return SCALES[self.kind]


class SurveyQuerySet(OwnedQuerySet):
    """Surveys and answers are seen like the deal they are about: the owner, their managers, admins.

    `owner` is the deal's owner (the contact's owner for a survey without a deal), so a
    comment is read by exactly the people who may see the deal.
    """

    def responded(self):
        return self.filter(status=SurveyStatus.RESPONDED)


class Survey(SyncedModel, TimeStampedModel):
    """One survey sent to one customer: who, about what, by which channel, and whether it was answered.

    The link the customer gets is a signed token carrying the survey's id and `nonce`
    (surveys.tokens); answering spends the nonce, so a link works once.
    """

    template = models.ForeignKey(
        SurveyTemplate, on_delete=models.PROTECT, related_name="surveys", verbose_name=_("survey template")
    )
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="surveys", verbose_name=_("contact")
    )
    deal = models.ForeignKey(
        "pipeline.Deal",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
        verbose_name=_("deal"),
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
        verbose_name=_("support case"),
        help_text=_("The support case whose solution this survey asks about."),
    )
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="surveys", verbose_name=_("team"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="surveys", verbose_name=_("owner")
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys_sent",
        verbose_name=_("sent by"),
        help_text=_("Empty when Safqa sent it with an after-sale check-in."),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=SurveyChannel.choices)
    # Whether the survey is to be emailed (the customer agreed to emails and no other channel was
    # chosen), and whether that email has left: the hourly sweep sends what is wanted and not sent.
    email_wanted = models.BooleanField(_("to be sent by email"), default=False)
    emailed = models.BooleanField(_("sent by email"), default=False)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    status = models.CharField(_("status"), max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.SENT)
    sent_at = models.DateTimeField(_("sent at"), db_index=True)
    expires_at = models.DateTimeField(_("link expires at"))
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # Random, carried by the signed link; cleared when the survey is answered (single use).
    nonce = models.CharField(max_length=64, blank=True, editable=False)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-sent_at", "-pk"]
        indexes = [
            models.Index(fields=["contact", "-sent_at"], name="survey_contact_sent_idx"),
            models.Index(fields=["owner", "sent_at"], name="survey_owner_sent_idx"),
            models.Index(fields=["team", "sent_at"], name="survey_team_sent_idx"),
            models.Index(fields=["updated_at", "id"], name="survey_updated_id_idx"),
        ]
        constraints = [
            # Never twice for the same deal and template.
            models.UniqueConstraint(
                fields=["deal", "template"],
                condition=models.Q(deal__isnull=False),
                name="survey_once_per_deal_template",
                violation_error_message=_("This survey was already sent for this deal."),
            ),
        ]

    def __str__(self):
        return f"{self.template} · {self.contact}"

    @property
    def is_answered(self) -> bool:
        return self.status == SurveyStatus.RESPONDED

    def is_expired(self, now=None) -> bool:
        from django.utils import timezone

        return (now or timezone.now()) >= self.expires_at


class SurveyResponse(SyncedModel, TimeStampedModel):
    """A customer's answer to a survey: the score, an optional comment, and (copied) who and what it is about.

    Kind, team, owner, contact and deal are copied from the survey so figures and
    visibility read this table alone.
    """

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="response", verbose_name=_("survey"))
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField(_("score"), validators=[MaxValueValidator(10)])
    comment = CleanTextField(_("comment"), blank=True, max_length=COMMENT_MAX_LENGTH)
    responded_at = models.DateTimeField(_("answered at"), db_index=True)
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="survey_responses", verbose_name=_("contact")
    )
    deal = models.ForeignKey(
        "pipeline.Deal",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
        verbose_name=_("deal"),
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="survey_responses", verbose_name=_("team")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="survey_responses", verbose_name=_("owner")
    )
    # The follow-up a low score created for the owner (empty for a good score).
    follow_up = models.ForeignKey(
        "crm.FollowUp",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("follow-up"),
    )

    objects = SurveyQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["-responded_at", "-pk"]
        indexes = [
            models.Index(fields=["contact", "-responded_at"], name="response_contact_time_idx"),
            models.Index(fields=["deal", "-responded_at"], name="response_deal_time_idx"),
            models.Index(fields=["owner", "responded_at"], name="response_owner_time_idx"),
            models.Index(fields=["team", "responded_at"], name="response_team_time_idx"),
            models.Index(fields=["updated_at", "id"], name="response_updated_id_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="csat", score__gte=1, score__lte=5) | models.Q(kind="nps", score__lte=10),
                name="response_score_in_scale",
            ),
        ]

    def __str__(self):
        return f"{self.survey} · {self.score}"

    def clean(self):
        low, high = SCALES.get(self.kind, (0, 10))
        if self.score is not None and not low <= self.score <= high:
            raise ValidationError({"score": _("Choose a score from %(low)d to %(high)d.") % {"low": low, "high": high}})

    @property
    def is_low(self) -> bool:
        return is_low_score(self.kind, self.score)
