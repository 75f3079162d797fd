"""The suite's real services: PostgreSQL and Redis are used when present (and always in CI)."""

import pytest
from django.core.cache import cache
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_database_is_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 140000


@pytest.mark.postgres
def test_visibility_compares_literal_ids_the_deal_indexes_can_use(world):
    from pipeline.models import Deal

    plan = Deal.objects.visible_to(world.manager_a).explain()
    assert "Membership" not in plan  # sanity: explain ran on the SQL, not the ORM
    assert "accounts_membership" not in plan and "= ANY" in plan


@pytest.mark.redis
def test_cache_round_trips_through_redis(settings):
    assert settings.CACHES["default"]["BACKEND"] == "core.cache.RedisCache"
    cache.set("safqa:test:greeting", "مرحبا", 30)
    assert cache.get("safqa:test:greeting") == "مرحبا"
    cache.delete("safqa:test:greeting")
    assert cache.get("safqa:test:greeting") is None


@pytest.mark.redis
def test_the_cache_keeps_one_redis_client_per_pool():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

    backend = caches["default"]
    assert isinstance(backend, DjangoRedisCache)
    client = backend._cache.get_client(write=True)
    assert backend._cache.get_client(write=True) is client and backend._cache.get_client() is client
    assert client.connection_pool is backend._cache._get_connection_pool(True)
    backend.set("safqa:test:reused", 1, 30)
    assert backend.get("safqa:test:reused") == 1 and backend.delete("safqa:test:reused")


@pytest.mark.redis
def test_celery_uses_redis_as_broker(settings):
    from config.celery import app

    assert app.conf.broker_url.startswith("redis://")
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
