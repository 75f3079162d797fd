"""The sales forecast, a batch module: won value per month and currency for the next three months.

Run by the worker (assistant.tasks.sales_forecasts_refresh) and the `sales_forecast`
command; the web process never imports this module, and statsmodels, numpy and pandas
are imported only inside `fit_and_forecast`, so even importing it costs nothing.

For each team and currency:
- the history is the won value of each complete team-local month, from the month of the
  first won deal in that currency to last month (a month with nothing won counts 0);
- with fewer than MIN_FIT_MONTHS + BACKTEST_MONTHS months there is no forecast, only a
  note saying how many months there are and how many are needed;
- the model is exponential smoothing with additive errors and an additive trend (Holt),
  with an additive yearly season (Holt-Winters) when the months before the backtest cover
  two full years, so the backtest measures the same kind of model that forecasts;
- the backtest fits that model without the last BACKTEST_MONTHS months, forecasts them and
  reports the mean absolute percentage error against what was won (months with nothing won
  have no percentage error and are left out of the mean);
- the forecast fits the whole history and gives the current month and the two after it,
  each with its INTERVAL_LEVEL % prediction interval. Won value is never negative: values
  and bounds below zero are shown as zero.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

logger = logging.getLogger(__name__)

# Months the model is fitted on before the backtest's months, at the least.
MIN_FIT_MONTHS = 12
# The backtest: the last six complete months.
BACKTEST_MONTHS = 6
# Months ahead: the current (incomplete) month and the two after it.
HORIZON = 3
# A yearly season, used once the fitting months cover two full years.
SEASON_MONTHS = 12
# The prediction interval shown around each forecast month, in percent.
INTERVAL_LEVEL = 80

CENT = Decimal("0.01")


def months_needed() -> int:
    """Complete months of history a forecast needs: the fitting months and the backtest's."""
    return MIN_FIT_MONTHS + BACKTEST_MONTHS


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after `month` (negative: before)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_range(first: date, last: date) -> list[date]:
    """Every month from `first` to `last` included, as first days."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def mape(actual, predicted) -> tuple[Decimal | None, int]:
    """Mean absolute percentage error in points, and how many months it averages.

    A month whose actual value is 0 has no percentage error and is left out; with no month
    left the error is None (unknown), never 0.
    """
    errors = [abs(Decimal(a) - Decimal(p)) / abs(Decimal(a)) for a, p in zip(actual, predicted, strict=True) if a]
    if not errors:
        return None, 0
    value = sum(errors, Decimal(0)) / len(errors) * 100
    return value.quantize(CENT, rounding=ROUND_HALF_UP), len(errors)


def _money(value: float) -> Decimal:
    return Decimal(str(max(float(value), 0.0))).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class ForecastMonth:
    month: date
    value: Decimal
    low: Decimal | None = None
    high: Decimal | None = None
    actual: Decimal | None = None


@dataclass
class ForecastResult:
    """What one team and currency's forecast says (stored by assistant.forecast_services)."""

    status: str  # "forecast" or "too_short" (SalesForecastStatus)
    method: str = ""  # "trend", "seasonal" or "" (SalesForecastMethod)
    history_start: date | None = None
    history_months: int = 0
    months_needed: int = field(default_factory=months_needed)
    interval_level: int = INTERVAL_LEVEL
    mape: Decimal | None = None
    backtest_months: int = 0
    ahead: list[ForecastMonth] = field(default_factory=list)
    backtest: list[ForecastMonth] = field(default_factory=list)


def _fit(values, first: date, seasonal: bool):
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = pd.Series([float(value) for value in values], dtype="float64")
    series.index = pd.date_range(first.isoformat(), periods=len(series), freq="MS")
    options = {"seasonal": "add", "seasonal_periods": SEASON_MONTHS} if seasonal else {}
    model = ETSModel(series, error="add", trend="add", initialization_method="estimated", **options)
    with warnings.catch_warnings():
        # The optimiser's convergence chatter says nothing the backtest error does not.
        warnings.simplefilter("ignore")
        return model.fit(disp=False)


