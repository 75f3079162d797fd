"""Hostile or malformed input answers a 4xx in the one error shape and changes nothing (never a 500)."""

import json

import pytest
from django.urls import reverse

from crm.models import Contact
from tests import factories as f
from transfers.models import Merge


def _error(response, status=400):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


# Deeply nested JSON -------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/contacts/", "/api/v1/contacts/merge/", "/api/v1/contacts/bulk/"])
def test_json_nested_a_thousand_deep_is_a_400_not_a_recursion_error(world, bearer, url):
    before = Contact.objects.count()
    body = "[" * 1000 + "]" * 1000
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").post(url, body, content_type="application/json")
    error = _error(response)
    assert error["code"] == "parse_error" and "nested" in error["message"]
    assert Contact.objects.count() == before


def test_json_nesting_depth_is_also_refused_inside_objects_and_in_arabic(world, bearer):
    body = '{"a": ' * 200 + "1" + "}" * 200
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="ar").post(
        "/api/v1/contacts/", body, content_type="application/json"
    )
    error = _error(response)
    assert "nested" not in error["message"]  # translated


def test_json_of_ordinary_depth_with_brackets_inside_strings_still_parses(world, bearer):
    note = "[" * 500 + "{" * 500  # brackets inside a string are text, not nesting
    response = bearer(world.rep_a1).post("/api/v1/contacts/", {"first_name": "عادي", "notes": note}, format="json")
    assert response.status_code == 201, response.content[:300]
    assert Contact.objects.get(pk=response.json()["id"]).notes == note


# Merge ---------------------------------------------------------------------------


@pytest.fixture
def pair(world):
    keep = f.ContactFactory(owner=world.rep_a1, team=world.team_a, first_name="سارة")
    twin = f.ContactFactory(owner=world.rep_a1, team=world.team_a, first_name="ساره")
    return keep, twin


MERGE = "/api/v1/contacts/merge/"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        "merge",
        {"survivor": "1e400", "merge": []},
        {"survivor": True, "merge": []},
        {"survivor": 1.5, "merge": []},
        {"survivor": None, "merge": []},
        {"merge": []},
    ],
    ids=["list", "string", "string-infinity", "bool", "float", "null", "missing"],
)
def test_merge_with_a_malformed_body_is_a_400(world, bearer, pair, body):
    _keep, twin = pair
    if isinstance(body, dict) and "merge" in body:
        body = {**body, "merge": [twin.pk]}
    before = Contact.objects.count()
    _error(bearer(world.rep_a1).post(MERGE, body, format="json"))
    assert Contact.objects.count() == before and not Merge.objects.exists()


def test_merge_with_an_infinite_survivor_is_a_400(world, bearer, pair):
    keep, twin = pair
    body = '{"survivor": 1e400, "merge": [' + str(twin.pk) + "]}"
    error = _error(bearer(world.rep_a1).post(MERGE, body, content_type="application/json"))
    assert "survivor" in error["fields"]
    assert Contact.objects.filter(pk__in=[keep.pk, twin.pk]).count() == 2


@pytest.mark.parametrize(
    "choices",
    [{"first_name": "abc"}, [1], {"first_name": 1e300}, {"first_name": None}, {"colour": 1}, "x"],
    ids=["text", "list", "float", "null", "unknown-field", "string"],
)
def test_merge_with_bad_choices_is_a_400(world, bearer, pair, choices):
    keep, twin = pair
    response = bearer(world.rep_a1).post(
        MERGE, {"survivor": keep.pk, "merge": [twin.pk], "choices": choices}, format="json"
    )
    error = _error(response)
    assert "choices" in error["fields"]
    assert Contact.objects.filter(pk__in=[keep.pk, twin.pk]).count() == 2 and not Merge.objects.exists()


def test_merge_choice_must_name_one_of_the_merged_ids(world, bearer, pair):
    keep, twin = pair
    response = bearer(world.rep_a1).post(
        MERGE, {"survivor": keep.pk, "merge": [twin.pk], "choices": {"first_name": world.a1.contact.pk}}, format="json"
    )
    assert "choices" in _error(response)["fields"]
    assert not Merge.objects.exists()


@pytest.mark.parametrize("merge", [[], "1", [True], ["x"], [1.5], [None], [10**30]])
def test_merge_list_must_be_ids(world, bearer, pair, merge):
    keep, _twin = pair
    error = _error(bearer(world.rep_a1).post(MERGE, {"survivor": keep.pk, "merge": merge}, format="json"))
    assert "merge" in error["fields"]
    assert not Merge.objects.exists()


