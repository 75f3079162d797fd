"""Oversized request bodies answer 413, in the API's error shape or as a translated page.

Two ways a body can be too large:

- Sent without Content-Length (Transfer-Encoding: chunked). Django reads a request body only up
  to its Content-Length, so such a body used to reach views as empty (a 400 for the API, an empty
  form for pages), however large. `ChunkedBodyMiddleware` reads it from a server that
  de-chunks (gunicorn sets `wsgi.input_terminated`), up to the limit: over it the answer is 413;
  under it the body is handed on with its length, as if it had been sent with one. A server that
  cannot hand the body over (Django's development server) gets 411: send a Content-Length.
- Form fields over DATA_UPLOAD_MAX_MEMORY_SIZE: Django raises RequestDataTooBig, which it turns
  into a 400; `bad_request` (handler400) answers 413 instead.
"""

import tempfile

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

from core.api.parsers import RequestTooLarge

_READ_SIZE = 64 * 1024
# Room for the multipart framing around an uploaded file.
_MULTIPART_SLACK = 1024 * 1024
# After refusing a body, at most this many further bytes are read and dropped, so the client
# receives the 413 instead of a connection reset; a longer body is cut off.
_DRAIN_FACTOR = 4


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def body_limit(request) -> int:
    """Largest body a request to this path may send: the API's limit, else room for an import file."""
    if _is_api(request):
        return settings.API_MAX_BODY_BYTES
    form_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return max(form_limit, getattr(settings, "IMPORT_MAX_BYTES", 0)) + _MULTIPART_SLACK


def too_large_response(request):
    """413 in the API's error shape for /api/, else the translated page."""
    if _is_api(request):
        return JsonResponse(
            {"error": {"code": "request_too_large", "message": str(RequestTooLarge.default_detail), "fields": {}}},
            status=413,
        )
    return render(request, "413.html", status=413)


def _length_required_response(request):
    message = _("Send the request body with a Content-Length header: this server cannot read a chunked body.")
    if _is_api(request):
        return JsonResponse({"error": {"code": "length_required", "message": message, "fields": {}}}, status=411)
    return render(request, "413.html", {"message": message}, status=411)


class ChunkedBodyMiddleware:
    """Apply the body size limit to bodies sent without Content-Length (see the module docstring).

    Placed after the language middleware, so its answers are in the request's language, and
    before anything reads the body (the CSRF check reads form posts in process_view).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if meta.get("HTTP_TRANSFER_ENCODING") and not meta.get("CONTENT_LENGTH") and "wsgi.input" in meta:
            if not meta.get("wsgi.input_terminated"):
                return _length_required_response(request)
            refused = self._buffer_body(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _buffer_body(self, request):
        limit = body_limit(request)
        source = request.META["wsgi.input"]
        # Not a context manager: the buffer is the request's body and lives as long as the request.
        buffer = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
        size = 0
        while True:
            chunk = source.read(min(_READ_SIZE, limit + 1 - size))
            if not chunk:
                break
            buffer.write(chunk)
            size += len(chunk)
            if size > limit:
                buffer.close()
                self._drain(source, limit * _DRAIN_FACTOR)
                return too_large_response(request)
        buffer.seek(0)
        request.META["CONTENT_LENGTH"] = str(size)
        # Django reads the body from request._stream (HttpRequest.read); WSGIRequest built it from
        # CONTENT_LENGTH, which was missing, so it is replaced by the buffered body and its length.
        request._stream = LimitedStream(buffer, size)
        return None

    @staticmethod
    def _drain(source, budget: int) -> None:
        while budget > 0:
            chunk = source.read(min(_READ_SIZE, budget))
            if not chunk:
                return
            budget -= len(chunk)


def bad_request(request, exception=None):
    """handler400: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is 413 (too large), not 400."""
    if isinstance(exception, RequestDataTooBig):
        return too_large_response(request)
    return defaults.bad_request(request, exception)
