"""Query budgets of pages that list what grows: the same number of queries for a little data and a lot.

Each test measures a page with a little data, adds much more of what the page lists, measures
again: the counts must be equal (nothing asked per row), and at most the page's budget.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import quota_set
from tests import factories as f
from tests.transfers.conftest import csv_bytes
from transfers import services as transfer_services
from transfers.models import ImportStatus


def queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.status_code
    return len(context.captured_queries)


# ---- sales targets ----


def _targets(world, months: int) -> None:
    for rep in (world.rep_a1, world.rep_a2):
        for month in range(1, months + 1):
            quota_set(
                rep=rep,
                kind="month",
                start=date(2026, month, 1),
                target_won_value=Decimal("50000"),
                currency=["SAR", "USD"][month % 2],
                target_won_deals=5,
                target_activities=40,
                by=world.manager_a,
            )


def test_targets_page_asks_the_same_queries_for_two_targets_or_twenty_four(client, world):
    client.force_login(world.manager_a)
    _targets(world, 1)
    few = queries(client, reverse("analytics:quotas"))
    _targets(world, 12)
    assert queries(client, reverse("analytics:quotas")) == few
    assert few <= TARGETS_BUDGET


# ---- import preview and progress ----


def _rows(count: int) -> list[list[str]]:
    rows = [["الاسم الأول", "البريد الإلكتروني", "الجوال"]]
    for n in range(count):
        phone = "12" if n % 5 == 4 else f"05{n:08d}"  # every fifth row has an error
        rows.append([f"عميل {n}", f"client{n}@example.test", phone])
    return rows


def _previewed(world, count: int):
    job = transfer_services.import_create(
        by=world.rep_a1, kind="contacts", file_name="f.csv", data=csv_bytes(_rows(count))
    )
    transfer_services.import_preview(job=job, by=world.rep_a1)
    return job


def _imported(world, count: int):
    rows = [row for n, row in enumerate(_rows(count)) if n == 0 or n % 5 != 0]  # without the bad rows
    job = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="f.csv", data=csv_bytes(rows))
    transfer_services.import_preview(job=job, by=world.rep_a1)
    job.status = ImportStatus.QUEUED
    job.save()
    transfer_services.import_run(job_id=job.pk)
    return job


@pytest.mark.parametrize("view", ["transfers:import_preview", "transfers:import_progress"])
def test_import_preview_and_progress_ask_the_same_queries_for_five_rows_or_three_hundred(client, world, view):
    client.force_login(world.rep_a1)
    make = _previewed if view.endswith("preview") else _imported
    few = queries(client, reverse(view, args=[make(world, 5).pk]))
    many = queries(client, reverse(view, args=[make(world, 300).pk]))
    assert many == few
    assert few <= IMPORT_BUDGET[view]


# ---- merge ----


def _contacts(world, count: int) -> list:
    contacts = []
    for n in range(count):
        company = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name=f"شركة {n}")
        contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=company, first_name="أحمد")
        contact.tags.add(f.TagFactory(name=f"وسم {n}"))
        contacts.append(contact)
    return contacts


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_merge_page_asks_the_same_queries_for_two_records_or_six(client, world, kind):
    client.force_login(world.rep_a1)
    contacts = _contacts(world, 6)
    records = contacts if kind == "contact" else [contact.company for contact in contacts]
    url = reverse("transfers:merge", args=[kind])
    few = queries(client, url, {"ids": [record.pk for record in records[:2]]})
    many = queries(client, url, {"ids": [record.pk for record in records]})
    assert many == few
    assert few <= MERGE_BUDGET


# What each page needs today (the session, the user, the page's own reads); a new query per page
# is a decision to make here, a query per row is a bug the equality above catches.
TARGETS_BUDGET = 6  # session, user, the reps one may set targets for, their memberships, the form's reps, history
IMPORT_BUDGET = {"transfers:import_preview": 6, "transfers:import_progress": 4}
MERGE_BUDGET = 5
