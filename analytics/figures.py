"""Every KPI figure, defined once: what it counts, its formula, and the ORM aggregate that computes it.

The rollup (`analytics.services`), the documentation (`docs/kpis.md`, checked
against `formula` by the tests) and the dashboards all read these definitions.

A figure belongs to a *source*: one set of rows for one team and one day
(deals created or closed that day, deals open at its end, stage changes,
activities, follow-ups) grouped by the grain of the figure's table. The rollup
runs one grouped query per source, so the number of queries for a (team, day)
does not depend on how many deals or activities it has.

Two kinds of figure:
- *flow*: something that happened during the day; over several days, add them up;
- *snapshot*: the state at the end of the day (open pipeline); over several days,
  take the last day's value, never the sum.
A *derived* figure is computed from other figures of the same row (an average
from a total and a count), and recomputed the same way when rows are combined.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, Now, Trim

from analytics.days import DayWindow
from analytics.models import TOTAL_DECIMAL_PLACES, TOTAL_MAX_DIGITS
from crm.models import Activity, FollowUp, FollowUpStatus
from pipeline.models import Deal, StageChange, StageKind

FLOW = "flow"
SNAPSHOT = "snapshot"
DERIVED = "derived"

CENT = Decimal("0.01")
SECONDS_PER_DAY = Decimal(86400)
CLOSED_KINDS = (StageKind.WON, StageKind.LOST)


@dataclass(frozen=True)
class Source:
    """One grouped query per (team, day): the rows it reads and the columns it groups them by.

    `group` maps a column of the figure table (without `_id`) to the ORM path of
    the value it is grouped by.
    """

    name: str
    table: str
    rows: Callable[[Any, DayWindow], Any]
    group: dict[str, str]
    description: str


@dataclass(frozen=True)
class Figure:
    """One KPI: a column of a daily figure table and how it is computed."""

    name: str
    table: str
    source: str | None
    kind: str
    formula: str
    aggregate: Callable[[DayWindow], Any] | None = None
    # Turns the aggregate's raw value into the stored one (e.g. percent × amount → amount).
    finish: Callable[[Any], Any] | None = None
    # For derived figures: the stored value from the row's other figures.
    derive: Callable[[dict], Any] | None = None
    depends_on: tuple[str, ...] = field(default=())
    money: bool = False
    # The value stored when no row of the source matched (a flow nobody had that day).
    empty: Any = 0

    @property
    def model(self):
        return apps.get_model("analytics", self.table)

    @property
    def label(self):
        """The translatable label (the model field's verbose name, so it is written once)."""
        return self.model._meta.get_field(self.name).verbose_name

    def zero(self):
        if self.kind == DERIVED:
            return None
        return Decimal("0.00") if self.money else self.empty


# Row selections ---------------------------------------------------------------


def _in(path: str, window: DayWindow) -> Q:
    return Q(**{f"{path}__gte": window.start, f"{path}__lt": window.end})


def _created(window: DayWindow) -> Q:
    return _in("created_at", window)


def _closed(window: DayWindow, kinds=CLOSED_KINDS) -> Q:
    return _in("closed_at", window) & Q(stage__kind__in=kinds)


def _deals_created_or_closed(team, window: DayWindow):
    return Deal.objects.filter(team=team).filter(_created(window) | _closed(window))


def deals_open_at_end(team, window: DayWindow):
    """The team's deals that were open when the day ended, with the stage probability they had then.

    Past days are reconstructed from the stage history, not from the deal's
    current stage: the stage at the end of the day is the destination of the
    deal's last stage change before the day ended (its current stage when it has
    no history before then, e.g. an imported deal).
    """
    last_change = StageChange.objects.filter(deal=OuterRef("pk"), at__lt=window.end).order_by("-at", "-pk")
    return (
        Deal.objects.filter(team=team, created_at__lt=window.end)
        # A deal closed now whose closed_at is before the day's end was already closed then:
        # closing is a deal's last stage change, so most of history skips the subquery.
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=window.end))
        .annotate(
            end_kind=Coalesce(Subquery(last_change.values("to_stage__kind")[:1]), F("stage__kind")),
            end_probability=Coalesce(
                Subquery(last_change.values("to_stage__probability")[:1]), F("stage__probability")
            ),
        )
        .filter(end_kind=StageKind.OPEN)
    )


