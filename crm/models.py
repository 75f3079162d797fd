"""Customers: companies, their contacts, what happened with them (activities) and what must happen next (follow-ups)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.fields import CleanCharField, CleanTextField, CleanURLField
from core.models import SyncedModel, TimeStampedModel, VersionedModel
from core.phones import read_phone
from core.querysets import OwnedQuerySet, ReferenceQuerySet, TeamSharedQuerySet
from core.text import normalize_text

country_code_validator = RegexValidator(
    r"^[A-Z]{2}$", _("Use a two-letter ISO country code, for example SA or AE."), code="invalid_country"
)


class Tag(TimeStampedModel):
    """A label a team puts on companies and contacts (e.g. "VIP", "حكومي")."""

    name = CleanCharField(_("name"), max_length=60, unique=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class CustomerQuerySet(TeamSharedQuerySet):
    """Companies and contacts: shared with the team, edited by the owner and managers."""


class PhoneMixin(models.Model):
    """A phone stored in E.164 for search and dialling, with the number as typed kept beside it."""

    phone_raw = CleanCharField(_("phone"), max_length=40, blank=True)
    # Indexed by the models (Meta.indexes): a plain B-tree serves equality; db_index would add a
    # LIKE-pattern index beside it that no query uses and every write pays for.
    phone = models.CharField(_("phone (E.164)"), max_length=20, blank=True, editable=False)
    # False for a number of a possible length that the phone library's metadata does not list
    # (core.phones.read_phone): kept as typed and shown with a warning. The database default
    # lets writers that list their columns (COPY, the bench seed) leave it out.
    phone_verified = models.BooleanField(_("phone verified"), default=True, db_default=True, editable=False)

    class Meta:
        abstract = True

    def clean_phone(self):
        """Derive the E.164 form from what was typed; an impossible number is a field error, an unlisted one unverified."""
        if self.phone_raw.strip():
            try:
                self.phone, self.phone_verified = read_phone(self.phone_raw)
            except ValidationError as error:
                raise ValidationError({"phone_raw": error.messages}) from None
        else:
            self.phone_raw = ""
            self.phone = ""
            self.phone_verified = True


class Company(PhoneMixin, SyncedModel, TimeStampedModel):
    """A customer organisation (an account)."""

    name = CleanCharField(_("name"), max_length=200)
    name_normalized = models.CharField(max_length=200, editable=False)
    website = CleanURLField(_("website"), blank=True)
    industry = CleanCharField(_("industry"), max_length=120, blank=True)
    city = CleanCharField(_("city"), max_length=120, blank=True)
    country = CleanCharField(_("country"), max_length=2, blank=True, validators=[country_code_validator])
    notes = CleanTextField(_("notes"), blank=True)
    # Owner and team are indexed as the first columns of the composite indexes below.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="companies",
        verbose_name=_("owner"),
        db_index=False,
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="companies", verbose_name=_("team"), db_index=False
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies", verbose_name=_("tags"))
    external_source = CleanCharField(_("external source"), max_length=60, blank=True)
    external_id = CleanCharField(_("external id"), max_length=120, blank=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["team", "name_normalized"], name="company_team_name_idx"),
            models.Index(fields=["owner", "updated_at"], name="company_owner_updated_idx"),
            models.Index(fields=["city"], name="company_city_idx"),
            models.Index(fields=["name_normalized"], name="company_name_idx"),
            models.Index(fields=["phone"], name="company_phone_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="company_unique_external_id",
            )
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # Derived search column: kept in save() so no write path can forget it.
        self.derive()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("crm:company_detail", args=[self.pk])

    def derive(self) -> None:
        """Set the derived columns (save() does; so must every bulk write, which bypasses save())."""
        self.name_normalized = normalize_text(self.name)

    def clean(self):
        self.clean_phone()


class PreferredChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    WHATSAPP = "whatsapp", _("WhatsApp")
    SMS = "sms", _("Text message")
    EMAIL = "email", _("Email")
    IN_PERSON = "in_person", _("In person")


class Contact(PhoneMixin, SyncedModel, TimeStampedModel):
    """A person at a customer: how to reach them, how they prefer to be reached, and what they consented to."""

    first_name = CleanCharField(_("first name"), max_length=100)
    last_name = CleanCharField(_("last name"), max_length=100, blank=True)
    name_normalized = models.CharField(max_length=210, editable=False)
    job_title = CleanCharField(_("job title"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts", verbose_name=_("company")
    )
    # Owner and team are indexed as the first columns of the composite indexes below.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="contacts",
        verbose_name=_("owner"),
        db_index=False,
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="contacts", verbose_name=_("team"), db_index=False
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", verbose_name=_("tags"))
    notes = CleanTextField(_("notes"), blank=True)

    # How the customer wants to be served: respected by every rep and every reminder.
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=12, choices=PreferredChannel.choices, blank=True
    )
    preferred_language = models.CharField(_("preferred language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    accessibility_needs = CleanTextField(
        _("accessibility needs"),
        blank=True,
        help_text=_("What helps this customer: e.g. call before visiting, speak slowly, documents in braille."),
    )
    needs_sign_language = models.BooleanField(_("needs a sign-language interpreter"), default=False)
    needs_large_print = models.BooleanField(_("needs large print"), default=False)
    uses_screen_reader = models.BooleanField(_("uses a screen reader"), default=False)

    # Consent: nothing is shared or sent for marketing without it.
    consent_marketing = models.BooleanField(_("consents to marketing messages"), default=False)
    consent_data_sharing = models.BooleanField(_("consents to sharing data with partners"), default=False)
    # Which channels the customer agreed to be contacted on by their reps (service contact, not
    # marketing): a channel without consent is never offered as an action. Phone and email were
    # how existing customers were reached, so they default to yes; WhatsApp is asked for.
    # Database defaults too: rows written by COPY or hand-written SQL (batch writes, the benchmark's floor)
    # get the same answer as the model's.
    consent_phone = models.BooleanField(_("agrees to phone calls"), default=True, db_default=True)
    consent_whatsapp = models.BooleanField(_("agrees to WhatsApp messages"), default=False, db_default=False)
    consent_email = models.BooleanField(_("agrees to emails"), default=True, db_default=True)
    consent_updated_at = models.DateTimeField(_("consent updated at"), null=True, blank=True)

    last_contacted_at = models.DateTimeField(_("last contacted at"), null=True, blank=True, db_index=True)
    external_source = CleanCharField(_("external source"), max_length=60, blank=True)
    external_id = CleanCharField(_("external id"), max_length=120, blank=True)
    # Indexed as the first column of contact_updated_id_idx.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["first_name", "last_name", "pk"]
        indexes = [
            models.Index(fields=["team", "name_normalized"], name="contact_team_name_idx"),
            models.Index(fields=["owner", "updated_at"], name="contact_owner_updated_idx"),
            models.Index(fields=["updated_at", "id"], name="contact_updated_id_idx"),
            models.Index(fields=["name_normalized"], name="contact_name_idx"),
            models.Index(fields=["email"], name="contact_email_idx"),
            models.Index(fields=["phone"], name="contact_phone_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="contact_unique_external_id",
            )
        ]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        # Derived search column: kept in save() so no write path can forget it.
        self.derive()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("crm:contact_detail", args=[self.pk])

    def derive(self) -> None:
        """Set the derived columns (save() does; so must every bulk write, which bypasses save())."""
        self.name_normalized = normalize_text(self.full_name)
        if self.email:
            self.email = self.email.strip().lower()

    def clean(self):
        self.clean_phone()
        if self.company_id and self.team_id and self.company.team_id != self.team_id:
            raise ValidationError({"company": _("The company belongs to another team.")})

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    NOTE = "note", _("Note")


class ActivityOutcome(models.TextChoices):
    CONNECTED = "connected", _("Reached the customer")
    NO_ANSWER = "no_answer", _("No answer")
    LEFT_MESSAGE = "left_message", _("Left a message")
    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")


class ActivityQuerySet(OwnedQuerySet):
    owner_field = "actor"


class Activity(VersionedModel, TimeStampedModel):
    """Something that happened with a customer: a call, a meeting, an email or a note."""

    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(_("when"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=ActivityOutcome.choices, blank=True)
    subject = CleanCharField(_("subject"), max_length=200, blank=True)
    body = CleanTextField(_("note"), blank=True)
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="activities", verbose_name=_("contact")
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="activities", verbose_name=_("company")
    )
    deal = models.ForeignKey(
        "pipeline.Deal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("deal"),
    )
    # The support case the activity was work on (cases app), if any; the case's first one is its first response.
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("support case"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities", verbose_name=_("logged by")
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="activities", verbose_name=_("team")
    )

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"], name="activity_contact_time_idx"),
            models.Index(fields=["company", "-occurred_at"], name="activity_company_time_idx"),
            models.Index(fields=["deal", "-occurred_at"], name="activity_deal_time_idx"),
            models.Index(fields=["actor", "occurred_at"], name="activity_actor_time_idx"),
            models.Index(fields=["team", "occurred_at"], name="activity_team_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False)
                | models.Q(company__isnull=False)
                | models.Q(deal__isnull=False),
                name="activity_has_subject",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.subject or self.occurred_at.date().isoformat()}"

    def clean(self):
        if not (self.contact_id or self.company_id or self.deal_id):
            raise ValidationError(_("Link the activity to a contact, a company or a deal."))


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUpKind(models.TextChoices):
    MANUAL = "manual", _("Follow-up")
    GOING_COLD = "going_cold", _("Customer going cold")
    AFTER_SALE = "after_sale", _("After-sale check-in")


class ReminderState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class FollowUpQuerySet(OwnedQuerySet):
    owner_field = "assignee"


class FollowUp(VersionedModel, TimeStampedModel):
    """A promise to get back to a customer by a given time, with its reminder."""

    subject = CleanCharField(_("subject"), max_length=200)
    notes = CleanTextField(_("note"), blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=FollowUpKind.choices, default=FollowUpKind.MANUAL)
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="follow_ups", verbose_name=_("contact")
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="follow_ups", verbose_name=_("company")
    )
    deal = models.ForeignKey(
        "pipeline.Deal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("deal"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("assignee")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups_created",
        verbose_name=_("created by"),
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("team")
    )

    # Reminder delivery state; the database, not the broker, decides what is due.
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminder_state = models.CharField(
        _("reminder state"), max_length=10, choices=ReminderState.choices, default=ReminderState.PENDING
    )
    reminder_attempts = models.PositiveSmallIntegerField(_("reminder attempts"), default=0)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    reminder_error = models.TextField(_("reminder error"), blank=True)
    # Start of the current delivery attempt (state "sending"): a claim older than the
    # lease whose row is not locked by a live sender was lost (worker killed, broker
    # emptied) and is claimed again by the dispatcher.
    reminder_claimed_at = models.DateTimeField(_("reminder claimed at"), null=True, blank=True)
    # After a failed attempt, the reminder waits until then (exponential backoff).
    reminder_next_attempt_at = models.DateTimeField(_("next reminder attempt"), null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="followup_assignee_due_idx"),
            models.Index(fields=["team", "status", "due_at"], name="followup_team_due_idx"),
            models.Index(fields=["reminder_state", "remind_at"], name="followup_reminder_idx"),
            models.Index(fields=["updated_at"], name="followup_updated_idx"),
        ]

    def __str__(self):
        return self.subject

    def clean(self):
        if self.remind_at and self.due_at and self.remind_at > self.due_at:
            raise ValidationError({"remind_at": _("The reminder must come before the follow-up is due.")})

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        return self.status == FollowUpStatus.OPEN and self.due_at < timezone.now()
