"""The assistant's stored results: the win model's card and every open deal's score.

The worker trains and scores (assistant/training.py, scikit-learn); the web process only
reads these rows, so it never imports scikit-learn.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.querysets import ReferenceQuerySet, VisibleQuerySet


class WinModelQuerySet(ReferenceQuerySet):
    def latest_card(self):
        """The most recent training run (in use or not), or None."""
        return self.order_by("-trained_at", "-pk").first()


class WinModelStatus(models.TextChoices):
    IN_USE = "in_use", _("In use")
    TOO_FEW_DEALS = "too_few_deals", _("Too few closed deals")
    NOT_BETTER = "not_better", _("Not better than the stage percentage")


class WinModel(TimeStampedModel):
    """One training run of the win-probability model: its parameters and its card.

    `params` holds everything scoring needs, as plain JSON: feature names, the scaling
    (mean, scale) of each feature, the logistic regression's coefficients and intercept,
    the base rate. `metrics` holds the time-based holdout's figures for the model and for
    the stage-percentage baseline (AUC, Brier score, calibration table). A run whose
    status is not IN_USE is kept so the card can say why the stage percentage is shown.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    trained_at = models.DateTimeField(_("trained at"))
    status = models.CharField(_("status"), max_length=16, choices=WinModelStatus.choices)
    closed_deals = models.PositiveIntegerField(_("closed deals"), default=0)
    min_closed_deals = models.PositiveIntegerField(_("closed deals needed"), default=0)
    train_deals = models.PositiveIntegerField(_("training deals"), default=0)
    holdout_deals = models.PositiveIntegerField(_("holdout deals"), default=0)
    train_snapshots = models.PositiveIntegerField(_("training snapshots"), default=0)
    holdout_snapshots = models.PositiveIntegerField(_("holdout snapshots"), default=0)
    cutoff = models.DateTimeField(_("holdout cut-off"), null=True, blank=True)
    training_seconds = models.FloatField(_("training time (seconds)"), default=0)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    metrics = models.JSONField(_("holdout figures"), default=dict, blank=True)

    objects = WinModelQuerySet.as_manager()

    class Meta:
        verbose_name = _("win model")
        verbose_name_plural = _("win models")
        ordering = ["-trained_at", "-pk"]

    def __str__(self):
        return f"v{self.version} ({self.status})"

    @property
    def in_use(self) -> bool:
        return self.status == WinModelStatus.IN_USE


class DealScoreQuerySet(VisibleQuerySet):
    """A score is visible exactly when its deal is."""

    def visible_q(self, user):
        from pipeline.models import Deal

        return models.Q(deal__in=Deal.objects.visible_to(user).values("pk"))

    def editable_q(self, user):
        return models.Q(pk__in=[])


class DealScore(models.Model):
    """The win probability of one open deal, written by the worker, read by the web.

    `factors` lists the three features that moved this deal's score most away from the
    base rate: [{"code": ..., "params": {...}, "points": signed logit points ×10}, ...].
    The words are rendered at display time in the reader's language (assistant/factors.py).
    """

    deal = models.OneToOneField(
        "pipeline.Deal", on_delete=models.CASCADE, related_name="win_score", verbose_name=_("deal")
    )
    probability = models.DecimalField(_("win probability"), max_digits=5, decimal_places=4)
    base_probability = models.DecimalField(_("base rate"), max_digits=5, decimal_places=4)
    factors = models.JSONField(_("factors"), default=list, blank=True)
    model_version = models.PositiveIntegerField(_("model version"))
    scored_at = models.DateTimeField(_("scored at"), db_index=True)

    objects = DealScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("deal score")
        verbose_name_plural = _("deal scores")
        ordering = ["-probability", "deal"]
        indexes = [models.Index(fields=["probability"], name="dealscore_probability_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=1), name="dealscore_probability_range"
            )
        ]

    def __str__(self):
        return f"{self.deal_id}: {self.probability}"


# My day's next best actions and the dashboard's sales forecast live in their own module;
# imported here so Django registers them with the assistant app.
from assistant.planning_models import (  # noqa: E402, F401
    DealScoreSnapshot,
    SalesForecast,
    SalesForecastMethod,
    SalesForecastMonth,
    SalesForecastMonthKind,
    SalesForecastStatus,
    SuggestionDismissal,
)
