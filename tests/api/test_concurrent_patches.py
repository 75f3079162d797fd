"""Two clients PATCH different fields of one record at the same moment, without If-Match: both changes stay.

A partial update locks the row, reads it as stored under the lock and writes only the
fields it changes (with the derived ones: version, sync stamp, normalized name), so the
other client's field, committed meanwhile, is neither read stale nor written back.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from crm import services as crm_services
from crm.models import Activity, Company, Contact, FollowUp
from pipeline.models import Deal
from tests import factories as f

ROUNDS = 20


def _records(world):
    return {
        "contacts": (Contact, f.ContactFactory(owner=world.rep_a1, team=world.team_a), "job_title", "notes"),
        "companies": (Company, f.CompanyFactory(owner=world.rep_a1, team=world.team_a), "city", "industry"),
        "deals": (
            Deal,
            f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead),
            "title",
            "competitor",
        ),
        "activities": (
            Activity,
            f.ActivityFactory(actor=world.rep_a1, team=world.team_a, contact=world.a1.contact),
            "subject",
            "body",
        ),
        "follow-ups": (
            FollowUp,
            f.FollowUpFactory(
                assignee=world.rep_a1,
                team=world.team_a,
                contact=world.a1.contact,
                due_at=timezone.now() + timedelta(days=2),
                remind_at=timezone.now() + timedelta(days=1),
            ),
            "subject",
            "notes",
        ),
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("resource", ["contacts", "companies", "deals", "activities", "follow-ups"])
def test_concurrent_patches_of_different_fields_both_survive(world, bearer, resource):
    model, record, first_field, second_field = _records(world)[resource]
    url = f"/api/v1/{resource}/{record.pk}/"
    clients = [bearer(world.rep_a1), bearer(world.manager_a)]
    version = model.objects.get(pk=record.pk).version
    lost = []
    for round_number in range(ROUNDS):
        barrier = threading.Barrier(2)
        answers = {}

        def patch(client, field, value, barrier=barrier, answers=answers):
            try:
                barrier.wait()
                answers[field] = client.patch(url, {field: value}, format="json")
            finally:
                connection.close()

        values = {first_field: f"{first_field} {round_number}", second_field: f"{second_field} {round_number}"}
        threads = [
            threading.Thread(target=patch, args=(client, field, value))
            for client, (field, value) in zip(clients, values.items(), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for field, answer in answers.items():
            assert answer.status_code == 200, (field, answer.content)
        stored = model.objects.get(pk=record.pk)
        if any(getattr(stored, field) != value for field, value in values.items()):
            lost.append(round_number)
        assert stored.version == version + 2, "each write is a new version"
        version = stored.version
    assert lost == [], f"a change was lost in rounds {lost} of {ROUNDS}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_patch_still_refuses_a_stale_if_match_under_concurrency(world, bearer):
    contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a)
    url = f"/api/v1/contacts/{contact.pk}/"
    barrier = threading.Barrier(2)
    answers = []

    def patch(client, field):
        try:
            barrier.wait()
            answers.append(client.patch(url, {field: "x"}, format="json", HTTP_IF_MATCH='"1"'))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=patch, args=(bearer(world.rep_a1), "job_title")),
        threading.Thread(target=patch, args=(bearer(world.manager_a), "notes")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200, 412]
    assert Contact.objects.get(pk=contact.pk).version == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_patch_waiting_for_a_record_deleted_meanwhile_answers_404(world, bearer):
    """The PATCH read the contact, then waits for its row lock; the holder deletes it and commits."""
    contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a)
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    answers = []

    def patch():
        try:
            answers.append(api.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "x"}, format="json"))
        finally:
            connection.close()

    thread = threading.Thread(target=patch)
    with transaction.atomic():
        Contact.objects.select_for_update().get(pk=contact.pk)
        thread.start()
        time.sleep(1)  # the PATCH has read the contact by now and waits for the lock
        crm_services.contact_delete(contact=contact, by=world.rep_a1)
    thread.join()
    [answer] = answers
    assert answer.status_code == 404, answer.content
    assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_bulk_update_keeps_a_change_committed_while_it_waited(world, bearer):
    """The bulk upsert read the contact, then waits for its row lock while an edit of other fields commits."""
    contact = f.ContactFactory(
        owner=world.rep_a1, team=world.team_a, external_source="erp", external_id="W-1", email="old@example.test"
    )
    api = bearer(world.rep_a1)
    answers = []

    def bulk():
        try:
            items = [{"external_source": "erp", "external_id": "W-1", "job_title": "مدير"}]
            answers.append(api.post("/api/v1/contacts/bulk/", {"items": items}, format="json"))
        finally:
            connection.close()

    thread = threading.Thread(target=bulk)
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        thread.start()
        time.sleep(1)  # the bulk upsert has read the contact by now and waits for the lock
        crm_services.contact_update(contact=locked, by=world.rep_a1, email="new@example.test", first_name="Zaid")
    thread.join()
    [answer] = answers
    assert answer.json()["results"][0]["status"] == "updated", answer.json()
    stored = Contact.objects.get(pk=contact.pk)
    assert stored.job_title == "مدير"
    assert stored.email == "new@example.test"
    assert stored.first_name == "Zaid" and stored.name_normalized.startswith("zaid")
