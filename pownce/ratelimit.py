"""Fixed-window rate limits kept in Redis (the ``redis`` cache alias), shared by all servers.

``hit(scope, ident, limit, window)`` counts one attempt and says whether it is still allowed.
Counts live in the shared store, so a limit holds across app servers and worker processes.
If the store is unreachable the attempt is allowed: a Redis outage must not lock everyone out.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import caches

logger = logging.getLogger("pownce.ratelimit")


def _key(scope: str, ident: str, window: int) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{int(time.time()) // window}"


def hit(scope: str, ident: str, *, limit: int, window: int) -> bool:
    """Count one attempt by ``ident`` in ``scope``; False once more than ``limit`` in ``window`` s."""
    store = caches["redis"]
    key = _key(scope, ident, window)
    try:
        if store.add(key, 1, timeout=window + 1):
            return True
        return store.incr(key) <= limit
    except ValueError:  # the key expired between add and incr
        store.add(key, 1, timeout=window + 1)
        return True
    except Exception:
        logger.exception("rate limit store unavailable; allowing %s", scope)
        return True


def client_ip(request) -> str:
    """The client's address; behind HAProxy the last X-Forwarded-For hop is the real client."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
