"""The surveys API: visibility per role, sending with POST under the rules, read-only answers, sync, webhooks."""

import pytest

from surveys import services, tokens
from surveys.models import Survey, SurveyResponse
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "sees"),
    [("rep_a1", True), ("rep_a2", False), ("manager_a", True), ("manager_b", False), ("rep_b", False), ("admin", True)],
)
def test_answers_are_visible_like_the_deal(world, answered, bearer, who, sees):
    api = bearer(getattr(world, who))
    listed = api.get("/api/v1/survey-responses/").json()["results"]
    assert [row["id"] for row in listed] == ([answered.pk] if sees else [])
    detail = api.get(f"/api/v1/survey-responses/{answered.pk}/")
    assert detail.status_code == (200 if sees else 404)
    if sees:
        assert detail.json()["comment"] == "التركيب تأخر أسبوعاً" and detail.json()["score"] == 2
    surveys = api.get("/api/v1/surveys/").json()["results"]
    assert len(surveys) == (1 if sees else 0)
    # The page's timeline follows the same rule.
    from crm.selectors import timeline

    kinds = [entry["kind"] for entry in timeline(user=getattr(world, who), deal=world.a1.deal)]
    assert ("survey_response" in kinds) == sees


def test_post_sends_a_survey_with_the_services_rules(world, csat, bearer, settings):
    api = bearer(world.rep_a1)
    body = {"contact": world.a1.contact.pk, "deal": world.a1.deal.pk, "template": csat.pk}
    created = api.post("/api/v1/surveys/", body, format="json", HTTP_IDEMPOTENCY_KEY="ask-1")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "sent" and data["owner"] == world.rep_a1.pk and data["channel"] == "email"
    replay = api.post("/api/v1/surveys/", body, format="json", HTTP_IDEMPOTENCY_KEY="ask-1")
    assert replay.status_code == 201 and replay.json()["id"] == data["id"]
    assert Survey.objects.count() == 1
    # Twice for the same deal and template: 400 in the error shape, nothing written.
    again = api.post("/api/v1/surveys/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 400
    assert "already sent" in again.content.decode()
    assert Survey.objects.count() == 1


def test_post_for_a_customer_without_consent_is_400_and_writes_nothing(world, csat, bearer):
    contact = world.a1.contact
    contact.consent_email = False
    contact.save()
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    refused = api.post("/api/v1/surveys/", {"contact": contact.pk, "template": csat.pk}, format="json")
    assert refused.status_code == 400
    assert "agreed" in refused.content.decode()
    assert not Survey.objects.exists()


def test_post_about_an_invisible_customer_is_refused(world, csat, bearer):
    api = bearer(world.rep_a1)
    refused = api.post("/api/v1/surveys/", {"contact": world.b.contact.pk, "template": csat.pk}, format="json")
    assert refused.status_code == 400
    assert not Survey.objects.exists()


def test_bad_input_is_400(world, csat, bearer):
    api = bearer(world.rep_a1)
    for body in (
        {"contact": "x", "template": csat.pk},
        {"contact": world.a1.contact.pk, "template": 999999},
        {"contact": world.a1.contact.pk, "template": csat.pk, "channel": "fax"},
        {"contact": world.a1.contact.pk, "template": csat.pk, "score": 5},
    ):
        assert api.post("/api/v1/surveys/", body, format="json").status_code == 400
    assert not Survey.objects.exists()


def test_answers_are_read_only(world, answered, bearer):
    api = bearer(world.admin)
    assert (
        api.post("/api/v1/survey-responses/", {"survey": answered.survey_id, "score": 5}, format="json").status_code
        == 405
    )
    assert api.patch(f"/api/v1/survey-responses/{answered.pk}/", {"score": 5}, format="json").status_code == 405
    assert api.delete(f"/api/v1/surveys/{answered.survey_id}/").status_code == 405
    assert SurveyResponse.objects.get().score == 2


def test_changes_feeds_list_surveys_and_answers(world, answered, bearer):
    api = bearer(world.manager_a)
    for route, pk in (("surveys", answered.survey_id), ("survey-responses", answered.pk)):
        feed = api.get(f"/api/v1/{route}/changes/")
        assert feed.status_code == 200
        assert [row["id"] for row in feed.json()["changes"]] == [pk]
        token = feed.json()["next_sync_token"]
        assert api.get(f"/api/v1/{route}/changes/", {"since": token}).json()["changes"] == []
    assert bearer(world.rep_b).get("/api/v1/survey-responses/changes/").json()["changes"] == []


def test_survey_responded_webhook_goes_to_subscribers_who_may_see_it(world, csat, bearer, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the receiver would be on this machine; nothing is sent here
    api = bearer(world.manager_a)
    subscribed = api.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/a", "events": ["survey.responded"]}, format="json"
    )
    assert subscribed.status_code == 201, subscribed.content
    WebhookSubscription.objects.create(owner=world.manager_b, url="http://127.0.0.1:9/b", events=["survey.responded"])
    survey = services.survey_send(template=csat, contact=world.a1.contact, deal=world.a1.deal, by=world.rep_a1)
    answer = services.survey_respond(token=tokens.make_token(survey), score="5", comment="")
    delivery = WebhookDelivery.objects.get()
    assert delivery.subscription.owner == world.manager_a
    assert delivery.event == "survey.responded"
    assert delivery.payload["id"] == answer.pk and delivery.payload["data"]["score"] == 5


def test_deleting_the_contact_leaves_tombstones_for_its_surveys_and_answers(world, answered, bearer):
    from crm.services import contact_delete

    api = bearer(world.manager_a)
    tokens_before = {
        route: api.get(f"/api/v1/{route}/changes/").json()["next_sync_token"]
        for route in ("surveys", "survey-responses")
    }
    contact_delete(contact=world.a1.contact, by=world.rep_a1)
    assert not Survey.objects.exists() and not SurveyResponse.objects.exists()
    for route, pk in (("surveys", answered.survey_id), ("survey-responses", answered.pk)):
        feed = api.get(f"/api/v1/{route}/changes/", {"since": tokens_before[route]}).json()
        assert [row["id"] for row in feed["deleted"]] == [pk]
    # A colleague who could not see them is not told of them either.
    other = bearer(world.rep_b).get("/api/v1/survey-responses/changes/").json()
    assert other["deleted"] == []
