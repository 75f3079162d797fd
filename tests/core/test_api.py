"""API foundation: the OpenAPI schema builds, Swagger UI is served locally, one error shape."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.django_db
def test_openapi_schema_builds_and_documents_me(api, world):
    api.force_authenticate(world.rep_a1)
    response = api.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema["paths"]


def test_swagger_ui_is_served_from_local_static_files(client, world):
    client.force_login(world.rep_a1)
    html = client.get(reverse("api-docs")).content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()


def test_me_returns_the_user_and_their_teams(api, world):
    api.force_authenticate(world.manager_a)
    body = api.get("/api/v1/me/").json()
    assert body["username"] == "manager_a"
    assert body["memberships"] == [{"team": world.team_a.pk, "team_name": "فريق الرياض", "is_manager": True}]


def test_bad_input_answers_the_error_shape_in_the_requested_language_and_changes_nothing(api, world):
    api.force_authenticate(world.rep_a1)
    response = api.patch(
        "/api/v1/me/", {"time_zone": "Mars/Olympus", "role": "admin"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"time_zone": ["“Mars/Olympus” is not a known time zone."]}
    world.rep_a1.refresh_from_db()
    assert world.rep_a1.time_zone == "Asia/Riyadh"
    assert world.rep_a1.role == "rep"


def test_malformed_json_is_a_400_not_a_500(api, world):
    api.force_authenticate(world.rep_a1)
    response = api.generic(
        "PATCH", "/api/v1/me/", "{not json", content_type="application/json", HTTP_ACCEPT_LANGUAGE="ar"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
