"""What `make bench` (deploy/bench.py) measures against, served only when ``settings.BENCH_VIEWS``
is on (``POWNCE_BENCH_VIEWS=1``; off by default, so production never exposes any of it).

* ``/bench/hello`` — a plain response that touches nothing: the ceiling of the stack
  (HAProxy, gunicorn, Django's middleware).
* ``/bench/hello-auth`` — resolves the session (Redis) and ``request.user`` (object cache) and
  answers the username: the cost every logged-in page pays before it does anything.
* ``/bench/home-orm`` — the home stream with no object cache (:mod:`demo.baseline`).
* :class:`CostHeadersMiddleware` — every response says what it cost: ``X-Pownce-SQL`` (SQL
  queries on every database alias) and ``X-Pownce-Cache-Calls`` (memcached calls, a multi-get
  counting as one, from :data:`cache.stats.stats`); ``X-Pownce-SQL-Primary`` and
  ``X-Pownce-SQL-Replica`` split the SQL count by where it went (the primary alias, any replica).
"""

from __future__ import annotations

from contextlib import ExitStack

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse
from django.urls import path

from cache.stats import stats
from demo import baseline


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello\n", content_type="text/plain")


def hello_auth(request: HttpRequest) -> HttpResponse:
    username = request.user.username if request.user.is_authenticated else ""
    return HttpResponse(f"{username}\n", content_type="text/plain")


urlpatterns = [
    path("hello", hello, name="bench_hello"),
    path("hello-auth", hello_auth, name="bench_hello_auth"),
    path("home-orm", baseline.home_orm, name="bench_home_orm"),
]


class CostHeadersMiddleware:
    """Add ``X-Pownce-SQL`` and ``X-Pownce-Cache-Calls``: what this request cost.

    Installed outermost (settings.py), so the session, the logged-in user and the view are all
    counted. Counters are per process and a sync worker serves one request at a time, so the
    difference before/after is this request's own.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = 0
        on_primary = 0

        def count(execute, sql, params, many, context):
            nonlocal queries, on_primary
            queries += 1
            on_primary += context["connection"].alias == DEFAULT_DB_ALIAS
            return execute(sql, params, many, context)

        calls_before = stats.snapshot().get("calls", 0)
        with ExitStack() as wrappers:
            for alias in connections:
                wrappers.enter_context(connections[alias].execute_wrapper(count))
            response = self.get_response(request)
        response["X-Pownce-SQL"] = str(queries)
        response["X-Pownce-SQL-Primary"] = str(on_primary)
        response["X-Pownce-SQL-Replica"] = str(queries - on_primary)
        response["X-Pownce-Cache-Calls"] = str(stats.snapshot().get("calls", 0) - calls_before)
        return response
