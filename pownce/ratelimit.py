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

from django.core.cache import caches

from pownce.redis_cache import RedisUnavailable

logger = logging.getLogger("pownce.ratelimit")


def _key(scope: str, ident: str, window: int) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{int(time.time()) // window}"


def hit(scope: str, ident: str, *, limit: int, window: int, fail_closed: bool = False) -> bool:
    """Count one attempt by ``ident`` in ``scope``; False once more than ``limit`` in ``window`` s.

    Without the store: True, or with ``fail_closed`` raise :class:`RedisUnavailable`."""
    store = caches["redis"]
    key = _key(scope, ident, window)
    try:
        if store.add(key, 1, timeout=window + 1):
            return True
        return store.incr(key) <= limit
    except ValueError:  # the key expired between add and incr
        store.add(key, 1, timeout=window + 1)
        return True
    except Exception as exc:
        if fail_closed:
            logger.warning("rate limit store unavailable; refusing %s: %s", scope, exc)
            raise RedisUnavailable(f"rate limit {scope}: {exc}") from exc
        logger.warning("rate limit store unavailable; allowing %s: %s", scope, exc)
        return True


def client_ip(request) -> str:
    """The client's address; behind HAProxy the last X-Forwarded-For hop is the real client."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
