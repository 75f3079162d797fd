"""The OpenAPI schema is valid and complete, and the live API keeps to it (schemathesis).

The schemathesis run covers every operation under /api/v1/, as a sales rep and as a sales manager,
with valid and invalid inputs (examples, then fuzzing), and a stateful run that follows the
schema's links (create a record, then read, change, move or delete it). It fails on any 5xx and
on any answer the schema does not describe.
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase, settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tokens import api_token_create
from config.wsgi import application

WRITE_METHODS = ("post", "put", "patch")


@pytest.fixture
def generated_schema(db):
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(paths):
    for path, item in paths.items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def _parameter_names(operation, location=None):
    return {p["name"] for p in operation.get("parameters", []) if location is None or p["in"] == location}


def _resolve(schema, component):
    return schema["components"]["schemas"][component["$ref"].rsplit("/", 1)[-1]] if "$ref" in component else component


def test_the_schema_validates_against_the_openapi_3_specification(generated_schema):
    validate_schema(generated_schema)


def test_the_schema_documents_every_endpoint_with_its_headers_filters_and_errors(generated_schema):
    paths = generated_schema["paths"]
    for path in [
        "/api/v1/companies/",
        "/api/v1/contacts/",
        "/api/v1/contacts/bulk/",
        "/api/v1/contacts/merge/",
        "/api/v1/contacts/duplicates/",
        "/api/v1/contacts/changes/",
        "/api/v1/deals/",
        "/api/v1/deals/{id}/move/",
        "/api/v1/deals/{id}/won/",
        "/api/v1/deals/{id}/lost/",
        "/api/v1/activities/",
        "/api/v1/follow-ups/",
        "/api/v1/pipelines/",
        "/api/v1/users/",
        "/api/v1/teams/",
        "/api/v1/me/",
        "/api/v1/webhooks/",
    ]:
        assert path in paths, path

    contacts = paths["/api/v1/contacts/"]
    assert {"cursor", "page_size", "search", "owner", "team", "tag", "company", "updated_after"} <= _parameter_names(
        contacts["get"]
    )
    assert {"stage", "owner", "team", "company", "updated_after", "search"} <= _parameter_names(
        paths["/api/v1/deals/"]["get"]
    )
    detail = paths["/api/v1/contacts/{id}/"]
    for method in ("put", "patch", "delete"):
        assert "If-Match" in _parameter_names(detail[method])
    assert {"If-Match", "Idempotency-Key"} <= _parameter_names(paths["/api/v1/deals/{id}/move/"]["post"])
    assert {"400", "401", "404", "412", "413", "429"} <= set(detail["patch"]["responses"])
    assert {"400", "401", "413", "422", "429"} <= set(contacts["post"]["responses"])
    assert "409" in paths["/api/v1/companies/{id}/"]["delete"]["responses"]
    # /me is not versioned: it does not pretend to honour If-Match.
    assert "If-Match" not in _parameter_names(paths["/api/v1/me/"]["patch"])
    assert "412" not in paths["/api/v1/me/"]["patch"]["responses"]


def test_every_post_honours_and_documents_an_idempotency_key(generated_schema):
    for path, method, operation in _operations(generated_schema["paths"]):
        if method == "post":
            assert "Idempotency-Key" in _parameter_names(operation, "header"), path
            assert "422" in operation["responses"], path
            key = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
            assert key["schema"]["maxLength"] == 255 and key["schema"]["minLength"] == 1


def test_every_conditional_write_documents_if_match_and_412(generated_schema):
    paths = generated_schema["paths"]
    for path, method, operation in _operations(paths):
        versioned = path.endswith("/{id}/") and "webhooks" not in path
        if (method in ("put", "patch", "delete") and versioned) or path.endswith(("/move/", "/won/", "/lost/")):
            assert "If-Match" in _parameter_names(operation, "header"), (method, path)
            assert "412" in operation["responses"], (method, path)
        if "If-Match" in _parameter_names(operation, "header"):
            assert "412" in operation["responses"], (method, path)


def test_every_write_takes_json_only(generated_schema):
    for path, method, operation in _operations(generated_schema["paths"]):
        if method in WRITE_METHODS and "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


def test_every_path_id_is_an_integer(generated_schema):
    for path, method, operation in _operations(generated_schema["paths"]):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["type"] == "integer", (method, path, parameter)


def test_every_error_answer_uses_the_one_error_component(generated_schema):
    for path, method, operation in _operations(generated_schema["paths"]):
        for code, response in operation["responses"].items():
            if code[0] in "45" and code != "414":
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                }, (
                    method,
                    path,
                    code,
                )
        assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)


def test_request_bodies_hold_only_what_a_client_may_send(generated_schema):
    components = generated_schema["components"]["schemas"]
    # Read-only fields appear in answers only; a create requires only what the server cannot choose.
    for name in ("Contact", "Company", "Deal", "Activity", "FollowUp", "Pipeline"):
        response, request, patched = components[name], components[f"{name}Request"], components[f"Patched{name}Request"]
        read_only = {field for field, spec in response["properties"].items() if spec.get("readOnly")}
        assert {"id", "version", "updated_at"} <= read_only, name
        assert not read_only & set(request["properties"]), name
        assert not read_only & set(patched["properties"]), name
        assert "required" not in patched, name
    assert components["ContactRequest"]["required"] == ["first_name"]
    assert "phone" not in components["ContactRequest"]["properties"]  # derived from phone_raw


def test_creates_link_to_the_operations_on_the_created_record(generated_schema):
    links = generated_schema["paths"]["/api/v1/deals/"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    move = generated_schema["paths"]["/api/v1/deals/{id}/move/"]["post"]["operationId"]
    retrieve = generated_schema["paths"]["/api/v1/deals/{id}/"]["get"]["operationId"]
    assert {move, retrieve} <= targets
    assert all(link["parameters"] == {"id": "$response.body#/id"} for link in links.values())


# The live API against its schema -------------------------------------------------------------------

ROLES = ("rep", "manager")


@pytest.fixture
def _in_process_connections(world):
    # In-process calls share the test's transaction: keep the connection open across them,
    # as Django's own test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def _no_rate_limit(settings):
    # Hundreds of calls a minute on one token: the limit itself is tested in tests/accounts.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "100000/minute"}}
    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    yield
    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def _headers(world, role):
    user = {"rep": world.rep_a1, "manager": world.manager_a}[role]
    token = api_token_create(user=user, name=f"schemathesis {role}")[1]
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).include(path_regex=r"^/api/v1/")
# Examples, then valid and invalid random inputs, a bounded number per operation and role, and the
# linked calls (stateful); the exhaustive "coverage" phase (hundreds of cases per operation) is for a
# separate, longer run.
schema.config.phases.update(phases=["examples", "fuzzing", "stateful"])

# A stale or malformed If-Match answers 412 and an Idempotency-Key reused for another request 422,
# whatever the body: both are documented answers to a well-formed request, and to a malformed one.
# Any body may also be refused for its size before it is read: 413 (a body over
# API_MAX_BODY_BYTES, e.g. a bulk request of a thousand large items, which a schema cannot bound in
# bytes) and 414 (a URL too long) are documented refusals too.
_checks = schema.config.checks
_checks.positive_data_acceptance.expected_statuses = [
    *_checks.positive_data_acceptance.expected_statuses,
    "412",
    "413",
    "422",
]
_checks.negative_data_rejection.expected_statuses = [
    *_checks.negative_data_rejection.expected_statuses,
    "412",
    "413",
    "414",
]

# Fields whose valid values a schema cannot list: ids of records the caller may see (any integer is
# well formed; one naming nothing visible is refused like a wrong value), signed sync tokens, phone
# numbers (libphonenumber decides), webhook URLs (refused when they resolve to private addresses),
# and rules across fields or against the stored data (an activity needs a contact, a company or a
# deal; an owner must be in the record's team; merging needs two records). A 400 naming only these
# is the API working; any other 400 to a schema-valid request is a schema that promises too much.
BEYOND_THE_SCHEMA = {
    "owner",
    "team",
    "company",
    "contact",
    "deal",
    "stage",
    "pipeline",
    "tag",
    "tags",
    "assignee",
    "survivor",
    "merge",
    "choices",
    "since",
    "phone_raw",
    "url",
    "external_id",
    "occurred_at",
    "loss_reason",
    # A survey template (an id, and only an active one is sent).
    "template",
    # Django's URL validator (a host with a dot, http/https/ftp) is narrower than `format: uri`.
    "website",
    # The deal list's amount range takes at most 14 digits with 2 decimals (the page's own filter).
    "amount_min",
    "amount_max",
    "__all__",
    "non_field_errors",
}


def _refused_only_for_rules_beyond_the_schema(response) -> bool:
    if response.status_code != 400:
        return False
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(error["fields"]) and set(error["fields"]) <= BEYOND_THE_SCHEMA


def positive_data_acceptance_within_the_schema(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _refused_only_for_rules_beyond_the_schema(response):
            return None
        raise


def negative_data_rejection_but_empty_filters(ctx, response, case):
    # django-filter reads an empty query value as "no filter" (`?updated_after=` lists everything),
    # as docs/api.md says; any other invalid input must be refused.
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if 200 <= response.status_code < 300 and "" in (case.query or {}).values():
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection_but_empty_filters,
    positive_data_acceptance_within_the_schema,
]


@pytest.mark.postgres
@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_live_api_keeps_to_its_schema(case, role, world, _in_process_connections, _no_rate_limit):
    case.call_and_validate(headers=_headers(world, role), checks=CHECKS)


@pytest.mark.postgres
@pytest.mark.parametrize("role", ROLES)
def test_the_live_api_keeps_to_its_schema_across_linked_calls(role, world, _in_process_connections, _no_rate_limit):
    headers = _headers(world, role)

    class Workflow(schema.as_state_machine()):
        # Each scenario starts from the same data: Hypothesis replays a failing scenario to report
        # it, and a replay that met the previous scenarios' records would take other steps.
        def setup(self):
            self._start = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self._start)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=headers)

    Workflow.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            phases=[Phase.generate],
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_the_served_schema_is_the_generated_one(client, generated_schema):
    served = client.get("/api/schema/?format=json")
    assert served.status_code == 200
    assert set(json.loads(served.content)["paths"]) == set(generated_schema["paths"])


# What the schemathesis run found, each checked directly -------------------------------------------


def _error(response, status=400):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", " 5", "٥"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_refused(world, bearer, value):
    response = bearer(world.rep_a1).get("/api/v1/contacts/", {"page_size": value})
    assert "page_size" in _error(response)["fields"]


def test_a_page_size_above_the_maximum_gives_the_maximum(world, bearer):
    response = bearer(world.rep_a1).get("/api/v1/contacts/", {"page_size": "9" * 5000})
    assert response.status_code == 200


@pytest.mark.parametrize("value", [" 5", "٥", "1_0", "0", "1001", ""])
def test_a_changes_limit_outside_1_to_1000_is_refused(world, bearer, value):
    response = bearer(world.rep_a1).get("/api/v1/contacts/changes/", {"limit": value})
    assert "limit" in _error(response)["fields"]


def test_a_time_filter_with_an_offset_postgresql_cannot_read_is_the_same_instant_in_utc(world, bearer):
    api = bearer(world.rep_a1)
    assert api.get("/api/v1/contacts/", {"updated_after": "3687-12-01T15:37:11+19:29"}).status_code == 200
    assert api.get("/api/v1/deals/", {"updated_after": "2020-01-01T00:00:00-23:59"}).status_code == 200
    assert api.get("/api/v1/activities/", {"occurred_after": "2020-01-01T00:00:00+19:00"}).status_code == 200
    _error(api.get("/api/v1/contacts/", {"updated_after": "0001-01-01T00:00:00+05:00"}))


@pytest.mark.parametrize("key", [" leading", "trailing ", "tab\there", "نص"])
def test_an_idempotency_key_outside_the_documented_pattern_is_refused(world, bearer, key):
    api = bearer(world.rep_a1)
    response = api.generic(
        "POST",
        "/api/v1/contacts/",
        json.dumps({"first_name": "x"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"),
    )
    assert "Idempotency-Key" in _error(response)["fields"]


def test_an_idempotent_answer_echoing_a_nul_is_stored_and_replayed(world, bearer):
    api = bearer(world.rep_a1)
    body = {"items": [{"first_name": "x", "external_source": "erp", "external_id": "n-1", "odd\u0000key": 1}]}
    first = api.post("/api/v1/contacts/bulk/", body, format="json", HTTP_IDEMPOTENCY_KEY="nul-echo")
    again = api.post("/api/v1/contacts/bulk/", body, format="json", HTTP_IDEMPOTENCY_KEY="nul-echo")
    assert first.status_code == again.status_code == 200, first.content[:300]
    assert again["Idempotent-Replayed"] == "true"


def test_a_malformed_webhook_id_answers_the_json_404(world, bearer):
    response = bearer(world.manager_a).delete("/api/v1/webhooks/0.5/")
    _error(response, 404)
