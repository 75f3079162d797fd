"""Idempotency-Key: done once per (user, key), replayed on retry, 422 for another body, safe under concurrency."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.api.idempotency import purge_expired
from core.models import IdempotencyKey
from crm.models import Contact
from pipeline.models import StageChange


def test_a_retry_returns_the_first_response_and_creates_nothing_more(world, bearer):
    api = bearer(world.rep_a1)
    body = {"first_name": "ريم", "email": "reem@example.test"}
    first = api.post("/api/v1/contacts/", body, format="json", HTTP_IDEMPOTENCY_KEY="create-reem-1")
    retry = api.post("/api/v1/contacts/", body, format="json", HTTP_IDEMPOTENCY_KEY="create-reem-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Contact.objects.filter(email="reem@example.test").count() == 1


def test_the_same_key_with_another_body_is_a_422_and_changes_nothing(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    api.post("/api/v1/contacts/", {"first_name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = api.post("/api/v1/contacts/", {"first_name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert not Contact.objects.filter(first_name="B").exists()


def test_keys_belong_to_their_user(world, bearer):
    body = {"first_name": "سلمى"}
    bearer(world.rep_a1).post("/api/v1/contacts/", body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = bearer(world.rep_a2).post("/api/v1/contacts/", body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other
    assert Contact.objects.filter(first_name="سلمى").count() == 2


def test_a_failed_request_is_not_stored_so_its_fixed_retry_runs(world, bearer):
    api = bearer(world.rep_a1)
    bad = api.post("/api/v1/contacts/", {"first_name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()
    good = api.post("/api/v1/contacts/", {"first_name": "نور"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert good.status_code == 201


def test_deal_actions_are_idempotent(world, bearer):
    api = bearer(world.rep_a1)
    url = f"/api/v1/deals/{world.a1.deal.pk}/move/"
    body = {"stage": world.pipeline.s.proposal.pk}
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="move-1")
    second = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="move-1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert StageChange.objects.filter(deal=world.a1.deal).count() == 2  # the factory's entry and one move


def test_keys_expire_after_24_hours(world, bearer):
    api = bearer(world.rep_a1)
    api.post("/api/v1/contacts/", {"first_name": "قديم"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_expired() == 1
    again = api.post("/api/v1/contacts/", {"first_name": "قديم"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again


def test_a_key_that_is_too_long_is_a_400(world, bearer):
    response = bearer(world.rep_a1).post(
        "/api/v1/contacts/", {"first_name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert response.status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_run_once(world, bearer):
    clients = [bearer(world.rep_a1) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    responses = []

    def send(api):
        try:
            barrier.wait()
            responses.append(
                api.post(
                    "/api/v1/contacts/",
                    {"first_name": "متزامن", "email": "same@example.test"},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY="race",
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(api,)) for api in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [response.status_code for response in responses] == [201] * len(clients)
    assert len({response.json()["id"] for response in responses}) == 1
    assert sum(1 for response in responses if response.get("Idempotent-Replayed") == "true") == len(clients) - 1
    assert Contact.objects.filter(email="same@example.test").count() == 1
