"""The dashboard's question: a period of calendar days (this week, month, quarter, year or a custom range)
and the filters (team, rep, pipeline, currency). Its answers are read by analytics.selectors."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext_lazy

from accounts.models import Team, User

MAX_CUSTOM_DAYS = 732

PERIODS = {
    "week": gettext_lazy("This week"),
    "month": gettext_lazy("This month"),
    "quarter": gettext_lazy("This quarter"),
    "year": gettext_lazy("This year"),
    "custom": gettext_lazy("Custom"),
}


@dataclass(frozen=True)
class Period:
    """A range of calendar days, both ends included; each team reads it in its own time zone."""

    kind: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_for(kind: str, today: date, *, start: date | None = None, end: date | None = None) -> Period:
    """The week (Monday to Sunday), month, quarter or year containing `today`, or a custom range."""
    if kind == "custom":
        return Period("custom", start, end)
    if kind == "week":
        first = today - timedelta(days=today.weekday())
        return Period(kind, first, first + timedelta(days=6))
    if kind == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        last = date(today.year, first_month + 2, calendar.monthrange(today.year, first_month + 2)[1])
        return Period(kind, date(today.year, first_month, 1), last)
    if kind == "year":
        return Period(kind, date(today.year, 1, 1), date(today.year, 12, 31))
    return Period("month", today.replace(day=1), today.replace(day=calendar.monthrange(today.year, today.month)[1]))


@dataclass
class Filters:
    """What the dashboard is about: a period and optional team, rep, pipeline and currency."""

    period: Period
    team: Team | None = None
    rep: User | None = None
    pipeline: object | None = None
    currency: str | None = None
    convert_to: str | None = None
