"""Writes for webhooks: subscribe, unsubscribe, and one delivery attempt."""

import hashlib
import hmac
import http.client
import json
import socket
import ssl
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.querysets import is_admin
from webhooks import guard
from webhooks.events import event_values
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

USER_AGENT = "Safqa-Webhooks/1"


def may_subscribe(user) -> bool:
    """Managers and admins: a subscription sends customer data out of Safqa."""
    return bool(user and user.is_authenticated and (is_admin(user) or getattr(user, "role", None) == "manager"))


def _check_events(events) -> list[str]:
    known = event_values()
    unknown = sorted(set(events or []) - set(known)) if isinstance(events, list) else []
    if not events or unknown or not isinstance(events, list):
        raise ValidationError({"events": _("Choose one or more of: %(events)s.") % {"events": ", ".join(known)}})
    return sorted(set(events))


def _check_url(url: str) -> None:
    try:
        guard.check(url)
    except guard.UnsafeURL as error:
        raise ValidationError({"url": error.messages}) from None


@transaction.atomic
def subscription_create(*, by, url: str, events: list[str], owner=None, is_active: bool = True) -> WebhookSubscription:
    """Subscribe `owner` (default `by`; only an administrator subscribes someone else) to `events` at `url`."""
    owner = owner or by
    if not may_subscribe(by) or not may_subscribe(owner) or (owner.pk != by.pk and not is_admin(by)):
        raise PermissionDenied(_("Only sales managers and administrators can subscribe to webhooks."))
    subscription = WebhookSubscription(owner=owner, url=url, events=_check_events(events), is_active=is_active)
    subscription.full_clean()
    _check_url(url)
    subscription.save()
    return subscription


@transaction.atomic
def subscription_update(*, subscription: WebhookSubscription, by, **fields) -> WebhookSubscription:
    """Change a subscription's URL, events, owner or active flag (the Django admin); the same checks as subscribing."""
    owner = fields.get("owner", subscription.owner)
    if not may_subscribe(owner) or (owner.pk != by.pk and not is_admin(by)):
        raise PermissionDenied(_("Only sales managers and administrators can subscribe to webhooks."))
    if "events" in fields:
        fields["events"] = _check_events(fields["events"])
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.full_clean()
    if "url" in fields:
        _check_url(subscription.url)
    subscription.save()
    return subscription


@transaction.atomic
def subscription_delete(*, subscription: WebhookSubscription, by) -> None:
    """Delete a subscription and its delivery log; deliveries under way stop."""
    subscription.delete()


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-Safqa-Signature value: HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address the SSRF guard checked, not to a fresh DNS answer."""

    def __init__(self, host, port, *, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Certificate and SNI are checked against the URL's host name.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post(url: str, *, address: str, headers: dict, body: bytes) -> int:
    from urllib.parse import urlsplit

    scheme, host, port = guard.parse(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # the receiver's answer is not used; read a little so the connection closes cleanly
        return response.status
    finally:
        connection.close()


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: base × 2^attempts."""
    return timedelta(seconds=settings.WEBHOOKS_RETRY_BASE_SECONDS * 2**attempts)


def delivery_attempt(*, delivery_id: int, now=None) -> WebhookDelivery | None:
    """Send one pending, due delivery once; returns it, or None when there is nothing to do.

    The row is locked for the attempt (SKIP LOCKED: a second worker with the same id
    moves on), so a delivery is never sent twice at the same time; a message that
    arrives early or twice finds it sent or not due yet and does nothing.
    On failure the next try is scheduled with exponential backoff, until
    WEBHOOKS_MAX_ATTEMPTS; then the delivery is failed. The log keeps every outcome.
    """
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        subscription = delivery.subscription
        delivery.attempts += 1
        delivery.last_status_code = None
        if not subscription.is_active:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = str(_("The subscription is switched off."))
            delivery.save()
            return delivery
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Safqa-Event": delivery.event,
            "X-Safqa-Delivery": str(delivery.uuid),
            "X-Safqa-Timestamp": timestamp,
            "X-Safqa-Signature": signature(secret=subscription.secret, timestamp=timestamp, body=body),
        }
        error = ""
        try:
            address = guard.check(subscription.url)
            delivery.last_status_code = _post(subscription.url, address=address, headers=headers, body=body)
        except guard.UnsafeURL as refusal:
            error = " ".join(refusal.messages)
        except (OSError, http.client.HTTPException) as failure:
            error = f"{type(failure).__name__}: {failure}"[:1000]
        if error == "" and 200 <= delivery.last_status_code < 300:
            delivery.status = DeliveryStatus.SENT
            delivery.delivered_at = now
            delivery.last_error = ""
            delivery.next_attempt_at = None
        else:
            delivery.last_error = error or str(
                _("The receiver answered HTTP %(status)s.") % {"status": delivery.last_status_code}
            )
            if delivery.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.save()
    return delivery


def deliveries_due(*, now=None, limit: int = 500) -> list[int]:
    """Ids of pending deliveries whose time has come (retries, and any whose queue message was lost)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
