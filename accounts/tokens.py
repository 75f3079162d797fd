"""Creating, checking and revoking personal API tokens."""

import hashlib
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken
from core.querysets import prime_scope, scope_rows_expression

TOKEN_PREFIX = "sfq_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the record and the token text, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, for example the app that will use it.")})
    prefix = secrets.token_hex(4)
    while ApiToken.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiToken(user=user, name=name, prefix=prefix, key_hash=_hash(token))
    record.full_clean()
    record.save()
    return record, token


_ACTIVE_TOKENS = {}


def _active_tokens():
    """Active tokens with their users, built once per process and database vendor (building it, with
    the scope's subqueries, cost a tenth of a detail request's Python; filtering a copy does not)."""
    vendor = connection.vendor
    if vendor not in _ACTIVE_TOKENS:
        tokens = ApiToken.objects.active().select_related("user")
        if vendor == "postgresql":
            # The user's teams come in the same statement: what the visibility rules read first.
            tokens = tokens.annotate(scope_rows=scope_rows_expression("user_id"))
        _ACTIVE_TOKENS[vendor] = tokens
    return _ACTIVE_TOKENS[vendor].all()


def api_token_check(token: str) -> ApiToken | None:
    """The active token record for `token`, or None. Constant-time comparison of the hash."""
    if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
        return None
    prefix = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
    record = _active_tokens().filter(prefix=prefix).first()
    if record is None or not hmac.compare_digest(record.key_hash, _hash(token)):
        return None
    if not record.user.is_active:
        return None
    if hasattr(record, "scope_rows"):
        prime_scope(record.user, record.scope_rows)
    now = timezone.now()
    # Touch last_used_at at most once a minute: one write per call would make every GET a write.
    if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
    return record


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
    return token
