"""Sign-in lockout (django-axes): repeated wrong passwords for one user from one address lock that pair out."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests import factories as f
from tests.factories import PASSWORD


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def _attempt(client, username, password, address="203.0.113.7"):
    return client.post(reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_below_the_limit_show_the_login_form_again(client, db, lockout):
    f.UserFactory(username="rep1")
    for _ in range(2):
        response = _attempt(client, "rep1", "wrong")
        assert response.status_code == 200
    assert _attempt(client, "rep1", PASSWORD).status_code == 302


def test_the_right_password_is_refused_once_the_user_is_locked_out(client, db, lockout):
    f.UserFactory(username="rep1")
    for _ in range(3):
        _attempt(client, "rep1", "wrong")
    response = _attempt(client, "rep1", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    html = response.content.decode()
    # A real page in the user's language (Arabic by default), styled like the login page.
    assert '<html lang="ar" dir="rtl">' in html
    assert "card--narrow" in html
    assert "محاولات" in html
    assert int(response["Retry-After"]) > 0


def test_lockout_page_answers_in_english_for_an_english_cookie(client, db, lockout):
    f.UserFactory(username="rep1")
    client.cookies["safqa_language"] = "en"
    for _ in range(3):
        _attempt(client, "rep1", "wrong")
    response = _attempt(client, "rep1", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert '<html lang="en" dir="ltr">' in html
    assert "Too many failed sign-ins" in html
    assert "15 minutes" in html


def test_lockout_is_per_user_and_address_pair(client, db, lockout):
    f.UserFactory(username="rep1")
    f.UserFactory(username="rep2")
    for _ in range(3):
        _attempt(client, "rep1", "wrong")
    # The same user from another address, and another user from the same address, still sign in:
    # a stranger cannot lock a colleague out, nor an office behind one address.
    assert _attempt(client, "rep1", PASSWORD, address="198.51.100.9").status_code == 302
    client.logout()
    assert _attempt(client, "rep2", PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_failure_count(client, db, lockout):
    f.UserFactory(username="rep1")
    for _ in range(2):
        _attempt(client, "rep1", "wrong")
    assert _attempt(client, "rep1", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        _attempt(client, "rep1", "wrong")
    assert _attempt(client, "rep1", PASSWORD).status_code == 302


def test_axes_reset_username_command_unlocks_the_user(client, db, lockout):
    f.UserFactory(username="rep1")
    for _ in range(3):
        _attempt(client, "rep1", "wrong")
    assert _attempt(client, "rep1", PASSWORD).status_code == 429
    call_command("axes_reset_username", "rep1", stdout=StringIO())
    assert _attempt(client, "rep1", PASSWORD).status_code == 302


def test_admin_lists_the_lockout_and_deleting_it_unlocks(client, db, lockout):
    from axes.models import AccessAttempt

    admin = f.UserFactory(username="boss", role="admin", is_staff=True, is_superuser=True)
    f.UserFactory(username="rep1")
    for _ in range(3):
        _attempt(client, "rep1", "wrong")
    attempt = AccessAttempt.objects.get(username="rep1")
    staff = client.__class__()
    staff.force_login(admin)
    listing = staff.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert "rep1" in listing.content.decode()
    response = staff.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert _attempt(client, "rep1", PASSWORD).status_code == 302


def test_admin_login_page_is_protected_too(client, db, lockout):
    f.UserFactory(username="boss", role="admin", is_staff=True, is_superuser=True)
    url = reverse("admin:login")
    for _ in range(3):
        client.post(url, {"username": "boss", "password": "wrong"}, REMOTE_ADDR="203.0.113.7")
    response = client.post(url, {"username": "boss", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429


def test_api_tokens_are_not_affected_by_the_sign_in_lockout(client, db, lockout):
    from rest_framework.test import APIClient

    from accounts import tokens

    user = f.UserFactory(username="rep1")
    for _ in range(3):
        _attempt(client, "rep1", "wrong", address="127.0.0.1")
    _record, secret = tokens.api_token_create(user=user, name="sync")
    api = APIClient()
    response = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_counted(client, db, lockout):
    lockout.TRUSTED_PROXY_COUNT = 1
    f.UserFactory(username="rep1")
    proxy = "10.0.0.2"
    for _ in range(3):
        client.post(
            reverse("accounts:login"),
            {"username": "rep1", "password": "wrong"},
            REMOTE_ADDR=proxy,
            # The left entry is whatever the client claimed; only the proxy's own entry is trusted.
            HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
        )
    from axes.models import AccessAttempt

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]
    # Another client behind the same proxy is not locked out.
    response = client.post(
        reverse("accounts:login"),
        {"username": "rep1", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert response.status_code == 302
