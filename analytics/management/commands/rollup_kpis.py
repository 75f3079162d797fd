"""Backfill the KPI rollups: recompute every team-local day in a range, with a progress bar."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Team
from analytics import services
from analytics.days import local_date
from core.text import normalize_digits

BAR_WIDTH = 30


def parse_day(value: str, option: str) -> date:
    # Arabic-Indic digits are what an Arabic keyboard types; read them as ASCII.
    text = normalize_digits(value or "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} “{value}” is not a date: use YYYY-MM-DD, e.g. 2026-01-31.") from None


class Command(BaseCommand):
    help = (
        "Compute the daily KPI figures of every day from --from to --to (both included, days in each team's "
        "time zone; default: yesterday). Days already computed are recomputed; running it twice gives the same rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="day_from", metavar="DATE", help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="day_to", metavar="DATE", help="Last day, YYYY-MM-DD (default: yesterday).")
        parser.add_argument("--team", help="Only this team (its id or exact name); default: every team.")

    def handle(self, *args, day_from=None, day_to=None, team=None, **options):
        teams = self._teams(team)
        first = parse_day(day_from, "--from") if day_from else None
        last = parse_day(day_to, "--to") if day_to else None
        now = timezone.now()
        plans = []
        for each in teams:
            # "Yesterday" and "today" are the team's own: Dubai's day starts an hour before Riyadh's.
            today = local_date(each.time_zone, now)
            team_last = last or today - timedelta(days=1)
            team_first = first or team_last
            if team_first > team_last:
                raise CommandError(f"--from {team_first} is after --to {team_last}.")
            if team_last >= today:
                raise CommandError(
                    f"{team_last} is not over yet for “{each}” (today there is {today}, {each.time_zone}): "
                    "only past days can be rolled up."
                )
            plans.append((each, team_first, team_last))
        total = sum((plan_last - plan_first).days + 1 for _team, plan_first, plan_last in plans)
        self._done = 0
        self._total = total
        for each, plan_first, plan_last in plans:
            services.rollup_range(teams=[each], day_from=plan_first, day_to=plan_last, progress=self._progress)
        self.stdout.write("")
        ranges = ", ".join(f"{each}: {plan_first} → {plan_last}" for each, plan_first, plan_last in plans)
        self.stdout.write(self.style.SUCCESS(f"Rolled up {total} team-days ({ranges})."))

    def _teams(self, team: str | None) -> list[Team]:
        teams = Team.objects.order_by("pk")
        if team is None:
            found = list(teams)
            if not found:
                raise CommandError("There are no teams to roll up.")
            return found
        found = list(teams.filter(pk=int(team))) if team.isdigit() else list(teams.filter(name=team))
        if not found:
            raise CommandError(f"No team “{team}” (give its id or its exact name).")
        return found

    def _progress(self, _done: int, _total: int, team: Team, day: date) -> None:
        # Counted across all teams (rollup_range counts per call); redrawn in place with \r.
        self._done += 1
        filled = BAR_WIDTH * self._done // max(self._total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        percent = 100 * self._done // max(self._total, 1)
        self.stdout.write(f"\r[{bar}] {percent:3d}% {self._done}/{self._total} {day} {team}", ending="")
        self.stdout.flush()
