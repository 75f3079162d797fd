"""HTMX helpers: one view answers with the whole page or, for an HTMX request, only its fragment."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request) -> bool:
    """True for an HTMX request that swaps a fragment; a history restore needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page_or_partial(request, template: str, partial: str, context: dict, status: int = 200):
    """Render `partial` for an HTMX request (request.htmx from django-htmx), else the full `template`."""
    response = render(request, partial if wants_fragment(request) else template, context, status=status)
    # The same URL answers two bodies; caches must key on the header that picks one.
    patch_vary_headers(response, ("HX-Request",))
    return response