def test_merge_survivor_beyond_bigint_is_a_400(world, bearer, pair):
    _keep, twin = pair
    error = _error(bearer(world.rep_a1).post(MERGE, {"survivor": 10**30, "merge": [twin.pk]}, format="json"))
    assert "survivor" in error["fields"]


def test_merge_of_records_not_editable_is_a_400_and_keeps_them(world, bearer, pair):
    keep, _twin = pair
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").post(
        MERGE, {"survivor": keep.pk, "merge": [world.b.contact.pk]}, format="json"
    )
    _error(response)
    assert Contact.objects.filter(pk=world.b.contact.pk).exists()


def test_merge_with_choices_merges_and_takes_the_chosen_value(world, bearer, pair):
    keep, twin = pair
    response = bearer(world.rep_a1).post(
        MERGE, {"survivor": keep.pk, "merge": [twin.pk], "choices": {"first_name": twin.pk}}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"merge": Merge.objects.get().pk, "survivor": keep.pk}
    keep.refresh_from_db()
    assert keep.first_name == "ساره" and not Contact.objects.filter(pk=twin.pk).exists()


def test_merge_refuses_form_bodies(world, bearer, pair):
    keep, twin = pair
    response = bearer(world.rep_a1).post(MERGE, {"survivor": keep.pk, "merge": twin.pk})  # multipart
    _error(response, status=415)
    assert not Merge.objects.exists()


def test_merge_and_duplicates_are_in_the_schema(world, client):
    client.force_login(world.admin)
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    merge = paths["/api/v1/contacts/merge/"]["post"]
    assert list(merge["requestBody"]["content"]) == ["application/json"]
    assert "201" in merge["responses"] and "400" in merge["responses"]
    duplicates = paths["/api/v1/contacts/duplicates/"]["get"]
    assert {p["name"] for p in duplicates["parameters"]} >= {"email", "phone", "name"}


# Relations given something other than an id ---------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"first_name": "x", "company": 1e400}',
        '{"first_name": "x", "company": 1.5}',
        '{"first_name": "x", "company": true}',
        '{"first_name": "x", "company": "1e400"}',
        '{"first_name": "x", "company": [1]}',
        '{"first_name": "x", "company": 100000000000000000000000000000}',
        '{"first_name": "x", "company": "١"}',
        '{"first_name": "x", "tags": [1e400]}',
    ],
)
def test_a_relation_given_a_non_integer_is_a_400(world, bearer, raw):
    before = Contact.objects.count()
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/contacts/", raw, content_type="application/json"
    )
    error = _error(response)
    field = "tags" if "tags" in raw else "company"
    assert field in error["fields"]
    assert Contact.objects.count() == before


def test_a_deal_given_an_infinite_stage_is_a_400(world, bearer):
    raw = '{"title": "x", "stage": 1e400, "amount": "1", "currency": "SAR"}'
    error = _error(bearer(world.rep_a1).post("/api/v1/deals/", raw, content_type="application/json"))
    assert "stage" in error["fields"]


def test_a_relation_given_its_id_as_text_still_works(world, bearer):
    response = bearer(world.rep_a1).post(
        "/api/v1/contacts/", {"first_name": "x", "company": str(world.a1.company.pk)}, format="json"
    )
    assert response.status_code == 201 and response.json()["company"] == world.a1.company.pk


def test_a_bulk_item_with_an_infinite_company_is_an_item_error(world, bearer):
    raw = '{"items": [{"external_source": "erp", "external_id": "I-1", "first_name": "x", "company": 1e400}]}'
    response = bearer(world.rep_a1).post("/api/v1/contacts/bulk/", raw, content_type="application/json")
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["status"] == "error" and "company" in result["errors"]


# Bulk: lone surrogates and the external id of a contact the caller cannot see ----------------


