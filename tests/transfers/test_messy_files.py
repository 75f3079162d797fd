"""Issue 20: a messy real-world file comes in in one pass, and no customer's phone is lost."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.phones import read_phone, search_form
from crm import services as crm_services
from crm.models import Contact
from tests.transfers.conftest import csv_bytes
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