def _stage_changes(team, window: DayWindow):
    return StageChange.objects.filter(deal__team=team).filter(_in("at", window))


def _stage_exits(team, window: DayWindow):
    return _stage_changes(team, window).filter(from_stage__isnull=False)


# Bucket edges, in hours, of the time-in-stage histogram (`DailyStageDuration`): bucket i holds
# the exits after [edge i, edge i+1) hours in the stage; the last bucket is open-ended.
DURATION_EDGES_HOURS = (0, 1, 2, 4, 8, 12, 24, 48, 72, 96, 120, 168, 240, 336, 504, 720, 1080, 1440, 2160)


def _duration_bucket():
    # One CASE in SQL, so the histogram is a single grouped query however many exits the day has.
    whens = [
        When(duration__lt=timedelta(hours=upper), then=Value(index))
        for index, upper in enumerate(DURATION_EDGES_HOURS[1:])
    ]
    return Case(*whens, default=Value(len(DURATION_EDGES_HOURS) - 1), output_field=IntegerField())


class _WidthBucket(Func):
    """The duration's bucket in one PostgreSQL `width_bucket` over the edges: the duration is evaluated once.

    The CASE of `_duration_bucket` repeats the duration, so the correlated subquery that finds the
    previous stage change ran once per WHEN (up to 19 times a row). `width_bucket(d, edges[1:])` is
    the number of edges after the first that are ≤ d: the same index as the CASE.
    """

    function = "width_bucket"
    template = (
        "%(function)s(%(expressions)s, ARRAY["
        + ", ".join(f"interval '{upper} hours'" for upper in DURATION_EDGES_HOURS[1:])
        + "])"
    )
    output_field = IntegerField()


def _stage_exit_durations(team, window: DayWindow):
    """Stage exits of the day with how long the deal had been in the stage (since its previous stage change)."""
    previous = StageChange.objects.filter(deal=OuterRef("deal"), at__lt=OuterRef("at")).order_by("-at", "-pk")
    rows = (
        _stage_exits(team, window)
        .annotate(entered=Subquery(previous.values("at")[:1]))
        .filter(entered__isnull=False)
        .annotate(duration=ExpressionWrapper(F("at") - F("entered"), output_field=DurationField()))
    )
    if connection.vendor == "postgresql":
        return rows.annotate(bucket=_WidthBucket("duration"))
    return rows.annotate(bucket=_duration_bucket())


def _lost(team, window: DayWindow):
    # Competitor names are typed freely: trimmed and lower-cased, "Rival " and "rival" are one competitor.
    return (
        Deal.objects.filter(team=team)
        .filter(_closed(window, [StageKind.LOST]))
        .annotate(competitor_key=Lower(Trim("competitor")))
    )


def _activities(team, window: DayWindow):
    return Activity.objects.filter(team=team).filter(_in("occurred_at", window))


def _done(window: DayWindow) -> Q:
    return Q(status=FollowUpStatus.DONE) & _in("completed_at", window)


def _overdue_at_end(window: DayWindow) -> Q:
    # Existed and was due before the day ended, and was still not done then.
    # Cancelled follow-ups are not promises any more, so they are never overdue.
    end = window.end
    return Q(created_at__lt=end, due_at__lt=end) & (
        Q(status=FollowUpStatus.OPEN) | Q(status=FollowUpStatus.DONE, completed_at__gte=end)
    )


def _follow_ups(team, window: DayWindow):
    return FollowUp.objects.filter(team=team).filter(_done(window) | _overdue_at_end(window))


def _surveys_sent(team, window: DayWindow):
    return apps.get_model("surveys", "Survey").objects.filter(team=team).filter(_in("sent_at", window))


