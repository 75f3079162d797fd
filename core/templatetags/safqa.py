"""Template filters for money and phones, formatted for the active language."""

from django import template

from core.money import format_money
from core.phones import format_international

register = template.Library()


@register.simple_tag
def money(amount, currency):
    """{% money deal.amount deal.currency %} → "SAR 15,000.00" / "‏15,000.00 ر.س.‏"."""
    return format_money(amount, currency)


@register.filter
def phone(e164):
    return format_international(e164)
