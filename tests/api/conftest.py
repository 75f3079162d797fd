"""Fixtures for the REST API tests: clients signed in with a real Bearer token."""

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.tokens import api_token_create


@pytest.fixture
def bearer(db):
    """bearer(user) → an APIClient sending `Authorization: Bearer <a new token of user>` (None: anonymous)."""

    def make(user=None, **headers):
        client = APIClient(**headers)
        if user is not None:
            _record, token = api_token_create(user=user, name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # Each test's tokens start with a full budget at the configured rate (the limit itself is
    # tested in tests/accounts, whose rate override may outlive its test: the class attribute).
    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    cache.clear()
    yield
    cache.clear()
