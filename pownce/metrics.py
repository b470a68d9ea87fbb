"""``/metrics``: what this app server did, in Prometheus' text format.

Under gunicorn each app server runs several worker processes; a scrape reaches one of them.
With ``PROMETHEUS_MULTIPROC_DIR`` set (deploy/stack.sh gives each app server its own directory
under ``var/<profile>/metrics/``, wiped when it starts) every worker writes its counters to
memory-mapped files there and a scrape sums them all, so one scrape sees the whole server.
gunicorn's ``child_exit`` hook (deploy/gunicorn.conf.py) tells the library a worker died.
Without it (``make run``: one process) the process's own registry is served.

Exported per request, by :class:`MetricsMiddleware`, for the cost of a few increments:

* ``pownce_http_requests_total{view, method, status}`` and
  ``pownce_http_request_duration_seconds{view, method}`` — ``view`` is the URL name the
  resolver matched (``home``, ``admin:index`` …), ``unmatched`` for a 404 no route claimed;
  ``status`` is the class (``2xx`` …);
* ``pownce_sql_queries_total{alias}`` — SQL statements sent to each database alias;
* ``pownce_cache_lookups_total{kind, result}`` — keys read through the cache protocol, by what
  they hold (``object:notes.note``, ``list:inbox``, ``value:note-counts``) and whether they
  were a ``hit``, a ``miss`` or a ``tombstone``;
* ``pownce_memcached_round_trips_total{node}`` — requests sent to each memcached server;
* ``pownce_cache_events_total{event}`` — the rest of :data:`cache.stats.stats` (calls, fills,
  invalidations, leases won/lost, node failures …).

Computed when scraped (one query on the primary, pownce/task_queue.py): ``pownce_task_queue_length``,
``pownce_task_results{status}`` and ``pownce_task_failures`` (task rows FAILED since the last
prune), and
``pownce_replica_lag_seconds{alias}`` from this process's replica health, next to
``pownce_replica_max_lag_seconds``, the lag past which the router takes a replica out of rotation
(``POWNCE_REPLICA_MAX_LAG``): an alert compares the two instead of repeating the setting.

The status sampler (``manage.py sample_status --metrics ADDR:PORT``) serves what only it reads —
memcached's own hit/miss counters, database QPS, Redis — on a port of its own: see
:mod:`pownce.status_metrics`. Per-view latency quantiles for the staff page come from this
module's histogram (:func:`latency_by_view`).

Only local scrapers (127.0.0.1 without ``X-Forwarded-For``: not through HAProxy) and staff see
it; everyone else gets a 404.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import ExitStack

from django.conf import settings
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from cache.stats import stats
from pownce import status
from pownce.clients import is_local_caller
from pownce.router import PRIMARY, breaker_for

logger = logging.getLogger("pownce.metrics")

REQUESTS = Counter("pownce_http_requests", "Requests served", ["view", "method", "status"])
LATENCY_NAME = "pownce_http_request_duration_seconds"
LATENCY = Histogram(
    LATENCY_NAME,
    "Time from the first middleware to the response, per view",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SQL_QUERIES = Counter("pownce_sql_queries", "SQL statements sent, per database alias", ["alias"])
CACHE_LOOKUPS = Counter("pownce_cache_lookups", "Keys read through the cache protocol", ["kind", "result"])
ROUND_TRIPS = Counter("pownce_memcached_round_trips", "Requests sent to each memcached server", ["node"])
CACHE_EVENTS = Counter("pownce_cache_events", "What the cache layer did (cache/stats.py)", ["event"])

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
LOOKUP_RESULTS = {"hits": "hit", "misses": "miss", "tombstone_hits": "tombstone"}


class _CacheStatsExporter:
    """Moves what :data:`cache.stats.stats` counted since the last export into the counters.

    The cache layer knows nothing of Prometheus; its per-process counters are diffed against
    what was exported already, so every increment is exported once, whichever thread made it.
    """

    def __init__(self) -> None:
        self._exported: dict[str, int] = {}
        self._lock = threading.Lock()

    def export(self) -> None:
        current = stats.snapshot()
        with self._lock:
            for name, value in current.items():
                delta = value - self._exported.get(name, 0)
                self._exported[name] = value
                if delta > 0:
                    self._count(name, delta)

    @staticmethod
    def _count(name: str, delta: int) -> None:
        counter, _, label = name.partition("/")
        if label:
            if counter == "round_trips":
                ROUND_TRIPS.labels(node=label).inc(delta)
            elif counter in LOOKUP_RESULTS:
                CACHE_LOOKUPS.labels(kind=label, result=LOOKUP_RESULTS[counter]).inc(delta)
        elif counter not in LOOKUP_RESULTS and counter != "round_trips":
            CACHE_EVENTS.labels(event=counter).inc(delta)


exporter = _CacheStatsExporter()


def view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else "unmatched"


class MetricsMiddleware:
    """Count and time every request per view; count its SQL per alias; export cache counters.

    Installed first, so the time covers every other middleware. It sends nothing anywhere per
    request: the counters are memory (memory-mapped files under gunicorn).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        queries: dict[str, int] = {}
        with ExitStack() as wrappers:
            for alias in connections:
                wrappers.enter_context(connections[alias].execute_wrapper(_query_counter(queries, alias)))
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        view = view_label(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view=view, method=method, status=f"{response.status_code // 100}xx").inc()
        LATENCY.labels(view=view, method=method).observe(elapsed)
        for alias, count in queries.items():
            SQL_QUERIES.labels(alias=alias).inc(count)
        exporter.export()
        return response


