"""Import jobs (with what they need to be undone), saved column mappings and merges."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.querysets import OwnedQuerySet


class ImportKind(models.TextChoices):
    CONTACTS = "contacts", _("Contacts")
    COMPANIES = "companies", _("Companies")
    DEALS = "deals", _("Deals")


class ImportStatus(models.TextChoices):
    READING = "reading", _("Reading the file")
    REFUSED = "refused", _("Not read, nothing was imported")
    PREVIEWED = "previewed", _("Previewed")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed, nothing was imported")
    CANCELLED = "cancelled", _("Cancelled, nothing was imported")
    UNDONE = "undone", _("Undone")


class ImportJobQuerySet(OwnedQuerySet):
    owner_field = "owner"

    def light(self):
        """Without the fields that grow with the file (the upload, its rows, their errors, what undo needs).

        A list or a status page reads a few columns of each job: loading a large file's
        rows for it takes seconds and hundreds of MB.
        """
        return self.defer(*ImportJob.FILE_SIZED_FIELDS)


class ImportJob(TimeStampedModel):
    """One uploaded file: its rows as read, the confirmed mapping, the preview, and what the import wrote.

    `upload` holds the file as uploaded until the worker has read it (status "reading"); then
    `headers`, `rows` and `row_count` hold what it read, or `message` why it could not
    (status "refused"). `created` and `snapshots` are what undo needs: the ids the import
    created, and for each record it updated the fields as they were before plus the version it left.
    """

    FILE_SIZED_FIELDS = ("upload", "rows", "errors", "created", "snapshots")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs", verbose_name=_("owner")
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    source = models.CharField(_("external source"), max_length=60, default="import")
    upload = models.BinaryField(_("uploaded file"), null=True, blank=True, editable=False)
    headers = models.JSONField(_("headers"), default=list, blank=True)
    rows = models.JSONField(_("rows"), default=list, blank=True)
    row_count = models.PositiveIntegerField(_("rows in the file"), default=0)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    created = models.JSONField(_("created records"), default=list, blank=True)
    snapshots = models.JSONField(_("updated records before the import"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    # Chosen on the preview: import the valid rows and hand the failing ones back (errors.csv),
    # or all or nothing. Either way one transaction.
    skip_failing = models.BooleanField(_("import the valid rows, skip the failing ones"), default=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.file_name}"


class SavedMapping(TimeStampedModel):
    """A column mapping a user confirmed, offered again for a file with the same headers."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_mappings", verbose_name=_("owner")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices)
    signature = models.CharField(_("header signature"), max_length=64)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)

    class Meta:
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")
        ordering = ["-updated_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "kind", "signature"], name="saved_mapping_unique_signature")
        ]

    def __str__(self):
        return f"{self.kind} · {self.signature[:8]}"


class MergeQuerySet(OwnedQuerySet):
    owner_field = "by"


class Merge(TimeStampedModel):
    """Records merged into a survivor, with the snapshot that lets the merge be undone."""

    KIND_CHOICES = (("contact", _("Contacts")), ("company", _("Companies")))

    kind = models.CharField(_("kind"), max_length=10, choices=KIND_CHOICES)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="merges", verbose_name=_("merged by")
    )
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="+", verbose_name=_("team"))
    survivor_id = models.BigIntegerField(_("survivor"))
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    objects = MergeQuerySet.as_manager()

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.kind} → {self.survivor_id}"
