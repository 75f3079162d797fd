"""/api/v1/cases/: CRUD through visibility, ETag/If-Match, Idempotency-Key, changes/ feed, webhooks, bad input."""

import pytest

from cases import services
from cases.models import Case
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

URL = "/api/v1/cases/"


def _case(world, who=None):
    who = who or world.rep_a1
    contact = world.a1.contact if who == world.rep_a1 else world.a2.contact
    return services.case_create(by=who, contact=contact, subject="الشاشة مكسورة")


def test_crud_with_etag_and_if_match(world, bearer):
    api = bearer(world.rep_a1)
    created = api.post(URL, {"contact": world.a1.contact.pk, "subject": "لا يعمل", "priority": "urgent"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert created["ETag"] == '"1"'
    assert body["owner"] == world.rep_a1.pk and body["team"] == world.team_a.pk and body["status"] == "new"
    assert body["company"] == world.a1.company.pk and body["due_at"].endswith("Z")
    url = f"{URL}{body['id']}/"
    assert api.get(url)["ETag"] == '"1"'
    changed = api.patch(url, {"status": "waiting_on_customer"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed["ETag"] == '"2"'
    stale = api.patch(url, {"subject": "قديم"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    assert Case.objects.get(pk=body["id"]).subject == "لا يعمل"
    solved = api.post(f"{url}solve/", {}, format="json", HTTP_IF_MATCH='"2"')
    assert solved.status_code == 200 and solved.json()["status"] == "solved" and solved.json()["solved_at"]
    assert api.delete(url, HTTP_IF_MATCH='"2"').status_code == 412
    assert api.delete(url, HTTP_IF_MATCH='"3"').status_code == 204
    assert not Case.objects.filter(pk=body["id"]).exists()


def test_idempotency_key_creates_once_and_replays(world, bearer):
    api = bearer(world.rep_a1)
    payload = {"contact": world.a1.contact.pk, "subject": "مرة واحدة"}
    first = api.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="case-1")
    again = api.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="case-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1
    other = api.post(URL, {**payload, "subject": "أخرى"}, format="json", HTTP_IDEMPOTENCY_KEY="case-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [("rep_a1", {"a1"}), ("rep_a2", {"a2"}), ("manager_a", {"a1", "a2"}), ("rep_b", set()), ("admin", {"a1", "a2"})],
)
def test_list_and_detail_through_visibility(world, bearer, viewer, sees):
    cases = {"a1": _case(world, world.rep_a1), "a2": _case(world, world.rep_a2)}
    api = bearer(getattr(world, viewer))
    listed = {row["id"] for row in api.get(URL).json()["results"]}
    assert listed == {cases[name].pk for name in sees}
    for name, case in cases.items():
        status = api.get(f"{URL}{case.pk}/").status_code
        assert status == (200 if name in sees else 404)
        patched = api.patch(f"{URL}{case.pk}/", {"subject": "x"}, format="json").status_code
        assert patched == (200 if name in sees else 404)


def test_a_contact_the_caller_cannot_see_is_refused_like_a_missing_one(world, bearer):
    api = bearer(world.rep_b)
    response = api.post(URL, {"contact": world.a1.contact.pk, "subject": "x"}, format="json")
    assert response.status_code == 400 and "contact" in response.json()["error"]["fields"]
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"priority": "asap"}, "priority"),
        ({"status": "lost"}, "status"),
        ({"contact": "abc"}, "contact"),
        ({"due_at": "2030-01-01T00:00:00Z", "nonsense": 1}, "nonsense"),
        ({"owner": 999999}, "owner"),
    ],
)
def test_bad_input_answers_400_in_the_error_shape_and_changes_nothing(world, bearer, payload, field):
    api = bearer(world.rep_a1)
    response = api.post(URL, {"contact": world.a1.contact.pk, "subject": "ok", **payload}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert not Case.objects.exists()


def test_bad_input_is_translated(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="ar")
    response = api.post(URL, {"contact": world.a1.contact.pk, "subject": "ok", "priority": "asap"}, format="json")
    message = response.json()["error"]["message"]
    assert any("\u0600" <= ch <= "\u06ff" for ch in message)


def test_a_rep_cannot_assign_a_case_to_a_colleague(world, bearer):
    api = bearer(world.rep_a1)
    response = api.post(URL, {"contact": world.a1.contact.pk, "subject": "x", "owner": world.rep_a2.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.json()["error"]["fields"]


def test_solve_with_an_unknown_survey_template_is_refused(world, bearer):
    case = _case(world)
    response = bearer(world.rep_a1).post(f"{URL}{case.pk}/solve/", {"survey_template": 99999}, format="json")
    assert response.status_code == 400 and "survey_template" in response.json()["error"]["fields"]
    case.refresh_from_db()
    assert case.status == "new"


def test_filters_status_priority_overdue_and_search(world, bearer):
    from datetime import timedelta

    from django.utils import timezone

    late = _case(world)
    Case.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    urgent = services.case_create(by=world.rep_a1, contact=world.a1.contact, subject="Printer jam", priority="urgent")
    api = bearer(world.rep_a1)

    def ids(**params):
        response = api.get(URL, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(overdue="true") == {late.pk}
    assert ids(priority="urgent") == {urgent.pk}
    assert ids(search="printer") == {urgent.pk}
    assert ids(status="new") == {late.pk, urgent.pk}
    assert api.get(URL, {"overdue": "perhaps"}).status_code == 400


def test_changes_feed_lists_changes_and_deletions_visible_to_the_caller(world, bearer):
    mine, theirs = _case(world, world.rep_a1), _case(world, world.rep_a2)
    api = bearer(world.rep_a1)
    first = api.get(f"{URL}changes/").json()
    assert [row["id"] for row in first["changes"]] == [mine.pk]
    token = first["next_sync_token"]
    services.case_update(case=mine, by=world.rep_a1, subject="جديد")
    services.case_delete(case=theirs, by=world.rep_a2)
    later = api.get(f"{URL}changes/", {"since": token}).json()
    assert [row["subject"] for row in later["changes"]] == ["جديد"]
    assert later["deleted"] == []  # rep_a1 never saw rep_a2's case
    services.case_delete(case=mine, by=world.rep_a1)
    last = api.get(f"{URL}changes/", {"since": later["next_sync_token"]}).json()
    assert [row["id"] for row in last["deleted"]] == [mine.pk]


def test_managers_subscribe_to_case_events_and_receive_them(world, bearer):
    api = bearer(world.manager_a)
    response = api.post(
        "/api/v1/webhooks/",
        {"url": "https://93.184.215.14/hooks", "events": ["case.created", "case.solved"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert WebhookSubscription.objects.get().events == ["case.created", "case.solved"]
    case = _case(world)
    services.case_solve(case=case, by=world.rep_a1)
    assert list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True)) == [
        "case.created",
        "case.solved",
    ]
    refused = api.post("/api/v1/webhooks/", {"url": "https://93.184.215.14/h", "events": ["case.lost"]}, format="json")
    assert refused.status_code == 400
