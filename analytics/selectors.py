"""Reads of the KPI rollups: the dashboards, quota progress, and totals of the daily rows.

Past days come only from the daily figure tables (`analytics.models`); the
current day of each team, which is not rolled up yet, is computed live with the
same definitions (`live_rows`: the flows of `analytics.services.compute_rows`, a
fixed number of grouped queries per team). No panel scans deals, activities or
stage changes of past days: lead-to-won conversion sums `created_won_count`, the median time in stage
is read from the summed `DailyStageDuration` histogram, and the loss reasons and
competitors sum `DailyLossFigure`. Only the forecast reads deals: today's open
ones, which is live data by nature. What a dashboard is asked (period and filters)
is `analytics.periods`.

Money is always kept per currency; nothing here adds amounts across currencies.
"""

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.db.models import Count, DecimalField, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import Quota, Team, User
from analytics.days import day_window, local_date
from analytics.figures import DURATION_EDGES_HOURS, FLOW, SOURCES, figures_from
from analytics.models import (
    DailyActivityFigure,
    DailyDealFigure,
    DailyLossFigure,
    DailyStageDuration,
    DailyStageFigure,
    ExchangeRate,
)
from analytics.periods import Filters, Period
from analytics.services import compute_rows
from core.querysets import figure_team_ids, sees_only_self, team_ids
from pipeline.models import Deal, LossReason, Stage, StageKind

CENT = Decimal("0.01")
COMMIT_PROBABILITY = 70
TOP = 10
# Tables whose rows carry a currency, so the currency filter applies to them.
CURRENCY_TABLES = (DailyDealFigure, DailyLossFigure)
CURRENCY_TABLE_NAMES = tuple(model.__name__ for model in CURRENCY_TABLES)


# Medians and ratios -------------------------------------------------------------


def histogram_median(histogram: dict[int, int]) -> Decimal | None:
    """The median, in hours, of a time-in-stage histogram {bucket index: count} (`DURATION_EDGES_HOURS`).

    The median position is half the total count; inside the bucket that holds it
    the values are taken as spread evenly, so the result is interpolated
    linearly between the bucket's edges. The last bucket has no upper edge: a
    median there is its lower edge. None for an empty histogram.
    """
    total = sum(histogram.values())
    if not total:
        return None
    half = Decimal(total) / 2
    before = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count and before + count >= half:
            lower = Decimal(DURATION_EDGES_HOURS[bucket])
            if bucket + 1 >= len(DURATION_EDGES_HOURS):
                return lower
            upper = Decimal(DURATION_EDGES_HOURS[bucket + 1])
            return lower + (upper - lower) * (half - before) / count
        before += count
    return None


