import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from crm.models import Company, Contact
from pipeline.models import Deal
from tests.transfers.conftest import csv_bytes, xlsx_bytes
from transfers import services as transfer_services
from transfers.models import ImportJob, ImportStatus, SavedMapping


def _state():
    contacts = sorted(
        Contact.objects.values_list("pk", "first_name", "last_name", "email", "phone", "notes", "version", "company_id")
    )
    companies = sorted(Company.objects.values_list("pk", "name", "city", "version"))
    return contacts, companies, Deal.objects.count()


def _job(world, rows, kind="contacts", user=None, data=None):
    return transfer_services.import_create(
        by=user or world.rep_a1, kind=kind, file_name="f.csv", data=data or csv_bytes(rows)
    )


def _run(job):
    job.status = ImportStatus.QUEUED
    job.save()
    return transfer_services.import_run(job_id=job.pk)


def test_arabic_headers_are_mapped(world, arabic_rows):
    job = _job(world, arabic_rows)
    assert job.mapping == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "phone",
        "4": "company",
        "5": "notes",
    }


def test_google_contacts_headers_are_mapped(world):
    headers = [
        "Name",
        "Given Name",
        "Family Name",
        "E-mail 1 - Value",
        "Phone 1 - Value",
        "Organization 1 - Name",
        "Notes",
    ]
    job = _job(world, [headers, ["Sara Lee", "Sara", "Lee", "sara@example.test", "+971501234567", "Acme", "hi"]])
    assert set(job.mapping.values()) == {"full_name", "first_name", "last_name", "email", "phone", "company", "notes"}


def test_dry_run_changes_nothing_and_previews(world, arabic_rows):
    existing = world.a1.contact
    arabic_rows.append(["تحديث", "", existing.email, "", "", "ملاحظة جديدة"])
    arabic_rows.append(["", "", "not-an-email", "", "", ""])
    before = _state()
    job = _job(world, arabic_rows)
    outcome = transfer_services.import_preview(job=job, by=world.rep_a1)
    assert _state() == before
    assert outcome.actions == ["create", "create", "update", "error"]
    assert job.summary == {"created": 2, "updated": 1, "skipped": 0, "errors": 1}
    assert {e["row"] for e in job.errors} == {5}


def test_confirmed_import_creates_and_matches(world, arabic_rows):
    job = _job(world, arabic_rows)
    transfer_services.import_preview(job=job, by=world.rep_a1)
    job = _run(job)
    assert job.status == ImportStatus.DONE
    ahmad = Contact.objects.get(email="ahmad@example.test")
    assert ahmad.phone == "+966501112233" and ahmad.company.name == "شركة الأفق"
    assert ahmad.team == world.team_a and ahmad.owner == world.rep_a1
    assert Company.objects.filter(name="شركة الأفق").count() == 1
    # The same file again: everything matches, nothing new.
    again = _job(world, arabic_rows)
    transfer_services.import_preview(job=again, by=world.rep_a1)
    assert again.summary["created"] == 0 and again.summary["skipped"] == 2


def test_match_by_phone_and_external_id(world):
    contact = world.a1.contact
    job = _job(world, [["id", "name", "mobile"], ["X1", "New Name", contact.phone]])
    _run(job)
    contact.refresh_from_db()
    assert contact.first_name == "New" and contact.external_id == "X1"
    job = _job(world, [["id", "name"], ["X1", "Other Person"]])
    transfer_services.import_preview(job=job, by=world.rep_a1)
    assert job.summary["updated"] == 1


def test_a_failing_row_in_a_confirmed_import_leaves_nothing(world, arabic_rows):
    job = _job(world, arabic_rows)
    transfer_services.import_preview(job=job, by=world.rep_a1)
    # The data changes between preview and run: a row now fails.
    job.rows.append(["خالد", "", "", "123", "", ""])
    job.save()
    before = _state()
    job = _run(job)
    assert job.status == ImportStatus.FAILED
    assert job.errors[0]["row"] == 4 and job.errors[0]["column"] == "الجوال"
    assert _state() == before


