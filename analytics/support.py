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

    def _rows(self, model, fields: tuple[str, ...]) -> dict[tuple, dict]:
        """{(day, rep id): totals} over the period: one grouped query, plus today's live rows."""
        result: dict[tuple, dict] = {}
        stored = (
            self.board.stored(model, deals=False)
            .values("day", "rep_id")
            .annotate(**{name: Sum(name) for name in fields})
        )
        for row in stored:
            result[(row["day"], row["rep_id"])] = {name: row[name] or 0 for name in fields}
        for row in self.live[model.__name__]:
            totals = result.setdefault((row.day, row.rep_id), dict.fromkeys(fields, 0))
            for name in fields:
                totals[name] += getattr(row, name) or 0
        return result

    @cached_property
    def _durations(self) -> dict[tuple, dict[str, dict[int, int]]]:
        """{(day, rep id): {measure: {minutes: count}}} over the period: one grouped query, plus today's live rows."""
        result: dict[tuple, dict] = defaultdict(_no_times)
        stored = (
            self.board.stored(DailyCaseDuration, deals=False)
            .values("day", "rep_id", "measure", "minutes")
            .annotate(total=Sum("count"))
            # Tuples: a quarter of a team is thousands of rows (one per case, minutes being exact).
            .values_list("day", "rep_id", "measure", "minutes", "total")
        )
        for day, rep_id, measure, minutes, total in stored:
            result[(day, rep_id)][measure][minutes] += total
        for row in self.live["DailyCaseDuration"]:
            result[(row.day, row.rep_id)][row.measure][row.minutes] += row.count
        return result

    @cached_property
    def _satisfaction(self):
        return self._rows(DailySatisfactionFigure, SATISFACTION_FIELDS)

    @cached_property
    def _cases(self):
        return self._rows(DailyCaseFigure, CASE_FIELDS)

    @cached_property
    def _groups(self) -> dict[str, dict]:
        """The period's figures combined for the whole period, per rep and per week (Monday), in one pass.

        The rows are read once for the three panels: per (day, rep) there are thousands of case
        durations in a team's quarter, and each grouping used to walk them all again.
        """
        groups = {"all": {}, "rep": {}, "week": {}}

        def parts_for(day, rep_id):
            week = day - timedelta(days=day.weekday())
            for name, key in (("all", None), ("rep", rep_id), ("week", week)):
                parts = groups[name].get(key)
                if parts is None:
                    parts = groups[name][key] = [defaultdict(int), defaultdict(int), _no_times()]
                yield parts

        for index, rows in ((0, self._satisfaction), (1, self._cases)):
            for (day, rep_id), values in rows.items():
                for parts in parts_for(day, rep_id):
                    totals = parts[index]
                    for name, value in values.items():
                        totals[name] += value
        for (day, rep_id), measures in self._durations.items():
            for parts in parts_for(day, rep_id):
                times = parts[2]
                for measure, counts in measures.items():
                    target = times[measure]
                    for minutes, count in counts.items():
                        target[minutes] += count
        return {
            name: {group: self._combine(*parts) for group, parts in grouped.items()} for name, grouped in groups.items()
        }

    @staticmethod
    def _combine(satisfaction: dict, cases: dict, durations: dict) -> dict:
        figures = derive({**dict.fromkeys(SATISFACTION_FIELDS, 0), **satisfaction})
        figures.update({**dict.fromkeys(CASE_FIELDS, 0), **cases})
        figures["response_hours"] = hours(median_minutes(durations.get("response", {})))
        figures["solution_hours"] = hours(median_minutes(durations.get("solution", {})))
        return figures

    @cached_property
    def headline(self) -> dict:
        return self._groups["all"].get(None) or self._combine({}, {}, {})

    @cached_property
    def per_rep(self) -> list[dict]:
        grouped = self._groups["rep"]
        users = apps.get_model("accounts", "User").objects.in_bulk(list(grouped))
        rows = [{"rep": users.get(rep_id), **figures} for rep_id, figures in grouped.items()]
        return sorted(rows, key=lambda row: str(row["rep"] or ""))

    @cached_property
    def trend(self) -> list[dict]:
        """Per week (Monday to Sunday) of the period: the same figures, oldest week first."""
        grouped = self._groups["week"]
        start = self.board.period.start - timedelta(days=self.board.period.start.weekday())
        weeks = []
        week = start
        while week <= self.board.period.end:
            weeks.append(week)
            week += timedelta(days=7)
        return [{"week": week, **(grouped.get(week) or self._combine({}, {}, {}))} for week in weeks]


def _no_times() -> dict:
    return {"response": defaultdict(int), "solution": defaultdict(int)}


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
