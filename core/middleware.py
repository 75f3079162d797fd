"""Per-request language and time zone."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connection
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from core import formatting
from core.i18n import supported_languages


def language_for(request) -> str:
    """The language to answer in.

    The API follows the client's Accept-Language. Pages follow the signed-in
    user's saved preference, else the language cookie set by the switcher, else
    Arabic: the browser's Accept-Language is deliberately not consulted, since
    Arabic is the product's default even on an English-configured device.
    """
    if request.path.startswith("/api/"):
        return translation.get_language_from_request(request)
    user = getattr(request, "user", None)
    supported = supported_languages()
    if user is not None and user.is_authenticated and user.language in supported:
        return user.language
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in supported:
        return cookie
    return settings.LANGUAGE_CODE


class UserLanguageMiddleware:
    """Activate the language chosen by `language_for` (replaces Django's LocaleMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = language_for(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response


class UserTimezoneMiddleware:
    """Show times in the signed-in user's time zone, and values with their digits and calendar (core.formatting)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            formatting.activate(formatting.preferences_of(user))
        else:
            timezone.deactivate()
            formatting.deactivate()
        return self.get_response(request)


class QueryCountHeaderMiddleware:
    """Count the SQL statements a request runs and report them in `X-Safqa-Queries`.

    For the benchmark (bench/): enabled only by the environment variable
    SAFQA_BENCH_QUERY_HEADER=1 (settings.BENCH_QUERY_HEADER), so production pays nothing;
    when off, Django drops it from the chain at start-up (MiddlewareNotUsed).
    """

    header = "X-Safqa-Queries"

    def __init__(self, get_response):
        if not getattr(settings, "BENCH_QUERY_HEADER", False):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response.headers[self.header] = str(count)
        return response
