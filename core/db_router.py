"""Read replicas: which reads may go to a PostgreSQL streaming replica, and which must not.

Installed only when DATABASE_REPLICA_URLS names replicas (config/settings.py adds the router and
the middleware then; without replicas neither exists and every query goes to "default").

The rule, in one place:
- Only reads marked for a replica go there: the views named in settings.DATABASE_REPLICA_VIEWS
  (dashboards, lists, search, exports, sync feeds; the middleware below marks them) and code
  run inside `use_replica()` (a context manager and decorator, for tasks and commands).
- Every write goes to the primary, and from a request's (or `use_replica()` block's) first write
  on, its reads do too: a request reads what it wrote.
- A read inside a transaction on the primary (every service is `@transaction.atomic`) stays on the
  primary: a service reads the rows it is about to change from the database it changes them in.
- A request that wrote leaves a cookie for DATABASE_REPLICA_LAG_GUARD_SECONDS: that browser's (or
  client's) next requests read from the primary too, so a page shown after a save shows the save
  even while the replica is a moment behind.
- Unsafe methods (POST, PUT, PATCH, DELETE) read from the primary from their first query.
- Reads of the models in settings.DATABASE_REPLICA_PRIMARY_MODELS (users, API tokens, sessions) are
  never served by a replica: a revoked token or a deactivated member is refused at once, not
  after the replica catches up. Writes to them (a token's last use, a saved session) need no
  read-your-writes for the same reason, so they leave the request's other reads where they were.
- A replica that cannot be reached is left alone for DATABASE_REPLICA_RETRY_SECONDS and its reads
  go to the primary meanwhile.

The state is a context variable, so each request (thread) and each `use_replica()` block has its own.
"""

from __future__ import annotations

import contextvars
import random
import time
from contextlib import ContextDecorator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Alias -> time.monotonic() until which an unreachable replica is not tried again (per process).
_unreachable_until: dict[str, float] = {}


@dataclass
class _Routing:
    """Where this request's (or block's) reads may go."""

    replica_reads: bool = False  # marked: reads may go to a replica
    primary_only: bool = False  # wrote, is about to write, or wrote a moment ago: primary for everything
    wrote: bool = False  # a write was routed during this request or block
    alias: str | None = field(default=None)  # the replica chosen for it (one per request: one view of the data)


_routing: contextvars.ContextVar[_Routing | None] = contextvars.ContextVar("safqa_db_routing", default=None)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


def _reachable(alias: str) -> bool:
    if _unreachable_until.get(alias, 0.0) > time.monotonic():
        return False
    try:
        connections[alias].ensure_connection()
    except DatabaseError:
        _unreachable_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
        return False
    return True


def _choose_replica(state: _Routing) -> str:
    if state.alias is None:
        candidates = replica_aliases()
        random.shuffle(candidates)
        state.alias = next((alias for alias in candidates if _reachable(alias)), DEFAULT_DB_ALIAS)
    return state.alias


def reads_from_replica(model=None) -> str | None:
    """The replica alias the current context reads `model` from, or None for the primary."""
    state = _routing.get()
    if state is None or not state.replica_reads or state.primary_only or not replica_aliases():
        return None
    if model is not None and model._meta.label_lower in _primary_models():
        return None
    # Inside a transaction on the primary (a service at work): read where the writes go.
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return None
    alias = _choose_replica(state)
    return None if alias == DEFAULT_DB_ALIAS else alias


def _primary_models() -> frozenset[str]:
    return frozenset(label.lower() for label in getattr(settings, "DATABASE_REPLICA_PRIMARY_MODELS", ()))


class ReplicaRouter:
    """Django database router (settings.DATABASE_ROUTERS) implementing the rule above."""

    def db_for_read(self, model, **hints):
        return reads_from_replica(model) or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        state = _routing.get()
        # Bookkeeping on the models always read from the primary (a token's last use, a session) needs no
        # read-your-writes; anything else written makes this request (and the guard) read from the primary.
        if state is not None and model._meta.label_lower not in _primary_models():
            state.wrote = True
            state.primary_only = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # a replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db in replica_aliases():
            return False  # a replica follows the primary's schema; it is never migrated itself
        return None


class use_replica(ContextDecorator):  # lower case: used like a function (`with use_replica():`, `@use_replica()`)
    """Let the reads inside go to a replica (until the first write inside; see the module's rule).

    Inside a request it marks the request's reads (the request's writes and guard still apply);
    outside one (a task, a command) it starts a fresh state for the block.
    """

    def __enter__(self):
        state = _routing.get()
        if state is None:
            self._token = _routing.set(_Routing(replica_reads=True))
            self._previous = None
        else:
            self._token = None
            self._previous = state.replica_reads
            state.replica_reads = True
        return self

    def __exit__(self, *exc):
        if self._token is not None:
            _routing.reset(self._token)
        else:
            state = _routing.get()
            if state is not None:
                state.replica_reads = self._previous
        return False


class ReplicaRoutingMiddleware:
    """Marks the reads of the views in DATABASE_REPLICA_VIEWS for a replica, and keeps read-your-writes.

    Not used (removed from the chain at start-up) when no replica is configured.
    """

    def __init__(self, get_response):
        if not replica_aliases():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        cookie = settings.DATABASE_REPLICA_GUARD_COOKIE
        state = _Routing(primary_only=request.method not in SAFE_METHODS or cookie in request.COOKIES)
        token = _routing.set(state)
        try:
            response = self.get_response(request)
        except BaseException:
            _routing.reset(token)
            raise
        if state.wrote and settings.DATABASE_REPLICA_LAG_GUARD_SECONDS > 0:
            response.set_cookie(
                cookie,
                "1",
                max_age=settings.DATABASE_REPLICA_LAG_GUARD_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        if response.streaming and state.replica_reads and not state.primary_only:
            # A streamed export runs its queries while the body is sent, after this returns.
            response.streaming_content = _within(state, response.streaming_content)
        _routing.reset(token)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and match.view_name in settings.DATABASE_REPLICA_VIEWS:
            state = _routing.get()
            if state is not None:
                state.replica_reads = True
        return None


def _within(state: _Routing, content):
    previous = _routing.get()
    _routing.set(state)
    try:
        yield from content
    finally:
        _routing.set(previous)
