"""Idempotency-Key: a POST sent again with the same key is done once.

The first request with a key stores its fingerprint (method, path, body) and its
response; a retry replays that response with `Idempotent-Replayed: true`; the same
key with another request answers 422. Keys are kept 24 hours (IDEMPOTENCY_KEY_TTL).

Only successful responses are stored: a request that failed changed nothing, so
its retry runs again.
"""

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.models import IdempotencyKey

KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Visible ASCII, spaces only inside: what an HTTP header carries unchanged (the schema documents it).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was already used for a different request. Use a new key.")
    default_code = "idempotency_key_reused"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    text = f"{request.method}\n{request.path}\n{body}"
    # surrogatepass: a body may hold a lone surrogate ("\ud800" in JSON), which plain UTF-8 cannot encode.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _without_nul(value):
    """PostgreSQL text and jsonb cannot hold NUL: an answer echoing a NUL the client sent (an unknown
    field's name, a path) is stored, and replayed, with U+FFFD in its place."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def purge_expired(now=None) -> int:
    """Delete keys past their 24 hours; returns how many. Also done lazily on every keyed request."""
    deleted, _details = IdempotencyKey.objects.filter(created_at__lt=(now or timezone.now()) - KEY_TTL).delete()
    return deleted


def idempotent(handler):
    """Decorator for a viewset's create or action method: honour `Idempotency-Key`."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handler(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
            raise exceptions.ValidationError(
                {"Idempotency-Key": [_("Send an Idempotency-Key of 1 to 255 ASCII characters.")]}
            )
        fingerprint = _fingerprint(request)
        purge_expired()
        with transaction.atomic():
            # Insert first: a concurrent request with the same key blocks on the unique
            # index until this transaction ends, then finds the stored response.
            record, created = IdempotencyKey.objects.get_or_create(
                user=request.user,
                key=key,
                defaults={"method": request.method, "path": _without_nul(request.path), "fingerprint": fingerprint},
            )
            if not created:
                record = IdempotencyKey.objects.select_for_update().get(pk=record.pk)
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                if record.status_code is not None:
                    return Response(
                        record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"}
                    )
            response = handler(self, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                record.status_code = response.status_code
                record.response_body = _without_nul(json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)))
                record.save(update_fields=["status_code", "response_body", "updated_at"])
            else:
                transaction.set_rollback(True)
            return response

    # Read by the schema (core.api.schema), which documents the header on exactly these operations.
    wrapper.honours_idempotency_key = True
    return wrapper
