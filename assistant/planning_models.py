"""The assistant's rows for My day's next best actions and the dashboard's sales forecast.

Kept apart from models.py (the win model and its scores); models.py imports this module
so Django registers the models in the assistant app.

- SuggestionDismissal: a suggestion a member dismissed, remembered by its key.
- DealScoreSnapshot: each open deal's score once a day, kept a little over a week, so My
  day can tell whose probability fell most this week (DealScore keeps only the latest).
- SalesForecast / SalesForecastMonth: the exponential-smoothing forecast of won value per
  team and currency, its next three months with their interval and its six-month backtest.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.querysets import VisibleQuerySet, scope_of


class SuggestionDismissalQuerySet(VisibleQuerySet):
    """A member's dismissals are theirs alone: nobody else reads or changes them (admins included)."""

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(user=user)

    def editable_by(self, user):
        return self.visible_to(user)

    def visible_q(self, user):
        return models.Q(user=user)

    def editable_q(self, user):
        return models.Q(user=user)


class SuggestionDismissal(TimeStampedModel):
    """A next best action a member dismissed: it stays off their My day.

    The key names the situation, not only the record (`assistant.next_actions`): a deal whose
    probability falls again next week, or a customer who goes cold again after a contact, is a
    new suggestion with a new key, and shows again.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="suggestion_dismissals",
        verbose_name=_("member"),
    )
    key = models.CharField(_("suggestion"), max_length=80)

    objects = SuggestionDismissalQuerySet.as_manager()

    class Meta:
        verbose_name = _("dismissed suggestion")
        verbose_name_plural = _("dismissed suggestions")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="suggestiondismissal_unique_user_key")]

    def __str__(self):
        return f"{self.user_id}: {self.key}"


class DealScoreSnapshotQuerySet(VisibleQuerySet):
    """A snapshot is visible exactly when its deal is; only the worker writes them."""

    def visible_q(self, user):
        from pipeline.models import Deal

        return models.Q(deal__in=Deal.objects.visible_to(user).values("pk"))

    def editable_q(self, user):
        return models.Q(pk__in=[])


class DealScoreSnapshot(models.Model):
    """One open deal's win probability as it stood on one day (UTC), copied from DealScore."""

    deal = models.ForeignKey(
        "pipeline.Deal", on_delete=models.CASCADE, related_name="score_snapshots", verbose_name=_("deal")
    )
    day = models.DateField(_("day"))
    probability = models.DecimalField(_("win probability"), max_digits=5, decimal_places=4)
    model_version = models.PositiveIntegerField(_("model version"))

    objects = DealScoreSnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("deal score snapshot")
        verbose_name_plural = _("deal score snapshots")
        ordering = ["-day", "deal"]
        constraints = [models.UniqueConstraint(fields=["deal", "day"], name="dealscoresnapshot_unique_deal_day")]
        indexes = [models.Index(fields=["day"], name="dealscoresnapshot_day_idx")]

    def __str__(self):
        return f"{self.deal_id} {self.day}: {self.probability}"


class SalesForecastStatus(models.TextChoices):
    FORECAST = "forecast", _("Forecast")
    TOO_SHORT = "too_short", _("History too short")


class SalesForecastMethod(models.TextChoices):
    TREND = "trend", _("Exponential smoothing with a trend (Holt)")
    SEASONAL = "seasonal", _("Exponential smoothing with a trend and a yearly season (Holt-Winters)")
    NONE = "", _("None")


class SalesForecastQuerySet(VisibleQuerySet):
    """A team's forecast is a team figure: its managers and admins read it, nobody edits it by hand."""

    def visible_q(self, user):
        return models.Q(team_id__in=sorted(scope_of(user).managed_team_ids))

    def editable_q(self, user):
        return models.Q(pk__in=[])


class SalesForecast(TimeStampedModel):
    """The latest forecast of one team's won value in one currency (money is never summed across currencies).

    Rewritten by the nightly task (assistant.tasks.sales_forecasts_refresh). `history_months`
    are the complete team-local months from the first won deal in this currency to last month;
    `mape` is the mean absolute percentage error (in points) of the same kind of model fitted
    without the last six months and asked for them; `backtest_months` counts the months it
    averages (a month with nothing won has no percentage error).
    """

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="sales_forecasts", verbose_name=_("team")
    )
    currency = models.CharField(_("currency"), max_length=3)
    made_at = models.DateTimeField(_("made at"))
    status = models.CharField(_("status"), max_length=10, choices=SalesForecastStatus.choices)
    method = models.CharField(_("method"), max_length=10, choices=SalesForecastMethod.choices, blank=True)
    history_start = models.DateField(_("first month"), null=True, blank=True)
    history_months = models.PositiveSmallIntegerField(_("months of history"), default=0)
    months_needed = models.PositiveSmallIntegerField(_("months needed"), default=0)
    interval_level = models.PositiveSmallIntegerField(
        _("interval (%)"), default=80, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    mape = models.DecimalField(_("backtest error (MAPE, %)"), max_digits=9, decimal_places=2, null=True, blank=True)
    backtest_months = models.PositiveSmallIntegerField(_("backtest months"), default=0)

    objects = SalesForecastQuerySet.as_manager()

    class Meta:
        verbose_name = _("sales forecast")
        verbose_name_plural = _("sales forecasts")
        ordering = ["team", "currency"]
        constraints = [models.UniqueConstraint(fields=["team", "currency"], name="salesforecast_unique_team_currency")]

    def __str__(self):
        return f"{self.team_id} {self.currency} ({self.status})"


class SalesForecastMonthKind(models.TextChoices):
    FORECAST = "forecast", _("Forecast")
    BACKTEST = "backtest", _("Backtest")


class SalesForecastMonth(models.Model):
    """One month of a forecast: ahead (value and interval) or in the backtest (prediction against what was won)."""

    forecast = models.ForeignKey(
        SalesForecast, on_delete=models.CASCADE, related_name="months", verbose_name=_("sales forecast")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=SalesForecastMonthKind.choices)
    month = models.DateField(_("month"))
    value = models.DecimalField(_("forecast value"), max_digits=20, decimal_places=2)
    low = models.DecimalField(_("low"), max_digits=20, decimal_places=2, null=True, blank=True)
    high = models.DecimalField(_("high"), max_digits=20, decimal_places=2, null=True, blank=True)
    actual = models.DecimalField(_("won value"), max_digits=20, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("sales forecast month")
        verbose_name_plural = _("sales forecast months")
        ordering = ["forecast", "kind", "month"]
        constraints = [
            models.UniqueConstraint(fields=["forecast", "kind", "month"], name="salesforecastmonth_unique_month")
        ]

    def __str__(self):
        return f"{self.forecast_id} {self.kind} {self.month}: {self.value}"
