"""A team's calendar day as a window of time: the unit every KPI rollup is computed for.

A "day" is the calendar day in the team's time zone (Team.time_zone), not the
server's or UTC: a deal won at 23:30 in Riyadh belongs to that Riyadh day even
though it is 20:30 UTC. Windows are half-open, [start, end), so an instant
belongs to exactly one day.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A day is rolled up once this much of the next day has passed in the team's zone
# (the "01:00" of the nightly run): activities logged just after midnight for the
# day before are still counted on the first pass.
ROLLUP_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class DayWindow:
    """One team-local calendar day as aware datetimes: start at local midnight, end at the next one."""

    day: date
    start: datetime
    end: datetime


def day_window(time_zone: str, day: date) -> DayWindow:
    zone = ZoneInfo(time_zone)
    # Both ends are local midnights, so a day with a daylight-saving change is 23 or 25 hours long.
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return DayWindow(day=day, start=start, end=end)


def local_date(time_zone: str, when: datetime) -> date:
    """The calendar day an aware instant falls on in `time_zone`."""
    return when.astimezone(ZoneInfo(time_zone)).date()


def is_over(time_zone: str, day: date, now: datetime) -> bool:
    """Whether `day` (in `time_zone`) is over and its grace period has passed, so it can be rolled up."""
    return now >= day_window(time_zone, day).end + ROLLUP_GRACE


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
