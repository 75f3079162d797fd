"""In-app notifications (the bell) and the record of the morning digests sent."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.querysets import VisibleQuerySet


class PersonalQuerySet(VisibleQuerySet):
    """Records addressed to one member: everyone, administrators included, sees only their own.

    The base class lets administrators see every record; that is right for
    customers and deals but not for someone else's inbox, so both entry points
    are narrowed here (the Django admin still lists everything, for support).
    """

    person_field = "recipient"

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(self.visible_q(user))

    def editable_by(self, user):
        return self.visible_to(user)

    def visible_q(self, user) -> Q:
        return Q(**{f"{self.person_field}_id": user.pk})

    def editable_q(self, user) -> Q:
        return self.visible_q(user)


class NotificationQuerySet(PersonalQuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", _("Follow-up reminder")
    SURVEY_LOW_SCORE = "survey_low", _("Unhappy survey answer")


class Notification(TimeStampedModel):
    """Something Safqa tells one member in the app: for now, that a follow-up is coming due.

    Title and body are written in the recipient's language and time zone when the
    notification is created, like the email that goes with it.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NotificationKind.choices)
    title = models.CharField(_("title"), max_length=250)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    follow_up = models.ForeignKey(
        "crm.FollowUp",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("follow-up"),
    )
    # The reminder time this notification delivers: together with the follow-up and
    # the recipient it is the reminder's identity, so a retried or duplicated
    # delivery finds the notification instead of creating a second one, while a
    # follow-up moved to a new time (a new reminder) gets a new notification.
    reminder_for = models.DateTimeField(_("reminder time"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    email_message_id = models.CharField(_("email Message-ID"), max_length=250, blank=True)
    email_sent_at = models.DateTimeField(_("email sent at"), null=True, blank=True)
    email_error = models.TextField(_("email error"), blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "follow_up", "reminder_for"],
                condition=Q(follow_up__isnull=False, reminder_for__isnull=False),
                name="notification_one_per_reminder",
            )
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return self.url

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class DailyDigestQuerySet(PersonalQuerySet):
    person_field = "user"


class DailyDigest(TimeStampedModel):
    """One member's morning digest for one local day: the row is the "already done" mark.

    It is written in the same transaction that sends the email, so a digest is
    sent at most once a day whatever runs the check; a day with nothing to say
    keeps its row with no email.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_digests", verbose_name=_("user")
    )
    day = models.DateField(_("day"))
    follow_up_count = models.PositiveIntegerField(_("follow-ups"), default=0)
    deal_count = models.PositiveIntegerField(_("deals"), default=0)
    email_message_id = models.CharField(_("email Message-ID"), max_length=250, blank=True)
    email_sent_at = models.DateTimeField(_("email sent at"), null=True, blank=True)

    objects = DailyDigestQuerySet.as_manager()

    class Meta:
        verbose_name = _("morning digest")
        verbose_name_plural = _("morning digests")
        ordering = ["-day", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="daily_digest_one_per_day")]

    def __str__(self):
        return f"{self.user} · {self.day.isoformat()}"
