import csv
import io
import re

import openpyxl
import pytest
from django.urls import reverse

from core.csvsafe import spreadsheet_cell
from tests import factories as f


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+966", "'+966"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("أحمد", "أحمد"),
        ("a=b", "a=b"),
        (None, ""),
        (12, "12"),
    ],
)
def test_formula_escaping(value, expected):
    assert spreadsheet_cell(value) == expected
    assert spreadsheet_cell(value, xlsx=True) == expected


def _csv(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def test_contacts_csv_is_filtered_visible_and_escaped(client, world):
    f.ContactFactory(owner=world.rep_a1, team=world.team_a, first_name="=HYPERLINK(1)", last_name="زيد")
    client.force_login(world.rep_a1)
    rows = _csv(client.get(reverse("transfers:export", args=["contacts", "csv"])))
    names = [row[0] for row in rows[1:]]
    assert "'=HYPERLINK(1)" in names
    assert world.b.contact.first_name not in names  # another team's contact
    assert len(rows) == 1 + 3
    filtered = _csv(client.get(reverse("transfers:export", args=["contacts", "csv"]), {"q": "زيد"}))
    assert [row[1] for row in filtered[1:]] == ["زيد"]


def test_bad_filter_is_a_clear_400(client, world):
    client.force_login(world.rep_a1)
    response = client.get(reverse("transfers:export", args=["contacts", "csv"]), {"owner": "999999"})
    assert response.status_code == 400


def test_xlsx_exports_of_every_list(client, world):
    client.force_login(world.manager_a)
    for kind in ("companies", "contacts", "deals", "activities"):
        response = client.get(reverse("transfers:export", args=[kind, "xlsx"]))
        assert response.status_code == 200, kind
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert sheet.max_row == 3, kind  # header + the two reps of team A


def test_deals_export_is_bounded(client, world, django_assert_max_num_queries):
    for _ in range(60):
        f.DealFactory(
            owner=world.rep_a1,
            team=world.team_a,
            stage=world.pipeline.s.lead,
            company=world.a1.company,
            contact=world.a1.contact,
        )
    client.force_login(world.rep_a1)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("transfers:export", args=["deals", "csv"]))
        rows = _csv(response)
    assert len(rows) == 62


def test_contacts_csv_with_60_rows_is_bounded(client, world, django_assert_max_num_queries):
    for _ in range(60):
        f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=world.a1.company)
    client.force_login(world.rep_a1)
    with django_assert_max_num_queries(12):
        rows = _csv(client.get(reverse("transfers:export", args=["contacts", "csv"])))
        client.get(reverse("transfers:export", args=["contacts", "vcf"]))
    assert len(rows) == 63


def test_export_buttons_on_the_lists(client, world):
    client.force_login(world.rep_a1)
    page = client.get(reverse("crm:contact_list"), {"q": "x"}).content.decode()
    assert reverse("transfers:export", args=["contacts", "csv"]) + "?q=x" in page
    assert (
        reverse("transfers:export", args=["deals", "xlsx"])
        in client.get(reverse("pipeline:deal_list")).content.decode()
    )
    assert (
        reverse("transfers:export", args=["companies", "csv"])
        in client.get(reverse("crm:company_list")).content.decode()
    )


def test_xlsx_export_survives_control_characters_already_stored(client, world):
    """A record holding a character a workbook cannot store must not break the export for the whole team."""
    from crm.models import Contact

    # Stored as an older version or a raw SQL write could have left it, not through the service.
    Contact.objects.filter(pk=world.a1.contact.pk).update(first_name="a\u0007", notes="=x\x1b\x0by")
    for user in (world.rep_a2, world.manager_a, world.admin):
        client.force_login(user)
        response = client.get(reverse("transfers:export", args=["contacts", "xlsx"]))
        assert response.status_code == 200, user
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        rows = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
        assert ["a", "'=xy"] in [[row[0], row[7]] for row in rows], rows
        assert client.get(reverse("transfers:export", args=["contacts", "csv"])).status_code == 200


def test_vcard_export_escapes_a_bare_carriage_return(client, world):
    """A CR alone in a name must not start a property of its own (FN: then TEL:...)."""
    from crm.models import Contact
    from transfers.vcard import parse_vcards

    contact = world.a1.contact
    Contact.objects.filter(pk=contact.pk).update(
        first_name="x\rTEL:+15550001111", last_name="y\rEMAIL:evil@example.test", phone_raw="1\r\nNOTE:z", phone=""
    )
    client.force_login(world.rep_a1)
    body = b"".join(client.get(reverse("transfers:export", args=["contacts", "vcf"])).streaming_content).decode()
    # Split as a lenient reader does: a CR alone ends a line too.
    lines = re.split(r"\r\n|\r|\n", body.replace("\r\n ", ""))
    assert not [line for line in lines if line.startswith(("TEL:+1555", "EMAIL:evil", "NOTE:z"))], lines
    assert "\r" not in body.replace("\r\n", "")
    cards = {card["email"]: card for card in parse_vcards(body) if "email" in card}
    card = cards[contact.email]
    assert card["first_name"] == "x\nTEL:+15550001111" and card["phone"] == "1NOTE:z"


def test_errors_csv_escapes_the_files_own_headers(client, world):
    """The failing rows' download repeats the file's headers: they are as untrusted as its cells."""
    from tests.transfers.conftest import csv_bytes
    from transfers import services as transfer_services

    rows = [['=HYPERLINK("http://evil.test")', "@email"], ["", "a@example.test"]]
    job = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="f.csv", data=csv_bytes(rows))
    transfer_services.import_preview(job=job, by=world.rep_a1, mapping={"0": "first_name", "1": "email"})
    assert job.errors
    client.force_login(world.rep_a1)
    body = client.get(reverse("transfers:import_errors", args=[job.pk])).content.decode("utf-8").lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(body)))
    assert header == ['\'=HYPERLINK("http://evil.test")', "'@email", "error"]
