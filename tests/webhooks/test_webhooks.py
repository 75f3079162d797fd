"""Webhook subscriptions (managers and admins), signed deliveries through Celery, retries, visibility, the log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm import services as crm_services
from pipeline import services as deal_services
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

PUBLIC_URL = "https://93.184.215.14/hooks"


def subscribe(user, url, events, settings=None):
    return WebhookSubscription.objects.create(owner=user, url=url, events=events)


def test_rep_cannot_subscribe_and_gets_the_error_shape(api, world):
    api.force_authenticate(world.rep_a1)
    response = api.post(
        "/api/v1/webhooks/",
        {"url": PUBLIC_URL, "events": ["contact.created"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "permission_denied"
    assert "managers and administrators" in error["message"]
    assert api.get("/api/v1/webhooks/").status_code == 403
    assert not WebhookSubscription.objects.exists()


def test_anonymous_gets_401(api, world):
    assert api.get("/api/v1/webhooks/").status_code == 401


def test_manager_subscribes_sees_the_secret_once_and_only_their_own(api, world):
    api.force_authenticate(world.manager_a)
    response = api.post(
        "/api/v1/webhooks/", {"url": PUBLIC_URL, "events": ["contact.updated", "deal.won"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["contact.updated", "deal.won"]
    listed = api.get("/api/v1/webhooks/").json()["results"]
    assert [item["id"] for item in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in api.get(f"/api/v1/webhooks/{body['id']}/").json()

    api.force_authenticate(world.manager_b)
    assert api.get("/api/v1/webhooks/").json()["results"] == []
    assert api.get(f"/api/v1/webhooks/{body['id']}/").status_code == 404
    assert api.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 404

    api.force_authenticate(world.manager_a)
    assert api.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/",
        "http://[::1]/",
        "http://localhost/",
    ],
)
def test_subscribing_a_private_address_is_refused_with_a_clear_message(api, world, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    api.force_authenticate(world.admin)
    response = api.post(
        "/api/v1/webhooks/", {"url": url, "events": ["contact.created"]}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "public addresses" in response.json()["error"]["fields"]["url"][0]
    assert not WebhookSubscription.objects.exists()


def test_unknown_event_and_other_scheme_are_refused(api, world):
    api.force_authenticate(world.manager_a)
    response = api.post("/api/v1/webhooks/", {"url": PUBLIC_URL, "events": ["contact.exploded"]}, format="json")
    assert response.status_code == 400 and "events" in response.json()["error"]["fields"]
    response = api.post("/api/v1/webhooks/", {"url": "ftp://93.184.215.14/x", "events": ["deal.won"]}, format="json")
    assert response.status_code == 400 and "url" in response.json()["error"]["fields"]
    assert not WebhookSubscription.objects.exists()


def test_signed_delivery_reaches_a_real_server(
    world, settings, receiver, eager_celery, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    subscription = services.subscription_create(by=world.manager_a, url=receiver.url, events=["contact.updated"])
    receiver.secret = subscription.secret
    with django_capture_on_commit_callbacks(execute=True):
        crm_services.contact_update(contact=world.a1.contact, by=world.rep_a1, job_title="مديرة مشتريات")
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["signature_ok"]
    assert request["path"] == "/hooks/safqa?src=test"
    assert request["headers"]["X-Safqa-Event"] == "contact.updated"
    payload = request["payload"]
    assert payload["event"] == "contact.updated" and payload["id"] == world.a1.contact.pk
    assert payload["data"]["job_title"] == "مديرة مشتريات" and payload["data"]["version"] == 2
    delivery = WebhookDelivery.objects.get()
    assert request["headers"]["X-Safqa-Delivery"] == str(delivery.uuid)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.SENT, 1, 200)


def test_events_go_only_to_subscribers_who_may_see_the_record(world, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    events = ["contact.created", "contact.deleted", "deal.stage_changed", "deal.won"]
    mine = subscribe(world.manager_a, "http://127.0.0.1:9/a", events)
    other_team = subscribe(world.manager_b, "http://127.0.0.1:9/b", events)
    admin = subscribe(world.admin, "http://127.0.0.1:9/c", events)
    switched_off = subscribe(world.admin, "http://127.0.0.1:9/d", events)
    switched_off.is_active = False
    switched_off.save()
    crm_services.contact_create(by=world.rep_a1, first_name="هند")
    crm_services.contact_delete(contact=world.a2.contact, by=world.rep_a2)
    deal_services.deal_mark_won(deal=world.a1.deal, by=world.rep_a1)
    received = {
        sub.pk: sorted(WebhookDelivery.objects.filter(subscription=sub).values_list("event", flat=True))
        for sub in (mine, other_team, admin, switched_off)
    }
    expected = sorted(["contact.created", "contact.deleted", "deal.stage_changed", "deal.won"])
    assert received == {mine.pk: expected, other_team.pk: [], admin.pk: expected, switched_off.pk: []}
    deleted = WebhookDelivery.objects.get(subscription=mine, event="contact.deleted").payload
    assert deleted["id"] == world.a2.contact.pk and "deleted_at" in deleted["data"]


def test_a_rolled_back_write_sends_nothing(world):
    subscribe(world.manager_a, PUBLIC_URL, ["deal.updated"])
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        deal_services.deal_update(deal=world.a1.deal, by=world.rep_a1, amount="-5")
    assert not WebhookDelivery.objects.exists()


def test_failed_delivery_is_retried_with_backoff_then_failed(world, settings, receiver):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOKS_MAX_ATTEMPTS = 3
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 10
    subscription = subscribe(world.manager_a, receiver.url, ["deal.updated"])
    receiver.secret = subscription.secret
    receiver.status = 503
    deal_services.deal_update(deal=world.a1.deal, by=world.rep_a1, title="عرض جديد")
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()

    delivery = services.delivery_attempt(delivery_id=delivery.pk, now=now)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, 503)
    assert delivery.next_attempt_at == now + timedelta(seconds=20)  # base × 2^1
    assert services.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=5)) is None  # not due
    assert services.deliveries_due(now=now + timedelta(seconds=20)) == [delivery.pk]

    delivery = services.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=20))
    assert delivery.next_attempt_at == now + timedelta(seconds=20 + 40)  # base × 2^2
    delivery = services.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=60))
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert "503" in delivery.last_error
    assert len(receiver.requests) == 3 and all(r["signature_ok"] for r in receiver.requests)
    assert len({r["headers"]["X-Safqa-Delivery"] for r in receiver.requests}) == 1  # same id on every retry
    assert services.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(days=1)) is None


def test_network_error_is_logged_and_retried(world, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    import socket

    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscribe(world.manager_a, f"http://127.0.0.1:{port}/", ["contact.created"])
    crm_services.contact_create(by=world.rep_a1, first_name="Sam")
    delivery = services.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    assert delivery.status == DeliveryStatus.PENDING and "ConnectionRefused" in delivery.last_error


def test_guard_is_checked_again_before_each_delivery(world, settings, receiver):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    subscribe(world.manager_a, receiver.url, ["contact.created"])
    crm_services.contact_create(by=world.rep_a1, first_name="Sam")
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    delivery = services.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    assert receiver.requests == []
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_error


def test_delivery_log_lists_the_owners_deliveries_only(api, world):
    subscription = subscribe(world.manager_a, PUBLIC_URL, ["contact.created"])
    for n in range(3):
        crm_services.contact_create(by=world.rep_a1, first_name=f"C{n}")
    api.force_authenticate(world.manager_a)
    body = api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/").json()
    assert [d["event"] for d in body["results"]] == ["contact.created"] * 3
    assert body["results"][0]["status"] == "pending"
    api.force_authenticate(world.admin)
    assert api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/").status_code == 404


def test_retry_sweep_is_on_the_beat_schedule_and_sends_due_deliveries(world, settings, receiver, eager_celery):
    from config.celery import app
    from webhooks.tasks import webhooks_retry_due

    assert app.conf.beat_schedule["webhooks-retry-due"]["task"] == "webhooks.tasks.webhooks_retry_due"
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    subscription = subscribe(world.manager_a, receiver.url, ["contact.created"])
    receiver.secret = subscription.secret
    crm_services.contact_create(by=world.rep_a1, first_name="Sam")  # on_commit never ran: a lost message
    assert webhooks_retry_due() == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SENT
    assert webhooks_retry_due() == 0


def test_delivery_log_of_many_deliveries_costs_a_fixed_number_of_queries(api, world, django_assert_max_num_queries):
    subscription = subscribe(world.manager_a, PUBLIC_URL, ["contact.created"])
    for n in range(55):
        crm_services.contact_create(by=world.rep_a1, first_name=f"C{n}")
    api.force_authenticate(world.manager_a)
    with django_assert_max_num_queries(8):
        body = api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/", {"page_size": 100}).json()
    assert len(body["results"]) == 55
