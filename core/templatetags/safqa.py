"""Template side of the one formatter (core.formatting) and of bidirectional isolation.

Values: `{{ n|as_count }}`, `{{ x|as_decimal:1 }}`, `{{ p|as_percent }}`, `{{ d|as_days }}`,
`{% money amount currency %}`, `{{ day|as_date }}`, `{{ moment|as_datetime }}`, `{{ moment|as_time }}`,
`{{ day|as_month }}`, `{{ day|as_relative }}`, `{% when moment %}` / `{% when_day day %}` (a <time> element).
Text: `{{ name|bdi }}` isolates text whose direction is unknown (user-entered or data-driven) inside a
sentence or a cell; `{{ contact.email|ltr }}` and `{{ e164|phone }}` always read left to right.
"""

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from core import formatting
from core.phones import format_international

register = template.Library()


@register.simple_tag
def money(amount, currency):
    """{% money deal.amount deal.currency %} → "SAR 15,000.00" / "15,000.00 ر.س."."""
    return formatting.money(amount, currency)


class _Counted(int):
    """A whole number that still picks a plural form but prints through the formatter (the member's digits)."""

    def __str__(self):
        return formatting.count(int(self))


@register.filter
def as_counter(value):
    """For `{% blocktranslate count counter=n|as_counter %}`: the plural is chosen by the number, shown formatted."""
    return "" if value is None or value == "" else _Counted(value)


@register.filter
def as_decimal(value, places=1):
    return formatting.decimal(value, int(places))


@register.filter
def as_percent(value, places=1):
    return formatting.percent(value, int(places))


# One-argument values straight from the formatter: {{ n|as_count }}, {{ day|as_date }}, {{ moment|as_datetime }}…
for _kind in ("count", "days", "date", "datetime", "time", "month", "relative", "hijri"):
    register.filter(f"as_{_kind}", getattr(formatting, _kind))


@register.filter
def as_duration(start, end=None):
    """{{ change.at|as_duration:change.until }} → "6 days" / "3 hours"."""
    return formatting.duration(start, end)


@register.filter
def isolated(value):
    """Plain text (emails, subjects): user-entered text wrapped in Unicode isolates instead of <bdi>."""
    return formatting.isolate("" if value is None else str(value))


@register.simple_tag
def when(value):
    """A moment as <time datetime="ISO">Dec 5, 2026, 8:54 PM</time>."""
    if value is None:
        return ""
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), formatting.datetime(value))


@register.simple_tag
def when_day(value):
    """A calendar day as <time datetime="2026-12-05">Dec 5, 2026</time>."""
    if value is None:
        return ""
    return format_html('<time datetime="{}">{}</time>', formatting.iso_date(value), formatting.date(value))


@register.filter(is_safe=True)
def bdi(value):
    """Isolate user-entered or data-driven text so it keeps its own direction inside a sentence."""
    if value is None or value == "":
        return ""
    return format_html("<bdi>{}</bdi>", value)


@register.filter(is_safe=True)
def ltr(value):
    """Text that always reads left to right (an e-mail address, a code), isolated from its sentence."""
    if value is None or value == "":
        return ""
    return format_html('<bdi dir="ltr">{}</bdi>', value)


@register.filter(is_safe=True)
def phone(e164):
    """A phone number in international form, left to right."""
    text = format_international(e164)
    return mark_safe(f'<bdi dir="ltr">{conditional_escape(text)}</bdi>') if text else ""
