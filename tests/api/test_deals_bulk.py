"""Bulk upsert of deals by (external_source, external_id): the contacts' guarantees (issue 20 item 3)."""

from pipeline.models import Deal
from tests import factories as f
from webhooks.models import WebhookDelivery, WebhookSubscription

URL = "/api/v1/deals/bulk/"


def _item(external_id, **fields):
    return {
        "external_source": "erp",
        "external_id": external_id,
        "title": f"صفقة {external_id}",
        "amount": "1000",
        "currency": "SAR",
        **fields,
    }


def test_each_item_gets_its_result_and_a_second_send_updates(world, bearer):
    WebhookSubscription.objects.create(
        owner=world.manager_a, url="https://93.184.215.14/hooks", events=["deal.created", "deal.updated"]
    )
    items = [
        _item("D-1"),
        _item("D-2", company=world.a1.company.pk),
        _item("D-3", title=""),
        {"external_source": "erp", "title": "بلا معرّف", "amount": "5", "currency": "SAR"},
        _item("D-4", amount="-5"),
        _item("D-5", company=world.b.company.pk),
    ]
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    response = api.post(URL, {"items": items}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "error", "error", "error", "error"]
    assert "title" in results[2]["errors"] and "external_id" in results[3]["errors"]
    assert "amount" in results[4]["errors"] and "company" in results[5]["errors"]
    first = Deal.objects.get(external_source="erp", external_id="D-1")
    assert first.owner == world.rep_a1 and first.change_seq > 0
    seq = first.change_seq
    # The same deals again, changed: updated in place, not created twice; stamped for sync again.
    again = api.post(URL, {"items": [_item("D-1", amount="2500"), _item("D-2")]}, format="json").json()["results"]
    assert [r["status"] for r in again] == ["updated", "updated"] and again[0]["id"] == first.pk
    assert Deal.objects.filter(external_source="erp").count() == 2
    first.refresh_from_db()
    assert str(first.amount) == "2500.00" and first.version == 2 and first.change_seq > seq
    events = sorted(WebhookDelivery.objects.values_list("event", flat=True))
    assert events.count("deal.created") == 2 and events.count("deal.updated") >= 1


def test_a_deal_the_caller_may_not_edit_is_an_item_error(world, bearer):
    f.DealFactory(owner=world.rep_b, team=world.team_b, external_source="erp", external_id="B-1")
    result = bearer(world.rep_a1).post(URL, {"items": [_item("B-1")]}, format="json").json()["results"][0]
    assert result["status"] == "error" and "external_id" in result["errors"]
    assert Deal.objects.get(external_id="B-1").owner == world.rep_b


def test_a_retried_request_is_replayed_not_done_twice(world, bearer):
    api = bearer(world.rep_a1)
    body = {"items": [_item("R-1")]}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="deals-1")
    retry = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="deals-1")
    assert first.status_code == retry.status_code == 200 and first.json() == retry.json()
    assert first.json()["results"][0]["status"] == "created"
    assert Deal.objects.get(external_id="R-1").version == 1


def test_too_many_items_is_a_400_and_writes_nothing(world, bearer):
    response = bearer(world.rep_a1).post(URL, {"items": [_item(f"M-{n}") for n in range(1001)]}, format="json")
    assert response.status_code == 400 and "error" in response.json()
    assert not Deal.objects.filter(external_source="erp").exists()


def test_a_taken_external_id_on_the_plain_create_is_a_400_in_the_error_shape(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    assert api.post("/api/v1/deals/", _item("P-1"), format="json").status_code == 201
    response = api.post("/api/v1/deals/", _item("P-1"), format="json")
    assert response.status_code == 400
    assert "Another deal already has this external id." in str(response.json()["error"])
    assert Deal.objects.filter(external_id="P-1").count() == 1
