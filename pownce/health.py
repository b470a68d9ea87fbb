"""Health checks for the load balancer and operators.

``/healthz`` answers 200 as long as the process can run a view: it touches no database, cache
or Redis, so a slow dependency never takes every app server out of the load balancer at once.
``/readyz`` checks what a request needs — the primary, the object cache and Redis — and reports
each replica's state; it answers 503 if any required piece is missing. Replicas are reported
but not required: reads fall back to the primary without them.
"""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from pownce.router import PRIMARY, health


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


def _check_primary() -> None:
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache(alias: str):
    def check() -> None:
        cache = caches[alias]
        key = f"pownce:readyz:{uuid.uuid4().hex}"
        cache.set(key, "1", 10)
        if cache.get(key) != "1":
            raise RuntimeError("value written was not read back")
        cache.delete(key)

    return check


@never_cache
def readyz(request):
    checks = {
        "primary": _timed(_check_primary),
        "cache": _timed(_check_cache("default")),
        "redis": _timed(_check_cache("redis")),
    }
    replicas = {}
    for alias in settings.REPLICA_ALIASES:
        state = health.state(alias, refresh=True)
        replicas[alias] = {"healthy": state.healthy, "lag_seconds": state.lag, "reason": state.reason}
    ready = all(check["ok"] for check in checks.values())
    body = {"ready": ready, "server": settings.SERVER_NAME, "checks": checks, "replicas": replicas}
    return JsonResponse(body, status=200 if ready else 503)
