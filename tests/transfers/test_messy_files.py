"""Issue 20: a messy real-world file comes in in one pass, and no customer's phone is lost."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.phones import read_phone, search_form
from crm import services as crm_services
from crm.models import Contact
from tests.transfers.conftest import csv_bytes
from transfers import services as transfer_services
from transfers.models import ImportJob, ImportStatus

# A plausible Saudi mobile the phone library's metadata does not list as assigned.
UNVERIFIABLE = "0521527244"


def _fifty_rows(phone_of_row_7=UNVERIFIABLE):
    rows = [["الاسم الأول", "اسم العائلة", "البريد الإلكتروني", "الجوال", "الشركة"]]
    for n in range(50):
        phone = phone_of_row_7 if n == 5 else f"05011{n:05d}"
        rows.append([f"عميل{n}", "الحربي", f"c{n}@nukhba.test", phone, "مؤسسة النخبة"])
    return rows


def _upload(data, name="contacts.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


# Phones ---------------------------------------------------------------------------------


def test_a_possible_but_unlisted_number_is_kept_unverified_and_an_impossible_one_refused(settings):
    settings.PHONE_DEFAULT_REGION = "SA"
    assert read_phone("0501234567") == ("+966501234567", True)
    assert read_phone(UNVERIFIABLE) == ("+966521527244", False)
    assert read_phone("٠٥٢١٥٢٧٢٤٤") == ("+966521527244", False)
    for impossible in ("12345", "0000000000", "05012345678901234", "phone"):
        with pytest.raises(ValidationError):
            read_phone(impossible)
    # Searching by the number finds it, typed either way.
    assert search_form("052 152 7244") == search_form("+966521527244") == "+966521527244"


def test_every_write_path_keeps_an_unverifiable_phone_as_typed(world):
    contact = crm_services.contact_create(by=world.rep_a1, first_name="سلمان", phone_raw=UNVERIFIABLE)
    contact.refresh_from_db()
    assert (contact.phone_raw, contact.phone, contact.phone_verified) == (UNVERIFIABLE, "+966521527244", False)
    # A verified number typed later clears the mark, in the batch writer too.
    [written] = crm_services.customers_write_many(
        model=Contact,
        by=world.rep_a1,
        writes=[crm_services.Write(fields={"phone_raw": "0501234567"}, record=contact)],
    )
    assert isinstance(written, Contact)
    contact.refresh_from_db()
    assert (contact.phone, contact.phone_verified) == ("+966501234567", True)
    with pytest.raises(ValidationError) as error:
        crm_services.contact_create(by=world.rep_a1, first_name="خطأ", phone_raw="12345")
    assert "phone_raw" in error.value.message_dict


def test_the_windows_1256_file_with_one_unverifiable_phone_imports_all_50_rows(
    client, world, django_capture_on_commit_callbacks, eager_celery
):
    client.force_login(world.rep_a1)
    data = csv_bytes(_fifty_rows(), encoding="cp1256")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("transfers:import"), {"kind": "contacts", "file": _upload(data)})
    job = ImportJob.objects.get()
    assert job.summary["errors"] == 0 and job.summary["created"] == 50
    preview = client.get(response.url).content.decode()
    # rep_a1 reads Arabic: the warning names the row and the number.
    assert "0521527244" in preview and "غير موثّق" in preview
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("transfers:import_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Contact.objects.filter(email__endswith="@nukhba.test").count() == 50
    kept = Contact.objects.get(email="c5@nukhba.test")
    assert (kept.phone_raw, kept.phone, kept.phone_verified) == (UNVERIFIABLE, "+966521527244", False)
    assert Contact.objects.filter(email="c6@nukhba.test", phone_verified=True).exists()
    # The contact page and the API say so; the search by phone finds it.
    page = client.get(kept.get_absolute_url()).content.decode()
    assert "غير موثّق" in page
    api = client.get(f"/api/v1/contacts/{kept.pk}/").json()
    assert api["phone_verified"] is False and api["phone"] == "+966521527244"
    found = client.get("/api/v1/contacts/", {"search": "052 152 7244"}).json()["results"]
    assert [row["id"] for row in found] == [kept.pk]


# Import the valid rows, hand back the failing ones ------------------------------------------


def _state():
    return sorted(Contact.objects.values_list("pk", "first_name", "email", "phone", "version"))


def _upload_and_preview(client, world, rows, capture):
    client.force_login(world.rep_a1)
    with capture(execute=True):
        client.post(
            reverse("transfers:import"), {"kind": "contacts", "file": _upload(csv_bytes(rows, encoding="cp1256"))}
        )
    return ImportJob.objects.latest("pk")


def test_one_impossible_phone_imports_49_rows_and_hands_the_one_back(
    client, world, django_capture_on_commit_callbacks, eager_celery
):
    before = _state()
    job = _upload_and_preview(client, world, _fifty_rows(phone_of_row_7="12345"), django_capture_on_commit_callbacks)
    assert job.summary["errors"] == 1 and job.summary["created"] == 49
    preview = client.get(reverse("transfers:import_preview", args=[job.pk])).content.decode()
    # Skipping the failing row is the choice already made when a row fails.
    assert 'value="skip" id="mode-skip" checked' in preview
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("transfers:import_confirm", args=[job.pk]), {"mode": "skip"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.skip_failing
    assert (job.summary["created"], job.summary["updated"], job.summary["errors"]) == (49, 0, 1)
    imported = Contact.objects.filter(email__endswith="@nukhba.test")
    assert imported.count() == 49 and not imported.filter(email="c5@nukhba.test").exists()
    # The skipped row comes back as uploaded, with its error, ready to fix and upload again.
    lines = client.get(reverse("transfers:import_errors", args=[job.pk])).content.decode().lstrip("\ufeff").splitlines()
    assert len(lines) == 2 and lines[0].endswith(",error") and lines[1].startswith("عميل5,الحربي,c5@nukhba.test,12345,")
    page = client.get(reverse("transfers:import_progress", args=[job.pk])).content.decode()
    assert "تخطي" in page or "تُخطّي" in page
    # Undo takes back exactly what was imported.
    client.post(reverse("transfers:import_undo", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE and _state() == before


def test_all_or_nothing_still_works_when_chosen(client, world, django_capture_on_commit_callbacks, eager_celery):
    before = _state()
    job = _upload_and_preview(client, world, _fifty_rows(phone_of_row_7="12345"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("transfers:import_confirm", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 302 and response.url == reverse("transfers:import_preview", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED and _state() == before
    # Chosen on a clean preview, a row failing by the time it runs still leaves nothing.
    job = _upload_and_preview(
        client, world, _fifty_rows(phone_of_row_7="0501119999"), django_capture_on_commit_callbacks
    )
    job.rows[5][3] = "12345"
    job.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("transfers:import_confirm", args=[job.pk]), {"mode": "all"})
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and _state() == before
    # A made-up mode is refused, nothing queued.
    job = _upload_and_preview(client, world, _fifty_rows(), django_capture_on_commit_callbacks)
    client.post(reverse("transfers:import_confirm", args=[job.pk]), {"mode": "some"})
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED


def test_a_record_whose_later_row_fails_is_skipped_whole(world):
    rows = [
        ["name", "email", "job title"],
        ["Sara", "sara@nukhba.test", "Buyer"],
        ["Sara", "sara@nukhba.test", "x" * 500],
    ]
    job = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="f.csv", data=csv_bytes(rows))
    transfer_services.import_preview(job=job, by=world.rep_a1)
    job.status, job.skip_failing = ImportStatus.QUEUED, True
    job.save()
    job = transfer_services.import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE and not Contact.objects.filter(email="sara@nukhba.test").exists()
    assert {error["row"] for error in job.errors} == {2, 3} and job.summary["errors"] == 2


# The job page says what happened -------------------------------------------------------------

FINAL_STATES = {
    # status: (what the English page says, what the Arabic page says)
    ImportStatus.DONE: ("Import finished", "اكتمل الاستيراد"),
    ImportStatus.FAILED: ("Import failed", "فشل الاستيراد"),
    ImportStatus.CANCELLED: ("Nothing was imported: everything the import wrote was rolled back.", "لم يُستورد شيء"),
    ImportStatus.UNDONE: ("What the import created was deleted", "حُذف ما أنشأه الاستيراد"),
}


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("status", list(FINAL_STATES))
def test_the_job_page_says_how_the_import_ended_in_both_languages(client, world, status, language):
    world.rep_a1.language = language
    world.rep_a1.save(update_fields=["language"])
    job = transfer_services.import_create(
        by=world.rep_a1, kind="contacts", file_name="f.csv", data=csv_bytes(_fifty_rows())
    )
    job.status = status
    job.summary = {"created": 50, "updated": 0, "skipped": 0, "errors": 0}
    job.message = "The import could not be saved." if status == ImportStatus.FAILED else ""
    job.save()
    client.force_login(world.rep_a1)
    for headers in ({}, {"HX-Request": "true"}):
        page = client.get(reverse("transfers:import_progress", args=[job.pk]), headers=headers).content.decode()
        english, arabic = FINAL_STATES[status]
        assert (english if language == "en" else arabic) in page
        # Never "importing" once it has ended, and nothing polls any more.
        assert "Importing" not in page and "جارٍ الاستيراد" not in page and "every 1s" not in page
        if status == ImportStatus.FAILED:
            assert "The import could not be saved." in page
        # The bar has a label, and is shown only while it means something.
        assert ('<progress id="import-bar"' in page) == (status == ImportStatus.DONE)
        if status == ImportStatus.DONE:
            assert '<label for="import-bar"' in page


# Deals by external id --------------------------------------------------------------------------


def test_deals_imported_twice_by_external_id_are_updated_not_duplicated(world):
    from pipeline.models import Deal

    def run(rows):
        job = transfer_services.import_create(by=world.rep_a1, kind="deals", file_name="d.csv", data=csv_bytes(rows))
        assert job.mapping["0"] == "external_id"
        job.status = ImportStatus.QUEUED
        job.save()
        return transfer_services.import_run(job_id=job.pk)

    header = ["المعرف", "الصفقة", "القيمة", "العملة"]
    first = run([header, ["D-1", "توريد مكيفات", "15000", "SAR"], ["D-2", "صيانة سنوية", "4000", "SAR"]])
    assert first.status == ImportStatus.DONE and first.summary["created"] == 2
    second = run([header, ["D-1", "توريد مكيفات", "18000", "SAR"], ["D-2", "صيانة سنوية", "4000", "SAR"]])
    assert (second.summary["created"], second.summary["updated"], second.summary["skipped"]) == (0, 1, 1)
    assert Deal.objects.filter(external_source="import").count() == 2
    deal = Deal.objects.get(external_id="D-1")
    assert str(deal.amount) == "18000.00"
    # Undoing the second import puts the amount back and deletes nothing.
    transfer_services.import_undo(job=second, by=world.rep_a1)
    deal.refresh_from_db()
    assert str(deal.amount) == "15000.00" and Deal.objects.filter(external_source="import").count() == 2


# Duplicates that can be judged ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "first", "second"),
    [
        ("company_name", {"name": "شركة الأفق"}, {"name": "شركه الافق"}),
        (
            "domain",
            {"name": "Ufuq", "website": "https://www.ufuq.sa/ar"},
            {"name": "Al Ufuq", "website": "http://ufuq.sa"},
        ),
        ("phone", {"name": "Nakheel", "phone_raw": "0112345678"}, {"name": "Palm Co", "phone_raw": "+966 11 234 5678"}),
    ],
)
def test_company_duplicates_are_found_by_each_rule(client, world, rule, first, second):
    from tests import factories as f
    from transfers.duplicates import company_duplicate_pairs

    a = crm_services.company_create(by=world.rep_a1, team=world.team_a, **first)
    b = crm_services.company_create(by=world.rep_a1, team=world.team_a, **second)
    f.CompanyFactory(owner=world.rep_b, team=world.team_b, **first)  # another team's: not shown to rep_a1
    pairs = [p for p in company_duplicate_pairs(user=world.rep_a1) if p["reason"] == rule]
    assert [{r.pk for r in p["records"]} for p in pairs] == [{a.pk, b.pk}]
    client.force_login(world.rep_a1)
    page = client.get(reverse("transfers:duplicates")).content.decode()
    assert f"ids={a.pk}&amp;ids={b.pk}" in page and reverse("transfers:merge", args=["company"]) in page


def test_same_name_and_no_company_is_a_duplicate_and_the_group_shows_what_decides(client, world):
    one = crm_services.contact_create(by=world.rep_a1, first_name="نورة", last_name="السبيعي", email="n1@nukhba.test")
    two = crm_services.contact_create(by=world.rep_a1, first_name="نوره", last_name="السبيعي", phone_raw="0501239876")
    from transfers.duplicates import duplicate_pairs

    pairs = [p for p in duplicate_pairs(user=world.rep_a1) if p["reason"] == "name_no_company"]
    assert [{r.pk for r in p["records"]} for p in pairs] == [{one.pk, two.pk}]
    client.force_login(world.rep_a1)
    page = client.get(reverse("transfers:duplicates")).content.decode()
    assert "n1@nukhba.test" in page and "+966 50 123 9876" in page and str(world.rep_a1) in page


def test_the_merge_page_shows_only_what_differs_and_preselects_the_latest_non_empty_value(client, world):
    older = crm_services.contact_create(
        by=world.rep_a1, first_name="سارة", last_name="القحطاني", email="old@nukhba.test", job_title="مديرة"
    )
    newer = crm_services.contact_create(
        by=world.rep_a1, first_name="سارة", last_name="القحطاني", email="new@nukhba.test"
    )
    client.force_login(world.rep_a1)
    page = client.get(reverse("transfers:merge", args=["contact"]), {"ids": [older.pk, newer.pk]}).content.decode()
    # Identical names are not asked about; the email differs and the newer one is chosen; the
    # job title only the older has is kept rather than the newer's empty one.
    assert 'name="field_first_name"' not in page and 'name="field_last_name"' not in page
    assert f'name="field_email" value="{newer.pk}" checked' in page
    assert f'name="field_job_title" value="{older.pk}" checked' in page


def test_the_api_and_the_contacts_bulk_keep_an_unverifiable_phone_too(client, world):
    client.force_login(world.rep_a1)
    contact = world.a1.contact
    response = client.patch(
        f"/api/v1/contacts/{contact.pk}/", {"phone_raw": UNVERIFIABLE}, content_type="application/json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["phone_verified"] is False
    contact.refresh_from_db()
    assert (contact.phone, contact.phone_verified) == ("+966521527244", False)
    # phone_verified is the server's to say: a client sending it changes nothing.
    client.patch(f"/api/v1/contacts/{contact.pk}/", {"phone_verified": True}, content_type="application/json")
    contact.refresh_from_db()
    assert contact.phone_verified is False
    items = [{"external_source": "erp", "external_id": "U-1", "first_name": "هاتف", "phone_raw": UNVERIFIABLE}]
    result = client.post("/api/v1/contacts/bulk/", {"items": items}, content_type="application/json").json()
    assert result["results"][0]["status"] == "created"
    assert Contact.objects.get(external_id="U-1").phone_verified is False
