"""Team members: users with a role, the teams they belong to, and who manages whom."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import CleanCharField
from core.models import TimeStampedModel
from core.querysets import ReferenceQuerySet


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone."), code="invalid_time_zone", params={"value": value}
        )


# The API schema (core.api.schema) offers the zones the profile page offers (Area/City names) as the
# request's enum; the legacy aliases it leaves out (GMT0, GMT+0, …) also collide as generated-client names.
validate_time_zone.openapi_schema = lambda: {"enum": [name for name, _label in time_zone_choices()]}


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

    # AbstractUser's name fields, declared again so the names people type follow the text rule.
    first_name = CleanCharField(_("first name"), max_length=150, blank=True)
    last_name = CleanCharField(_("last name"), max_length=150, blank=True)

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

    digits = models.CharField(
        _("digits"),
        max_length=4,
        choices=[("latn", _("Latin digits (1 2 3)")), ("arab", _("Arabic-Indic digits (١ ٢ ٣)"))],
        default="latn",
        help_text=_("How numbers, amounts and dates are written in the Arabic interface."),
    )
    show_hijri = models.BooleanField(
        _("show Hijri dates"),
        default=False,
        help_text=_("Show the Umm al-Qura (Hijri) date beside every Gregorian date."),
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

    name = CleanCharField(_("name"), max_length=120, unique=True)
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


class ApiTokenQuerySet(ReferenceQuerySet):
    """A member sees and revokes only their own tokens; admins see all."""

    def visible_q(self, user):
        return models.Q(user_id=user.pk)

    def editable_q(self, user):
        return models.Q(user_id=user.pk)

    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(TimeStampedModel):
    """A personal API token: `Authorization: Bearer sfq_<prefix>_<secret>`.

    Only a SHA-256 hash of the whole token is stored; the token itself is shown
    once, when it is created. Tokens carry 256 bits of randomness, so a fast hash
    is enough (a slow password hash would only slow every API call down).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = CleanCharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} (sfq_{self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class QuotaPeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")


class QuotaQuerySet(ReferenceQuerySet):
    """A rep sees their own quotas; managers see and set those of the people in the teams they manage."""

    def visible_q(self, user):
        from core.querysets import managed_user_ids

        return models.Q(rep_id=user.pk) | models.Q(rep_id__in=managed_user_ids(user))

    def editable_q(self, user):
        from core.querysets import managed_user_ids

        # A rep never sets their own target, even though they see it.
        return models.Q(rep_id__in=managed_user_ids(user)) & ~models.Q(rep_id=user.pk)

    def active(self):
        return self.filter(superseded_at__isnull=True)


class Quota(TimeStampedModel):
    """A rep's sales target (quota) for one month or quarter: won value in one currency, won deals, activities.

    Setting a new target for the same rep, period and currency supersedes the
    previous one (`superseded_at`) instead of overwriting it, so the history stays.
    """

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quotas", verbose_name=_("sales rep")
    )
    period_kind = models.CharField(_("period"), max_length=8, choices=QuotaPeriod.choices, default=QuotaPeriod.MONTH)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    target_won_value = models.DecimalField(_("target won value"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3)
    target_won_deals = models.PositiveIntegerField(_("target won deals"), default=0)
    target_activities = models.PositiveIntegerField(_("target activities"), default=0)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set by"),
    )
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)

    objects = QuotaQuerySet.as_manager()

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["-period_start", "rep", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rep", "period_kind", "period_start", "currency"],
                condition=models.Q(superseded_at__isnull=True),
                name="quota_unique_active_rep_period_currency",
            )
        ]
        indexes = [models.Index(fields=["rep", "period_start"], name="quota_rep_period_idx")]

    def __str__(self):
        return f"{self.rep} · {self.period_start:%Y-%m} · {self.target_won_value} {self.currency}"

    def clean(self):
        from core.money import validate_amount, validate_currency

        errors = {}
        try:
            validate_currency(self.currency)
        except ValidationError as error:
            errors["currency"] = error.messages
        try:
            validate_amount(self.target_won_value)
        except ValidationError as error:
            errors["target_won_value"] = error.messages
        if self.period_start and self.period_end and self.period_end < self.period_start:
            errors["period_end"] = [_("The period cannot end before it starts.")]
        if errors:
            raise ValidationError(errors)
