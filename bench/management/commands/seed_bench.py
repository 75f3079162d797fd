"""Load the deterministic benchmark data set (see bench/seed.py for what it contains)."""

from datetime import UTC, date, datetime

from django.core.management.base import BaseCommand, CommandError

from bench import seed as bench_seed


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today “{value}” is not a date: use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database with the benchmark data set: per scale unit 10,000 companies, 100,000 "
        "contacts, 50,000 deals, 200,000 activities, 20,000 follow-ups; 50 reps in 5 teams. The same --scale, "
        "--seed and --today give identical rows. Does nothing on a database already seeded with the same "
        "scale and seed; refuses a database holding other data unless --reset."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="Scale units (fractions allowed; default 1).")
        parser.add_argument("--seed", type=int, default=bench_seed.DEFAULT_SEED, help="Random seed.")
        parser.add_argument(
            "--today",
            type=_day,
            default=None,
            help="Anchor day, YYYY-MM-DD (default: today in UTC). History covers the 365 days before its 00:00 UTC.",
        )
        parser.add_argument("--reset", action="store_true", help="Empty every project table first, then seed.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars on stderr.")

    def handle(self, *args, scale, seed, today, reset, no_progress, **options):
        if scale <= 0:
            raise CommandError("--scale must be positive.")
        today = today or datetime.now(UTC).date()
        progress = bench_seed.Progress(stream=self.stderr._out, enabled=not no_progress)
        try:
            result = bench_seed.seed(scale=scale, seed=seed, today=today, reset_first=reset, progress=progress)
        except bench_seed.SeedError as error:
            raise CommandError(str(error)) from None
        if result["skipped"]:
            self.stdout.write(f"Already seeded ({result['marker']}); nothing to do. Use --reset to seed again.")
            return
        self.stdout.write(f"Seeded {result['marker']}:")
        for table, rows in result["counts"].items():
            self.stdout.write(f"  {table:<24} {rows:>12,} rows {result['seconds'][table]:8.2f} s")
        for step in ("indexes and foreign keys", "commit", "analyze", "total"):
            self.stdout.write(f"  {step:<37} {result['seconds'][step]:8.2f} s")