def _predict(result, steps: int):
    """(mean, low, high) arrays for the `steps` months after the fitted history."""
    start = result.nobs
    frame = result.get_prediction(start=start, end=start + steps - 1).summary_frame(alpha=1 - INTERVAL_LEVEL / 100)
    return list(frame["mean"]), list(frame["pi_lower"]), list(frame["pi_upper"])


def fit_and_forecast(history: list[Decimal], *, first_month: date) -> ForecastResult:
    """The forecast of a monthly won-value series that starts at `first_month` (complete months only)."""
    count = len(history)
    if count < months_needed():
        return ForecastResult(status="too_short", history_start=first_month if count else None, history_months=count)
    fit_months = count - BACKTEST_MONTHS
    seasonal = fit_months >= 2 * SEASON_MONTHS
    # The backtest: the same kind of model without the last months, asked for them.
    tested = _fit(history[:fit_months], first_month, seasonal)
    predicted, _low, _high = _predict(tested, BACKTEST_MONTHS)
    predicted = [_money(value) for value in predicted]
    actual = [Decimal(value) for value in history[fit_months:]]
    error, used = mape(actual, predicted)
    backtest_start = add_months(first_month, fit_months)
    backtest = [
        ForecastMonth(month=add_months(backtest_start, index), value=value, actual=actual[index])
        for index, value in enumerate(predicted)
    ]
    # The forecast: the whole history, the next HORIZON months with their interval.
    fitted = _fit(history, first_month, seasonal)
    mean, low, high = _predict(fitted, HORIZON)
    ahead_start = add_months(first_month, count)
    ahead = [
        ForecastMonth(month=add_months(ahead_start, index), value=_money(m), low=_money(lo), high=_money(hi))
        for index, (m, lo, hi) in enumerate(zip(mean, low, high, strict=True))
    ]
    return ForecastResult(
        status="forecast",
        method="seasonal" if seasonal else "trend",
        history_start=first_month,
        history_months=count,
        mape=error,
        backtest_months=used,
        ahead=ahead,
        backtest=backtest,
    )


def monthly_won_values(*, team, until: date) -> dict[str, tuple[date, list[Decimal]]]:
    """{currency: (first month, [won value of each month up to `until`'s month excluded])} for one team.

    Months are the team's local months; a won deal counts in the month of its closing time.
    One grouped query.
    """
    from django.db.models import Sum
    from django.db.models.functions import TruncMonth

    from core.i18n import zone_named
    from pipeline.models import Deal, StageKind

    zone = zone_named(team.time_zone)
    rows = (
        Deal.objects.filter(team=team, stage__kind=StageKind.WON, closed_at__isnull=False)
        .order_by()
        .annotate(month=TruncMonth("closed_at", tzinfo=zone))
        .values("currency", "month")
        .annotate(total=Sum("amount"))
        .values_list("currency", "month", "total")
    )
    sums: dict[str, dict[date, Decimal]] = {}
    for currency, month, total in rows:
        month = month.date() if isinstance(month, datetime) else month
        sums.setdefault(currency, {})[month.replace(day=1)] = total or Decimal(0)
    last = add_months(until.replace(day=1), -1)
    series = {}
    for currency, by_month in sums.items():
        first = min(by_month)
        months = month_range(first, last) if first <= last else []
        series[currency] = (first, [by_month.get(month, Decimal(0)) for month in months])
    return series


def refresh_all(*, now: datetime | None = None) -> int:
    """Forecast every team's won value in every currency it has won in; returns how many forecasts were stored."""
    from django.utils import timezone
    from numpy.linalg import LinAlgError

    from accounts.models import Team
    from analytics.days import local_date
    from assistant.forecast_services import sales_forecasts_replace

    now = now or timezone.now()
    stored = 0
    for team in Team.objects.order_by("pk"):
        today = local_date(team.time_zone, now)
        results, failed = {}, set()
        for currency, (first, values) in monthly_won_values(team=team, until=today).items():
            try:
                results[currency] = fit_and_forecast(values, first_month=first)
            except (ArithmeticError, ValueError, LinAlgError):
                # One odd series must not cost every other team its forecast: this one keeps
                # yesterday's, and the log says why.
                logger.exception("sales forecast failed for team %s in %s", team.pk, currency)
                failed.add(currency)
        sales_forecasts_replace(team=team, results=results, made_at=now, keep=failed)
        stored += len(results)
    return stored
