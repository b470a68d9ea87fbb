"""Health checks for the load balancer and operators.

``/healthz`` answers 200 as long as the process can run a view: it touches no database, cache
or Redis, so a slow dependency never takes every app server out of the load balancer at once.
``/readyz`` checks what a request needs — the primary, the object cache and Redis — and reports
each replica's state; it answers 503 if any required piece is missing. Replicas (of the main
cluster and of the inbox shards) and the inbox shards' primaries are reported but not required:
reads fall back to the primary without a replica, and deliveries to a shard whose primary is
away wait in their retried tasks.

The details (error text, host names, timings, replicas) go to local callers (an operator on
the machine, pownce/clients.py) and staff only; anyone else, through HAProxy, gets
``{"ready": …}`` and the status code. Checking writes one fixed key to memcached and to Redis,
so each process checks at most once per ``READY_TTL`` seconds and serves that answer in
between: a flood of ``/readyz`` costs the dependencies nothing more than one check a second.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from pownce.clients import is_local_caller
from pownce.router import PRIMARY, health

# Seconds one process reuses its last readiness check.
READY_TTL = 1.0
_last: dict = {}
_lock = threading.Lock()


@never_cache
def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        detail = check()
        result = {"ok": True}
        if detail:
            result.update(detail)
    except Exception as exc:  # a readiness probe reports failures, it does not raise them
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _check_primary_alias(alias: str):
    def check() -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return check


_check_primary = _check_primary_alias(PRIMARY)


def _check_cache(alias: str):
    def check() -> None:
        cache = caches[alias]
        # One key per server, overwritten each time and expiring by itself.
        key = f"pownce:readyz:{settings.SERVER_NAME}"
        value = str(time.time())
        cache.set(key, value, 10)
        if cache.get(key) != value:
            raise RuntimeError("value written was not read back")

    return check


def _readiness() -> dict:
    checks = {
        "primary": _timed(_check_primary),
        "cache": _timed(_check_cache("default")),
        "redis": _timed(_check_cache("redis")),
    }
    replicas = {}
    for alias in (*settings.REPLICA_ALIASES, *settings.INBOX_REPLICA_ALIASES):
        state = health.state(alias, refresh=True)
        replicas[alias] = {"healthy": state.healthy, "lag_seconds": state.lag, "reason": state.reason}
    # Reported, not required: a shard's primary away delays the deliveries to its recipients
    # (the delivery tasks retry) while the rest of the site works; every app server would fail
    # this check alike, so requiring it would take the whole site out of the load balancer.
    inbox = {alias: _timed(_check_primary_alias(alias)) for alias in settings.INBOX_PRIMARY_ALIASES}
    ready = all(check["ok"] for check in checks.values())
    return {
        "ready": ready,
        "server": settings.SERVER_NAME,
        "checks": checks,
        "replicas": replicas,
        "inbox_primaries": inbox,
    }


def _recent_readiness() -> dict:
    """The last check if it is younger than READY_TTL, else a new one (one at a time)."""
    with _lock:
        if _last and time.monotonic() - _last["at"] < READY_TTL:
            return _last["body"]
        body = _readiness()
        _last.update(at=time.monotonic(), body=body)
        return body


@never_cache
def readyz(request):
    if is_local_caller(request) or (request.user.is_authenticated and request.user.is_staff):
        body = _readiness()  # an operator asking wants the state now
        return JsonResponse(body, status=200 if body["ready"] else 503)
    ready = _recent_readiness()["ready"]
    return JsonResponse({"ready": ready}, status=200 if ready else 503)
