import uuid

import pytest
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _own_throttle_counts(monkeypatch):
    """Rate-limit counts of this test only: the suite's Redis may be shared with other runs that reuse user ids."""
    from django.core.cache.backends.locmem import LocMemCache

    from core.api.throttling import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def pull(api):
    """Pull every page of changes/ for `user` from `token`; returns (changes, deleted, last token)."""

    def _pull(user, resource="contacts", token=None, limit=None):
        api.force_authenticate(user)
        changes, deleted = [], []
        while True:
            params = {}
            if token:
                params["since"] = token
            if limit:
                params["limit"] = limit
            response = api.get(f"/api/v1/{resource}/changes/", params)
            assert response.status_code == 200, response.content
            body = response.json()
            changes += body["changes"]
            deleted += body["deleted"]
            token = body["next_sync_token"]
            if not body["has_more"]:
                return changes, deleted, token

    return _pull
