"""Importing rows into companies, contacts and deals: column mapping, preview (dry run), import, undo.

The preview and the import run the same code: every row goes through the crm/pipeline
services inside one transaction, each row in its own savepoint so one bad row does not
hide the others' errors. A dry run then rolls everything back; a confirmed import
commits only when no row failed (all-or-nothing per file).

Progress and the cancel flag live in the cache, keyed by job id: the import's
transaction is open while it runs, so a counter written to the job row would stay
invisible to the polling page until the very end. With Redis the cache is shared by the
worker and the web processes; without it the task runs in the web process (eager) and
the in-memory cache is shared too.
"""

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.text import normalize_text
from crm import services as crm_services
from crm.models import Company, Contact
from transfers.models import ImportJob, ImportKind, ImportStatus, SavedMapping

CHUNK = 500

# Fields a column can be mapped to, per kind, with their label.
FIELDS = {
    ImportKind.CONTACTS: {
        "external_id": _("External id"),
        "first_name": _("First name"),
        "last_name": _("Last name"),
        "full_name": _("Full name"),
        "email": _("Email"),
        "phone": _("Phone"),
        "job_title": _("Job title"),
        "company": _("Company"),
        "notes": _("Notes"),
    },
    ImportKind.COMPANIES: {
        "external_id": _("External id"),
        "name": _("Name"),
        "phone": _("Phone"),
        "website": _("Website"),
        "industry": _("Industry"),
        "city": _("City"),
        "country": _("Country"),
        "notes": _("Notes"),
    },
    ImportKind.DEALS: {
        "title": _("Title"),
        "amount": _("Amount"),
        "currency": _("Currency"),
        "company": _("Company"),
        "contact_email": _("Contact email"),
        "expected_close": _("Expected close"),
    },
}

# Header synonyms (normalized with normalize_text), Arabic and English, incl. Google Contacts and Outlook exports.
_SYNONYMS = {
    "external_id": ["external id", "id", "record id", "المعرف", "المعرف الخارجي", "رقم السجل"],
    "first_name": ["first name", "given name", "first", "الاسم الأول", "الاسم الاول"],
    "last_name": ["last name", "family name", "surname", "last", "اسم العائلة", "العائلة", "الكنية"],
    "full_name": ["name", "full name", "contact name", "display name", "الاسم", "الاسم الكامل", "اسم جهة الاتصال"],
    "email": [
        "email",
        "e-mail",
        "e-mail 1 - value",
        "email address",
        "e-mail address",
        "mail",
        "البريد الإلكتروني",
        "البريد الالكتروني",
        "البريد",
        "الإيميل",
        "الايميل",
    ],
    "phone": [
        "phone",
        "mobile",
        "mobile phone",
        "phone 1 - value",
        "telephone",
        "tel",
        "cell",
        "الجوال",
        "رقم الجوال",
        "الهاتف",
        "رقم الهاتف",
        "الموبايل",
        "الهاتف المحمول",
    ],
    "job_title": ["job title", "title", "organization 1 - title", "position", "المسمى الوظيفي", "الوظيفة", "المنصب"],
    "company": [
        "company",
        "organization",
        "organization 1 - name",
        "company name",
        "account",
        "الشركة",
        "اسم الشركة",
        "المنشأة",
    ],
    "notes": ["notes", "note", "comments", "ملاحظات", "الملاحظات", "ملاحظة"],
    "name": ["name", "company name", "company", "organization", "الاسم", "الشركة", "اسم الشركة"],
    "website": ["website", "web site", "url", "web", "الموقع", "الموقع الإلكتروني", "الموقع الالكتروني"],
    "industry": ["industry", "sector", "القطاع", "المجال", "النشاط"],
    "city": ["city", "المدينة"],
    "country": ["country", "country code", "الدولة", "البلد"],
    "title": ["title", "deal", "deal name", "name", "الصفقة", "عنوان الصفقة", "اسم الصفقة", "العنوان"],
    "amount": ["amount", "value", "deal value", "القيمة", "المبلغ"],
    "currency": ["currency", "العملة"],
    "contact_email": ["contact email", "email", "e-mail", "بريد جهة الاتصال", "البريد الإلكتروني"],
    "expected_close": ["expected close", "close date", "expected close date", "تاريخ الإغلاق المتوقع", "تاريخ الاغلاق"],
}
SYNONYMS = {
    name: {normalize_text(word) for word in words} | {name, name.replace("_", " ")} for name, words in _SYNONYMS.items()
}