def _survey_responses(team, window: DayWindow):
    return apps.get_model("surveys", "SurveyResponse").objects.filter(team=team).filter(_in("responded_at", window))


def _cases(team):
    return apps.get_model("cases", "Case").objects.filter(team=team)


def _cases_opened(team, window: DayWindow):
    return _cases(team).filter(_created(window))


def _cases_solved(team, window: DayWindow):
    return _cases(team).filter(_in("solved_at", window))


def _cases_responded(team, window: DayWindow):
    return _cases(team).filter(_in("first_response_at", window))


def _missed(moment: str) -> Q:
    # Not there by the respond-by time: not yet, or later than it.
    return Q(**{f"{moment}__isnull": True}) | Q(**{f"{moment}__gt": F("due_at")})


def _cases_overdue(team, window: DayWindow):
    # The respond-by time fell in the day and passed with no response, the case still unsolved and open then.
    # (Today's live figures count a case once its respond-by time has actually passed.)
    return (
        _cases(team)
        .filter(_in("due_at", window), due_at__lt=Now())
        .filter(_missed("first_response_at"), _missed("solved_at"), _missed("closed_at"))
    )


def _case_times(team, window: DayWindow):
    """Cases answered or solved in the day, once per measure, with the whole minutes it took (one row each)."""
    responded = _cases_responded(team, window).annotate(measure=Value("response"), minutes=F("response_minutes"))
    solved = _cases_solved(team, window).annotate(measure=Value("solution"), minutes=F("solution_minutes"))
    return responded, solved


SOURCES = [
    Source(
        name="deals",
        table="DailyDealFigure",
        rows=_deals_created_or_closed,
        group={"rep": "owner", "pipeline": "pipeline", "currency": "currency"},
        description="The team's deals created during the day or closed (won or lost) during it.",
    ),
    Source(
        name="open_at_end",
        table="DailyDealFigure",
        rows=deals_open_at_end,
        group={"rep": "owner", "pipeline": "pipeline", "currency": "currency"},
        description="The team's deals open when the day ended (stage reconstructed from the stage history).",
    ),
    Source(
        name="stage_entries",
        table="DailyStageFigure",
        rows=_stage_changes,
        group={"rep": "deal__owner", "pipeline": "to_stage__pipeline", "stage": "to_stage"},
        description="Stage changes of the team's deals during the day, by the stage entered.",
    ),
    Source(
        name="stage_exits",
        table="DailyStageFigure",
        rows=_stage_exits,
        group={"rep": "deal__owner", "pipeline": "from_stage__pipeline", "stage": "from_stage"},
        description="Stage changes of the team's deals during the day, by the stage left.",
    ),
    Source(
        name="stage_durations",
        table="DailyStageDuration",
        rows=_stage_exit_durations,
        group={"rep": "deal__owner", "pipeline": "from_stage__pipeline", "stage": "from_stage", "bucket": "bucket"},
        description=(
            "Stage changes of the team's deals during the day that leave a stage entered by an earlier "
            "stage change, by the stage left and the time-in-stage bucket."
        ),
    ),
    Source(
        name="losses",
        table="DailyLossFigure",
        rows=_lost,
        group={
            "rep": "owner",
            "pipeline": "pipeline",
            "currency": "currency",
            "loss_reason": "loss_reason",
            "competitor": "competitor_key",
        },
        description="The team's deals now in a lost stage closed during the day, by loss reason and competitor.",
    ),
    Source(
        name="activities",
        table="DailyActivityFigure",
        rows=_activities,
        group={"rep": "actor", "kind": "kind"},
        description="The team's activities that occurred during the day.",
    ),
    Source(
        name="follow_ups",
        table="DailyFollowUpFigure",
        rows=_follow_ups,
        group={"rep": "assignee"},
        description="The team's follow-ups completed during the day or overdue at its end.",
    ),
]
SOURCES += [
    Source(
        name="surveys_sent",
        table="DailySatisfactionFigure",
        rows=_surveys_sent,
        group={"rep": "owner"},
        description="The team's surveys sent during the day (surveys app), by the survey's owner.",
    ),
    Source(
        name="survey_responses",
        table="DailySatisfactionFigure",
        rows=_survey_responses,
        group={"rep": "owner"},
        description="The team's survey responses given during the day, by the survey's owner.",
    ),
    Source(
        name="cases_opened",
        table="DailyCaseFigure",
        rows=_cases_opened,
        group={"rep": "owner"},
        description="The team's support cases opened during the day, by owner.",
    ),
    Source(
        name="cases_solved",
        table="DailyCaseFigure",
        rows=_cases_solved,
        group={"rep": "owner"},
        description="The team's support cases solved during the day (solved_at in it), by owner.",
    ),
    Source(
        name="cases_responded",
        table="DailyCaseFigure",
        rows=_cases_responded,
        group={"rep": "owner"},
        description="The team's support cases that got their first response during the day, by owner.",
    ),
    Source(
        name="cases_overdue",
        table="DailyCaseFigure",
        rows=_cases_overdue,
        group={"rep": "owner"},
        description="The team's support cases whose respond-by time fell in the day and passed unanswered.",
    ),
    Source(
        name="case_response_times",
        table="DailyCaseDuration",
        rows=lambda team, window: _case_times(team, window)[0],
        group={"rep": "owner", "measure": "measure", "minutes": "minutes"},
        description="The team's cases first answered during the day, by the whole minutes from opening.",
    ),
    Source(
        name="case_solution_times",
        table="DailyCaseDuration",
        rows=lambda team, window: _case_times(team, window)[1],
        group={"rep": "owner", "measure": "measure", "minutes": "minutes"},
        description="The team's cases solved during the day, by the whole minutes from opening.",
    ),
]
SOURCES_BY_NAME = {source.name: source for source in SOURCES}


