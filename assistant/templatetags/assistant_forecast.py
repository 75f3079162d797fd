"""The dashboard's sales forecast panel: the stored forecast of the teams the page is about."""

from django import template

from assistant.forecast_selectors import sales_forecasts

register = template.Library()


@register.inclusion_tag("assistant/partials/sales_forecast.html")
def sales_forecast_panel(board):
    """{% sales_forecast_panel board %}: nothing for a member who sees only their own figures (a team figure)."""
    if board is None or board.self_only:
        return {"shown": False}
    team_ids = [team.pk for team in board.teams]
    return {"shown": True, "forecasts": sales_forecasts(user=board.user, team_ids=team_ids)}