def _query_counter(queries: dict[str, int], alias: str):
    def count(execute, sql, params, many, context):
        queries[alias] = queries.get(alias, 0) + 1
        return execute(sql, params, many, context)

    return count


class ScrapeTimeCollector:
    """Figures read when scraped rather than counted: the task queue and replica lag."""

    def collect(self):
        counts = status.task_counts()
        if counts is not None:
            queue = GaugeMetricFamily("pownce_task_queue_length", "Tasks waiting to run (django_tasks_db)")
            queue.add_metric([], counts.get("READY", 0))
            yield queue
            failures = GaugeMetricFamily("pownce_task_failures", "Task results stored as failed")
            failures.add_metric([], counts.get("FAILED", 0))
            yield failures
            results = GaugeMetricFamily("pownce_task_results", "Task results stored, per status", labels=["status"])
            for name, count in sorted(counts.items()):
                results.add_metric([name], count)
            yield results
        lag = GaugeMetricFamily(
            "pownce_replica_lag_seconds", "Replica lag seen by this process (NaN: out of rotation)", labels=["alias"]
        )
        for alias in (*settings.REPLICA_ALIASES, *settings.INBOX_REPLICA_ALIASES):
            state = status.replica_state(alias)
            lag.add_metric([alias], state.lag if state.lag is not None else float("nan"))
        yield lag
        limit = GaugeMetricFamily(
            "pownce_replica_max_lag_seconds", "Lag past which the router stops reading from a replica"
        )
        limit.add_metric([], settings.REPLICA_MAX_LAG)
        yield limit
        breakers = GaugeMetricFamily(
            "pownce_db_primary_unreachable",
            "1 while this process fails fast on a primary it found unreachable (its breaker is open)",
            labels=["alias"],
        )
        for alias in (PRIMARY, *settings.INBOX_PRIMARY_ALIASES):
            breaker = breaker_for(alias)
            breakers.add_metric([alias], 1 if breaker is not None and breaker.is_open() else 0)
        yield breakers


def _served_registry() -> CollectorRegistry:
    """Every worker's metrics summed (under gunicorn), or this process's own."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
        return workers
    return REGISTRY


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The ``q`` quantile of a cumulative histogram ``[(upper bound, count), …]`` (ascending, the
    last bound ``inf``), interpolated linearly inside the bucket it falls in, as Prometheus'
    ``histogram_quantile`` does. None when nothing was counted; the highest finite bound when it
    falls in the ``+Inf`` bucket (all that is known: "slower than that")."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def latency_by_view() -> dict[str, dict[str, float | None]]:
    """``{view: {"count": n, "p50": seconds, "p99": seconds}}`` over every request this app
    server (all its workers) served since it started, any method, from the latency histogram."""
    per_view: dict[str, dict[float, float]] = {}
    for family in _served_registry().collect():
        if family.name != LATENCY_NAME:
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bounds = per_view.setdefault(sample.labels["view"], {})
                bound = float(sample.labels["le"])
                bounds[bound] = bounds.get(bound, 0.0) + sample.value
    result = {}
    for view, bounds in per_view.items():
        buckets = sorted(bounds.items())
        result[view] = {
            "count": buckets[-1][1],
            "p50": bucket_quantile(0.5, buckets),
            "p99": bucket_quantile(0.99, buckets),
        }
    return result


def allowed(request: HttpRequest) -> bool:
    """A local scraper that did not come through HAProxy, or a staff member."""
    return is_local_caller(request) or (request.user.is_authenticated and request.user.is_staff)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        raise Http404
    exporter.export()
    scrape_time = CollectorRegistry(auto_describe=True)
    scrape_time.register(ScrapeTimeCollector())
    body = generate_latest(_served_registry())
    return HttpResponse(body + generate_latest(scrape_time), content_type=CONTENT_TYPE_LATEST)
