"""Per-request language and time zone, and the one mapping of the services' errors for the web pages."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed, ValidationError
from django.db import connection
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from core import formatting
from core.exceptions import StaleVersionError
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


class HtmlGZipMiddleware(GZipMiddleware):
    """Compress the pages (`text/html`) for clients that accept gzip, and nothing else.

    HTML shrinks to about an eighth, which is most of what a phone downloads for a page (static
    files already come as WhiteNoise's brotli copies). Django's GZipMiddleware does the work,
    with its random filename padding against BREACH. The API is left alone: compressing turns a
    strong ETag into a weak one, and the API's `If-Match` compares versions strongly
    (core/api/etag.py), so a client that sends `Accept-Encoding: gzip` gets the same answer as
    one that does not. Other types (CSV and vCard exports, the service worker script, the
    manifest) pass as they are.
    """

    def process_response(self, request, response):
        if request.path.startswith("/api/"):
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)


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


class ServiceErrorMiddleware:
    """The services' refusals a page did not show on its form, answered once for every page.

    The services have one convention: `ValidationError` (the input or a rule refuses the write:
    400), `StaleVersionError` (the record changed meanwhile: 409) and `PermissionDenied` (the user may
    not: 403, Django's own page). A page shows a refusal next to its form fields where it has a form
    (core.forms.add_service_errors); one it lets through gets the 400 page with the translated message
    instead of a 500, and nothing was changed (the service's transaction was rolled back). The API maps
    the same three in core/api/errors.py.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ValidationError):
            message = " ".join(str(text) for text in exception.messages)
            return render(request, "400.html", {"message": message}, status=400)
        if isinstance(exception, StaleVersionError):
            return render(request, "400.html", {"message": exception.message}, status=409)
        return None
