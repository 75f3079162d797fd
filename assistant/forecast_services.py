"""Writes of the sales forecast: the worker replaces a team's stored forecasts after each run."""

from django.db import transaction

from assistant.planning_models import SalesForecast, SalesForecastMonth, SalesForecastMonthKind


@transaction.atomic
def sales_forecasts_replace(*, team, results: dict, made_at, keep=(), by=None) -> list[SalesForecast]:
    """Store `results` ({currency: assistant.forecast.ForecastResult}) as the team's forecasts.

    Each currency's row is updated in place and its months rewritten; a currency the team no
    longer has won in loses its forecast, except those in `keep` (whose fit failed this time:
    they keep the last one). Running twice stores the same thing once.
    """
    stored = []
    for currency, result in sorted(results.items()):
        forecast = SalesForecast.objects.select_for_update().filter(team=team, currency=currency).first()
        forecast = forecast or SalesForecast(team=team, currency=currency)
        forecast.made_at = made_at
        forecast.status = result.status
        forecast.method = result.method
        forecast.history_start = result.history_start
        forecast.history_months = result.history_months
        forecast.months_needed = result.months_needed
        forecast.interval_level = result.interval_level
        forecast.mape = result.mape
        forecast.backtest_months = result.backtest_months
        forecast.full_clean(validate_constraints=False)
        forecast.save()
        forecast.months.all().delete()
        months = [
            SalesForecastMonth(
                forecast=forecast,
                kind=kind,
                month=row.month,
                value=row.value,
                low=row.low,
                high=row.high,
                actual=row.actual,
            )
            for kind, rows in (
                (SalesForecastMonthKind.FORECAST, result.ahead),
                (SalesForecastMonthKind.BACKTEST, result.backtest),
            )
            for row in rows
        ]
        for month in months:
            month.full_clean(exclude=["forecast"], validate_constraints=False)
        SalesForecastMonth.objects.bulk_create(months)
        stored.append(forecast)
    SalesForecast.objects.filter(team=team).exclude(currency__in=[*results, *keep]).delete()
    return stored
