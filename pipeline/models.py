"""Deals and the pipelines they move through."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.fields import CleanCharField, CleanTextField
from core.models import BilingualNameModel, SyncedModel, TimeStampedModel, VersionedModel
from core.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, validate_amount, validate_currency
from core.querysets import OwnedQuerySet, ReferenceQuerySet, VisibleQuerySet
from core.text import normalize_digits


class Pipeline(VersionedModel, BilingualNameModel, TimeStampedModel):
    """A sequence of stages a deal moves through (e.g. "New business", "Renewals")."""

    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    after_sale_checkin_days = models.CharField(
        _("after-sale check-ins (days after winning)"),
        max_length=60,
        default="7,30",
        help_text=_("Comma-separated numbers of days, e.g. 7,30."),
    )
    stale_after_days = models.PositiveSmallIntegerField(
        _("stale after (days in a stage)"),
        default=21,
        help_text=_("The board marks an open deal stale after this many days in one stage; 0 switches the mark off."),
    )

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["order", "pk"]

    def clean(self):
        try:
            self.checkin_days()
        except ValueError:
            raise ValidationError(
                {"after_sale_checkin_days": _("Enter whole numbers of days separated by commas, e.g. 7,30.")}
            ) from None

    def checkin_days(self) -> list[int]:
        """Days after a win at which after-sale check-ins are scheduled."""
        # Arabic keyboards type "،" (U+060C) for a comma, and may type Arabic-Indic digits.
        text = normalize_digits(self.after_sale_checkin_days).replace("،", ",")
        days = [int(part) for part in text.split(",") if part.strip()]
        if any(day <= 0 for day in days):
            raise ValueError("check-in days must be positive")
        return days


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(BilingualNameModel, TimeStampedModel):
    """One step of a pipeline, with the probability that a deal in it is won."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    kind = models.CharField(_("kind"), max_length=5, choices=StageKind.choices, default=StageKind.OPEN)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "order", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(probability__lte=100), name="stage_probability_max_100"),
        ]

    def clean(self):
        if self.kind == StageKind.WON and self.probability != 100:
            raise ValidationError({"probability": _("A won stage must have a probability of 100%.")})
        if self.kind == StageKind.LOST and self.probability != 0:
            raise ValidationError({"probability": _("A lost stage must have a probability of 0%.")})


class LossReason(BilingualNameModel, TimeStampedModel):
    """Why deals are lost (price, timing, competitor…): a short list managers keep."""

    is_active = models.BooleanField(_("active"), default=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("loss reason")
        verbose_name_plural = _("loss reasons")
        ordering = ["name"]


class DealSource(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    WEBSITE = "website", _("Website")
    CAMPAIGN = "campaign", _("Campaign")
    COLD_CALL = "cold_call", _("Cold call")
    EVENT = "event", _("Event")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class DealQuerySet(OwnedQuerySet):
    def open(self):
        return self.filter(stage__kind=StageKind.OPEN)

    def won(self):
        return self.filter(stage__kind=StageKind.WON)

    def lost(self):
        return self.filter(stage__kind=StageKind.LOST)


class Deal(SyncedModel, TimeStampedModel):
    """A sale in progress or closed: what, with whom, for how much, and where it stands."""

    title = CleanCharField(_("title"), max_length=200)
    company = models.ForeignKey(
        "crm.Company", on_delete=models.PROTECT, null=True, blank=True, related_name="deals", verbose_name=_("company")
    )
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals", verbose_name=_("contact")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deals", verbose_name=_("owner")
    )
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="deals", verbose_name=_("team"))
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", verbose_name=_("stage"))
    amount = models.DecimalField(
        _("value"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        validators=[validate_amount],
        error_messages={"invalid": _("Enter an amount as a number, for example 15000.50.")},
    )
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), null=True, blank=True)
    loss_reason = models.ForeignKey(
        LossReason, on_delete=models.PROTECT, null=True, blank=True, related_name="deals", verbose_name=_("loss reason")
    )
    loss_note = CleanTextField(_("loss note"), blank=True)
    competitor = CleanCharField(_("competitor"), max_length=120, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=DealSource.choices, blank=True)
    # The deal's id in the system it came from (an import file, another CRM): a second import
    # or bulk upsert of it updates the deal instead of creating it twice. Unique per source.
    # The database default lets writers that list their columns (COPY, the bench seed) leave them out.
    external_source = CleanCharField(_("external source"), max_length=60, blank=True, default="", db_default="")
    external_id = CleanCharField(_("external id"), max_length=120, blank=True, default="", db_default="")

    objects = DealQuerySet.as_manager()

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-updated_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "stage"], name="deal_owner_stage_idx"),
            models.Index(fields=["team", "stage"], name="deal_team_stage_idx"),
            models.Index(fields=["pipeline", "stage"], name="deal_pipeline_stage_idx"),
            models.Index(fields=["expected_close"], name="deal_expected_close_idx"),
            models.Index(fields=["closed_at"], name="deal_closed_at_idx"),
            models.Index(fields=["updated_at", "id"], name="deal_updated_id_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_not_negative"),
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="deal_unique_external_id",
                violation_error_message=_("Another deal already has this external id."),
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("pipeline:deal_detail", args=[self.pk])

    def clean(self):
        errors = {}
        if self.stage_id and self.pipeline_id and self.stage.pipeline_id != self.pipeline_id:
            errors["stage"] = _("The stage belongs to another pipeline.")
        if self.company_id and self.team_id and self.company.team_id != self.team_id:
            errors["company"] = _("The company belongs to another team.")
        if self.contact_id and self.company_id and self.contact.company_id not in (None, self.company_id):
            errors["contact"] = _("The contact works for another company.")
        if self.stage_id and self.stage.kind == StageKind.LOST and not self.loss_reason_id:
            errors["loss_reason"] = _("Choose why the deal was lost.")
        if errors:
            raise ValidationError(errors)


class StageChangeQuerySet(VisibleQuerySet):
    """A stage change is visible exactly when its deal is."""

    def visible_q(self, user):
        return models.Q(deal__in=Deal.objects.visible_to(user).values("pk"))

    def editable_q(self, user):
        return models.Q(pk__in=[])


class StageChange(TimeStampedModel):
    """One move of a deal from a stage to another: the history behind time-in-stage and the funnel."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("deal"))
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("from stage")
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("to stage"))
    at = models.DateTimeField(_("changed at"), db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    objects = StageChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["deal", "at", "pk"]
        indexes = [models.Index(fields=["deal", "at"], name="stagechange_deal_at_idx")]

    def __str__(self):
        return f"{self.deal}: {self.from_stage or '—'} → {self.to_stage}"