def test_undo_restores_the_previous_state_exactly(world, arabic_rows):
    existing = world.a1.contact
    arabic_rows.append([existing.first_name, "", existing.email, "0551234567", "شركة جديدة", "ملاحظة"])
    before = _state()
    job = _job(world, arabic_rows)
    transfer_services.import_preview(job=job, by=world.rep_a1)
    job = _run(job)
    assert job.summary == {"created": 2, "updated": 1, "skipped": 0, "errors": 0}
    assert _state() != before
    transfer_services.import_undo(job=job, by=world.rep_a1)
    after_contacts, after_companies, _deals = _state()
    contacts, companies, _deals_before = before
    # Same records and values; only the version moved on (the restore is a write).
    strip = lambda rows: [r[:6] + r[7:] for r in rows]  # noqa: E731
    assert strip(after_contacts) == strip(contacts)
    assert [c[:3] for c in after_companies] == [c[:3] for c in companies]
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.UNDONE


def test_undo_is_refused_after_an_edit(world, arabic_rows):
    from crm.services import contact_update

    job = _job(world, arabic_rows)
    transfer_services.import_preview(job=job, by=world.rep_a1)
    job = _run(job)
    ahmad = Contact.objects.get(email="ahmad@example.test")
    contact_update(contact=ahmad, by=world.rep_a1, notes="edited")
    for language, message in (
        (
            "ar",
            "لا يمكن التراجع عن هذا الاستيراد: عُدّل بعض سجلاته بعده. تراجع عن هذه التعديلات أولاً أو صحّح السجلات يدوياً.",
        ),
        (
            "en",
            "This import cannot be undone: some of its records were edited after it. "
            "Undo those edits first or fix the records by hand.",
        ),
    ):
        with translation.override(language), pytest.raises(ValidationError) as info:
            transfer_services.import_undo(job=job, by=world.rep_a1)
        assert info.value.messages == [message]
    assert Contact.objects.filter(email="ahmad@example.test").exists()


def test_companies_and_deals(world):
    job = _job(world, [["الاسم", "المدينة", "الدولة"], ["مؤسسة الريادة", "جدة", "sa"]], kind="companies")
    _run(job)
    assert Company.objects.get(name="مؤسسة الريادة").country == "SA"
    rows = [
        ["Title", "Amount", "Currency", "Company"],
        ["Renewal", "1500.50", "sar", "مؤسسة الريادة"],
        ["Bad", "abc", "SAR", ""],
    ]
    job = _job(world, rows, kind="deals")
    transfer_services.import_preview(job=job, by=world.rep_a1)
    assert job.errors[0]["column"] == "Amount", job.errors
    assert job.summary["errors"] == 1


def test_xlsx_import_and_saved_mapping(world):
    rows = [["Nom", "Courriel"], ["Jean", "jean@example.test"]]
    job = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="x.xlsx", data=xlsx_bytes(rows))
    assert job.mapping == {}
    transfer_services.import_preview(job=job, by=world.rep_a1, mapping={"0": "first_name", "1": "email"}, remember=True)
    assert SavedMapping.objects.filter(owner=world.rep_a1).count() == 1
    again = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="x.xlsx", data=xlsx_bytes(rows))
    assert again.mapping == {"0": "first_name", "1": "email"}


def test_a_cell_too_long_for_its_field_is_a_row_error_and_one_over_the_limit_a_clear_refusal(world):
    from transfers.readers import FileProblem

    job = _job(world, [["name", "email"], ["ب" * 1_000, "x@example.test"]])
    transfer_services.import_preview(job=job, by=world.rep_a1)
    assert job.summary["errors"] == 1
    with pytest.raises(FileProblem) as info:
        _job(world, [["name", "email"], ["ب" * 1_000_000, "x@example.test"]])
    assert "32767" in info.value.message


def test_mismatched_columns_in_a_preview(world):
    job = _job(world, None, data=b"name,email,phone\nSami\nRami,rami@example.test,0501234560,extra\n")
    transfer_services.import_preview(job=job, by=world.rep_a1)
    assert job.summary == {"created": 2, "updated": 0, "skipped": 0, "errors": 0}


# Web flow ------------------------------------------------------------------------


