"""Importing rows into companies, contacts and deals: column mapping, preview (dry run), import, undo.

The preview and the import run the same code. Contacts and companies are planned row by
row (each row matched against the records the user may edit and the rows before it), then
checked and written as one batch by crm.services.customers_write_many: the one-record
services' rules, in a few set-based statements per thousand rows. The preview only checks;
a confirmed import commits in one transaction either only when no row failed (all or
nothing), or, when the member chose so on the preview (job.skip_failing), with the valid
rows while the failing ones are handed back (errors.csv) to be fixed and uploaded again. Deals
go row by row through pipeline.services, each in its own savepoint.

Progress and the cancel flag live in the cache, keyed by job id: the import's
transaction is open while it runs, so a counter written to the job row would stay
invisible to the polling page until the very end. With Redis the cache is shared by the
worker and the web processes; without it the task runs in the web process (eager) and
the in-memory cache is shared too.
"""

import contextlib
import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import bulk, phones
from core.exceptions import StaleVersionError
from core.text import clean_text, normalize_text
from crm import services as crm_services
from crm.models import Company, Contact
from transfers.models import ImportJob, ImportKind, SavedMapping

CHUNK = 500
logger = logging.getLogger(__name__)

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
        "external_id": _("External id"),
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
    warnings: list = field(default_factory=list)  # rows imported with a remark (a phone kept unverified)
    actions: list = field(default_factory=list)  # per row: create / update / skip / error
    created_ids: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)

    def summary(self) -> dict:
        summary = {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": len({e["row"] for e in self.errors}),
        }
        if self.warnings:
            # The first ones for the preview to show; the count says how many in all.
            summary.update(unverified_phones=len(self.warnings), warnings=self.warnings[:50])
        return summary


def _values(row: list[str], mapping: dict) -> dict[str, str]:
    values = {}
    for index, name in mapping.items():
        if not name:
            continue
        i = int(index)
        cell = row[i].strip() if i < len(row) else ""
        if not cell.isprintable():
            # The text rule (core.text.clean_text) here already, so a row is matched and compared as
            # it will be stored (a bidi mark Arabic Excel added does not make a stored record look
            # new); text it refuses is left as it is, for the write to refuse with the field's error.
            with contextlib.suppress(ValidationError):
                cell = clean_text(cell, multiline=True)
        values[name] = cell
    return values


CONTACT_SNAPSHOT = ["first_name", "last_name", "email", "phone_raw", "job_title", "company_id", "notes"]
COMPANY_SNAPSHOT = ["name", "phone_raw", "website", "industry", "city", "country", "notes"]


def _keep_oldest(index: dict, key, pk: int) -> None:
    """Of several records with one key, the oldest (lowest id) is the one a row matches."""
    if key not in index or pk < index[key]:
        index[key] = pk


def _comparable(value):
    """Field values as a row and a stored record are compared: a related record by its id (or itself, if new)."""
    if isinstance(value, Company):
        return value.pk if value.pk is not None else id(value)
    return value


class _Entry:
    """One record a file writes: created by its first row, or a stored one it updates; later rows may add to it."""

    # A file makes one per record: without a __dict__ each, a large file's plan takes less memory.
    __slots__ = ("company", "field_rows", "fields", "first_row", "record", "steps")

    def __init__(self, *, record=None, row_number: int):
        self.record = record  # the stored record (None: the file creates it)
        self.fields: dict = {}
        self.field_rows: dict | None = None  # field -> a later row that set it (errors are reported there)
        self.first_row = row_number
        self.steps: list = []  # (fields, row number, index of the row's action) in file order
        self.company = None  # for a company the file creates: the stand-in rows refer to

    def add(self, fields: dict, row_number: int) -> None:
        self.fields.update(fields)
        if row_number != self.first_row:
            if self.field_rows is None:
                self.field_rows = {}
            self.field_rows.update(dict.fromkeys(fields, row_number))

    def row_of(self, field: str) -> int:
        rows = self.field_rows or {}
        return rows.get(field, rows.get({"phone": "phone_raw"}.get(field, field), self.first_row))


