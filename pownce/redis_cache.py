"""The Redis cache backend (sessions' cache, rate limits, the status page's samples), with a
per-process circuit breaker.

django-redis already gives every call a deadline (``SOCKET_CONNECT_TIMEOUT``/``SOCKET_TIMEOUT``,
1 s in settings). This backend adds two things:

1. **One error type.** A call that cannot reach Redis raises :class:`RedisUnavailable`, whatever
   the cause (refused, timed out, reset), so callers decide in one ``except`` whether to fail
   open (read on without Redis) or closed (answer 503, see :mod:`pownce.unavailable`).
2. **A breaker.** After a failure, this process does not try Redis again for
   ``REDIS_RETRY_AFTER`` seconds: calls raise :class:`RedisUnavailable` at once. A *hung* Redis
   therefore costs one request per process one timeout every ``REDIS_RETRY_AFTER`` seconds,
   not every request a second.

Guaranteed: while the breaker is open no call opens a socket. Not guaranteed: that a call made
just as Redis comes back succeeds (the first call after the pause is the probe), nor that a
write lost during the outage (a session cache update, a rate-limit count) is replayed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted


class RedisUnavailable(Exception):
    """Redis could not be reached (or this process is still waiting to try it again)."""


class Breaker:
    """Open for ``retry_after`` seconds after each failure; closed otherwise."""

    def __init__(self) -> None:
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self._retry_at

    def trip(self) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + settings.REDIS_RETRY_AFTER

    def reset(self) -> None:
        with self._lock:
            self._retry_at = 0.0


# Client methods that talk to no server (closing the pool is local housekeeping).
UNGUARDED = {"close"}


class _GuardedClient:
    """django-redis' client with every call behind the breaker."""

    def __init__(self, client: Any, breaker: Breaker) -> None:
        self._client = client
        self._breaker = breaker

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name in UNGUARDED:
            return attribute

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self._breaker.is_open():
                # django-redis re-raises the cause of a ConnectionInterrupted to the caller.
                raise ConnectionInterrupted(connection=None) from RedisUnavailable("waiting to retry Redis")
            try:
                return attribute(*args, **kwargs)
            except ConnectionInterrupted as exc:
                self._breaker.trip()
                raise ConnectionInterrupted(connection=None) from RedisUnavailable(str(exc.__cause__ or exc))

        return guarded


class GuardedRedisCache(RedisCache):
    """django-redis' ``RedisCache`` raising :class:`RedisUnavailable`, behind a breaker."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.breaker = Breaker()
        self._guarded: _GuardedClient | None = None

    @property
    def client(self) -> Any:
        if self._guarded is None:
            self._guarded = _GuardedClient(super().client, self.breaker)
        return self._guarded
