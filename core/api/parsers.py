"""A JSON parser that refuses oversized bodies (413) before reading them into memory."""

import io

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def max_body_bytes() -> int:
    return settings.API_MAX_BODY_BYTES


def request_too_large(request) -> bool:
    """Whether the request announces (Content-Length) a body over the limit."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > max_body_bytes()
    except ValueError:
        return False


class LimitedJSONParser(parsers.JSONParser):
    """JSON with a size limit (settings.API_MAX_BODY_BYTES); also reads bodies sent without Content-Length."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            declared = int(length) if length else None
        except ValueError:
            declared = None
        if declared is not None and declared > limit:
            raise RequestTooLarge()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge()
        return super().parse(io.BytesIO(raw), media_type, parser_context)