def field_choices(kind: str) -> list[tuple[str, str]]:
    return [("", gettext("Do not import"))] + [(name, str(label)) for name, label in FIELDS[kind].items()]


def header_signature(headers: list[str]) -> str:
    return hashlib.sha256("\x1f".join(normalize_text(h) for h in headers).encode()).hexdigest()


def guess_mapping(*, kind: str, headers: list[str], user=None) -> dict[str, str]:
    """Column index (as text) → field name; a saved mapping for the same headers wins."""
    if user is not None:
        saved = SavedMapping.objects.filter(owner=user, kind=kind, signature=header_signature(headers)).first()
        if saved is not None:
            return {k: v for k, v in saved.mapping.items() if v in FIELDS[kind]}
    mapping, used = {}, set()
    for index, header in enumerate(headers):
        key = normalize_text(header)
        for name in FIELDS[kind]:
            if name not in used and key in SYNONYMS[name]:
                mapping[str(index)] = name
                used.add(name)
                break
    return mapping


def save_mapping(*, user, kind: str, headers: list[str], mapping: dict) -> None:
    SavedMapping.objects.update_or_create(
        owner=user, kind=kind, signature=header_signature(headers), defaults={"mapping": mapping}
    )


class _DryRun(Exception):
    """Raised to roll back the preview's transaction."""


class Cancelled(Exception):
    pass


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)
    actions: list = field(default_factory=list)  # per row: create / update / skip / error
    created_ids: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": len({e["row"] for e in self.errors}),
        }


def _values(row: list[str], mapping: dict) -> dict[str, str]:
    values = {}
    for index, name in mapping.items():
        if not name:
            continue
        i = int(index)
        cell = row[i].strip() if i < len(row) else ""
        values[name] = cell
    return values


CONTACT_SNAPSHOT = ["first_name", "last_name", "email", "phone_raw", "job_title", "company_id", "notes"]
COMPANY_SNAPSHOT = ["name", "phone_raw", "website", "industry", "city", "country", "notes"]


