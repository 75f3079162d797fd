"""Idempotency-Key: a POST sent again with the same key is done once.

The first request with a key stores its fingerprint (method, path, body) and its
response; a retry replays that response with `Idempotent-Replayed: true`; the same
key with another request answers 422. Keys are kept 24 hours (IDEMPOTENCY_KEY_TTL).

Only successful responses are stored: a request that failed changed nothing, so
its retry runs again.

A keyed request costs two statements: the key is claimed with one INSERT … ON CONFLICT DO
NOTHING (a concurrent request with the same key waits on the unique index until the first
one ends), and the answer is stored with one UPDATE. Expired keys are purged at most once a
minute per process; a key found expired on its reuse is taken over as new, so the 24 hours
hold whether or not the purge ran.
"""

import functools
import hashlib
import json
import re
import time
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
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


PURGE_EVERY_S = 60
_last_purge = float("-inf")


def _purge_now_and_then() -> None:
    """purge_expired(), at most once a minute in this process (it is housekeeping: see `_claim`)."""
    global _last_purge
    now = time.monotonic()
    if now - _last_purge >= PURGE_EVERY_S:
        _last_purge = now
        purge_expired()


def _claim(request, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """The key's record, locked until the transaction ends, and whether this request is its first use.

    One INSERT … ON CONFLICT DO NOTHING: it returns the new row's id, or nothing when the key
    exists (after waiting for a concurrent request that holds it to commit or roll back). A key
    found past its 24 hours, or never answered, is taken over by this request as a new one.
    """
    now = timezone.now()
    path = _without_nul(request.path)
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, key, method, path, fingerprint, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [request.user.pk, key, request.method, path, fingerprint, now, now],
        )
        row = cursor.fetchone()
    if row is not None:
        record = IdempotencyKey(
            pk=row[0], user_id=request.user.pk, key=key, method=request.method, path=path, fingerprint=fingerprint
        )
        record.created_at = record.updated_at = now
        record._state.adding = False
        return record, True
    record = IdempotencyKey.objects.select_for_update().get(user=request.user, key=key)
    if record.created_at < now - KEY_TTL or record.status_code is None:
        record.method, record.path, record.fingerprint = request.method, path, fingerprint
        record.status_code, record.response_body, record.created_at = None, None, now
        record.save()
        return record, True
    return record, False


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
        _purge_now_and_then()
        with transaction.atomic():
            record, first = _claim(request, key, fingerprint)
            if not first:
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                return Response(
                    record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"}
                )
            response = handler(self, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                body = _without_nul(json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)))
                IdempotencyKey.objects.filter(pk=record.pk).update(
                    status_code=response.status_code, response_body=body, updated_at=timezone.now()
                )
            else:
                transaction.set_rollback(True)
            return response

    # Read by the schema (core.api.schema), which documents the header on exactly these operations.
    wrapper.honours_idempotency_key = True
    return wrapper
