"""{% support_panel board filter_query %}: the dashboard's customer satisfaction and support section."""

from django import template

from analytics.support import SupportFigures

register = template.Library()


@register.inclusion_tag("analytics/partials/support.html")
def support_panel(board, filter_query: str = ""):
    figures = SupportFigures(board)
    return {
        "support": figures.headline,
        "trend": figures.trend,
        "per_rep": figures.per_rep,
        "filter_query": filter_query,
        "self_only": board.self_only,
    }
