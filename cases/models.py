"""Support cases after the sale (طلب دعم): a customer's problem or question, tracked until it is solved."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import CleanCharField, CleanTextField
from core.models import SyncedModel, TimeStampedModel
from core.querysets import OwnedQuerySet


class CasePriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_ON_CUSTOMER = "waiting_on_customer", _("Waiting on customer")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", pgettext_lazy("support case status", "Closed")


# Statuses in which the case still needs work from the team.
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.WAITING_ON_CUSTOMER)


def response_hours(priority: str) -> int:
    """Hours within which a case of `priority` must get its first response (settings.CASE_RESPONSE_HOURS)."""
    return int(settings.CASE_RESPONSE_HOURS[priority])


def _minutes_between(start, end) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds() // 60))


class CaseQuerySet(OwnedQuerySet):
    """Visible as deals are: the owner, the managers of its team and of its owner's teams, admins."""

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now=None):
        """Open cases whose response time has passed with no response yet."""
        return self.open().filter(first_response_at__isnull=True, due_at__lt=now or timezone.now())


class Case(SyncedModel, TimeStampedModel):
    """A customer's problem or question after the sale, owned by one member until it is solved."""

    subject = CleanCharField(_("subject"), max_length=200)
    description = CleanTextField(_("description"), blank=True)
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.PROTECT, related_name="cases", verbose_name=_("contact")
    )
    company = models.ForeignKey(
        "crm.Company", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("company")
    )
    deal = models.ForeignKey(
        "pipeline.Deal", on_delete=models.SET_NULL, null=True, blank=True, related_name="cases", verbose_name=_("deal")
    )
    priority = models.CharField(_("priority"), max_length=8, choices=CasePriority.choices, default=CasePriority.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases", verbose_name=_("owner")
    )
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="cases", verbose_name=_("team"))
    due_at = models.DateTimeField(_("respond by"))
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Whole minutes from opening to the first response and to the solution, kept with the times they
    # follow from (`derive`): the KPI rollups group them for exact medians on any database.
    response_minutes = models.PositiveIntegerField(
        _("minutes to first response"), null=True, blank=True, editable=False
    )
    solution_minutes = models.PositiveIntegerField(_("minutes to solution"), null=True, blank=True, editable=False)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("support case")
        verbose_name_plural = _("support cases")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "status"], name="case_owner_status_idx"),
            models.Index(fields=["team", "status"], name="case_team_status_idx"),
            models.Index(fields=["contact", "-created_at"], name="case_contact_time_idx"),
            models.Index(fields=["deal", "-created_at"], name="case_deal_time_idx"),
            models.Index(fields=["due_at"], name="case_due_idx"),
            # Today's live support figures on the dashboard read one day of a team's answers and solutions.
            models.Index(fields=["team", "first_response_at"], name="case_team_responded_idx"),
            models.Index(fields=["team", "solved_at"], name="case_team_solved_idx"),
            models.Index(fields=["updated_at", "id"], name="case_updated_id_idx"),
        ]

    def __str__(self):
        return self.subject

    def get_absolute_url(self):
        return reverse("cases:case_detail", args=[self.pk])

    def save(self, *args, **kwargs):
        self.derive()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "response_minutes", "solution_minutes"}
        super().save(*args, **kwargs)

    def derive(self) -> None:
        """Set the minutes to first response and to solution from the case's times."""
        self.response_minutes = _minutes_between(self.created_at, self.first_response_at)
        self.solution_minutes = _minutes_between(self.created_at, self.solved_at)

    def clean(self):
        errors = {}
        if self.contact_id and self.team_id and self.contact.team_id != self.team_id:
            errors["contact"] = _("The contact belongs to another team.")
        if self.company_id and self.contact_id and self.contact.company_id not in (None, self.company_id):
            errors["company"] = _("The contact works for another company.")
        if self.deal_id and self.contact_id:
            deal = self.deal
            if deal.contact_id not in (None, self.contact_id) and deal.company_id != self.contact.company_id:
                errors["deal"] = _("The deal is with another customer.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.first_response_at is None and self.due_at < timezone.now()
