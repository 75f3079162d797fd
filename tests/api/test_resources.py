"""CRUD through the services, strict input, errors, ETag/If-Match, deal actions, filters and query budgets."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Activity, Company, Contact, FollowUp, FollowUpStatus
from pipeline.models import Deal, Pipeline, StageChange, StageKind
from tests import factories as f


def test_contact_create_read_update_delete_through_the_services(world, bearer):
    api = bearer(world.rep_a1)
    created = api.post(
        "/api/v1/contacts/",
        {"first_name": "سارة", "last_name": "الحربي", "phone_raw": "0501234567", "company": world.a1.company.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["phone"] == "+966501234567"  # derived by the model, as in the web form
    assert body["owner"] == world.rep_a1.pk and body["team"] == world.team_a.pk
    assert created["ETag"] == '"1"'

    url = f"/api/v1/contacts/{body['id']}/"
    fetched = api.get(url)
    assert fetched.status_code == 200 and fetched["ETag"] == '"1"'

    changed = api.patch(url, {"job_title": "مديرة المشتريات"}, format="json")
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed["ETag"] == '"2"'

    replaced = api.put(url, {**fetched.json(), "first_name": "Sara"}, format="json")
    assert replaced.status_code == 200, replaced.json()
    assert replaced.json()["first_name"] == "Sara" and replaced.json()["version"] == 3

    assert api.delete(url).status_code == 204
    assert not Contact.objects.filter(pk=body["id"]).exists()
    assert api.get(url).status_code == 404


def test_company_with_deals_refuses_deletion_with_a_clear_message(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    response = api.delete(f"/api/v1/companies/{world.a1.company.pk}/")
    assert response.status_code == 409
    assert "has deals" in response.json()["error"]["message"]
    assert Company.objects.filter(pk=world.a1.company.pk).exists()

    lonely = f.CompanyFactory(owner=world.rep_a1, team=world.team_a)
    assert api.delete(f"/api/v1/companies/{lonely.pk}/").status_code == 204


def test_unknown_fields_are_refused_and_named(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    response = api.post("/api/v1/contacts/", {"first_name": "Ali", "fist_name": "typo"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"fist_name": ["Unknown field."]}
    assert not Contact.objects.filter(first_name="Ali").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"first_name": ["not", "a", "string"]},
        {"first_name": "Ali", "company": "twelve"},
        {"first_name": "Ali", "consent_marketing": {"yes": True}},
        {"first_name": "Ali", "tags": 5},
    ],
)
def test_wrong_types_are_a_400(world, bearer, body):
    response = bearer(world.rep_a1).post("/api/v1/contacts/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_malformed_json_and_non_object_bodies_are_a_400(world, bearer):
    api = bearer(world.rep_a1)
    broken = api.generic("POST", "/api/v1/deals/", '{"title": ', content_type="application/json")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "parse_error"
    listed = api.post("/api/v1/contacts/", [1, 2], format="json")
    assert listed.status_code == 400


def test_oversized_body_is_a_413_with_the_error_shape(world, bearer, settings):
    settings.API_MAX_BODY_BYTES = 1000
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    response = api.post("/api/v1/contacts/", {"first_name": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "request_too_large",
        "message": "The request body is too large.",
        "fields": {},
    }


def test_errors_follow_accept_language(world, bearer):
    arabic = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="ar").get("/api/v1/contacts/999999/")
    english = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/contacts/999999/")
    assert arabic.status_code == english.status_code == 404
    assert english.json()["error"]["message"] == "Not found."
    assert arabic.json()["error"]["message"] != "Not found."


def test_stale_if_match_answers_412_and_changes_nothing(world, bearer):
    api = bearer(world.rep_a1)
    contact = world.a1.contact
    url = f"/api/v1/contacts/{contact.pk}/"
    etag = api.get(url)["ETag"]
    assert api.patch(url, {"job_title": "first"}, format="json", HTTP_IF_MATCH=etag).status_code == 200

    stale = api.patch(url, {"job_title": "second"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert api.delete(url, HTTP_IF_MATCH=etag).status_code == 412
    contact.refresh_from_db()
    assert (contact.job_title, contact.version) == ("first", 2)


def test_if_match_works_the_same_for_a_client_that_accepts_gzip(world, bearer):
    # Pages are gzip-compressed (core.middleware.HtmlGZipMiddleware); the API must not be, since
    # compressing weakens the ETag ('W/"1"') that If-Match compares strongly.
    api = bearer(world.rep_a1, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    url = f"/api/v1/contacts/{world.a1.contact.pk}/"
    fetched = api.get(url)
    assert "Content-Encoding" not in fetched
    assert fetched["ETag"] == '"1"'
    changed = api.patch(url, {"job_title": "first"}, format="json", HTTP_IF_MATCH=fetched["ETag"])
    assert changed.status_code == 200 and changed["ETag"] == '"2"' and "Content-Encoding" not in changed
    stale = api.patch(url, {"job_title": "second"}, format="json", HTTP_IF_MATCH=fetched["ETag"])
    assert stale.status_code == 412
    assert api.patch(url, {"job_title": "third"}, format="json", HTTP_IF_MATCH=changed["ETag"]).status_code == 200


def test_without_if_match_the_last_write_wins(world, bearer):
    api = bearer(world.rep_a1)
    url = f"/api/v1/deals/{world.a1.deal.pk}/"
    api.patch(url, {"title": "one"}, format="json")
    response = api.patch(url, {"title": "two"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "two"


def test_weak_and_bare_etags_are_understood_and_nonsense_is_412(world, bearer):
    api = bearer(world.rep_a1)
    url = f"/api/v1/companies/{world.a1.company.pk}/"
    assert api.patch(url, {"city": "جدة"}, format="json", HTTP_IF_MATCH='W/"1"').status_code == 200
    assert api.patch(url, {"city": "مكة"}, format="json", HTTP_IF_MATCH="2").status_code == 200
    assert api.patch(url, {"city": "الخبر"}, format="json", HTTP_IF_MATCH='"abc"').status_code == 412


def test_deal_create_and_its_stage_changes_only_through_the_actions(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    created = api.post(
        "/api/v1/deals/",
        {"title": "توريد أجهزة", "amount": "15000.50", "currency": "SAR", "company": world.a1.company.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    deal = created.json()
    assert deal["stage"] == world.pipeline.s.lead.pk and deal["amount"] == "15000.50"
    url = f"/api/v1/deals/{deal['id']}/"

    refused = api.patch(url, {"stage": world.pipeline.s.won.pk}, format="json")
    assert refused.status_code == 400 and "stage" in refused.json()["error"]["fields"]

    moved = api.post(url + "move/", {"stage": world.pipeline.s.proposal.pk}, format="json", HTTP_IF_MATCH='"1"')
    assert moved.status_code == 200 and moved.json()["stage"] == world.pipeline.s.proposal.pk
    assert moved["ETag"] == '"2"'
    stale = api.post(url + "move/", {"stage": world.pipeline.s.lead.pk, "version": 1}, format="json")
    assert stale.status_code == 412

    won = api.post(url + "won/", {}, format="json")
    assert won.status_code == 200 and won.json()["closed_at"] is not None
    assert StageChange.objects.filter(deal_id=deal["id"]).count() == 3


def test_losing_a_deal_needs_a_reason(world, bearer):
    api = bearer(world.rep_a1)
    url = f"/api/v1/deals/{world.a1.deal.pk}/lost/"
    assert api.post(url, {}, format="json").status_code == 400
    reason = f.LossReasonFactory()
    response = api.post(url, {"loss_reason": reason.pk, "competitor": "منافس"}, format="json")
    assert response.status_code == 200
    deal = Deal.objects.get(pk=world.a1.deal.pk)
    assert deal.stage.kind == StageKind.LOST and deal.loss_reason == reason and deal.competitor == "منافس"


def test_a_deal_delete_goes_through_the_service(world, bearer):
    api = bearer(world.manager_a)
    assert api.delete(f"/api/v1/deals/{world.a2.deal.pk}/", HTTP_IF_MATCH='"1"').status_code == 204
    assert not Deal.objects.filter(pk=world.a2.deal.pk).exists()


def test_activity_and_follow_up_lifecycle(world, bearer):
    api = bearer(world.rep_a1)
    logged = api.post(
        "/api/v1/activities/",
        {"kind": "call", "outcome": "connected", "subject": "اتصال", "contact": world.a1.contact.pk},
        format="json",
    )
    assert logged.status_code == 201, logged.json()
    world.a1.contact.refresh_from_db()
    assert world.a1.contact.last_contacted_at is not None
    activity_url = f"/api/v1/activities/{logged.json()['id']}/"
    assert api.patch(activity_url, {"body": "تم الاتفاق"}, format="json").json()["body"] == "تم الاتفاق"
    assert api.delete(activity_url).status_code == 204
    assert not Activity.objects.filter(pk=logged.json()["id"]).exists()

    due = timezone.now() + timedelta(days=1)
    scheduled = api.post(
        "/api/v1/follow-ups/",
        {"subject": "اتصل غداً", "due_at": due.isoformat(), "contact": world.a1.contact.pk},
        format="json",
    )
    assert scheduled.status_code == 201, scheduled.json()
    follow_up_url = f"/api/v1/follow-ups/{scheduled.json()['id']}/"
    done = api.patch(follow_up_url, {"status": "done"}, format="json")
    assert done.status_code == 200 and done.json()["completed_at"] is not None
    later = due + timedelta(days=2)
    moved = api.patch(follow_up_url, {"due_at": later.isoformat(), "status": "open"}, format="json")
    assert moved.status_code == 200
    follow_up = FollowUp.objects.get(pk=scheduled.json()["id"])
    assert follow_up.status == FollowUpStatus.OPEN and follow_up.due_at == later
    assert api.delete(follow_up_url).status_code == 204


def test_referring_to_an_invisible_record_is_like_referring_to_a_missing_one(world, bearer):
    api = bearer(world.rep_a1)
    response = api.post("/api/v1/contacts/", {"first_name": "علي", "company": world.b.company.pk}, format="json")
    assert response.status_code == 400
    assert "company" in response.json()["error"]["fields"]


def test_only_admins_write_pipelines(world, bearer):
    body = {"name": "التجديدات", "name_en": "Renewals"}
    assert bearer(world.manager_a).post("/api/v1/pipelines/", body, format="json").status_code == 403
    created = bearer(world.admin).post("/api/v1/pipelines/", body, format="json")
    assert created.status_code == 201 and created.json()["stages"] == []
    url = f"/api/v1/pipelines/{created.json()['id']}/"
    assert bearer(world.rep_a1).patch(url, {"order": 3}, format="json").status_code == 403
    assert bearer(world.admin).patch(url, {"order": 3}, format="json").json()["order"] == 3
    in_use = bearer(world.admin).delete(f"/api/v1/pipelines/{world.pipeline.pk}/")
    assert in_use.status_code == 409
    assert bearer(world.admin).delete(url).status_code == 204
    assert not Pipeline.objects.filter(pk=created.json()["id"]).exists()


def _ids(response):
    assert response.status_code == 200, response.json()
    return {item["id"] for item in response.json()["results"]}


def test_filters_search_arabic_aware_and_by_company_tag_owner_team_stage_updated_after(world, bearer):
    api = bearer(world.manager_a)
    hamza = f.ContactFactory(first_name="أحمد", last_name="الخطيب", owner=world.rep_a2, team=world.team_a)
    assert hamza.pk in _ids(api.get("/api/v1/contacts/", {"search": "احمد"}))
    assert _ids(api.get("/api/v1/contacts/", {"company": world.a1.company.pk})) == {world.a1.contact.pk}
    tag = f.TagFactory(name="VIP")
    world.a2.contact.tags.add(tag)
    assert _ids(api.get("/api/v1/contacts/", {"tag": tag.pk})) == {world.a2.contact.pk}
    assert _ids(api.get("/api/v1/companies/", {"owner": world.rep_a1.pk})) == {world.a1.company.pk}
    assert _ids(api.get("/api/v1/deals/", {"team": world.team_a.pk})) == {world.a1.deal.pk, world.a2.deal.pk}
    assert _ids(api.get("/api/v1/deals/", {"stage": world.pipeline.s.proposal.pk})) == set()
    cutoff = timezone.now()
    Contact.objects.filter(pk=world.a1.contact.pk).update(updated_at=cutoff + timedelta(seconds=5))
    after = _ids(api.get("/api/v1/contacts/", {"updated_after": cutoff.isoformat()}))
    assert after == {world.a1.contact.pk}
    assert api.get("/api/v1/contacts/", {"updated_after": "yesterday"}).status_code == 400
    assert api.get("/api/v1/contacts/", {"owner": world.rep_b.pk}).status_code == 400


def test_cursor_pagination_walks_every_record_once(world, bearer):
    for _ in range(7):
        f.ContactFactory(owner=world.rep_a1, team=world.team_a)
    api = bearer(world.rep_a1)
    expected = set(Contact.objects.visible_to(world.rep_a1).values_list("pk", flat=True))
    seen, url = [], "/api/v1/contacts/?page_size=3"
    while url:
        page = api.get(url).json()
        seen += [item["id"] for item in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert api.get("/api/v1/contacts/?page_size=5000").status_code == 200


@pytest.mark.parametrize("path", ["contacts", "companies", "deals", "activities", "follow-ups"])
def test_lists_of_60_records_take_a_bounded_number_of_queries(world, bearer, path, django_assert_max_num_queries):
    company = world.a1.company
    for _ in range(60):
        contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=company)
        contact.tags.add(f.TagFactory())
        f.CompanyFactory(owner=world.rep_a1, team=world.team_a)
        f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead, company=company)
        f.ActivityFactory(actor=world.rep_a1, team=world.team_a, contact=contact)
        f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, contact=contact)
    api = bearer(world.rep_a1)
    with django_assert_max_num_queries(8):
        response = api.get(f"/api/v1/{path}/", {"page_size": 100})
    assert len(response.json()["results"]) >= 60


def test_a_body_over_djangos_own_upload_limit_is_also_a_413(world, bearer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    response = bearer(world.rep_a1).post("/api/v1/contacts/", {"first_name": "x" * 1000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_a_browser_session_works_and_needs_the_csrf_token_to_write(world):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(world.rep_a1)
    assert browser.get("/api/v1/contacts/").status_code == 200
    refused = browser.post("/api/v1/contacts/", {"first_name": "بلا رمز"}, format="json")
    assert refused.status_code == 403
    assert set(refused.json()) == {"error"}
    assert not Contact.objects.filter(first_name="بلا رمز").exists()


def test_an_invisible_record_answers_exactly_like_a_missing_one(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    hidden = api.get(f"/api/v1/deals/{world.b.deal.pk}/")
    missing = api.get("/api/v1/deals/99999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


@pytest.mark.parametrize(
    ("kind", "change"),
    [("activities", {"subject": "first"}), ("follow-ups", {"subject": "first"})],
)
def test_activities_and_follow_ups_carry_an_etag_and_refuse_a_stale_if_match(world, bearer, kind, change):
    api = bearer(world.rep_a1)
    record = world.a1.activity if kind == "activities" else world.a1.follow_up
    url = f"/api/v1/{kind}/{record.pk}/"
    etag = api.get(url)["ETag"]
    assert etag == '"1"'
    response = api.patch(url, change, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] == '"2"'
    stale = api.patch(url, {"subject": "second"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert api.delete(url, HTTP_IF_MATCH=etag).status_code == 412
    record.refresh_from_db()
    assert (record.subject, record.version) == ("first", 2)
    assert api.delete(url, HTTP_IF_MATCH='"2"').status_code == 204


def test_pipelines_refuse_a_stale_if_match_for_admins(world, bearer):
    api = bearer(world.admin)
    url = f"/api/v1/pipelines/{world.pipeline.pk}/"
    etag = api.get(url)["ETag"]
    assert api.patch(url, {"name_en": "New sales"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    assert api.patch(url, {"name_en": "Old"}, format="json", HTTP_IF_MATCH=etag).status_code == 412
    world.pipeline.refresh_from_db()
    assert world.pipeline.name_en == "New sales"


def test_follow_ups_api_due_today_or_overdue_shares_the_pages_filter(world, bearer):
    """The API's follow-up filters are the page's: `due=today_or_overdue` is open and due before the end of today."""
    from crm.selectors import end_of_today

    now = timezone.now()
    overdue = f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, due_at=now - timedelta(days=3))
    later_today = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, due_at=end_of_today() - timedelta(seconds=1)
    )
    tomorrow = f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, due_at=end_of_today())
    api = bearer(world.rep_a1)
    found = _ids(api.get("/api/v1/follow-ups/", {"due": "today_or_overdue"}))
    assert {overdue.pk, later_today.pk} <= found
    assert tomorrow.pk not in found
    assert api.get("/api/v1/follow-ups/", {"due": "tomorrowish"}).status_code == 400
