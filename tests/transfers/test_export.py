import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from tests import factories as f
from transfers.exporting import escape_cell


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
    assert escape_cell(value) == expected


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
