"""Team members: users with a role, the teams they belong to, and who manages whom."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.querysets import ReferenceQuerySet


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone."), code="invalid_time_zone", params={"value": value}
        )


def time_zone_choices() -> list[tuple[str, str]]:
    return [
        (name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name and not name.startswith("Etc/")
    ]


class Role(models.TextChoices):
    REP = "rep", _("Sales rep")
    MANAGER = "manager", _("Sales manager")
    ADMIN = "admin", _("Administrator")


class UserQuerySet(ReferenceQuerySet):
    """Colleagues are visible to every signed-in member; only admins edit them."""


class SafqaUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A person who signs in to Safqa: a sales rep, a sales manager or an administrator."""

    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.REP)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ar")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Riyadh", validators=[validate_time_zone])
    reminder_offset_minutes = models.PositiveIntegerField(
        _("default reminder offset (minutes)"),
        default=0,
        help_text=_(
            "How many minutes before a follow-up is due its reminder is sent, unless the follow-up sets its own."
        ),
    )

    objects = SafqaUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["first_name", "last_name", "username"]

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    def primary_team(self):
        """The team new records of this user belong to: the first one they joined."""
        membership = self.memberships.select_related("team").order_by("created_at", "pk").first()
        return membership.team if membership else None


class Team(TimeStampedModel):
    """A sales team: its members, its managers, and its working time zone."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Riyadh", validators=[validate_time_zone])
    going_cold_days = models.PositiveSmallIntegerField(
        _("days without contact before a customer is going cold"),
        default=14,
        help_text=_("A customer with an open deal and no activity for this many days needs contact."),
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("sales team")
        verbose_name_plural = _("sales teams")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(TimeStampedModel):
    """A user's place in a team; `is_manager` makes them manager of that team."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team"))
    is_manager = models.BooleanField(_("manages this team"), default=False)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["team__name", "-is_manager", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team")]
        indexes = [models.Index(fields=["user", "is_manager"], name="membership_user_manager_idx")]

    def __str__(self):
        return f"{self.user} · {self.team}"

    def clean(self):
        if self.is_manager and self.user_id and self.user.role == Role.REP:
            raise ValidationError(
                {
                    "is_manager": _(
                        "Only a sales manager or an administrator can manage a team. Change the user's role first."
                    )
                }
            )
