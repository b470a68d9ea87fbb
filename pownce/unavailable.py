"""What a request sees when a server it needs is down or hung: a 503 page, never a 500.

A dependency that fails at the connection level (refused, timed out, gone away) is an outage,
not a bug: the request could not be served *now* and may succeed in a moment. Wherever such an
error surfaces (a view, a middleware saving the session, a retried view), Django hands the
exception to ``handler500``; :func:`server_error` answers **503 with ``Retry-After``** and a
"try again in a moment" page when the error is one of these outages, and the ordinary 500 page
otherwise. Errors that are not outages (bad SQL, a constraint violation, a bug) stay 500s.

Outages recognised:

* MariaDB connection-level errors (:data:`CONNECTION_ERRORS`) on any alias. A replica's are
  retried on the primary first (:class:`pownce.middleware.ReplicaFailoverMiddleware`); the
  primary's reach the visitor as this 503. A write whose connection timed out has an unknown
  outcome: it either committed or rolled back as a whole (every write runs in a transaction),
  and the note form's idempotency key makes a retry safe.
* Redis unreachable where failing closed is the rule (:class:`pownce.redis_cache.RedisUnavailable`,
  e.g. the log-in rate limit).

Not guaranteed: that the 503 reaches the browser quicker than the timeouts that produced it
(the connect/read timeouts of ``POWNCE_DB_*_TIMEOUT`` and Redis' 1 s).
"""

from __future__ import annotations

import sys

from django.http import HttpResponse, HttpResponseServerError
from django.template import loader

from pownce.redis_cache import RedisUnavailable

# Seconds a client is asked to wait before trying again.
RETRY_AFTER = 5

# MySQL client/server error codes that mean "this server cannot be talked to right now".
CONNECTION_ERRORS = {
    1040,  # too many connections
    1053,  # server shutdown in progress
    1927,  # connection was killed
    2002,  # can't connect through socket
    2003,  # can't connect to server
    2006,  # server has gone away
    2013,  # lost connection during query (also: read timeout)
    2026,  # TLS error
    2055,  # lost connection at handshake
    4031,  # disconnected by the server for inactivity
}


def db_error_code(exc: BaseException) -> int | None:
    """The MySQL error code of ``exc`` (a Django DatabaseError wrapping MySQLdb's), if any."""
    cause = exc.__cause__ or exc
    args = getattr(cause, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` means a server Pownce depends on is down or hung (see the module docstring)."""
    from django.db import DatabaseError

    if isinstance(exc, RedisUnavailable):
        return True
    return isinstance(exc, DatabaseError) and db_error_code(exc) in CONNECTION_ERRORS


def unavailable_response() -> HttpResponse:
    """The 503 page: rendered without the request, so it needs neither the session nor a database."""
    response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def server_error(request) -> HttpResponse:
    """``handler500``: 503 + ``Retry-After`` for an outage, the 500 page for anything else."""
    if is_outage(sys.exc_info()[1]):
        return unavailable_response()
    return HttpResponseServerError(loader.get_template("500.html").render())
