"""The dashboard's customer satisfaction and support figures (issue 17): read from the daily rollups.

Past days come from `DailySatisfactionFigure`, `DailyCaseFigure` and `DailyCaseDuration`;
today, not rolled up yet, is computed live with the same definitions (`compute_rows` from
the support sources only: a fixed number of grouped queries per team). Averages, shares,
NPS and medians are computed from the period's totals, never from daily values.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.apps import apps
from django.db.models import Q, Sum

from analytics.figures import SOURCES
from analytics.models import DailyCaseDuration, DailyCaseFigure, DailySatisfactionFigure
from analytics.services import compute_rows

SATISFACTION_FIELDS = (
    "surveys_sent",
    "responses",
    "csat_responses",
    "csat_score_total",
    "csat_satisfied",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
)
CASE_FIELDS = ("opened", "solved", "responded", "overdue")
SUPPORT_TABLES = ("DailySatisfactionFigure", "DailyCaseFigure", "DailyCaseDuration")
SUPPORT_SOURCES = tuple(source for source in SOURCES if source.table in SUPPORT_TABLES)
TENTH = Decimal("0.1")


def median_minutes(counts: dict[int, int]) -> Decimal | None:
    """The exact median of a multiset {minutes: how many}; the mean of the two middle values for an even count."""
    total = sum(counts.values())
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]  # zero-based positions of the middle value(s)
    found, seen = [], 0
    for minutes in sorted(counts):
        count = counts[minutes]
        for position in wanted:
            if seen <= position < seen + count:
                found.append(minutes)
        seen += count
    return Decimal(sum(found)) / len(found)


def hours(minutes: Decimal | None) -> Decimal | None:
    return None if minutes is None else (Decimal(minutes) / 60).quantize(TENTH, rounding=ROUND_HALF_UP)


def derive(totals: dict) -> dict:
    """CSAT average, share satisfied and NPS from summed satisfaction totals (None where nothing was answered)."""
    csat, nps = totals.get("csat_responses", 0), totals.get("nps_responses", 0)
    result = dict(totals)
    result["csat_average"] = (
        (Decimal(totals["csat_score_total"]) / csat).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if csat else None
    )
    result["satisfied_share"] = (
        (Decimal(totals["csat_satisfied"]) * 100 / csat).quantize(TENTH, rounding=ROUND_HALF_UP) if csat else None
    )
    result["nps"] = (
        (Decimal(totals["nps_promoters"] - totals["nps_detractors"]) * 100 / nps).quantize(
            TENTH, rounding=ROUND_HALF_UP
        )
        if nps
        else None
    )
    return result


@dataclass
class SupportFigures:
    """The support figures of one dashboard (its viewer, period, team and rep filters)."""

    board: object

    @cached_property
    def live(self) -> dict[str, list]:
        board = self.board
        rows = defaultdict(list)
        for team in board.teams:
            today = board.today_by_team[team.pk]
            if not board.period.start <= today <= board.period.end:
                continue
            for table, instances in compute_rows(
                team=team, day=today, sources=SUPPORT_SOURCES, tables=SUPPORT_TABLES
            ).items():
                for row in instances:
                    if board.self_only and row.rep_id != board.user.pk:
                        continue
                    if board.filters.rep and row.rep_id != board.filters.rep.pk:
                        continue
                    rows[table].append(row)
        return rows

    def _sums(self, model, by: tuple[str, ...], fields: tuple[str, ...]) -> dict[tuple, dict]:
        result: dict[tuple, dict] = {}
        rows = self.board.stored(model, deals=False)
        sums = {name: Sum(name) for name in fields}
        # values() with no names would give every column: the whole period is one aggregate.
        stored = rows.values(*by).annotate(**sums) if by else [rows.aggregate(**sums)]
        for row in stored:
            result[tuple(row[key] for key in by)] = {name: row[name] or 0 for name in fields}
        for row in self.live[model.__name__]:
            totals = result.setdefault(tuple(getattr(row, key) for key in by), dict.fromkeys(fields, 0))
            for name in fields:
                totals[name] += getattr(row, name) or 0
        return result

    def _durations(self, by: tuple[str, ...]) -> dict[tuple, dict[str, dict[int, int]]]:
        """{key: {measure: {minutes: count}}} over the period."""
        result: dict[tuple, dict] = defaultdict(lambda: {"response": defaultdict(int), "solution": defaultdict(int)})
        stored = (
            self.board.stored(DailyCaseDuration, deals=False)
            .values(*by, "measure", "minutes")
            .annotate(total=Sum("count"))
        )
        for row in stored:
            result[tuple(row[key] for key in by)][row["measure"]][row["minutes"]] += row["total"]
        for row in self.live["DailyCaseDuration"]:
            result[tuple(getattr(row, key) for key in by)][row.measure][row.minutes] += row.count
        return result

    @staticmethod
    def _combine(satisfaction: dict, cases: dict, durations: dict) -> dict:
        figures = derive({**dict.fromkeys(SATISFACTION_FIELDS, 0), **satisfaction})
        figures.update({**dict.fromkeys(CASE_FIELDS, 0), **cases})
        figures["response_hours"] = hours(median_minutes(durations.get("response", {})))
        figures["solution_hours"] = hours(median_minutes(durations.get("solution", {})))
        return figures

    @cached_property
    def headline(self) -> dict:
        satisfaction = self._sums(DailySatisfactionFigure, (), SATISFACTION_FIELDS).get((), {})
        cases = self._sums(DailyCaseFigure, (), CASE_FIELDS).get((), {})
        return self._combine(satisfaction, cases, self._durations(()).get((), {}))

    @cached_property
    def per_rep(self) -> list[dict]:
        satisfaction = self._sums(DailySatisfactionFigure, ("rep_id",), SATISFACTION_FIELDS)
        cases = self._sums(DailyCaseFigure, ("rep_id",), CASE_FIELDS)
        durations = self._durations(("rep_id",))
        keys = set(satisfaction) | set(cases) | set(durations)
        users = apps.get_model("accounts", "User").objects.in_bulk([key[0] for key in keys])
        rows = [
            {
                "rep": users.get(key[0]),
                **self._combine(satisfaction.get(key, {}), cases.get(key, {}), durations.get(key, {})),
            }
            for key in keys
        ]
        return sorted(rows, key=lambda row: str(row["rep"] or ""))

    @cached_property
    def trend(self) -> list[dict]:
        """Per week (Monday to Sunday) of the period: the same figures, oldest week first."""
        satisfaction = self._sums(DailySatisfactionFigure, ("day",), SATISFACTION_FIELDS)
        cases = self._sums(DailyCaseFigure, ("day",), CASE_FIELDS)
        durations = self._durations(("day",))
        start = self.board.period.start - timedelta(days=self.board.period.start.weekday())
        weeks = []
        week = start
        while week <= self.board.period.end:
            weeks.append(week)
            week += timedelta(days=7)
        grouped = {
            week: [defaultdict(int), defaultdict(int), {"response": defaultdict(int), "solution": defaultdict(int)}]
            for week in weeks
        }

        def week_of(day):
            return day - timedelta(days=day.weekday())

        for (day,), values in satisfaction.items():
            for name, value in values.items():
                grouped[week_of(day)][0][name] += value
        for (day,), values in cases.items():
            for name, value in values.items():
                grouped[week_of(day)][1][name] += value
        for (day,), measures in durations.items():
            for measure, counts in measures.items():
                for minutes, count in counts.items():
                    grouped[week_of(day)][2][measure][minutes] += count
        return [{"week": week, **self._combine(*grouped[week])} for week in weeks]


# Drill-down: the responses and cases behind a figure ----------------------------------

SURVEY_DRILLDOWNS = {
    "surveys_sent": ("sent_at", Q()),
    "responses": ("responded_at", Q()),
    "csat_responses": ("responded_at", Q(kind="csat")),
    "csat_satisfied": ("responded_at", Q(kind="csat", score__gte=4)),
    "nps_responses": ("responded_at", Q(kind="nps")),
    "nps_promoters": ("responded_at", Q(kind="nps", score__gte=9)),
    "nps_detractors": ("responded_at", Q(kind="nps", score__lte=6)),
}
CASE_DRILLDOWNS = {
    "cases_opened": "created_at",
    "cases_solved": "solved_at",
    "cases_responded": "first_response_at",
    "cases_overdue": "due_at",
}
DRILLDOWNS = (*SURVEY_DRILLDOWNS, *CASE_DRILLDOWNS)


def drilldown(board, figure: str):
    """The surveys, responses or cases behind a support figure, through visibility; counted, they give it."""
    from django.db.models import F
    from django.db.models.functions import Now

    if figure == "surveys_sent":
        rows = apps.get_model("surveys", "Survey").objects.visible_to(board.user)
        path, condition = SURVEY_DRILLDOWNS[figure]
    elif figure in SURVEY_DRILLDOWNS:
        rows = apps.get_model("surveys", "SurveyResponse").objects.visible_to(board.user)
        path, condition = SURVEY_DRILLDOWNS[figure]
    elif figure in CASE_DRILLDOWNS:
        rows = apps.get_model("cases", "Case").objects.visible_to(board.user)
        path, condition = CASE_DRILLDOWNS[figure], Q()
        if figure == "cases_overdue":

            def missed(moment):
                return Q(**{f"{moment}__isnull": True}) | Q(**{f"{moment}__gt": F("due_at")})

            condition = Q(due_at__lt=Now()) & missed("first_response_at") & missed("solved_at") & missed("closed_at")
    else:
        raise ValueError(figure)
    rows = rows.filter(board.window_q(path)).filter(condition).filter(board._rep_q("owner_id"))
    return rows.select_related("owner", "contact").order_by(f"-{path}", "-pk")