class Importer:
    """Writes one job's rows through the services; see the module docstring."""

    def __init__(self, job: ImportJob, *, user):
        self.job, self.user, self.kind = job, user, job.kind
        self.header_of = {name: job.headers[int(i)] for i, name in job.mapping.items() if name}
        self.companies_by_name: dict[str, Company] = {}
        self.indexes: dict = {}
        self.pending: list = []

    # -- matching -------------------------------------------------------
    def _match(self, model, values: dict):
        """The editable record a row updates: by external id, then email (contacts), then E.164 phone.

        The keys of every editable record are loaded once per file (one query), not per row.
        """
        from core.phones import search_form

        index = self._index(model)
        pk = None
        if values.get("external_id"):
            pk = index["external_id"].get(values["external_id"])
        if pk is None and model is Contact and values.get("email"):
            pk = index["email"].get(values["email"].lower())
        if pk is None and values.get("phone"):
            e164 = search_form(values["phone"])
            pk = index["phone"].get(e164) if e164 else None
        return model.objects.get(pk=pk) if pk else None

    def _index(self, model) -> dict:
        if model not in self.indexes:
            index = {"external_id": {}, "email": {}, "phone": {}}
            fields = ["pk", "external_id", "external_source", "phone"] + (["email"] if model is Contact else [])
            for row in model.objects.editable_by(self.user).order_by("-pk").values(*fields).iterator(chunk_size=5000):
                if row["external_id"] and row["external_source"] == self.job.source:
                    index["external_id"][row["external_id"]] = row["pk"]
                if row.get("email"):
                    index["email"][row["email"].lower()] = row["pk"]
                if row["phone"]:
                    index["phone"][row["phone"]] = row["pk"]
            self.indexes[model] = index
        return self.indexes[model]

    def _remember(self, record) -> None:
        """Later rows of the same file match a record an earlier row wrote (once that row succeeded)."""
        self.pending.append(record)

    def _commit_pending(self) -> None:
        for record in self.pending:
            self._index_record(record)
        self.pending = []

    def _index_record(self, record) -> None:
        index = self._index(type(record))
        if record.external_id and record.external_source == self.job.source:
            index["external_id"][record.external_id] = record.pk
        if getattr(record, "email", ""):
            index["email"][record.email.lower()] = record.pk
        if record.phone:
            index["phone"][record.phone] = record.pk

    def _company(self, name: str):
        key = normalize_text(name)
        if key not in self.companies_by_name:
            found = Company.objects.editable_by(self.user).filter(name_normalized=key).order_by("pk").first()
            if found is None:
                found = crm_services.company_create(by=self.user, name=name, team=self.job.team)
                self.outcome.created_ids.append(["crm.company", found.pk])
            self.companies_by_name[key] = found
        return self.companies_by_name[key]

    # -- one row --------------------------------------------------------
    def _row(self, values: dict) -> str:
        if self.kind == ImportKind.CONTACTS:
            return self._contact(values)
        if self.kind == ImportKind.COMPANIES:
            return self._company_row(values)
        return self._deal(values)

    def _contact(self, values: dict) -> str:
        first, last = values.get("first_name", ""), values.get("last_name", "")
        if not first and not last and values.get("full_name"):
            first, _sep, last = values["full_name"].partition(" ")
        if not first and last:
            first, last = last, ""
        fields = {"first_name": first, "last_name": last}
        for name, target in (
            ("email", "email"),
            ("phone", "phone_raw"),
            ("job_title", "job_title"),
            ("notes", "notes"),
        ):
            if name in values:
                fields[target] = values[name].lower() if name == "email" else values[name]
        if values.get("external_id"):
            fields["external_id"], fields["external_source"] = values["external_id"], self.job.source
        if values.get("company"):
            fields["company"] = self._company(values["company"])
        existing = self._match(Contact, values)
        if existing is None:
            if not first:
                raise ValidationError({"first_name": gettext("A name is required.")})
            contact = crm_services.contact_create(
                by=self.user, team=self.job.team if "company" not in fields else None, **fields
            )
            self.outcome.created_ids.append(["crm.contact", contact.pk])
            self._remember(contact)
            return "create"
        if not first:
            fields.pop("first_name"), fields.pop("last_name")
        fields = {k: v for k, v in fields.items() if v not in ("", None)}
        before = {name: getattr(existing, name) for name in CONTACT_SNAPSHOT}
        if all(
            getattr(existing, "company_id" if k == "company" else k) == (v.pk if k == "company" else v)
            for k, v in fields.items()
        ):
            return "skip"
        contact = crm_services.contact_update(contact=existing, by=self.user, **fields)
        self._remember(contact)
        self.outcome.snapshots.append(
            {"model": "crm.contact", "pk": contact.pk, "version": contact.version, "fields": before}
        )
        return "update"

    def _company_row(self, values: dict) -> str:
        fields = {}
        for name, target in (
            ("name", "name"),
            ("phone", "phone_raw"),
            ("website", "website"),
            ("industry", "industry"),
            ("city", "city"),
            ("notes", "notes"),
        ):
            if name in values:
                fields[target] = values[name]
        if "country" in values:
            fields["country"] = values["country"].upper()
        if values.get("external_id"):
            fields["external_id"], fields["external_source"] = values["external_id"], self.job.source
        existing = self._match(Company, values)
        if existing is None and fields.get("name"):
            existing = (
                Company.objects.editable_by(self.user).filter(name_normalized=normalize_text(fields["name"])).first()
            )
        if existing is None:
            if not fields.get("name"):
                raise ValidationError({"name": gettext("A name is required.")})
            company = crm_services.company_create(by=self.user, team=self.job.team, **fields)
            self.outcome.created_ids.append(["crm.company", company.pk])
            self._remember(company)
            return "create"
        fields = {k: v for k, v in fields.items() if v not in ("", None)}
        if all(getattr(existing, k) == v for k, v in fields.items()):
            return "skip"
        before = {name: getattr(existing, name) for name in COMPANY_SNAPSHOT}
        company = crm_services.company_update(company=existing, by=self.user, **fields)
        self.outcome.snapshots.append(
            {"model": "crm.company", "pk": company.pk, "version": company.version, "fields": before}
        )
        return "update"

    def _deal(self, values: dict) -> str:
        from pipeline.services import deal_create

        title = values.get("title", "")
        if not title:
            raise ValidationError({"title": gettext("A title is required.")})
        try:
            amount = Decimal(values.get("amount", "").replace(",", "") or "0")
        except InvalidOperation:
            raise ValidationError({"amount": gettext("Enter the amount as a number, e.g. 15000.50.")}) from None
        fields = {}
        if values.get("company"):
            fields["company"] = self._company(values["company"])
        if values.get("contact_email"):
            contact = Contact.objects.visible_to(self.user).filter(email=values["contact_email"].lower()).first()
            if contact is None:
                raise ValidationError({"contact_email": gettext("No contact you can see has this email.")})
            fields["contact"] = contact
        if values.get("expected_close"):
            from django.utils.dateparse import parse_date

            try:
                fields["expected_close"] = parse_date(values["expected_close"][:10])
            except ValueError:
                fields["expected_close"] = None
            if fields["expected_close"] is None:
                raise ValidationError({"expected_close": gettext("Enter the date as YYYY-MM-DD.")})
        deal = deal_create(
            by=self.user,
            title=title,
            amount=amount,
            currency=values.get("currency", "").upper(),
            team=self.job.team,
            **fields,
        )
        self.outcome.created_ids.append(["pipeline.deal", deal.pk])
        return "create"

    # -- the file -------------------------------------------------------
    def _error(self, row_number: int, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for key, messages in error.message_dict.items():
                column = self.header_of.get(key) or self.header_of.get({"phone_raw": "phone"}.get(key, key), "")
                for message in messages:
                    self.outcome.errors.append({"row": row_number, "column": column, "message": str(message)})
        else:
            for message in error.messages:
                self.outcome.errors.append({"row": row_number, "column": "", "message": str(message)})

    def run(self, *, dry_run: bool, progress: bool = False) -> Outcome:
        self.outcome = Outcome()
        try:
            with transaction.atomic():
                for index, row in enumerate(self.job.rows):
                    if progress and index % CHUNK == 0:
                        set_progress(self.job.pk, index, len(self.job.rows))
                        if cache.get(cancel_key(self.job.pk)):
                            raise Cancelled
                    row_number = index + 2  # the header is row 1
                    values = _values(row, self.job.mapping)
                    if not any(values.values()):
                        self.outcome.actions.append("skip")
                        self.outcome.skipped += 1
                        continue
                    created_before, known_companies = len(self.outcome.created_ids), dict(self.companies_by_name)
                    try:
                        with transaction.atomic():
                            action = self._row(values)
                    except ValidationError as error:
                        # The row's savepoint is gone, and with it any company the row created.
                        del self.outcome.created_ids[created_before:]
                        self.companies_by_name, self.pending = known_companies, []
                        self._error(row_number, error)
                        self.outcome.actions.append("error")
                        continue
                    self._commit_pending()
                    self.outcome.actions.append(action)
                    counter = {"create": "created", "update": "updated", "skip": "skipped"}[action]
                    setattr(self.outcome, counter, getattr(self.outcome, counter) + 1)
                if dry_run or self.outcome.errors:
                    raise _DryRun
        except _DryRun:
            pass
        return self.outcome


def progress_key(job_id: int) -> str:
    return f"transfers:import:{job_id}:progress"


def cancel_key(job_id: int) -> str:
    return f"transfers:import:{job_id}:cancel"


def set_progress(job_id: int, done: int, total: int) -> None:
    cache.set(progress_key(job_id), {"done": done, "total": total}, 24 * 3600)


def get_progress(job_id: int) -> dict:
    return cache.get(progress_key(job_id)) or {"done": 0, "total": 0}


# -- services ------------------------------------------------------------


def import_create(*, by, kind: str, file_name: str, data: bytes, team=None, source: str = "import") -> ImportJob:
    """Read an uploaded file into a new job with a guessed mapping; raises FileProblem if unreadable."""
    from transfers.readers import read_table

    headers, rows = read_table(data)
    if team is None:
        from core.services import resolve_owner_and_team

        _owner, team = resolve_owner_and_team(by=by)
    job = ImportJob(
        owner=by, team=team, kind=kind, file_name=file_name[:255], source=source or "import", headers=headers, rows=rows
    )
    job.mapping = guess_mapping(kind=kind, headers=headers, user=by)
    job.full_clean()
    job.save()
    return job


def import_preview(*, job: ImportJob, by, mapping: dict | None = None, remember: bool = False) -> Outcome:
    """Dry run: what the import would do, every row error; changes nothing but the job's preview."""
    if mapping is not None:
        job.mapping = {k: v for k, v in mapping.items() if v in FIELDS[job.kind]}
        if remember:
            save_mapping(user=by, kind=job.kind, headers=job.headers, mapping=job.mapping)
    outcome = Importer(job, user=by).run(dry_run=True)
    job.summary, job.errors = outcome.summary(), outcome.errors
    job.status = ImportStatus.PREVIEWED
    job.save(update_fields=["mapping", "summary", "errors", "status", "updated_at"])
    return outcome


def import_run(*, job_id: int) -> ImportJob:
    """The confirmed import: all rows in one transaction, or nothing."""
    job = ImportJob.objects.select_related("owner").get(pk=job_id)
    if job.status not in (ImportStatus.QUEUED, ImportStatus.PREVIEWED):
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    set_progress(job.pk, 0, len(job.rows))
    try:
        outcome = Importer(job, user=job.owner).run(dry_run=False, progress=True)
    except Cancelled:
        job.status, job.message = ImportStatus.CANCELLED, ""
    else:
        job.summary, job.errors = outcome.summary(), outcome.errors
        if outcome.errors:
            job.status = ImportStatus.FAILED
        else:
            job.status, job.created, job.snapshots = ImportStatus.DONE, outcome.created_ids, outcome.snapshots
    set_progress(job.pk, len(job.rows), len(job.rows))
    cache.delete(cancel_key(job.pk))
    job.finished_at = timezone.now()
    job.save()
    return job


def import_cancel(*, job: ImportJob) -> None:
    cache.set(cancel_key(job.pk), True, 24 * 3600)


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


@transaction.atomic
def import_undo(*, job: ImportJob, by) -> ImportJob:
    """Delete what the import created and restore what it updated, unless any of it was edited since."""
    if job.status != ImportStatus.DONE:
        raise ValidationError(gettext("Only a finished import can be undone."))
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    # A file may touch one record on several rows: the last version it left is what must still
    # be stored, and the fields before its first change are what comes back.
    last_version, first_fields = {}, {}
    for snap in job.snapshots:
        key = (snap["model"], snap["pk"])
        last_version[key] = snap["version"]
        first_fields.setdefault(key, snap["fields"])
    created = {(label, pk) for label, pk in job.created}
    edited_since = gettext(
        "This import cannot be undone: some of its records were edited after it. "
        "Undo those edits first or fix the records by hand."
    )
    for key in set(last_version) | created:
        model = _model(key[0])
        if not hasattr(model, "version"):
            continue
        current = model.objects.filter(pk=key[1]).values_list("version", flat=True).first()
        if current is not None and current != last_version.get(key, 1):
            raise ValidationError(edited_since)
    for key, fields in first_fields.items():
        if key in created:
            continue
        model = _model(key[0])
        record = model.objects.filter(pk=key[1]).first()
        if record is None:
            continue
        if model is Contact:
            crm_services.contact_update(contact=record, by=by, **fields)
        else:
            crm_services.company_update(company=record, by=by, **fields)
    # Deals first, then contacts, then companies: deals protect their company.
    order = {"pipeline.deal": 0, "crm.contact": 1, "crm.company": 2}
    for label, pk in sorted(job.created, key=lambda item: order.get(item[0], 9)):
        # Through the delete services, so syncing clients get the tombstones and webhooks fire.
        record = _model(label).objects.filter(pk=pk).first()
        if record is None:
            continue
        if label == "pipeline.deal":
            from pipeline.services import deal_delete

            deal_delete(deal=record, by=by)
        elif label == "crm.contact":
            crm_services.contact_delete(contact=record, by=by)
        else:
            crm_services.company_delete(company=record, by=by)
    job.status = ImportStatus.UNDONE
    job.save(update_fields=["status", "updated_at"])
    return job
