"""Reads of the stored sales forecast for the dashboard and the API (the web never fits a model)."""

from django.db.models import Prefetch

from assistant.planning_models import SalesForecast, SalesForecastMonth, SalesForecastMonthKind


def sales_forecasts(*, user, team_ids=None) -> list[SalesForecast]:
    """The forecasts `user` may read (the teams they manage; admins every team), by team then currency.

    Each carries `ahead` (the next three months) and `backtest` (the last six), read in two
    queries whatever the number of teams and currencies. `team_ids` narrows to those teams.
    """
    forecasts = (
        SalesForecast.objects.visible_to(user).select_related("team").order_by("team__name", "team_id", "currency")
    )
    if team_ids is not None:
        forecasts = forecasts.filter(team_id__in=list(team_ids))
    months = SalesForecastMonth.objects.order_by("month")
    forecasts = forecasts.prefetch_related(
        Prefetch("months", queryset=months.filter(kind=SalesForecastMonthKind.FORECAST), to_attr="ahead"),
        Prefetch("months", queryset=months.filter(kind=SalesForecastMonthKind.BACKTEST), to_attr="backtest"),
    )
    return list(forecasts)
