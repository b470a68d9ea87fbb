"""Request middleware: server naming, read-your-writes pinning and replica failover."""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core import signing

from pownce import router

PIN_COOKIE = "pownce_pin"
PIN_SALT = "pownce.router.pin"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ServerNameMiddleware:
    """Name the app server that answered in ``X-Pownce-Server`` (load balancing is visible)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Pownce-Server"] = settings.SERVER_NAME
        return response


def pin_expiry(request) -> float:
    """The time until which this browser's reads go to the primary; 0 if it is not pinned."""
    try:
        expiry = float(request.get_signed_cookie(PIN_COOKIE, salt=PIN_SALT, max_age=settings.PIN_SECONDS + 1))
    except (KeyError, signing.BadSignature, ValueError):
        return 0.0
    # A cookie cannot pin for longer than the setting allows, whatever it says.
    return min(expiry, time.time() + settings.PIN_SECONDS)


class ReadYourWritesMiddleware:
    """Route a browser's reads to the primary for ``PIN_SECONDS`` after it writes.

    A request that writes (any ORM write reaching the router) gets a signed ``pownce_pin``
    cookie holding the time until which it stays pinned. Requests that are not safe methods
    read from the primary for their whole length, so a form is validated against fresh rows.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pinned = request.method not in SAFE_METHODS or pin_expiry(request) > time.time()
        tokens = router.begin_request(pinned)
        try:
            response = self.get_response(request)
        finally:
            wrote = router.end_request(tokens)
        if wrote and settings.PIN_SECONDS > 0:
            response.set_signed_cookie(
                PIN_COOKIE,
                repr(time.time() + settings.PIN_SECONDS),
                salt=PIN_SALT,
                max_age=math.ceil(settings.PIN_SECONDS),
                httponly=True,
                samesite="Lax",
                secure=settings.HTTPS,
            )
        return response


class ReplicaFailoverMiddleware:
    """Retry a safe request once on the primary when its replica failed mid-request.

    The replica backend marks a failing replica down before raising, so the retried view's
    reads go to another replica or the primary. Unsafe requests are never retried (they read
    from the primary anyway, so a replica failure cannot reach them).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if (
            getattr(exception, "replica_alias", None) is None
            or request.method not in SAFE_METHODS
            or getattr(request, "_pownce_replica_retry", False)
            or request.resolver_match is None
        ):
            return None
        request._pownce_replica_retry = True
        match = request.resolver_match
        response = match.func(request, *match.args, **match.kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        return response
