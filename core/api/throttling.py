"""Per-token rate limits: each API token (or signed-in browser session) has its own budget."""

from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Rate from settings REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"]; 429 with Retry-After past it."""

    scope = "token"

    def get_cache_key(self, request, view):
        auth = getattr(request, "auth", None)
        if auth is not None and hasattr(auth, "prefix"):
            ident = f"token:{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
