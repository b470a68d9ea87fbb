"""Fixed-window rate limits kept in Redis (the ``redis`` cache alias), shared by all servers.

``hit(scope, ident, limit, window)`` counts one attempt and says whether it is still allowed.
Counts live in the shared store, so a limit holds across app servers and worker processes.

When the store is unreachable, each limit says which way it fails. Limits on reads and on the
actions of signed-in people fail **open** (the attempt is allowed: a Redis outage must not lock
everyone out, and what a known person does can be moderated). Limits that guard against
anonymous abuse (password guessing, mass sign-up) fail **closed** (``fail_closed=True``):
:class:`pownce.redis_cache.RedisUnavailable` propagates and the visitor gets a 503 "try again in
a moment" page (:mod:`pownce.unavailable`).
"""

from __future__ import annotations

import hashlib
import logging
import time

import redis
from django.core.cache import caches

from pownce.redis_cache import GuardedRedisCache, RedisUnavailable

logger = logging.getLogger("pownce.ratelimit")


def _key(scope: str, ident: str, window: int) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{int(time.time()) // window}"


def _counted(key: str, window: int) -> int:
    """Count one more in ``key`` and return the count, in ONE round trip: a pipeline of
    ``SET key 0 EX window+1 NX`` (the window's first count starts it, with its expiry) and
    ``INCR key`` (which keeps the expiry). Every API request and every post pays this, so it is
    one trip, not an add and then an incr.

    Through the cache's guarded client (the breaker of pownce/redis_cache.py): while the breaker
    is open this raises at once; a Redis that cannot be reached trips it."""
    store = caches["redis"]
    if not isinstance(store, GuardedRedisCache):  # the embedded default: memory of this process
        return _counted_in_memory(store, key, window)
    name = store.make_key(key)
    client = store.client.get_client(write=True)  # raises at once while the breaker is open
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set(name, 0, ex=window + 1, nx=True)
        pipe.incr(name)
        return int(pipe.execute()[1])
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        store.breaker.trip()
        raise RedisUnavailable(str(exc)) from exc


def _counted_in_memory(store, key: str, window: int) -> int:
    if store.add(key, 1, timeout=window + 1):
        return 1
    try:
        return int(store.incr(key))
    except ValueError:  # the key expired between add and incr
        store.add(key, 1, timeout=window + 1)
        return 1


def hit(scope: str, ident: str, *, limit: int, window: int, fail_closed: bool = False) -> bool:
    """Count one attempt by ``ident`` in ``scope``; False once more than ``limit`` in ``window`` s.

    Without the store: True, or with ``fail_closed`` raise :class:`RedisUnavailable`."""
    try:
        return _counted(_key(scope, ident, window), window) <= limit
    except Exception as exc:
        if fail_closed:
            logger.warning("rate limit store unavailable; refusing %s: %s", scope, exc)
            raise RedisUnavailable(f"rate limit {scope}: {exc}") from exc
        logger.warning("rate limit store unavailable; allowing %s: %s", scope, exc)
        return True


def hit_count(scope: str, ident: str, *, window: int) -> int:
    """Count one attempt by ``ident`` in ``scope`` and return how many the window holds now
    (for limits that tell the client what is left). Fails open: 0 without the store."""
    try:
        return _counted(_key(scope, ident, window), window)
    except Exception as exc:
        logger.warning("rate limit store unavailable; allowing %s: %s", scope, exc)
        return 0


def undo(scope: str, ident: str, *, window: int) -> None:
    """Take back one attempt counted by :func:`hit` (a log-in that turned out to be right).

    Best effort: if the window turned over since the hit, the new window's count is left alone,
    and a store that is down is ignored (the count expires with its window anyway)."""
    key = _key(scope, ident, window)
    try:
        if caches["redis"].get(key, 0) > 0:
            caches["redis"].decr(key)
    except ValueError:  # expired between the get and the decr: nothing left to take back
        pass
    except Exception as exc:
        logger.warning("rate limit store unavailable; could not undo %s: %s", scope, exc)


def count(scope: str, ident: str, *, window: int) -> int:
    """Attempts counted for ``ident`` in ``scope`` in the current window (0 without the store)."""
    try:
        return int(caches["redis"].get(_key(scope, ident, window), 0))
    except Exception as exc:
        logger.warning("rate limit store unavailable; cannot count %s: %s", scope, exc)
        return 0
