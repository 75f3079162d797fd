"""KPI rollups: pre-aggregated daily figures per team, rep, pipeline and currency, and their fill state.

Dashboards read these tables instead of scanning deals and activities. Each
table's rows for one (team, day) are computed together by `analytics.services`
from the definitions in `analytics.figures`; `RollupDay` records which
(team, day) pairs are computed and which must be recomputed (dirty).
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.querysets import OwnedQuerySet, ReferenceQuerySet, VisibleQuerySet, managed_team_ids
from crm.models import ActivityKind

# Sums of many deals need more digits than one deal's amount (core.money.AMOUNT_MAX_DIGITS).
TOTAL_MAX_DIGITS = 20
TOTAL_DECIMAL_PLACES = 2


def _money(verbose_name):
    return models.DecimalField(
        verbose_name, max_digits=TOTAL_MAX_DIGITS, decimal_places=TOTAL_DECIMAL_PLACES, default=0
    )


class FigureQuerySet(OwnedQuerySet):
    """A rep sees their own figures; managers those of the teams they manage and of the people in them."""

    owner_field = "rep"


def _figure_key(to, verbose_name, *, indexed: bool = False, **options):
    """A foreign key of a figure row: deleting what it points at is refused, by the ORM alone.

    Figure rows are derived data, rebuilt in bulk from the records they count (which
    hold the checked foreign keys): a database check of every key of every inserted
    row cost a year's rollup as much as computing it. on_delete=PROTECT still refuses
    to delete a team, rep, pipeline, stage or loss reason that figures point at. Rows
    are looked up by (team, day), which has its index; only the rep has one of its own
    (a rep's dashboard).
    """
    return models.ForeignKey(
        to,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=verbose_name,
        db_constraint=False,
        db_index=indexed,
        **options,
    )


class DailyFigure(TimeStampedModel):
    """Fields shared by every daily figure table: the day, the team and the rep the figures are for."""

    # Not indexed, unlike other models' timestamps: nothing looks figures up by them.
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    day = models.DateField(_("day"))
    team = _figure_key("accounts.Team", _("team"))
    rep = _figure_key(settings.AUTH_USER_MODEL, _("sales rep"), indexed=True)

    objects = FigureQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-day", "team", "rep"]


class DailyDealFigure(DailyFigure):
    """Deals created, won, lost and still open on one team-local day, per rep, pipeline and currency.

    Money is never added across currencies: each currency of a rep's deals has its own row.
    """

    pipeline = _figure_key("pipeline.Pipeline", _("pipeline"))
    currency = models.CharField(_("currency"), max_length=3)
    deals_created = models.PositiveIntegerField(_("deals created"), default=0)
    created_won_count = models.PositiveIntegerField(_("deals created and won since"), default=0)
    created_won_value = _money(_("value of deals created and won since"))
    won_count = models.PositiveIntegerField(_("deals won"), default=0)
    won_value = _money(_("value won"))
    lost_count = models.PositiveIntegerField(_("deals lost"), default=0)
    lost_value = _money(_("value lost"))
    closed_count = models.PositiveIntegerField(_("deals closed"), default=0)
    time_to_close_total = models.DurationField(_("total time to close"), default=timedelta(0))
    avg_days_to_close = models.DecimalField(
        _("average days to close"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    open_count = models.PositiveIntegerField(_("open deals at day end"), default=0)
    open_value = _money(_("open pipeline value"))
    weighted_open_value = _money(_("weighted pipeline value"))

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily deal figures")
        verbose_name_plural = _("daily deal figures")
        ordering = ["-day", "team", "rep", "pipeline", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team", "rep", "pipeline", "currency"], name="dealfigure_unique_grain"
            )
        ]
        indexes = [models.Index(fields=["team", "day"], name="dealfigure_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep} · {self.currency}"


class DailyStageFigure(DailyFigure):
    """How many deals of a rep entered and left a stage on one team-local day."""

    pipeline = _figure_key("pipeline.Pipeline", _("pipeline"))
    stage = _figure_key("pipeline.Stage", _("stage"))
    entries = models.PositiveIntegerField(_("stage entries"), default=0)
    exits = models.PositiveIntegerField(_("stage exits"), default=0)

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily stage figures")
        verbose_name_plural = _("daily stage figures")
        ordering = ["-day", "team", "rep", "pipeline", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["day", "team", "rep", "pipeline", "stage"], name="stagefigure_unique_grain")
        ]
        indexes = [models.Index(fields=["team", "day"], name="stagefigure_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep} · {self.stage}"


class DailyStageDuration(DailyFigure):
    """A histogram of how long deals of a rep had been in a stage when they left it on one team-local day.

    A median cannot be added up from daily medians, but histograms can: the
    dashboard sums the buckets over a period and reads the median from the sum.
    `bucket` is an index into `analytics.figures.DURATION_EDGES_HOURS`.
    """

    pipeline = _figure_key("pipeline.Pipeline", _("pipeline"))
    stage = _figure_key("pipeline.Stage", _("stage"))
    bucket = models.PositiveSmallIntegerField(_("time in stage bucket"))
    count = models.PositiveIntegerField(_("stage exits in the bucket"), default=0)

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily time in stage")
        verbose_name_plural = _("daily time in stage")
        ordering = ["-day", "team", "rep", "pipeline", "stage", "bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team", "rep", "pipeline", "stage", "bucket"], name="stageduration_unique_grain"
            )
        ]
        indexes = [models.Index(fields=["team", "day"], name="stageduration_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep} · {self.stage} · {self.bucket}"


class DailyLossFigure(DailyFigure):
    """Deals a rep lost on one team-local day, per pipeline, currency, loss reason and competitor.

    The competitor is stored normalized (trimmed, lower case) so that spellings
    differing only in case or surrounding spaces count as one; blank when none was named.
    """

    pipeline = _figure_key("pipeline.Pipeline", _("pipeline"))
    currency = models.CharField(_("currency"), max_length=3)
    loss_reason = _figure_key("pipeline.LossReason", _("loss reason"), null=True, blank=True)
    competitor = models.CharField(_("competitor"), max_length=120, blank=True)
    count = models.PositiveIntegerField(_("deals lost"), default=0)
    value = _money(_("value lost"))

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily loss figures")
        verbose_name_plural = _("daily loss figures")
        ordering = ["-day", "team", "rep", "pipeline", "currency", "loss_reason", "competitor"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team", "rep", "pipeline", "currency", "loss_reason", "competitor"],
                name="lossfigure_unique_grain",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["team", "day"], name="lossfigure_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep} · {self.loss_reason or '—'} · {self.competitor or '—'}"


class DailyActivityFigure(DailyFigure):
    """How many activities of one type a rep logged on one team-local day."""

    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices)
    count = models.PositiveIntegerField(_("activities"), default=0)

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily activity figures")
        verbose_name_plural = _("daily activity figures")
        ordering = ["-day", "team", "rep", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["day", "team", "rep", "kind"], name="activityfigure_unique_grain")
        ]
        indexes = [models.Index(fields=["team", "day"], name="activityfigure_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep} · {self.get_kind_display()}"


class DailyFollowUpFigure(DailyFigure):
    """Follow-ups a rep completed on one team-local day, and those left overdue at its end."""

    done = models.PositiveIntegerField(_("follow-ups done"), default=0)
    overdue = models.PositiveIntegerField(_("follow-ups overdue at day end"), default=0)

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily follow-up figures")
        verbose_name_plural = _("daily follow-up figures")
        constraints = [models.UniqueConstraint(fields=["day", "team", "rep"], name="followupfigure_unique_grain")]
        indexes = [models.Index(fields=["team", "day"], name="followupfigure_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep}"


class DailySatisfactionFigure(DailyFigure):
    """Surveys a rep's customers were sent and answered on one team-local day (surveys app), with the scores.

    The rep is the survey's owner (the deal's owner, else the contact's). Averages and shares
    are not stored: the dashboard divides the period's totals (a mean of daily means is not the mean).
    """

    surveys_sent = models.PositiveIntegerField(_("surveys sent"), default=0)
    responses = models.PositiveIntegerField(_("survey responses"), default=0)
    csat_responses = models.PositiveIntegerField(_("CSAT responses"), default=0)
    csat_score_total = models.PositiveIntegerField(_("CSAT score total"), default=0)
    csat_satisfied = models.PositiveIntegerField(_("satisfied CSAT responses (4–5)"), default=0)
    nps_responses = models.PositiveIntegerField(_("NPS responses"), default=0)
    nps_promoters = models.PositiveIntegerField(_("NPS promoters (9–10)"), default=0)
    nps_detractors = models.PositiveIntegerField(_("NPS detractors (0–6)"), default=0)

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily satisfaction figures")
        verbose_name_plural = _("daily satisfaction figures")
        constraints = [models.UniqueConstraint(fields=["day", "team", "rep"], name="satisfactionfigure_unique_grain")]
        indexes = [models.Index(fields=["team", "day"], name="satisfactionfig_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep}"


class DailyCaseFigure(DailyFigure):
    """Support cases of a rep opened, solved, first answered and overdue on one team-local day (cases app)."""

    opened = models.PositiveIntegerField(_("cases opened"), default=0)
    solved = models.PositiveIntegerField(_("cases solved"), default=0)
    responded = models.PositiveIntegerField(_("cases first answered"), default=0)
    overdue = models.PositiveIntegerField(_("cases overdue"), default=0)

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily support case figures")
        verbose_name_plural = _("daily support case figures")
        constraints = [models.UniqueConstraint(fields=["day", "team", "rep"], name="casefigure_unique_grain")]
        indexes = [models.Index(fields=["team", "day"], name="casefigure_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep}"


class CaseMeasure(models.TextChoices):
    RESPONSE = "response", _("Time to first response")
    SOLUTION = "solution", _("Time to solution")


class DailyCaseDuration(DailyFigure):
    """How many of a rep's cases got their first response (or solution) on one day after so many minutes.

    Kept per whole minute rather than in buckets, so the median over any period is exact:
    the dashboard adds the counts of the period's rows and reads the middle value.
    """

    measure = models.CharField(_("measure"), max_length=8, choices=CaseMeasure.choices)
    minutes = models.PositiveIntegerField(_("minutes"))
    count = models.PositiveIntegerField(_("cases"), default=0)

    class Meta(DailyFigure.Meta):
        verbose_name = _("daily support case times")
        verbose_name_plural = _("daily support case times")
        ordering = ["-day", "team", "rep", "measure", "minutes"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team", "rep", "measure", "minutes"], name="caseduration_unique_grain"
            )
        ]
        indexes = [models.Index(fields=["team", "day"], name="caseduration_team_day_idx")]

    def __str__(self):
        return f"{self.day} · {self.rep} · {self.measure} · {self.minutes}"


class RollupDayQuerySet(VisibleQuerySet):
    """The fill state is operational data: managers see their teams' days, admins all; nobody edits it by hand."""

    def visible_q(self, user):
        return models.Q(team_id__in=managed_team_ids(user))

    def editable_q(self, user):
        return models.Q(pk__in=[])

    def dirty(self):
        return self.filter(is_dirty=True)


class RollupDay(TimeStampedModel):
    """The fill state of one (team, day): when its figures were computed and whether they must be recomputed.

    An edit that changes a past day's figures (a late-logged activity, a reopened
    deal) marks the day dirty; the next rollup run recomputes exactly the dirty days.
    """

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="rollup_days", verbose_name=_("team")
    )
    day = models.DateField(_("day"))
    is_dirty = models.BooleanField(_("needs recomputing"), default=False)
    reason = models.CharField(_("why it needs recomputing"), max_length=200, blank=True)
    marked_dirty_at = models.DateTimeField(_("marked for recomputing at"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)

    objects = RollupDayQuerySet.as_manager()

    class Meta:
        verbose_name = _("rollup day")
        verbose_name_plural = _("rollup days")
        ordering = ["-day", "team"]
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="rollupday_unique_team_day")]
        indexes = [models.Index(fields=["is_dirty", "day"], name="rollupday_dirty_idx")]

    def __str__(self):
        return f"{self.team} · {self.day}"


