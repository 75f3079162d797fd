"""API base: pagination, one JSON error shape, and viewsets that apply visibility.

Every error the API returns has the same shape, in the language of the
request's Accept-Language:

    {"error": {"code": "not_found", "message": "…", "fields": {"email": ["…"]}}}
"""

import re

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.parsers import RequestTooLarge
from core.exceptions import StaleVersionError

# A lone surrogate (a JSON "\ud800" escape) is not text: it cannot be encoded as UTF-8.
_SURROGATES = re.compile("[\ud800-\udfff]")


def error_text(value) -> str:
    """`value` as text an error can carry: messages and field names may echo the input, lone surrogates
    included, which would then fail the JSON answer (and a stored idempotent answer) with a 500."""
    text = str(value)
    return text if text.isprintable() else _SURROGATES.sub("\ufffd", text)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {
            error_text(key): [error_text(message) for message in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    return {}


def exception_handler(exc, context):
    """Turn every exception DRF can handle, and the services' errors, into the one error shape."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, StaleVersionError):
        return Response(
            {"error": {"code": "precondition_failed", "message": str(exc.message), "fields": {}}},
            status=status.HTTP_412_PRECONDITION_FAILED,
        )
    elif isinstance(exc, (Http404, ObjectDoesNotExist)):
        # Not visible and not existing answer alike; so does a record deleted while a write
        # waited for its row lock (core.services.lock_current).
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, DjangoPermissionDenied):
        # A service's refusal says why (translated); a bare one gets DRF's message.
        exc = exceptions.PermissionDenied(exc.args[0] if exc.args and exc.args[0] else None)
    elif isinstance(exc, RequestDataTooBig):
        # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check, met when DRF reads the body.
        exc = RequestTooLarge()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        if isinstance(exc.detail, list):
            fields = {"non_field_errors": [error_text(item) for item in exc.detail]}
        message = _("Some fields are not valid.")
        code = "invalid"
    else:
        fields = {}
        message = error_text(getattr(exc, "detail", exc))
        code = getattr(exc, "default_code", "error")
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, str):
            code = codes
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    return response
