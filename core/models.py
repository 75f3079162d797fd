"""Abstract base models shared by every app."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.choices import CallableChoiceIterator
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import gettext_lazy as _

from core.fields import CleanCharField


class ChoiceLabels:
    """get_FOO_display() from a table of labels made once per field, rather than per call.

    Django's own builds a dict of the field's choices on every call, hashing each
    (value, label) pair, and hashing a lazy label translates it: a timeline of 200
    activities translated every kind's label 400 times (150 µs a call). The labels
    stay lazy in the table, so each call still answers in the active language.
    Choices given as a callable may change between calls: those keep Django's way.
    """

    def _get_FIELD_display(self, field):
        labels = _CHOICE_LABELS.get(field)
        if labels is None:
            if isinstance(field.choices, CallableChoiceIterator):
                return super()._get_FIELD_display(field)
            labels = _CHOICE_LABELS[field] = {make_hashable(value): label for value, label in field.flatchoices}
        value = getattr(self, field.attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)


_CHOICE_LABELS: dict = {}


class TimeStampedModel(ChoiceLabels, models.Model):
    """A record that knows when it was created and last changed."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        abstract = True


class BilingualNameModel(models.Model):
    """Reference data a team names in both languages (pipelines, stages, loss reasons).

    `name` is the Arabic (primary) name; `name_en` the English one, optional.
    """

    name = CleanCharField(_("name (Arabic)"), max_length=120)
    name_en = CleanCharField(_("name (English)"), max_length=120, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.localized_name

    @property
    def localized_name(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name


class VersionedModel(ChoiceLabels, models.Model):
    """A record whose `version` grows with every write: ETag / If-Match, and stale-edit checks.

    The service that writes the record gives it its next version (core.services.save_changed,
    save_new_version, the batch writers, core.sync.stamp_written(bump_version=True)); save()
    itself never does, so set-wise writes and one-record saves follow the one rule.
    """

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        abstract = True


class SyncedModel(VersionedModel):
    """A record REST clients keep a copy of.

    `version` (VersionedModel) grows with every write (ETag / If-Match, and the board's
    stale-move check); `change_seq` is the record's place in the global change order that
    incremental sync reads (see core/sync.py).
    """

    change_seq = models.BigIntegerField(_("change sequence"), default=0, editable=False, db_index=True)

    class Meta:
        abstract = True


class ChangeCounter(models.Model):
    """The last change sequence number handed out, and how far tombstones were purged.

    One row. Writers lock it at the end of their transaction to take the next
    numbers, so numbers become visible in commit order (see core/sync.py).
    """

    last_seq = models.BigIntegerField(default=0)
    purged_through_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("change counter")
        verbose_name_plural = _("change counters")
        ordering = ["pk"]

    def __str__(self):
        return f"{self.last_seq}"


class Tombstone(models.Model):
    """A deleted synced record, kept for the retention period so syncing clients learn of the deletion.

    `team_id` and `owner_id` keep what visibility needs after the record is gone.
    """

    model = models.CharField(_("model"), max_length=60)
    object_id = models.BigIntegerField(_("object id"))
    change_seq = models.BigIntegerField(_("change sequence"), db_index=True)
    deleted_at = models.DateTimeField(_("deleted at"), db_index=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    owner_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("tombstone")
        verbose_name_plural = _("tombstones")
        ordering = ["change_seq"]
        indexes = [models.Index(fields=["model", "change_seq"], name="tombstone_model_seq_idx")]

    def __str__(self):
        return f"{self.model}#{self.object_id} deleted at {self.change_seq}"


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key` for one API write, and the response it got, kept 24 hours.

    The row is inserted before the write runs, inside the same transaction, so a
    concurrent retry with the same key waits on it and then replays the stored response.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys", verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self):
        return f"{self.key} ({self.method} {self.path})"


class FormToken(models.Model):
    """A one-time token of a web form that creates something, spent by its first successful submission.

    The form carries a random token from the moment it is rendered; the view inserts this row
    in the transaction that creates the record (core.forms.submit_once), so a second POST of
    the same form (a double click, a resend after a slow answer) waits for the first, finds the
    token spent and is sent to the record already created. Rows older than a day are purged lazily.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    token = models.CharField(_("token"), max_length=64)
    result_url = models.CharField(_("result address"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("form token")
        verbose_name_plural = _("form tokens")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "token"], name="formtoken_unique_user_token")]

    def __str__(self):
        return self.token
