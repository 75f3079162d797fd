"""The Redis cache with one client object per connection pool, instead of one per cache call.

Django's RedisCacheClient builds a new redis.Redis for every get and set; building one
registers its ~170 response callbacks (0.2–0.5 ms each time). An API request's rate
limit reads and writes the cache, so every request paid that twice. A redis.Redis is
safe to share between threads (connections come from its pool), and the pool itself is
Django's, made as before: only the wrapper is kept.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
