import pytest
from django.urls import reverse

from tests import factories as f
from transfers import services as transfer_services
from transfers.models import ImportStatus
from transfers.vcard import fold, parse_vcards, write_vcard


def test_folding_never_splits_utf8_and_keeps_75_octets():
    line = "NOTE:" + "ملاحظة طويلة جداً، " * 20
    folded = fold(line)
    for part in folded.split("\r\n"):
        assert len(part.encode("utf-8")) <= 75
        part.encode("utf-8").decode("utf-8")
    assert folded.replace("\r\n ", "") == line


@pytest.mark.django_db
def test_arabic_round_trip(world):
    contact = f.ContactFactory(
        owner=world.rep_a1,
        team=world.team_a,
        company=world.a1.company,
        first_name="عبد الله",
        last_name="القحطاني",
        email="abd@example.test",
        phone_raw="0501234567",
        phone="+966501234567",
        notes="يفضّل الاتصال مساءً; لا، صباحاً \\ فقط\nسطر ثانٍ " * 5,
    )
    card = write_vcard(contact)
    assert card.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n") and card.endswith("END:VCARD\r\n")
    assert all(len(line.encode()) <= 75 for line in card.split("\r\n"))
    (parsed,) = parse_vcards(card)
    assert parsed["first_name"] == "عبد الله" and parsed["last_name"] == "القحطاني"
    assert parsed["full_name"] == "عبد الله القحطاني"
    assert parsed["company"] == world.a1.company.name
    assert parsed["phone"] == "+966501234567" and parsed["email"] == "abd@example.test"
    assert parsed["notes"] == contact.notes


def test_vcard_30_quoted_printable_and_many_cards():
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D8=B3=D8=A7=D9=84=D9=85;=D9=85=D8=AD=D9=85=D8=AF;;;\r\n"
        "FN:Mohammed Salem\r\nTEL;TYPE=CELL:+971 50 123 4567\r\nitem1.EMAIL;TYPE=INTERNET:m@example.test\r\n"
        "ORG:Acme\\, Inc.;Sales\r\nNOTE:first\r\n  line\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\nVERSION:4.0\nFN:سارة\nN:;سارة;;;\nEND:VCARD\n"
    )
    first, second = parse_vcards(text)
    assert first["last_name"] == "سالم" and first["first_name"] == "محمد"
    assert first["phone"] == "+971 50 123 4567" and first["email"] == "m@example.test"
    assert first["company"] == "Acme, Inc." and first["notes"] == "first line"
    assert second["first_name"] == "سارة"


@pytest.mark.django_db
def test_vcf_export_then_import(client, world):
    contact = f.ContactFactory(
        owner=world.rep_a1,
        team=world.team_a,
        first_name="ليلى",
        last_name="الحربي",
        email="layla@example.test",
        company=world.a1.company,
    )
    client.force_login(world.rep_a1)
    data = b"".join(client.get(reverse("transfers:export", args=["contacts", "vcf"])).streaming_content)
    assert "ليلى".encode() in data
    contact.delete()
    job = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="c.vcf", data=data)
    transfer_services.import_preview(job=job, by=world.rep_a1)
    assert job.summary["errors"] == 0, job.errors
    job.status = ImportStatus.QUEUED
    job.save()
    transfer_services.import_run(job_id=job.pk)
    restored = world.a1.company.contacts.get(email="layla@example.test")
    assert (restored.first_name, restored.last_name) == ("ليلى", "الحربي")
