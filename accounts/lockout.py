"""Sign-in lockout (django-axes): the page a locked-out sign-in gets and the client address it counts by."""

import ipaddress
import math

from django.conf import settings
from django.shortcuts import render


def client_ip_address(request) -> str | None:
    """The address a sign-in attempt is counted against.

    REMOTE_ADDR, unless Safqa runs behind TRUSTED_PROXY_COUNT reverse proxies: then the
    N-th X-Forwarded-For entry from the right, the one the outermost trusted proxy saw.
    Entries further left are written by the client and never trusted.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def login_locked_out(request, original_response=None, credentials=None):
    """The lockout page: the login page's card with why and for how long, status 429.

    Rendered by axes' middleware after the login view, so the language the request
    activated (the member's cookie or Arabic) is still active.
    """
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else None
    response = render(
        request,
        "accounts/locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    response["Cache-Control"] = "no-store"
    return response
