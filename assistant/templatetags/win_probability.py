"""{{ deal.win_probability|as_chance }}: a probability between 0 and 1 as a whole percentage, through the formatter."""

from django import template

from core import formatting

register = template.Library()


@register.filter
def as_chance(value):
    if value is None or value == "":
        return ""
    return formatting.percent(value * 100, 0)