def test_a_bulk_item_with_a_lone_surrogate_external_id_is_an_item_error(world, bearer):
    raw = (
        '{"items": [{"external_source": "erp", "external_id": "\\ud800", "first_name": "x"},'
        ' {"external_source": "erp", "external_id": "ok-1", "first_name": "y"}]}'
    )
    response = bearer(world.rep_a1).post("/api/v1/contacts/bulk/", raw, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    first, second = response.json()["results"]
    assert first["status"] == "error" and "external_id" in first["errors"]
    assert second["status"] == "created"
    assert not Contact.objects.filter(first_name="x").exists()


@pytest.mark.parametrize("field", ["external_source", "first_name", "email"])
def test_a_bulk_item_with_a_lone_surrogate_anywhere_is_an_item_error(world, bearer, field):
    item = {"external_source": "erp", "external_id": "s-1", "first_name": "x", field: "PLACEHOLDER"}
    raw = json.dumps({"items": [item]}).replace("PLACEHOLDER", "a\\udfff")
    response = bearer(world.rep_a1).post("/api/v1/contacts/bulk/", raw, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    result = response.json()["results"][0]
    assert result["status"] == "error" and field in result["errors"]


def test_bulk_answers_an_external_id_held_in_another_team_like_any_taken_id(world, bearer):
    """Whether another team holds a key must not show: the answer is the one for any taken key."""
    f.ContactFactory(owner=world.rep_b, team=world.team_b, external_source="erp", external_id="B-1")
    f.ContactFactory(owner=world.rep_a2, team=world.team_a, external_source="erp", external_id="A2-1")
    items = [
        {"external_source": "erp", "external_id": "B-1", "first_name": "سطو"},
        {"external_source": "erp", "external_id": "A2-1", "first_name": "زميل"},
    ]
    results = (
        bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
        .post("/api/v1/contacts/bulk/", {"items": items}, format="json")
        .json()["results"]
    )
    assert [r["status"] for r in results] == ["error", "error"]
    assert results[0]["errors"] == results[1]["errors"]
    assert list(results[0]["errors"]) == ["external_id"]
    message = results[0]["errors"]["external_id"][0]
    assert "team" not in message and "cannot edit" not in message
    assert message == "Another contact already has this external id."  # what any taken key answers


# NUL characters in query parameters ---------------------------------------------------


@pytest.mark.parametrize("param", ["email", "name", "phone"])
def test_api_duplicates_with_a_nul_is_a_400(world, bearer, param):
    error = _error(
        bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/contacts/duplicates/", {param: "a\x00b"})
    )
    assert param in error["fields"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/contacts/?search=a%00",
        "/api/v1/contacts/?city=a%00",
        "/api/v1/companies/?search=a%00",
        "/api/v1/companies/?city=a%00",
        "/api/v1/deals/?search=a%00",
        "/api/v1/deals/?currency=a%00",
        "/api/v1/contacts/changes/?since=a%00",
        "/api/v1/users/?role=a%00",
        "/api/v1/contacts/?owner=1%00",
        "/api/v1/contacts/a%00/",
    ],
)
def test_api_lists_with_a_nul_in_a_parameter_answer_4xx(world, bearer, url):
    response = bearer(world.manager_a).get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)
    _error(response, status=response.status_code)


def test_duplicate_check_page_with_a_nul_is_a_400(world, client):
    client.force_login(world.rep_a1)
    for param in ("email", "phone_raw", "first_name", "last_name"):
        response = client.get(reverse("transfers:contact_duplicate_check"), {param: "a\x00"})
        assert response.status_code == 400, param


@pytest.mark.parametrize(
    "path",
    [
        "/contacts/?q=a%00",
        "/contacts/?city=a%00",
        "/companies/?q=a%00",
        "/deals/?q=a%00",
        "/follow-ups/?kind=a%00",
        "/export/contacts.csv?q=a%00",
        "/contacts/new/?company=1%00",
        "/board/?owner=1%00",
        "/dashboard/?sort=a%00",
        "/dashboard/deals/?figure=won&bucket=a%00",
        "/notifications/?page=1%00",
    ],
)
def test_pages_with_a_nul_in_a_parameter_never_fail(world, client, path):
    client.force_login(world.manager_a)
    response = client.get(path)
    assert response.status_code < 500, (path, response.status_code)


# Lone surrogates echoed back by an error -------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"\\ud800": 1, "first_name": "x"}',
        '{"first_name": "x", "preferred_channel": "\\ud800"}',
        '{"first_name": "x", "preferred_language": "\\udfff"}',
        '{"first_name": "\\ud800"}',
    ],
    ids=["field-name", "choice", "language", "text"],
)
def test_an_error_echoing_a_lone_surrogate_is_still_a_400(world, bearer, raw):
    before = Contact.objects.count()
    response = bearer(world.rep_a1, HTTP_IDEMPOTENCY_KEY="echo-1").post(
        "/api/v1/contacts/", raw, content_type="application/json"
    )
    _error(response)
    assert "\ud800" not in json.dumps(response.json(), ensure_ascii=False)
    assert Contact.objects.count() == before


