"""Make the sales forecast now (what the nightly task does), e.g. after an import of past deals."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Forecast every team's won value per month and currency for the next three months, with its backtest error."

    def handle(self, *args, **options):
        from assistant.forecast import refresh_all

        stored = refresh_all()
        self.stdout.write(f"{stored} forecasts stored.")