def test_upload_preview_confirm_progress_and_undo(
    client, world, arabic_rows, django_capture_on_commit_callbacks, eager_celery
):
    client.force_login(world.rep_a1)
    response = client.get(reverse("transfers:import"))
    assert response.status_code == 200
    upload = _upload(csv_bytes(arabic_rows, encoding="cp1256"))
    with django_capture_on_commit_callbacks(execute=True):  # the worker reads the file and previews it
        response = client.post(reverse("transfers:import"), {"kind": "contacts", "file": upload})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    preview = client.get(response.url)
    assert preview.status_code == 200 and "أحمد" in preview.content.decode()
    assert Contact.objects.filter(email="ahmad@example.test").count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("transfers:import_confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, (job.status, job.errors, job.summary, response.url)
    assert Contact.objects.filter(email="ahmad@example.test").count() == 1
    progress = client.get(response.url, headers={"HX-Request": "true"})
    assert progress.status_code == 200 and "every 1s" not in progress.content.decode()
    client.post(reverse("transfers:import_undo", args=[job.pk]))
    assert Contact.objects.filter(email="ahmad@example.test").count() == 0


def _upload(data, name="contacts.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_unreadable_upload_gets_a_message_not_a_500(client, world):
    client.force_login(world.rep_a1)
    response = client.post(
        reverse("transfers:import"), {"kind": "contacts", "file": _upload(b"PK\x03\x04junk", "a.xlsx")}
    )
    assert response.status_code == 400
    # rep_a1 reads Arabic: the message comes in their language, whole.
    assert "ملف Excel تالف أو غير مكتمل: افتحه في Excel واحفظه مرة أخرى ثم أعد المحاولة." in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_errors_csv_download_and_mapping_change(client, world, django_capture_on_commit_callbacks, eager_celery):
    client.force_login(world.rep_a1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("transfers:import"),
            {
                "kind": "contacts",
                "file": _upload(csv_bytes([["الاسم", "الجوال"], ["سامي", "12"], ["=cmd", "0501234567"]])),
            },
        )
    job = ImportJob.objects.get()
    assert job.summary["errors"] == 1
    body = client.get(reverse("transfers:import_errors", args=[job.pk])).content.decode()
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0].endswith(",error") and lines[1].startswith("سامي,12,") and len(lines) == 2
    # All or nothing is refused while a row fails (skipping it is tests/transfers/test_messy_files.py).
    response = client.post(reverse("transfers:import_confirm", args=[job.pk]), {"mode": "all"})
    assert Contact.objects.filter(first_name="سامي").count() == 0
    with django_capture_on_commit_callbacks(execute=True):  # the worker checks the rows again
        response = client.post(reverse("transfers:import_preview", args=[job.pk]), {"col_0": "first_name", "col_1": ""})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.errors == [] and job.summary["created"] == 2


def test_other_users_cannot_see_a_job(client, world, arabic_rows):
    job = _job(world, arabic_rows)
    client.force_login(world.rep_b)
    assert client.get(reverse("transfers:import_preview", args=[job.pk])).status_code == 404
    assert client.post(reverse("transfers:import_confirm", args=[job.pk])).status_code == 404


def test_cancel_flag_rolls_everything_back(world, arabic_rows):
    job = _job(world, arabic_rows)
    transfer_services.import_preview(job=job, by=world.rep_a1)
    transfer_services.import_cancel(job=job)
    before = _state()
    job = _run(job)
    assert job.status == ImportStatus.CANCELLED and _state() == before


def test_management_command(world, tmp_path, capsys, arabic_rows):
    path = tmp_path / "c.csv"
    path.write_bytes(csv_bytes(arabic_rows, encoding="cp1256", delimiter=";"))
    call_command("import_records", str(path), "--kind", "contacts", "--dry-run", "--user", "rep_a1")
    out = capsys.readouterr().out
    assert "Create: 2" in out and "Dry run" in out
    assert not Contact.objects.filter(email="ahmad@example.test").exists()
    mapping = json.dumps({"الاسم الأول": "first_name", "البريد الإلكتروني": "email"})
    call_command("import_records", str(path), "--kind", "contacts", "--user", "rep_a1", "--mapping", mapping)
    assert Contact.objects.get(email="ahmad@example.test").phone == ""


def test_undo_when_one_file_touches_a_record_twice(world):
    existing = world.a1.contact
    before = (existing.first_name, existing.notes, existing.job_title)
    rows = [
        ["email", "notes", "job title", "first name"],
        [existing.email, "first change", "", ""],
        [existing.email, "", "مدير", ""],
        ["new@example.test", "", "", "جديد"],
        ["new@example.test", "later", "", ""],
    ]
    job = _run(_job(world, rows))
    assert job.status == ImportStatus.DONE, job.errors
    assert job.summary == {"created": 1, "updated": 3, "skipped": 0, "errors": 0}
    transfer_services.import_undo(job=job, by=world.rep_a1)
    existing.refresh_from_db()
    assert (existing.first_name, existing.notes, existing.job_title) == before
    assert not Contact.objects.filter(email="new@example.test").exists()


def test_a_user_without_a_team_gets_a_message(client, world, arabic_rows):
    client.force_login(world.admin)
    response = client.post(reverse("transfers:import"), {"kind": "contacts", "file": _upload(csv_bytes(arabic_rows))})
    assert response.status_code == 400 and ImportJob.objects.count() == 0


def _big_file(n, existing_email):
    rows = [["الاسم", "البريد الإلكتروني", "الجوال", "الشركة"]]
    rows += [[f"عميل {i}", f"c{i}@example.test", f"+97150{i:07d}", f"شركة {i % 7}"] for i in range(n)]
    rows.append(["محدث", existing_email, "", ""])
    return rows


def test_an_import_asks_the_same_few_queries_for_any_number_of_rows(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n, email in ((20, "nobody@example.test"), (600, world.a1.contact.email)):
        job = _job(world, _big_file(n, email))
        transfer_services.import_preview(job=job, by=world.rep_a1)
        job.status = ImportStatus.QUEUED
        job.save()
        with CaptureQueriesContext(connection) as captured:
            job = transfer_services.import_run(job_id=job.pk)
        assert job.status == ImportStatus.DONE, job.errors[:3]
        counts.append(len(captured))
    assert counts[1] <= counts[0] + 6, counts  # an update and its stored record read add a few, not one per row
    # The second file's first 20 rows match the first file's contacts by email: 600 in all.
    assert Contact.objects.filter(email__regex=r"^c[0-9]+@example\.test$").count() == 600
    assert Contact.objects.get(pk=world.a1.contact.pk).first_name == "محدث"
    assert Company.objects.filter(name__startswith="شركة ").count() >= 7


def test_undo_of_a_large_import_restores_everything(world):
    before = _state()
    job = _job(world, _big_file(500, world.a1.contact.email))
    transfer_services.import_preview(job=job, by=world.rep_a1)
    job = _run(job)
    assert job.summary == {"created": 500, "updated": 1, "skipped": 0, "errors": 0}
    transfer_services.import_undo(job=job, by=world.rep_a1)
    contacts, companies, deals = _state()
    strip = lambda rows: [r[:6] + r[7:] for r in rows]  # noqa: E731
    assert strip(contacts) == strip(before[0]) and companies == before[1] and deals == before[2]
    from core.models import Tombstone

    assert Tombstone.objects.filter(model="crm.contact").count() == 500


def test_undo_asks_the_same_few_queries_for_any_number_of_updated_contacts(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests import factories as f

    counts = []
    for n in (3, 30):
        stored = [
            f.ContactFactory(
                owner=world.rep_a1, team=world.team_a, company=world.a1.company, email=f"u{n}-{i}@example.test"
            )
            for i in range(n)
        ]
        rows = [["Email", "Notes"], *([c.email, "من الملف"] for c in stored)]
        job = _job(world, rows)
        transfer_services.import_preview(job=job, by=world.rep_a1)
        job = _run(job)
        assert job.summary["updated"] == n, job.errors[:3]
        with CaptureQueriesContext(connection) as captured:
            transfer_services.import_undo(job=job, by=world.rep_a1)
        counts.append(len(captured))
        assert not Contact.objects.filter(notes="من الملف").exists()
    assert counts[0] == counts[1], counts


@pytest.mark.postgres
def test_an_import_the_database_refuses_fails_with_a_message_and_leaves_nothing(world, arabic_rows):
    """A database error mid-import (here a trigger; in life a deadlock with another writer) fails the job cleanly."""
    from tests.pg import refuse_inserts

    refuse_inserts("crm_contact", column="first_name", value="فاطمة", sqlstate="40P01")
    before = _state()
    job = _job(world, arabic_rows)
    transfer_services.import_preview(job=job, by=world.rep_a1)
    world.rep_a1.language = "en"  # the worker writes in the owner's language
    world.rep_a1.save()
    job = _run(job)
    assert job.status == ImportStatus.FAILED
    assert "Nothing was imported" in job.message
    assert _state() == before
    assert not Company.objects.filter(name="شركة الأفق").exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.message