def ratio(part, whole) -> Decimal | None:
    """part ÷ whole as a percentage rounded half up to one decimal; None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _zero(name: str):
    return timedelta(0) if name == "time_to_close_total" else 0


# Today's figures ----------------------------------------------------------------

# The daily tables the dashboards read; only their flows are shown (what happened in the period).
LIVE_TABLES = ("DailyDealFigure", "DailyStageFigure", "DailyStageDuration", "DailyLossFigure", "DailyActivityFigure")
# The sources of those flows. The open-pipeline snapshot is left out: no panel shows it, and
# computing it now reads the stage history of every open deal of the team (tens of thousands).
LIVE_SOURCES = tuple(
    source
    for source in SOURCES
    if source.table in LIVE_TABLES and any(figure.kind == FLOW for figure in figures_from(source.name))
)


def live_rows(*, team: Team, day: date) -> dict[str, list]:
    """The rows of `LIVE_TABLES` for one (team, day), unsaved: `compute_rows` from the flow sources only."""
    return compute_rows(team=team, day=day, sources=LIVE_SOURCES, tables=LIVE_TABLES)


# Scope ------------------------------------------------------------------------


def scope_teams(user):
    """Teams whose figures `user` may read (the rule: core.querysets.figure_team_ids)."""
    team_ids_ = figure_team_ids(user)
    return Team.objects.all() if team_ids_ is None else Team.objects.filter(pk__in=team_ids_)


def scope_reps(user, teams):
    if sees_only_self(user):
        return User.objects.filter(pk=user.pk)
    return User.objects.filter(memberships__team__in=teams).distinct().order_by("first_name", "last_name", "username")


# The dashboard ----------------------------------------------------------------


@dataclass
class Dashboard:
    """Every figure of one dashboard page for one viewer; each panel runs a fixed number of queries."""

    user: User
    filters: Filters
    now: object = None
    _teams: list = field(default=None, repr=False)

    def __post_init__(self):
        self.now = self.now or timezone.now()
        self.self_only = sees_only_self(self.user)
        teams = list(scope_teams(self.user))
        if self.filters.team:
            teams = [team for team in teams if team.pk == self.filters.team.pk]
        self._teams = teams
        self.today_by_team = {team.pk: local_date(team.time_zone, self.now) for team in teams}
        self.today = local_date(self.user.time_zone, self.now)

    @property
    def teams(self):
        return self._teams

    @property
    def period(self) -> Period:
        return self.filters.period

    # Row selection -------------------------------------------------------------

    def _past(self) -> Q:
        """Days of the period that are over in each team's zone: the rolled-up part."""
        if not self._teams:
            return Q(pk__in=[])
        condition = Q()
        for team in self._teams:
            condition |= Q(team_id=team.pk, day__lt=self.today_by_team[team.pk])
        return condition

    def _rep_q(self, path="rep_id") -> Q:
        if self.self_only:
            return Q(**{path: self.user.pk})
        if self.filters.rep:
            return Q(**{path: self.filters.rep.pk})
        return Q()

    def stored(self, model, *, deals=True, in_period=True):
        rows = model.objects.visible_to(self.user).filter(self._past()).filter(self._rep_q())
        if in_period:
            rows = rows.filter(day__gte=self.period.start, day__lte=self.period.end)
        if deals and self.filters.pipeline:
            rows = rows.filter(pipeline_id=self.filters.pipeline.pk)
        if model in CURRENCY_TABLES and self.filters.currency:
            rows = rows.filter(currency=self.filters.currency)
        return rows.order_by()

    @cached_property
    def live(self) -> dict[str, list]:
        """Today's figure rows of every team in scope, computed now (not stored), filtered like the stored ones."""
        rows = defaultdict(list)
        for team in self._teams:
            for table, instances in live_rows(team=team, day=self.today_by_team[team.pk]).items():
                for row in instances:
                    if self.self_only and row.rep_id != self.user.pk:
                        continue
                    if self.filters.rep and row.rep_id != self.filters.rep.pk:
                        continue
                    if self.filters.pipeline and getattr(row, "pipeline_id", None) not in (
                        None,
                        self.filters.pipeline.pk,
                    ):
                        continue
                    if (
                        self.filters.currency
                        and table in CURRENCY_TABLE_NAMES
                        and row.currency != self.filters.currency
                    ):
                        continue
                    rows[table].append(row)
        return rows

    def live_in(self, table, *, start=None, end=None):
        start, end = start or self.period.start, end or self.period.end
        return [row for row in self.live[table] if start <= row.day <= end]

    def sums(self, model, by: tuple[str, ...], fields: tuple[str, ...], *, deals=True) -> dict[tuple, dict]:
        """Flow figures added up over the period, grouped by `by` (attribute names), stored plus today's live rows."""
        result: dict[tuple, dict] = {}
        query = self.stored(model, deals=deals).values(*by).annotate(**{name: Sum(name) for name in fields})
        for row in query:
            result[tuple(row[key] for key in by)] = {name: row[name] or _zero(name) for name in fields}
        for row in self.live_in(model.__name__):
            key = tuple(getattr(row, name) for name in by)
            totals = result.setdefault(key, {name: _zero(name) for name in fields})
            for name in fields:
                totals[name] += getattr(row, name) or _zero(name)
        return result

    # Headline figures ------------------------------------------------------------

    @cached_property
    def deal_by_currency(self) -> dict[str, dict]:
        fields = ("deals_created", "won_count", "won_value", "lost_count", "lost_value", "closed_count")
        fields += ("time_to_close_total",)
        return {key[0]: value for key, value in self.sums(DailyDealFigure, ("currency",), fields).items()}

    @cached_property
    def headline(self) -> dict:
        per_currency = []
        won = closed = lost = created = 0
        cycle = timedelta(0)
        for currency in sorted(self.deal_by_currency):
            row = self.deal_by_currency[currency]
            won += row["won_count"]
            lost += row["lost_count"]
            closed += row["closed_count"]
            created += row["deals_created"]
            cycle += row["time_to_close_total"] or timedelta(0)
            if row["won_count"] or row["won_value"]:
                per_currency.append(
                    {
                        "currency": currency,
                        "won_value": _money(row["won_value"]),
                        "won_count": row["won_count"],
                        "average": _money(Decimal(row["won_value"]) / row["won_count"]) if row["won_count"] else None,
                    }
                )
        cycle_days = None
        if closed:
            seconds = Decimal(cycle // timedelta(microseconds=1)) / 1_000_000
            cycle_days = (seconds / 86400 / closed).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        cohort = self.cohort
        return {
            "per_currency": per_currency,
            "won_count": won,
            "lost_count": lost,
            "closed_count": closed,
            "deals_created": created,
            "win_rate": ratio(won, closed),
            "cycle_days": cycle_days,
            "cohort_created": cohort["created"],
            "cohort_won": cohort["won"],
            "conversion": ratio(cohort["won"], cohort["created"]),
        }

    @cached_property
    def conversion(self) -> dict | None:
        """Total sales converted to `convert_to` with the latest admin-maintained rate on or before the period's end.

        One query for the rates. A currency without a rate is never guessed: the
        converted total is then not given, and the missing pairs are named.
        """
        target = self.filters.convert_to
        if not target:
            return None
        values = {row["currency"]: row["won_value"] for row in self.headline["per_currency"]}
        needed = sorted(currency for currency in values if currency != target)
        rates = {}
        if needed:
            for rate in (
                ExchangeRate.objects.visible_to(self.user)
                .filter(to_currency=target, from_currency__in=needed, day__lte=self.period.end)
                .order_by("from_currency", "-day")
            ):
                rates.setdefault(rate.from_currency, rate)
        missing = [currency for currency in needed if currency not in rates]
        total = None
        if not missing:
            total = _money(
                sum(
                    (
                        value if currency == target else value * rates[currency].rate
                        for currency, value in values.items()
                    ),
                    Decimal(0),
                )
            )
        return {
            "currency": target,
            "total": total,
            "rates": [rates[currency] for currency in needed if currency in rates],
            "missing": missing,
        }

    # Raw-row panels (one grouped query each) --------------------------------------

    def window_q(self, path: str) -> Q:
        """Instants inside the period, each team read in its own time zone."""
        condition = Q(pk__in=[])
        for team in self._teams:
            start = day_window(team.time_zone, self.period.start).start
            end = day_window(team.time_zone, self.period.end).end
            condition |= Q(team_id=team.pk, **{f"{path}__gte": start, f"{path}__lt": end})
        return condition

    def deals(self):
        """Deals in scope (visibility, team, rep, pipeline, currency), before any period condition."""
        rows = Deal.objects.visible_to(self.user).filter(team__in=[team.pk for team in self._teams])
        rows = rows.filter(self._rep_q("owner_id"))
        if self.filters.pipeline:
            rows = rows.filter(pipeline_id=self.filters.pipeline.pk)
        if self.filters.currency:
            rows = rows.filter(currency=self.filters.currency)
        return rows

    def drilldown(self, figure: str, *, month: str | None = None, bucket: str | None = None):
        """The deals behind a figure; counted, they give the figure (see docs/kpis.md)."""
        deals = self.deals()
        if figure == "won":
            return deals.filter(self.window_q("closed_at"), stage__kind=StageKind.WON)
        if figure == "lost":
            return deals.filter(self.window_q("closed_at"), stage__kind=StageKind.LOST)
        if figure == "closed":
            return deals.filter(self.window_q("closed_at"), stage__kind__in=[StageKind.WON, StageKind.LOST])
        if figure == "created":
            return deals.filter(self.window_q("created_at"))
        if figure == "created_won":
            return deals.filter(self.window_q("created_at"), stage__kind=StageKind.WON)
        if figure == "forecast":
            rows = self.open_in_period()
            if month:
                year, number = (int(part) for part in month.split("-"))
                rows = rows.filter(expected_close__year=year, expected_close__month=number)
            if bucket == "commit":
                committed = [pk for pk, probability in self.open_stages.items() if probability >= COMMIT_PROBABILITY]
                rows = rows.filter(stage_id__in=committed)
            return rows
        raise ValueError(figure)

    @cached_property
    def cohort(self) -> dict:
        """Deals created in the period and won now: Σ `deals_created` and Σ `created_won_count` of its days."""
        created = won = 0
        for totals in self.sums(DailyDealFigure, ("currency",), ("deals_created", "created_won_count")).values():
            created += totals["deals_created"]
            won += totals["created_won_count"]
        return {"created": created, "won": won}

    @cached_property
    def open_stages(self) -> dict[int, int]:
        """{stage id: probability} of every open stage.

        A handful of rows, read once: the deal queries name the stages by id, so
        PostgreSQL estimates how many deals are open from the ids' own statistics
        (the kind, through a join, looked like most deals), and no join is needed.
        """
        return dict(Stage.objects.filter(kind=StageKind.OPEN).order_by().values_list("pk", "probability"))

    def open_in_period(self):
        return self.deals().filter(
            stage_id__in=list(self.open_stages),
            expected_close__gte=self.period.start,
            expected_close__lte=self.period.end,
        )

    @cached_property
    def losses(self) -> dict:
        """Top loss reasons and competitors: Σ `count` of `DailyLossFigure` over the period (two queries)."""
        by_reason: dict[int | None, int] = defaultdict(int)
        by_competitor: dict[str, int] = defaultdict(int)
        for (reason_id, competitor), totals in self.sums(
            DailyLossFigure, ("loss_reason_id", "competitor"), ("count",)
        ).items():
            by_reason[reason_id] += totals["count"]
            if competitor:
                by_competitor[competitor] += totals["count"]
        names = {
            reason.pk: reason
            for reason in LossReason.objects.filter(pk__in=[pk for pk in by_reason if pk is not None]).only(
                "name", "name_en"
            )
        }
        reasons = [
            {
                "loss_reason__name": names[pk].name if pk in names else None,
                "loss_reason__name_en": names[pk].name_en if pk in names else None,
                "count": count,
            }
            for pk, count in by_reason.items()
            if count
        ]
        reasons.sort(key=lambda row: (-row["count"], row["loss_reason__name"] or ""))
        competitors = [
            {"competitor": competitor, "count": count} for competitor, count in by_competitor.items() if count
        ]
        competitors.sort(key=lambda row: (-row["count"], row["competitor"]))
        return {"reasons": reasons[:TOP], "competitors": competitors[:TOP]}

    # Activities -------------------------------------------------------------------

    @cached_property
    def activities(self) -> dict[int, dict[str, int]]:
        per_rep: dict[int, dict[str, int]] = defaultdict(dict)
        for (rep_id, kind), value in self.sums(
            DailyActivityFigure, ("rep_id", "kind"), ("count",), deals=False
        ).items():
            per_rep[rep_id][kind] = value["count"]
        return per_rep

    # Funnel -------------------------------------------------------------------------

    @cached_property
    def funnel(self) -> list[dict]:
        sums = self.sums(DailyStageFigure, ("stage_id",), ("entries", "exits"))
        stages = Stage.objects.visible_to(self.user).select_related("pipeline").order_by("pipeline__order", "order")
        if self.filters.pipeline:
            stages = stages.filter(pipeline=self.filters.pipeline)
        else:
            stages = stages.filter(pk__in=[key[0] for key in sums])
        medians = self.median_days_in_stage
        rows, previous = [], None
        for stage in stages:
            entries = sums.get((stage.pk,), {}).get("entries", 0)
            row = {
                "stage": stage,
                "entries": entries,
                "exits": sums.get((stage.pk,), {}).get("exits", 0),
                "conversion": None,
                "median_days": medians.get(stage.pk),
            }
            # Conversion from the previous stage of the same pipeline, in the pipeline's order; the lost
            # stage is not a step forward, so it is compared with nothing.
            if previous and previous["stage"].pipeline_id == stage.pipeline_id and stage.kind != StageKind.LOST:
                row["conversion"] = ratio(entries, previous["entries"])
            rows.append(row)
            if stage.kind != StageKind.LOST:
                previous = row
        return rows

    @cached_property
    def median_days_in_stage(self) -> dict[int, Decimal]:
        """Approximate median days in each stage of the deals that left it during the period.

        Read from the time-in-stage histogram (`DailyStageDuration`) summed over
        the period: the median is interpolated linearly inside the bucket that
        holds it (docs/kpis.md). One query, plus today's live rows.
        """
        histograms: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for (stage_id, bucket), totals in self.sums(DailyStageDuration, ("stage_id", "bucket"), ("count",)).items():
            histograms[stage_id][bucket] += totals["count"]
        medians = {}
        for stage_id, histogram in histograms.items():
            hours = histogram_median(histogram)
            if hours is not None:
                medians[stage_id] = (hours / 24).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return medians

    # Quotas -------------------------------------------------------------------------

    @cached_property
    def quotas(self) -> list[Quota]:
        rows = Quota.objects.visible_to(self.user).active().select_related("rep")
        rows = rows.filter(period_start__lte=self.period.end, period_end__gte=self.period.start)
        rows = rows.filter(rep__memberships__team__in=[team.pk for team in self._teams]).distinct()
        rows = rows.filter(self._rep_q())
        if self.filters.currency:
            rows = rows.filter(currency=self.filters.currency)
        return list(rows.order_by("rep__first_name", "rep__username", "period_start"))

    @cached_property
    def quota_progress(self) -> list[dict]:
        return quota_progress(
            self.quotas,
            viewer=self.user,
            teams=self._teams,
            today=self.today,
            today_by_team=self.today_by_team,
            dashboard=self,
        )

    # Trend ---------------------------------------------------------------------------

    @cached_property
    def trend(self) -> dict:
        """Won value per week (Monday to Sunday) and currency, with the quota pro rata for each week."""
        sums = self.sums(DailyDealFigure, ("day", "currency"), ("won_value",))
        first = self.period.start - timedelta(days=self.period.start.weekday())
        weeks = []
        week = first
        while week <= self.period.end:
            weeks.append(week)
            week += timedelta(days=7)
        currencies = sorted({key[1] for key in sums} | {quota.currency for quota in self.quotas})
        won = {currency: {week: Decimal("0.00") for week in weeks} for currency in currencies}
        for (day, currency), value in sums.items():
            won[currency][day - timedelta(days=day.weekday())] += Decimal(value["won_value"])
        target = {currency: {week: Decimal("0") for week in weeks} for currency in currencies}
        for quota in self.quotas:
            quota_days = (quota.period_end - quota.period_start).days + 1
            for week in weeks:
                lo = max(week, quota.period_start, self.period.start)
                hi = min(week + timedelta(days=6), quota.period_end, self.period.end)
                if hi >= lo:
                    target[quota.currency][week] += quota.target_won_value * ((hi - lo).days + 1) / quota_days
        return {
            "weeks": weeks,
            "series": [
                {
                    "currency": currency,
                    "won": [_money(won[currency][week]) for week in weeks],
                    "target": [_money(target[currency][week]) for week in weeks],
                }
                for currency in currencies
            ],
        }

    # Forecast -----------------------------------------------------------------------

    @cached_property
    def forecast(self) -> list[dict]:
        """Open deals expected to close in the period, per month and currency: count, commit, best case, weighted.

        One query summed per stage in SQL (the pipeline_deal (team, expected_close) index holds
        every deal column read, so the deals' rows are not visited), then per month and currency
        here with each stage's probability. The same pass sums the win model's scores
        (`model_weighted`): a second pass over the period's open deals cost more than the page
        besides.
        """
        sums: dict[tuple, dict] = {}
        scored: dict[tuple, list] = {}
        scored_sum = Sum(
            F("amount") * F("win_score__probability"),
            output_field=DecimalField(max_digits=30, decimal_places=8),
        )
        with_score = Q(win_score__isnull=False)
        rows = (
            self.open_in_period()
            .order_by()
            .annotate(month=TruncMonth("expected_close"))
            .values("month", "currency", "stage_id")
            .annotate(
                # Before `amount`, whose name then means the sum rather than the column.
                scored_count=Count("win_score__id"),
                scored=scored_sum,
                scored_value=Sum("amount", filter=with_score),
                count=Count("*"),
                amount=Sum("amount"),
            )
        )
        for row in rows:
            month = row["month"]
            month = month.date() if hasattr(month, "date") else month
            totals = sums.setdefault(
                (month, row["currency"]),
                {"count": 0, "commit_count": 0, "commit": Decimal(0), "best_case": Decimal(0), "weighted": Decimal(0)},
            )
            probability = self.open_stages[row["stage_id"]]
            totals["count"] += row["count"]
            totals["best_case"] += row["amount"]
            totals["weighted"] += row["amount"] * probability
            if probability >= COMMIT_PROBABILITY:
                totals["commit_count"] += row["count"]
                totals["commit"] += row["amount"]
            if row["scored_count"]:
                scored.setdefault((month, row["currency"]), []).append(row)
        model_weighted = self._model_weighted(sums, scored)
        targets: dict[tuple, Decimal] = defaultdict(Decimal)
        for quota in self.quotas:
            quota_days = (quota.period_end - quota.period_start).days + 1
            month = quota.period_start
            while month <= quota.period_end:
                month_end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
                share = (min(month_end, quota.period_end) - month).days + 1
                targets[(month, quota.currency)] += quota.target_won_value * share / quota_days
                month = month_end + timedelta(days=1)
        return [
            {
                "month": month,
                "currency": currency,
                "count": totals["count"],
                "commit_count": totals["commit_count"],
                "commit": _money(totals["commit"]),
                "best_case": _money(totals["best_case"]),
                "weighted": _money(totals["weighted"] / 100),
                "target": _money(targets[(month, currency)]) if targets.get((month, currency)) else None,
                "model_weighted": _money(model_weighted[(month, currency)])
                if (month, currency) in model_weighted
                else None,
            }
            for (month, currency), totals in sorted(sums.items())
        ]

    def _model_weighted(self, sums: dict[tuple, dict], scored: dict[tuple, list]) -> dict[tuple, Decimal]:
        """Per month and currency, the open value weighted by the win model's scores (assistant.DealScore).

        `scored` holds the forecast query's rows (month, currency, stage) that have scored deals,
        with the scored deals' value and score-weighted value. A deal without a score counts at its
        stage's percentage, as in the stage-weighted figure; a month with no scored deal at all has
        no model-weighted figure (the model is not in use, or has not scored these deals yet).
        """
        result: dict[tuple, Decimal] = {}
        for key, rows in scored.items():
            result[key] = sums[key]["weighted"] / 100
            for row in rows:
                # Replace this stage's share of the stage-weighted sum by the scores' weighting.
                result[key] += row["scored"] - row["scored_value"] * self.open_stages[row["stage_id"]] / 100
        return result

    # Leaderboard --------------------------------------------------------------------

    @cached_property
    def reps(self) -> list[User]:
        reps = scope_reps(self.user, self._teams)
        if self.filters.rep and not self.self_only:
            reps = reps.filter(pk=self.filters.rep.pk)
        return list(reps)

    @cached_property
    def leaderboard(self) -> list[dict]:
        deals = self.sums(
            DailyDealFigure, ("rep_id", "currency"), ("won_value", "won_count", "closed_count", "time_to_close_total")
        )
        attainment = {}
        for progress in self.quota_progress:
            attainment.setdefault(progress["quota"].rep_id, progress["value_attainment"])
        rows = []
        for rep in self.reps:
            values = {currency: _money(v["won_value"]) for (rep_id, currency), v in deals.items() if rep_id == rep.pk}
            won = sum(v["won_count"] for (rep_id, _c), v in deals.items() if rep_id == rep.pk)
            closed = sum(v["closed_count"] for (rep_id, _c), v in deals.items() if rep_id == rep.pk)
            cycle = sum(
                (v["time_to_close_total"] or timedelta(0) for (rep_id, _c), v in deals.items() if rep_id == rep.pk),
                timedelta(0),
            )
            rows.append(
                {
                    "rep": rep,
                    "won_values": [{"currency": c, "value": values[c]} for c in sorted(values) if values[c]],
                    "won_count": won,
                    "closed_count": closed,
                    "win_rate": ratio(won, closed),
                    "cycle_days": (
                        (Decimal(cycle.total_seconds()) / 86400 / closed).quantize(Decimal("0.1")) if closed else None
                    ),
                    "activities": sum(self.activities.get(rep.pk, {}).values()),
                    "attainment": attainment.get(rep.pk),
                }
            )
        return rows

    def sorted_leaderboard(self, key: str, descending: bool = True) -> list[dict]:
        currency = self.filters.currency or (
            self.headline["per_currency"][0]["currency"] if self.headline["per_currency"] else None
        )

        def value(row):
            if key == "won_value":
                found = [item["value"] for item in row["won_values"] if item["currency"] == currency]
                return found[0] if found else Decimal(0)
            if key == "rep":
                return str(row["rep"]).casefold()
            item = row.get(key)
            return item if item is not None else Decimal(-1)

        return sorted(self.leaderboard, key=value, reverse=descending)


LEADERBOARD_SORTS = ("rep", "won_value", "won_count", "win_rate", "cycle_days", "activities", "attainment")


# Quota progress (dashboard and My day) ------------------------------------------------


def quota_progress(
    quotas, *, viewer, teams, today: date, today_by_team: dict, dashboard: Dashboard | None = None
) -> list[dict]:
    """Each quota's attainment over its own period up to today, and its pace.

    Two queries over the daily tables (conditional sums, one per quota) plus
    today's live rows. Pace compares the share of the target reached with the
    share of the period elapsed: "on track" when attainment ≥ elapsed share, else
    "behind by" the value missing to be on pace.
    """
    if not quotas:
        return []
    team_ids_ = [team.pk for team in teams]
    deal_rows = DailyDealFigure.objects.visible_to(viewer).filter(team_id__in=team_ids_).order_by()
    activity_rows = DailyActivityFigure.objects.visible_to(viewer).filter(team_id__in=team_ids_).order_by()
    past = Q(pk__in=[])
    for team in teams:
        past |= Q(team_id=team.pk, day__lt=today_by_team[team.pk])
    deal_rows, activity_rows = deal_rows.filter(past), activity_rows.filter(past)
    value_sums, count_sums, activity_sums = {}, {}, {}
    for quota in quotas:
        span = Q(rep_id=quota.rep_id, day__gte=quota.period_start, day__lte=quota.period_end)
        value_sums[f"v{quota.pk}"] = Sum("won_value", filter=span & Q(currency=quota.currency))
        count_sums[f"n{quota.pk}"] = Sum("won_count", filter=span)
        activity_sums[f"a{quota.pk}"] = Sum("count", filter=span)
    totals = deal_rows.aggregate(**value_sums, **count_sums)
    totals.update(activity_rows.aggregate(**activity_sums))
    if dashboard is not None:
        live = dashboard.live
    else:
        live = defaultdict(list)
        for team in teams:
            for table, instances in live_rows(team=team, day=today_by_team[team.pk]).items():
                live[table].extend(row for row in instances if row.rep_id in {quota.rep_id for quota in quotas})
    result = []
    for quota in quotas:
        won_value = Decimal(totals.get(f"v{quota.pk}") or 0)
        won_count = totals.get(f"n{quota.pk}") or 0
        activities = totals.get(f"a{quota.pk}") or 0
        for row in live["DailyDealFigure"]:
            if row.rep_id == quota.rep_id and quota.period_start <= row.day <= quota.period_end:
                won_count += row.won_count
                if row.currency == quota.currency:
                    won_value += row.won_value
        for row in live["DailyActivityFigure"]:
            if row.rep_id == quota.rep_id and quota.period_start <= row.day <= quota.period_end:
                activities += row.count
        total_days = (quota.period_end - quota.period_start).days + 1
        elapsed = min(max((today - quota.period_start).days + 1, 0), total_days)
        expected = (quota.target_won_value * elapsed / total_days).quantize(CENT, rounding=ROUND_HALF_UP)
        result.append(
            {
                "quota": quota,
                "won_value": _money(won_value),
                "won_count": won_count,
                "activities": activities,
                "value_attainment": ratio(won_value, quota.target_won_value),
                "count_attainment": ratio(won_count, quota.target_won_deals),
                "activity_attainment": ratio(activities, quota.target_activities),
                "elapsed_share": ratio(elapsed, total_days),
                "expected_value": expected,
                "on_track": won_value >= expected,
                "behind_by": _money(max(expected - won_value, Decimal(0))),
            }
        )
    return result


def my_quota_progress(*, user, now=None) -> list[dict]:
    """The signed-in member's current targets (the periods containing today) and their progress, for My day."""
    now = now or timezone.now()
    today = local_date(user.time_zone, now)
    quotas = list(
        Quota.objects.visible_to(user)
        .active()
        .filter(rep=user, period_start__lte=today, period_end__gte=today)
        .select_related("rep")
        .order_by("period_kind", "currency")
    )
    if not quotas:
        return []
    teams = list(Team.objects.filter(pk__in=team_ids(user)))
    today_by_team = {team.pk: local_date(team.time_zone, now) for team in teams}
    return quota_progress(quotas, viewer=user, teams=teams, today=today, today_by_team=today_by_team)
