"""Personal API tokens: created and revoked on the profile page, stored hashed, shown once, used as Bearer."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import api_token_create


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_token_is_shown_once_and_stored_only_as_a_hash(client, world):
    client.force_login(world.rep_a1)
    response = client.post(reverse("accounts:api_token_create"), {"name": "ERP sync"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    token = response.context["new_token"]
    assert token.startswith("sfq_")
    record = ApiToken.objects.get(user=world.rep_a1)
    assert token not in (record.key_hash, record.prefix) and len(record.key_hash) == 64
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "ERP sync" in page and token not in page


def test_bearer_token_authenticates_the_api(world):
    _record, token = api_token_create(user=world.rep_a1, name="script")
    response = bearer(token).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "rep_a1"
    _record.refresh_from_db()
    assert _record.last_used_at is not None


@pytest.mark.parametrize("header", ["Bearer sfq_nope_nope", "Bearer", "Bearer a b", "Bearer sfq_deadbeef_x"])
def test_bad_tokens_answer_401_with_the_error_shape(world, header):
    client = APIClient()
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "authentication_failed"


def test_revoked_token_stops_working_and_only_its_owner_can_revoke(client, world):
    record, token = api_token_create(user=world.rep_a1, name="old")
    client.force_login(world.rep_a2)
    assert client.post(reverse("accounts:api_token_revoke", args=[record.pk])).status_code == 404
    assert bearer(token).get("/api/v1/me/").status_code == 200
    client.force_login(world.rep_a1)
    assert client.post(reverse("accounts:api_token_revoke", args=[record.pk])).status_code == 302
    response = bearer(token).get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "رمز الوصول للواجهة البرمجية هذا غير صالح أو أُلغي."
    response = bearer(token).get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["error"]["message"] == "This API token is not valid or has been revoked."


def test_token_without_a_name_is_refused(client, world):
    client.force_login(world.rep_a1)
    response = client.post(reverse("accounts:api_token_create"), {"name": "  "})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_create_api_token_command_prints_a_working_token(world, capsys):
    call_command("create_api_token", "rep_b", "--name", "nightly export")
    token = capsys.readouterr().out.strip()
    assert bearer(token).get("/api/v1/me/").json()["username"] == "rep_b"


def test_rate_limit_answers_429_with_retry_after(world, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    original_rates = SimpleRateThrottle.THROTTLE_RATES
    original_settings = settings.REST_FRAMEWORK
    rates = {"token": "3/minute"}
    settings.REST_FRAMEWORK = {**original_settings, "DEFAULT_THROTTLE_RATES": rates}
    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        _record, token = api_token_create(user=world.rep_a1, name="busy")
        client = bearer(token)
        statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = client.get("/api/v1/me/")
        assert int(response["Retry-After"]) > 0
        assert response.json()["error"]["code"] == "throttled"
        # Another token has its own budget.
        _other, other_token = api_token_create(user=world.rep_a1, name="other")
        assert bearer(other_token).get("/api/v1/me/").status_code == 200
    finally:
        # Class-level state outlives the settings fixture: put it back by hand.
        SimpleRateThrottle.THROTTLE_RATES = original_rates
        settings.REST_FRAMEWORK = original_settings
        api_settings.reload()