def test_merge_choice_named_with_a_lone_surrogate_is_a_400(world, bearer, pair):
    keep, twin = pair
    body = {"survivor": keep.pk, "merge": [twin.pk], "choices": {"KEY": keep.pk}}
    raw = json.dumps(body).replace("KEY", "\\ud800")
    assert "choices" in _error(bearer(world.rep_a1).post(MERGE, raw, content_type="application/json"))["fields"]
    assert not Merge.objects.exists()


def test_a_bulk_item_echoing_a_lone_surrogate_is_an_item_error_even_with_an_idempotency_key(world, bearer):
    raw = (
        '{"items": [{"external_source": "erp", "external_id": "e-1", "first_name": "x", "\\ud800": 1},'
        ' {"external_source": "erp", "external_id": "e-2", "first_name": "x", "preferred_channel": "\\ud800"},'
        ' {"external_source": "erp", "external_id": "e-3", "first_name": "y"}]}'
    )
    client = bearer(world.rep_a1, HTTP_IDEMPOTENCY_KEY="bulk-echo-1")
    response = client.post("/api/v1/contacts/bulk/", raw, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    assert [r["status"] for r in response.json()["results"]] == ["error", "error", "created"]
    again = client.post("/api/v1/contacts/bulk/", raw, content_type="application/json")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == response.json()


def test_me_with_a_lone_surrogate_is_a_400(world, bearer):
    raw = '{"time_zone": "\\ud800", "language": "\\ud800"}'
    _error(bearer(world.rep_a1).patch("/api/v1/me/", raw, content_type="application/json"))


def test_every_api_list_refuses_a_nul_in_any_query_parameter(world, bearer, client):
    """Every GET operation of the schema without path ids, each documented query parameter given a NUL."""
    client.force_login(world.admin)
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    api = bearer(world.manager_a)
    checked = 0
    for path, operations in paths.items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        for parameter in get.get("parameters", []):
            if parameter["in"] != "query":
                continue
            response = api.get(path, {parameter["name"]: "1\x00"})
            assert response.status_code < 500, (path, parameter["name"], response.status_code)
            if response.status_code >= 400:
                _error(response, status=response.status_code)
            checked += 1
    assert checked > 20


def test_every_json_write_refuses_deep_nesting(world, bearer, client):
    """Every POST/PUT/PATCH of the schema without path ids, and /me/, answers 400 to a body nested 1,000 deep."""
    client.force_login(world.admin)
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    api = bearer(world.admin, HTTP_ACCEPT_LANGUAGE="en")
    body = "[" * 1000 + "]" * 1000
    checked = 0
    for path, operations in paths.items():
        if "{" in path:
            continue
        for method in ("post", "put", "patch"):
            if method in operations:
                response = getattr(api, method)(path, body, content_type="application/json")
                assert _error(response)["code"] == "parse_error", (method, path)
                checked += 1
    assert checked >= 8


# Yes/no filters --------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/companies/", "/api/v1/contacts/"])
@pytest.mark.parametrize("value", ["maybe", "yes please", "\U0009ab20q", "2"])
def test_a_yes_no_filter_refuses_anything_but_true_or_false(world, bearer, url, value):
    error = _error(bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="ar").get(url, {"has_open_deal": value}))
    assert error["fields"]["has_open_deal"] == ["أدخل true أو false."]


@pytest.mark.parametrize(("value", "expected"), [("true", 1), ("1", 1), ("false", 0), ("0", 0), ("", 1)])
def test_a_yes_no_filter_reads_true_false_and_blank(world, bearer, value, expected):
    f.DealFactory(owner=world.rep_a1, team=world.team_a, company=world.a1.company, stage=world.pipeline.s.lead)
    other = f.CompanyFactory(owner=world.rep_a1, team=world.team_a)
    names = {
        row["name"]
        for row in bearer(world.rep_a1).get("/api/v1/companies/", {"has_open_deal": value}).json()["results"]
    }
    assert (world.a1.company.name in names) == bool(expected)
    assert (other.name in names) == (value in ("false", "0", ""))