class Importer:
    """Plans every row of a job, then writes the whole file in a few set-based statements.

    Contacts and companies: each row is matched (by external id, email for contacts, E.164
    phone, and name for companies) against the records the user may edit, read once per
    file, and against the rows before it, so a record the file creates or changes twice is
    written once. The plan is then checked and written by crm.services.customers_write_many,
    which applies the same rules as the one-record services. Deals go row by row.
    """

    def __init__(self, job: ImportJob, *, user):
        self.job, self.user, self.kind = job, user, job.kind
        self.skip_failing = job.skip_failing
        self.header_of = {name: job.headers[int(i)] for i, name in job.mapping.items() if name}
        self.companies_by_name: dict[str, Company] = {}
        self.companies_loaded = False
        self.new_companies: dict[str, _Entry] = {}
        self.saved_companies: dict[int, Company] = {}
        self.indexes: dict = {}
        self.row = (0, 0)
        self.values = [_values(row, job.mapping) for row in job.rows]
        self.keys_memo: dict = {}

    # -- matching -------------------------------------------------------
    def _index(self, model) -> dict:
        """The keys of the records the user may edit that the file's rows name (a few queries per file)."""
        if model not in self.indexes:
            index = {"external_id": {}, "email": {}, "phone": {}, "name": {}}
            wanted = self._wanted(model)
            fields = ["pk", "external_id", "external_source", "phone"]
            fields += ["email"] if model is Contact else ["name_normalized"]
            editable = model.objects.editable_by(self.user).order_by()
            lookups = {"external_id": "external_id__any", "email": "email__any", "phone": "phone__any"}
            lookups["name"] = "name_normalized__any"
            for kind, lookup in lookups.items():
                keys = sorted(wanted[kind])
                for start in range(0, len(keys), 5000):
                    # The records holding the keys, then those of them the user may edit: asked at
                    # once, the planner combines the key's index with the far larger owner and
                    # team ones, and takes twice as long.
                    found = model.objects.order_by().filter(**{lookup: keys[start : start + 5000]})
                    if kind == "external_id":  # only the job's source matches; by the unique index on both
                        found = found.filter(external_source=self.job.source).exclude(external_id="")
                    rows = editable.filter(pk__any=list(found.values_list("pk", flat=True))).values_list(*fields)
                    for row in rows:
                        pk, external_id, source, phone = row[:4]
                        if external_id and source == self.job.source:
                            _keep_oldest(index["external_id"], external_id, pk)
                        if phone:
                            _keep_oldest(index["phone"], phone, pk)
                        if model is Contact and row[4]:
                            _keep_oldest(index["email"], row[4].lower(), pk)
                        elif model is Company:
                            _keep_oldest(index["name"], row[4], pk)
            self.indexes[model] = index
        return self.indexes[model]

    def _wanted(self, model) -> dict[str, set]:
        """Every key the file's rows could match `model` by."""
        wanted = {"external_id": set(), "email": set(), "phone": set(), "name": set()}
        for values in self.values:
            if model is Company and self.kind != ImportKind.COMPANIES:
                if values.get("company"):
                    wanted["name"].add(normalize_text(values["company"]))
                continue
            for kind, key in self._keys(model, values):
                wanted[kind].add(key)
        return wanted

    def _keys(self, model, values: dict) -> list:
        """The keys a row matches `model` by (remembered per row: parsing phones is the slow part)."""
        memo = self.keys_memo.setdefault(model, {})
        if id(values) not in memo:
            memo[id(values)] = self._compute_keys(model, values)
        return memo[id(values)]

    def _compute_keys(self, model, values: dict) -> list:
        keys = []
        if values.get("external_id"):
            keys.append(("external_id", values["external_id"]))
        if model is Contact and values.get("email"):
            keys.append(("email", values["email"].lower()))
        if values.get("phone"):
            e164 = phones.search_form(values["phone"])
            if e164:
                keys.append(("phone", e164))
        if model is Company and values.get("name"):
            keys.append(("name", normalize_text(values["name"])))
        return keys

    def _find(self, model, keys: list):
        """The entry or stored id a row matches, in the order external id, email, phone, name."""
        index = self._index(model)
        for kind, key in keys:
            found = index[kind].get(key)
            if found is not None:
                return found
        return None

    def _register(self, model, keys: list, entry: _Entry) -> None:
        index = self._index(model)
        for kind, key in keys:
            index[kind][key] = entry

    def _company(self, name: str):
        """The editable company a row names (the oldest of that name), or one the file creates in the job's team."""
        key = normalize_text(name)
        if key in self.new_companies:
            entry = self.new_companies[key]
        elif key in self.companies_by_name:
            return self.companies_by_name[key]
        else:
            pk = self._index(Company)["name"].get(key)
            if isinstance(pk, int):
                self._load_companies()
                return self.companies_by_name[key]
            entry = self.new_companies[key] = _Entry(row_number=self.row[0])
            entry.add({"name": name, "team": self.job.team}, self.row[0])
            entry.company = Company(name=name, team=self.job.team)  # stands for it until it is written
        entry.steps.append(({}, *self.row))
        return entry.company

    def _load_companies(self) -> None:
        """Read every stored company the file names, with its team, in a query per 5,000."""
        if self.companies_loaded:
            return
        self.companies_loaded = True
        names = {pk: key for key, pk in self._index(Company)["name"].items() if isinstance(pk, int)}
        ids = sorted(names)
        for start in range(0, len(ids), 5000):
            for company in Company.objects.select_related("team").filter(pk__any=ids[start : start + 5000]):
                self.companies_by_name[names[company.pk]] = company

    # -- planning rows ----------------------------------------------------
    def _contact_fields(self, values: dict) -> dict:
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
        return fields

    def _company_fields(self, values: dict) -> dict:
        fields = {}
        for name in ("name", "website", "industry", "city", "notes"):
            if name in values:
                fields[name] = values[name]
        if "phone" in values:
            fields["phone_raw"] = values["phone"]
        if "country" in values:
            fields["country"] = values["country"].upper()
        if values.get("external_id"):
            fields["external_id"], fields["external_source"] = values["external_id"], self.job.source
        return fields

    def _plan_row(self, model, values: dict, row_number: int, entries: list, stored: dict) -> None:
        """Attach one row to the record it creates or updates; raises ValidationError for a row that cannot be."""
        self.row = (row_number, len(self.outcome.actions))
        fields = self._contact_fields(values) if model is Contact else self._company_fields(values)
        keys = self._keys(model, values)
        found = self._find(model, keys)
        required = "first_name" if model is Contact else "name"
        if found is None:
            if not fields.get(required):
                raise ValidationError({required: gettext("A name is required.")})
            if model is Company or "company" not in fields:
                fields["team"] = self.job.team
            entry = _Entry(row_number=row_number)
            entries.append(entry)
        else:
            if model is Contact and not fields["first_name"]:
                fields.pop("first_name"), fields.pop("last_name")
            fields = {k: v for k, v in fields.items() if v not in ("", None)}
            if isinstance(found, int):
                entry = stored.get(found)
                if entry is None:
                    entry = stored[found] = _Entry(record=found, row_number=row_number)
                    entries.append(entry)
            else:
                entry = found
        entry.steps.append((fields, row_number, len(self.outcome.actions)))
        self.outcome.actions.append("create" if found is None else "update")
        self._register(model, keys, entry)

    def _plan(self, model, progress: bool) -> list:
        """Every row attached to its entry, stored records read (a query per 5,000), actions decided."""
        entries, stored = [], {}
        total = len(self.job.rows)
        for index, values in enumerate(self.values):
            if progress and index % 5000 == 0:
                self._progress(index // 4, total)
            if not any(values.values()):
                self.outcome.actions.append("skip")
                continue
            try:
                self._plan_row(model, values, index + 2, entries, stored)  # the header is row 1
            except ValidationError as error:
                self._error(index + 2, error)
                self.outcome.actions.append("error")
        ids = list(stored)
        related = ["company"] if model is Contact else []
        for start in range(0, len(ids), 5000):
            for record in model.objects.select_related(*related).filter(pk__any=ids[start : start + 5000]):
                stored[record.pk].record = record
        for entry in entries:
            self._decide(model, entry)
        return entries

    def _decide(self, model, entry: _Entry) -> None:
        """Merge an entry's rows in file order; a row changing nothing is a skip."""
        for fields, row_number, action_index in entry.steps:
            if entry.record is None and action_index == entry.steps[0][2]:
                entry.add(fields, row_number)
                continue
            if all(self._current(entry, name) == _comparable(value) for name, value in fields.items()):
                self.outcome.actions[action_index] = "skip"
                continue
            self.outcome.actions[action_index] = "update"
            entry.add(fields, row_number)

    @staticmethod
    def _current(entry: _Entry, name: str):
        if name in entry.fields:
            return _comparable(entry.fields[name])
        if entry.record is None:
            return None
        return getattr(entry.record, "company_id" if name == "company" else name)

    def _progress(self, done: int, total: int) -> None:
        set_progress(self.job.pk, done, total)
        if cache.get(cancel_key(self.job.pk)):
            raise Cancelled

    def _run_batch(self, *, dry_run: bool, progress: bool) -> None:
        model = Contact if self.kind == ImportKind.CONTACTS else Company
        entries = self._plan(model, progress)
        # Matching is done: its keys and the rows' values go before the records are built (a large file's worth).
        self.values, self.keys_memo, self.indexes = [], {}, {}
        total = len(self.job.rows)
        if self.new_companies:
            if not dry_run:
                # The records the file updates are locked before the new companies take the change
                # counter: a writer holding it never waits for a row (core/sync.py).
                bulk.lock_rows(model, [entry.record.pk for entry in entries if entry.record is not None])
            self._write_new_companies(dry_run)
        for entry in entries:
            company = entry.fields.get("company")
            if company is not None and company.pk is None:
                entry.fields["company"] = self.saved_companies.get(id(company), company)
        if self.skip_failing and not dry_run:
            # A record one of whose rows failed is not written at all (half a record's rows
            # would be a state nobody asked for): every row of it goes back in errors.csv.
            failed = [entry for entry in entries if self._has_error(entry)]
            for entry in failed:
                self._fail_entry(entry)
            entries = [entry for entry in entries if not self._has_error(entry)]
        changing = [entry for entry in entries if entry.record is None or entry.fields]
        snapshot = CONTACT_SNAPSHOT if model is Contact else COMPANY_SNAPSHOT
        befores = [
            {name: getattr(entry.record, name) for name in snapshot} if entry.record is not None else None
            for entry in changing
        ]
        writes = [crm_services.Write(fields=entry.fields, record=entry.record) for entry in changing]

        def report(done, of):
            if progress:
                self._progress(total // 4 + done * 3 * total // (4 * max(of, 1)), total)

        check_only = dry_run or (bool(self.outcome.errors) and not self.skip_failing)
        results = crm_services.customers_write_many(
            model=model, by=self.user, writes=writes, check_only=check_only, progress=report
        )
        for entry, before, result in zip(changing, befores, results, strict=True):
            if isinstance(result, ValidationError):
                self._entry_error(entry, result)
                if self.skip_failing:
                    self._fail_entry(entry)
                continue
            if isinstance(result, StaleVersionError):
                self._error(entry.first_row, ValidationError(str(result)))
                self.outcome.actions[entry.steps[-1][2]] = "error"
                if self.skip_failing:
                    self._fail_entry(entry)
                continue
            self._warn_phone(entry, result)
            if entry.record is None:
                self.outcome.created_ids.append([model._meta.label_lower, result.pk])
            else:
                label = model._meta.label_lower
                self.outcome.snapshots.append(
                    {"model": label, "pk": result.pk, "version": result.version, "fields": before}
                )
        for action in self.outcome.actions:
            if action in ("create", "update", "skip"):
                counter = {"create": "created", "update": "updated", "skip": "skipped"}[action]
                setattr(self.outcome, counter, getattr(self.outcome, counter) + 1)

    def _has_error(self, entry: _Entry) -> bool:
        return any(self.outcome.actions[action_index] == "error" for _f, _n, action_index in entry.steps)

    def _fail_entry(self, entry: _Entry) -> None:
        """Every row of a record that is not written is a failing row, with a reason of its own (errors.csv)."""
        failed = sorted({number for _f, number, index in entry.steps if self.outcome.actions[index] == "error"})
        for _fields, number, action_index in entry.steps:
            if self.outcome.actions[action_index] != "error":
                self.outcome.actions[action_index] = "error"
                self._error(
                    number,
                    ValidationError(
                        gettext("Not imported: row %(row)s of the same record has an error.")
                        % {"row": failed[0] if failed else entry.first_row}
                    ),
                )

    def _warn_phone(self, entry: _Entry, record) -> None:
        """A phone kept as typed because it cannot be verified: imported, with a remark on its row."""
        if "phone_raw" in entry.fields and record.phone_raw and not record.phone_verified:
            self.outcome.warnings.append(
                {
                    "row": entry.row_of("phone_raw"),
                    "column": self.header_of.get("phone", ""),
                    "message": gettext(
                        "“%(value)s” could not be verified against the numbering plan: it is kept as typed and marked unverified."
                    )
                    % {"value": record.phone_raw},
                }
            )

    def _entry_error(self, entry: _Entry, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, messages in error.error_dict.items():
                row = entry.row_of(field)
                self._error(row, ValidationError({field: messages}))
                self._mark_error(entry, row)
        else:
            self._error(entry.first_row, error)
            self._mark_error(entry, entry.first_row)

    def _mark_error(self, entry: _Entry, row_number: int) -> None:
        for _fields, number, action_index in entry.steps:
            if number == row_number:
                self.outcome.actions[action_index] = "error"

    def _write_new_companies(self, dry_run: bool) -> None:
        """Create the companies rows name and no editable company has, in the job's team, before the contacts."""
        entries = list(self.new_companies.values())
        writes = [crm_services.Write(fields=entry.fields) for entry in entries]
        results = crm_services.customers_write_many(model=Company, by=self.user, writes=writes, check_only=dry_run)
        self.saved_companies = {}
        for entry, result in zip(entries, results, strict=True):
            if isinstance(result, ValidationError):
                # Reported on the first row naming it; every row naming it fails.
                self._error(entry.first_row, ValidationError({"company": result.messages}))
                for _fields, _number, action_index in entry.steps:
                    self.outcome.actions[action_index] = "error"
                continue
            self.saved_companies[id(entry.company)] = result
            if not dry_run:
                self.outcome.created_ids.append(["crm.company", result.pk])

    # -- deals, row by row ----------------------------------------------
    def _company_now(self, name: str):
        key = normalize_text(name)
        if key not in self.companies_by_name:
            pk = self._index(Company)["name"].get(key)
            if isinstance(pk, int):
                found = Company.objects.get(pk=pk)
            else:
                found = crm_services.company_create(by=self.user, name=name, team=self.job.team)
                self.outcome.created_ids.append(["crm.company", found.pk])
            self.companies_by_name[key] = found
        return self.companies_by_name[key]

    def _deal(self, values: dict) -> str:
        """Create the row's deal, or update the one a deal with its external id (from the job's source) is."""
        from pipeline.models import Deal
        from pipeline.services import deal_create, deal_update

        title = values.get("title", "")
        if not title:
            raise ValidationError({"title": gettext("A title is required.")})
        try:
            amount = Decimal(values.get("amount", "").replace(",", "") or "0")
        except InvalidOperation:
            raise ValidationError({"amount": gettext("Enter the amount as a number, e.g. 15000.50.")}) from None
        fields = {}
        if values.get("company"):
            fields["company"] = self._company_now(values["company"])
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
        currency = values.get("currency", "").upper()
        external_id = values.get("external_id", "")
        stored = None
        if external_id:
            stored = Deal.objects.filter(external_source=self.job.source, external_id=external_id).first()
            if stored is not None and not Deal.objects.editable_by(self.user).filter(pk=stored.pk).exists():
                # Said as of any taken id: nothing is learnt about a deal one may not see.
                raise ValidationError({"external_id": gettext("Another deal already has this external id.")})
        if stored is not None:
            changes = {"title": title, "amount": amount, **fields}
            if currency:
                changes["currency"] = currency
            changes = {name: value for name, value in changes.items() if getattr(stored, name) != value}
            if not changes:
                return "skip"
            before = {
                name: getattr(stored, name + "_id" if name in ("company", "contact") else name) for name in changes
            }
            deal = deal_update(deal=stored, by=self.user, **changes)
            self.outcome.snapshots.append(
                {"model": "pipeline.deal", "pk": deal.pk, "version": deal.version, "fields": _jsonable(before)}
            )
            return "update"
        if external_id:
            fields.update(external_source=self.job.source, external_id=external_id)
        deal = deal_create(by=self.user, title=title, amount=amount, currency=currency, team=self.job.team, **fields)
        self.outcome.created_ids.append(["pipeline.deal", deal.pk])
        return "create"

    def _run_rows(self, *, progress: bool) -> None:
        """Deals: each row through pipeline.services.deal_create in its own savepoint."""
        for index, row in enumerate(self.job.rows):
            if progress and index % CHUNK == 0:
                self._progress(index, len(self.job.rows))
            row_number = index + 2  # the header is row 1
            values = _values(row, self.job.mapping)
            if not any(values.values()):
                self.outcome.actions.append("skip")
                self.outcome.skipped += 1
                continue
            created_before, known_companies = len(self.outcome.created_ids), dict(self.companies_by_name)
            try:
                with transaction.atomic():
                    action = self._deal(values)
            except ValidationError as error:
                # The row's savepoint is gone, and with it any company the row created.
                del self.outcome.created_ids[created_before:]
                self.companies_by_name = known_companies
                self._error(row_number, error)
                self.outcome.actions.append("error")
                continue
            self.outcome.actions.append(action)
            counter = {"create": "created", "update": "updated", "skip": "skipped"}[action]
            setattr(self.outcome, counter, getattr(self.outcome, counter) + 1)

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
            with phones.remembering(), bulk.collecting_at_end(), transaction.atomic():
                if self.kind == ImportKind.DEALS:
                    self._run_rows(progress=progress)
                else:
                    self._run_batch(dry_run=dry_run, progress=progress)
                if dry_run or (self.outcome.errors and not self.skip_failing):
                    raise _DryRun
        except _DryRun:
            pass
        return self.outcome


def _jsonable(fields: dict) -> dict:
    """A deal's fields before an update, as the job's JSON keeps them (amounts as text, dates ISO)."""
    return {
        name: str(value) if isinstance(value, Decimal) else value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in fields.items()
    }


def _from_json(fields: dict) -> dict:
    """The fields _jsonable kept, as deal_update takes them back."""
    from django.utils.dateparse import parse_date

    from pipeline.models import Deal

    back = {}
    for name, value in fields.items():
        if name in ("company", "contact"):
            back[name] = Deal._meta.get_field(name).related_model.objects.filter(pk=value).first() if value else None
        elif name == "amount":
            back[name] = Decimal(value)
        elif name == "expected_close":
            back[name] = parse_date(value) if value else None
        else:
            back[name] = value
    return back


def progress_key(job_id: int) -> str:
    return f"transfers:import:{job_id}:progress"


def cancel_key(job_id: int) -> str:
    return f"transfers:import:{job_id}:cancel"


def set_progress(job_id: int, done: int, total: int) -> None:
    cache.set(progress_key(job_id), {"done": done, "total": total}, 24 * 3600)


def get_progress(job_id: int) -> dict:
    return cache.get(progress_key(job_id)) or {"done": 0, "total": 0}
