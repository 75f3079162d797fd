"""HTMX helpers: one view answers with the whole page or, for an HTMX request, only its fragment."""

from django.shortcuts import render


def render_page_or_partial(request, template: str, partial: str, context: dict, status: int = 200):
    """Render `partial` for an HTMX request (request.htmx from django-htmx), else the full `template`."""
    chosen = partial if getattr(request, "htmx", False) else template
    return render(request, chosen, context, status=status)
