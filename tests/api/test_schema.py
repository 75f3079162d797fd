"""The OpenAPI schema is valid and complete, and the live API keeps to it (schemathesis)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tokens import api_token_create
from config.wsgi import application

# The endpoints of this part of the API (sync and webhooks test their own).
OURS = r"^/api/v1/(companies|contacts|deals|activities|follow-ups|pipelines|users|teams|me)/"
OTHERS = r"/(changes|duplicates|merge)/$"


@pytest.fixture
def generated_schema(db):
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_validates_against_the_openapi_3_specification(generated_schema):
    validate_schema(generated_schema)


def test_the_schema_documents_every_endpoint_with_its_headers_filters_and_errors(generated_schema):
    paths = generated_schema["paths"]
    for path in [
        "/api/v1/companies/",
        "/api/v1/contacts/",
        "/api/v1/contacts/bulk/",
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
    ]:
        assert path in paths, path

    def parameter_names(operation):
        return {parameter["name"] for parameter in operation.get("parameters", [])}

    contacts = paths["/api/v1/contacts/"]
    assert {"cursor", "page_size", "search", "owner", "team", "tag", "company", "updated_after"} <= parameter_names(
        contacts["get"]
    )
    assert "Idempotency-Key" in parameter_names(contacts["post"])
    assert {"stage", "owner", "team", "company", "updated_after", "search"} <= parameter_names(
        paths["/api/v1/deals/"]["get"]
    )
    detail = paths["/api/v1/contacts/{id}/"]
    for method in ("put", "patch", "delete"):
        assert "If-Match" in parameter_names(detail[method])
    assert {"If-Match", "Idempotency-Key"} <= parameter_names(paths["/api/v1/deals/{id}/move/"]["post"])
    assert {"400", "401", "404", "412", "413", "429"} <= set(detail["patch"]["responses"])
    assert {"400", "401", "413", "422", "429"} <= set(contacts["post"]["responses"])
    assert "409" in paths["/api/v1/companies/{id}/"]["delete"]["responses"]
    error = detail["patch"]["responses"]["412"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


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
def token(world):
    return api_token_create(user=world.manager_a, name="schemathesis")[1]


schema = (
    schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    .include(path_regex=OURS)
    .exclude(path_regex=OTHERS)
)
# Random valid and invalid inputs, a bounded number per operation, so the run stays under a minute;
# the exhaustive "coverage" phase (hundreds of cases per operation) is for a separate, longer run.
schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.mark.postgres
@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_live_api_keeps_to_its_schema(case, token, _in_process_connections):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