# Figures ----------------------------------------------------------------------


def _weighted_amount():
    # Percent × amount in SQL; the division by 100 happens once per row in `finish`,
    # in Decimal, so no database ever divides with integer or float arithmetic.
    return ExpressionWrapper(
        F("amount") * F("end_probability"),
        output_field=DecimalField(max_digits=TOTAL_MAX_DIGITS + 3, decimal_places=TOTAL_DECIMAL_PLACES),
    )


def _percent_of(value):
    return (Decimal(value) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _average_days(row: dict):
    if not row.get("closed_count"):
        return None
    total = row["time_to_close_total"] or timedelta(0)
    seconds = Decimal(total // timedelta(microseconds=1)) / 1_000_000
    return (seconds / SECONDS_PER_DAY / row["closed_count"]).quantize(CENT, rounding=ROUND_HALF_UP)


FIGURES = [
    Figure(
        name="deals_created",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        formula="count of deals with created_at in the day",
        aggregate=lambda w: Count("pk", filter=_created(w)),
    ),
    Figure(
        name="created_won_count",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        formula="count of deals with created_at in the day that are now in a won stage (whenever they were won)",
        aggregate=lambda w: Count("pk", filter=_created(w) & Q(stage__kind=StageKind.WON)),
    ),
    Figure(
        name="created_won_value",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        money=True,
        formula="sum of amount of deals with created_at in the day that are now in a won stage",
        aggregate=lambda w: Sum("amount", filter=_created(w) & Q(stage__kind=StageKind.WON)),
    ),
    Figure(
        name="won_count",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        formula="count of deals now in a won stage with closed_at in the day",
        aggregate=lambda w: Count("pk", filter=_closed(w, [StageKind.WON])),
    ),
    Figure(
        name="won_value",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        money=True,
        formula="sum of amount of deals now in a won stage with closed_at in the day",
        aggregate=lambda w: Sum("amount", filter=_closed(w, [StageKind.WON])),
    ),
    Figure(
        name="lost_count",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        formula="count of deals now in a lost stage with closed_at in the day",
        aggregate=lambda w: Count("pk", filter=_closed(w, [StageKind.LOST])),
    ),
    Figure(
        name="lost_value",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        money=True,
        formula="sum of amount of deals now in a lost stage with closed_at in the day",
        aggregate=lambda w: Sum("amount", filter=_closed(w, [StageKind.LOST])),
    ),
    Figure(
        name="closed_count",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        formula="won_count + lost_count",
        aggregate=lambda w: Count("pk", filter=_closed(w)),
    ),
    Figure(
        name="time_to_close_total",
        table="DailyDealFigure",
        source="deals",
        kind=FLOW,
        formula="sum of (closed_at − created_at) over the deals counted in closed_count",
        empty=timedelta(0),
        aggregate=lambda w: Sum(F("closed_at") - F("created_at"), filter=_closed(w)),
    ),
    Figure(
        name="avg_days_to_close",
        table="DailyDealFigure",
        source=None,
        kind=DERIVED,
        formula="time_to_close_total in days ÷ closed_count, rounded half up to 2 decimals; empty when closed_count = 0",
        derive=_average_days,
        depends_on=("time_to_close_total", "closed_count"),
    ),
    Figure(
        name="open_count",
        table="DailyDealFigure",
        source="open_at_end",
        kind=SNAPSHOT,
        formula="count of deals open at the end of the day",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="open_value",
        table="DailyDealFigure",
        source="open_at_end",
        kind=SNAPSHOT,
        money=True,
        formula="sum of amount of deals open at the end of the day",
        aggregate=lambda w: Sum("amount"),
    ),
    Figure(
        name="weighted_open_value",
        table="DailyDealFigure",
        source="open_at_end",
        kind=SNAPSHOT,
        money=True,
        formula=(
            "sum of amount × probability (%) of the stage at day end, over deals open at the end of the day, "
            "÷ 100, rounded half up to the cent"
        ),
        aggregate=lambda w: Sum(_weighted_amount()),
        finish=_percent_of,
    ),
    Figure(
        name="entries",
        table="DailyStageFigure",
        source="stage_entries",
        kind=FLOW,
        formula="count of stage changes with at in the day and to_stage = the stage (a deal's creation enters its first stage)",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="exits",
        table="DailyStageFigure",
        source="stage_exits",
        kind=FLOW,
        formula="count of stage changes with at in the day and from_stage = the stage",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="count",
        table="DailyActivityFigure",
        source="activities",
        kind=FLOW,
        formula="count of activities of the type with occurred_at in the day",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="done",
        table="DailyFollowUpFigure",
        source="follow_ups",
        kind=FLOW,
        formula="count of follow-ups with status done and completed_at in the day",
        aggregate=lambda w: Count("pk", filter=_done(w)),
    ),
    Figure(
        name="overdue",
        table="DailyFollowUpFigure",
        source="follow_ups",
        kind=SNAPSHOT,
        formula=(
            "count of follow-ups created and due before the end of the day and not done by then "
            "(status open, or done with completed_at at or after the end of the day); cancelled ones never count"
        ),
        aggregate=lambda w: Count("pk", filter=_overdue_at_end(w)),
    ),
    Figure(
        name="count",
        table="DailyStageDuration",
        source="stage_durations",
        kind=FLOW,
        formula=(
            "count of stage changes with at in the day that leave the stage, whose time in it "
            "(at − the deal's previous stage change's at) falls in the bucket"
        ),
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="count",
        table="DailyLossFigure",
        source="losses",
        kind=FLOW,
        formula="count of deals now in a lost stage with closed_at in the day, per loss reason and competitor",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="value",
        table="DailyLossFigure",
        source="losses",
        kind=FLOW,
        money=True,
        formula="sum of amount of deals now in a lost stage with closed_at in the day, per loss reason and competitor",
        aggregate=lambda w: Sum("amount"),
    ),
]
CSAT = Q(kind="csat")
NPS = Q(kind="nps")

FIGURES += [
    Figure(
        name="surveys_sent",
        table="DailySatisfactionFigure",
        source="surveys_sent",
        kind=FLOW,
        formula="count of surveys with sent_at in the day",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="responses",
        table="DailySatisfactionFigure",
        source="survey_responses",
        kind=FLOW,
        formula="count of survey responses with responded_at in the day",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="csat_responses",
        table="DailySatisfactionFigure",
        source="survey_responses",
        kind=FLOW,
        formula="count of CSAT responses (score 1–5) with responded_at in the day",
        aggregate=lambda w: Count("pk", filter=CSAT),
    ),
    Figure(
        name="csat_score_total",
        table="DailySatisfactionFigure",
        source="survey_responses",
        kind=FLOW,
        formula="sum of score of CSAT responses with responded_at in the day",
        aggregate=lambda w: Coalesce(Sum("score", filter=CSAT), 0),
    ),
    Figure(
        name="csat_satisfied",
        table="DailySatisfactionFigure",
        source="survey_responses",
        kind=FLOW,
        formula="count of CSAT responses with score 4 or 5 and responded_at in the day",
        aggregate=lambda w: Count("pk", filter=CSAT & Q(score__gte=4)),
    ),
    Figure(
        name="nps_responses",
        table="DailySatisfactionFigure",
        source="survey_responses",
        kind=FLOW,
        formula="count of NPS responses (score 0–10) with responded_at in the day",
        aggregate=lambda w: Count("pk", filter=NPS),
    ),
    Figure(
        name="nps_promoters",
        table="DailySatisfactionFigure",
        source="survey_responses",
        kind=FLOW,
        formula="count of NPS responses with score 9 or 10 and responded_at in the day",
        aggregate=lambda w: Count("pk", filter=NPS & Q(score__gte=9)),
    ),
    Figure(
        name="nps_detractors",
        table="DailySatisfactionFigure",
        source="survey_responses",
        kind=FLOW,
        formula="count of NPS responses with score 0 to 6 and responded_at in the day",
        aggregate=lambda w: Count("pk", filter=NPS & Q(score__lte=6)),
    ),
    Figure(
        name="opened",
        table="DailyCaseFigure",
        source="cases_opened",
        kind=FLOW,
        formula="count of support cases with created_at in the day",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="solved",
        table="DailyCaseFigure",
        source="cases_solved",
        kind=FLOW,
        formula="count of support cases with solved_at in the day (solved now, or solved and then closed)",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="responded",
        table="DailyCaseFigure",
        source="cases_responded",
        kind=FLOW,
        formula="count of support cases with first_response_at in the day",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="overdue",
        table="DailyCaseFigure",
        source="cases_overdue",
        kind=FLOW,
        formula=(
            "count of support cases with due_at in the day (and already past) whose first_response_at, "
            "solved_at and closed_at are each empty or later than due_at"
        ),
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="count",
        table="DailyCaseDuration",
        source="case_response_times",
        kind=FLOW,
        formula="count of support cases with first_response_at in the day, per whole minutes from created_at",
        aggregate=lambda w: Count("pk"),
    ),
    Figure(
        name="count",
        table="DailyCaseDuration",
        source="case_solution_times",
        kind=FLOW,
        formula="count of support cases with solved_at in the day, per whole minutes from created_at",
        aggregate=lambda w: Count("pk"),
    ),
]
FIGURES_BY_NAME = {(figure.table, figure.name): figure for figure in FIGURES}

# The daily tables, each with the columns (besides day, team and rep) that make its grain.
TABLES = {
    "DailyDealFigure": ("pipeline", "currency"),
    "DailyStageFigure": ("pipeline", "stage"),
    "DailyStageDuration": ("pipeline", "stage", "bucket"),
    "DailyLossFigure": ("pipeline", "currency", "loss_reason", "competitor"),
    "DailyActivityFigure": ("kind",),
    "DailyFollowUpFigure": (),
    "DailySatisfactionFigure": (),
    "DailyCaseFigure": (),
    "DailyCaseDuration": ("measure", "minutes"),
}


def figures_of(table: str) -> list[Figure]:
    return [figure for figure in FIGURES if figure.table == table]


def figures_from(source: str) -> list[Figure]:
    return [figure for figure in FIGURES if figure.source == source]
