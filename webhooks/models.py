"""Webhooks: a URL that receives signed POSTs when contacts and deals change, and the log of each delivery."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.querysets import VisibleQuerySet


class WebhookEvent(models.TextChoices):
    CONTACT_CREATED = "contact.created", _("Contact created")
    CONTACT_UPDATED = "contact.updated", _("Contact updated")
    CONTACT_DELETED = "contact.deleted", _("Contact deleted")
    DEAL_CREATED = "deal.created", _("Deal created")
    DEAL_UPDATED = "deal.updated", _("Deal updated")
    DEAL_STAGE_CHANGED = "deal.stage_changed", _("Deal moved to another stage")
    DEAL_WON = "deal.won", _("Deal won")
    DEAL_LOST = "deal.lost", _("Deal lost")


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class SubscriptionQuerySet(VisibleQuerySet):
    """A subscription is its owner's own: nobody else lists, reads or deletes it (admins use the Django admin)."""

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(owner=user)

    def editable_by(self, user):
        return self.visible_to(user)

    def visible_q(self, user) -> Q:
        return Q(owner=user)

    def editable_q(self, user) -> Q:
        return Q(owner=user)


class WebhookSubscription(TimeStampedModel):
    """A URL that receives the chosen events about the records its owner may see.

    `secret` signs every delivery (HMAC-SHA256); the API shows it once, on creation.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name=_("owner"),
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("secret"), max_length=80, default=new_secret, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class DeliveryQuerySet(VisibleQuerySet):
    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(subscription__owner=user)

    def editable_by(self, user):
        return self.none()

    def visible_q(self, user) -> Q:
        return Q(subscription__owner=user)

    def editable_q(self, user) -> Q:
        return Q(pk__in=[])


class WebhookDelivery(TimeStampedModel):
    """One event sent (or being sent) to one subscription: the payload, each attempt's outcome, the next try.

    Written in the same transaction as the change it reports, so a committed change
    always has its deliveries; `uuid` is the X-Safqa-Delivery header, the same on
    every retry, so a receiver can drop duplicates.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    event = models.CharField(_("event"), max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx")]

    def __str__(self):
        return f"{self.event} → {self.subscription_id} ({self.status})"