class ExchangeRate(TimeStampedModel):
    """How many units of `to_currency` one unit of `from_currency` was worth on a day; maintained by admins.

    Dashboards use the latest rate on or before the last day of the period to show
    an optional converted total beside the per-currency totals, and say which rates
    they used or which are missing.
    """

    day = models.DateField(_("day"))
    from_currency = models.CharField(_("from currency"), max_length=3)
    to_currency = models.CharField(_("to currency"), max_length=3)
    rate = models.DecimalField(_("rate"), max_digits=18, decimal_places=8)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["-day", "from_currency", "to_currency"]
        constraints = [
            models.UniqueConstraint(fields=["day", "from_currency", "to_currency"], name="exchangerate_unique_day_pair")
        ]

    def __str__(self):
        return f"{self.day} · 1 {self.from_currency} = {self.rate} {self.to_currency}"

    def clean(self):
        from core.money import validate_currency

        errors = {}
        for name in ("from_currency", "to_currency"):
            try:
                validate_currency(getattr(self, name))
            except ValidationError as error:
                errors[name] = error.messages
        if self.rate is not None and self.rate <= 0:
            errors["rate"] = [_("A rate must be greater than zero.")]
        if not errors and self.from_currency == self.to_currency:
            errors["to_currency"] = [_("Choose two different currencies.")]
        if errors:
            raise ValidationError(errors)
