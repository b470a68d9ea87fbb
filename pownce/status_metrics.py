"""The status sampler's figures for Prometheus (``manage.py sample_status --metrics ADDR:PORT``).

An app server's ``/metrics`` (pownce/metrics.py) counts what that server did. Some figures
belong to no app server: memcached's own hits and misses, each database's QPS, Redis. The
sampler already reads them every few seconds for the staff page (pownce/status.py); with
``--metrics`` (or ``POWNCE_STATUS_METRICS``) it also serves its newest sample over HTTP, on a
port of its own, so one Prometheus target carries them once instead of every app server
repeating them.

Exported from the newest sample (the figures are as old as ``pownce_status_sample_timestamp_seconds``):

* ``pownce_memcached_up{node}`` (1 read, 0 unreachable), ``pownce_memcached_get_hits_total``,
  ``pownce_memcached_get_misses_total``, ``pownce_memcached_evictions_total``,
  ``pownce_memcached_commands_total``, ``pownce_memcached_bytes``, ``pownce_memcached_limit_bytes``,
  ``pownce_memcached_items`` — memcached's own counters, per server. They restart at zero when the
  server does; Prometheus' ``rate()`` takes resets in its stride.
* ``pownce_db_up{alias}``, ``pownce_db_questions_total{alias}``, ``pownce_db_threads_connected{alias}``,
  ``pownce_db_replica_lag_seconds{alias}`` (``Seconds_Behind_Master``, read afresh; NaN when the
  replica is not replicating).
* ``pownce_redis_up``, ``pownce_redis_commands_total``, ``pownce_redis_memory_bytes``,
  ``pownce_redis_clients``.
* ``pownce_host_load1`` and ``pownce_host_load5`` of the sampler's machine.

Nothing is served before the first sample is taken, and a source that could not be read is
reported as down (``…_up 0``) without figures: an absent series, not a stale one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

MEMCACHED_COUNTERS = {
    "get_hits": "GET hits",
    "get_misses": "GET misses",
    "evictions": "Items evicted",
    "commands": "Commands received",
}
MEMCACHED_GAUGES = {"bytes": "Bytes stored", "limit_bytes": "Memory limit", "items": "Items stored"}


def _rows(source: Any) -> list[tuple[str, dict]]:
    if not isinstance(source, dict) or isinstance(source.get("error"), str):
        return []
    return [(name, value) for name, value in source.items() if isinstance(value, dict)]


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


class SampleCollector:
    """Serves the newest sample handed to :meth:`update` (thread-safe: the HTTP server's thread
    reads while the sampler's loop writes)."""

    def __init__(self) -> None:
        self._sample: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def update(self, sample: dict[str, Any]) -> None:
        with self._lock:
            self._sample = sample

    def collect(self):
        with self._lock:
            sample = self._sample
        if sample is None:
            return
        taken = GaugeMetricFamily("pownce_status_sample_timestamp_seconds", "When the figures were sampled")
        taken.add_metric([], sample["t"])
        yield taken
        yield from self._memcached(sample.get("memcached"))
        yield from self._databases(sample.get("db"))
        yield from self._redis(sample.get("redis"))
        host = sample.get("host", {})
        if "load" in host:
            for index, period in ((0, "1"), (1, "5")):
                load = GaugeMetricFamily(f"pownce_host_load{period}", f"Load average over {period} min")
                load.add_metric([], host["load"][index])
                yield load

    @staticmethod
    def _memcached(source: Any):
        up = GaugeMetricFamily("pownce_memcached_up", "memcached answered the sampler", labels=["node"])
        counters = {
            name: CounterMetricFamily(f"pownce_memcached_{name}", doc, labels=["node"])
            for name, doc in MEMCACHED_COUNTERS.items()
        }
        gauges = {
            name: GaugeMetricFamily(f"pownce_memcached_{name}", doc, labels=["node"])
            for name, doc in MEMCACHED_GAUGES.items()
        }
        for node, figures in _rows(source):
            up.add_metric([node], 0 if "error" in figures else 1)
            if "error" in figures:
                continue
            for name, family in (*counters.items(), *gauges.items()):
                family.add_metric([node], figures[name])
        yield up
        yield from counters.values()
        yield from gauges.values()

    @staticmethod
    def _databases(source: Any):
        up = GaugeMetricFamily("pownce_db_up", "The database answered the sampler", labels=["alias"])
        questions = CounterMetricFamily("pownce_db_questions", "Statements the server received", labels=["alias"])
        threads = GaugeMetricFamily("pownce_db_threads_connected", "Open connections", labels=["alias"])
        lag = GaugeMetricFamily(
            "pownce_db_replica_lag_seconds", "Seconds_Behind_Master (NaN: not replicating)", labels=["alias"]
        )
        for alias, figures in _rows(source):
            up.add_metric([alias], 0 if "error" in figures else 1)
            if "error" in figures:
                continue
            questions.add_metric([alias], figures["questions"])
            threads.add_metric([alias], figures["threads"])
            if "lag" in figures or "healthy" in figures:
                lag.add_metric([alias], _number(figures.get("lag")))
        yield from (up, questions, threads, lag)

    @staticmethod
    def _redis(source: Any):
        if not isinstance(source, dict):
            return
        up = GaugeMetricFamily("pownce_redis_up", "Redis answered the sampler")
        up.add_metric([], 0 if "error" in source else 1)
        yield up
        if "error" in source:
            return
        commands = CounterMetricFamily("pownce_redis_commands", "Commands Redis processed")
        commands.add_metric([], source["commands"])
        memory = GaugeMetricFamily("pownce_redis_memory_bytes", "Memory Redis uses")
        memory.add_metric([], source["memory"])
        clients = GaugeMetricFamily("pownce_redis_clients", "Connected clients")
        clients.add_metric([], source["clients"])
        yield from (commands, memory, clients)


def parse_bind(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9150"`` -> ``("127.0.0.1", 9150)``; a clear ValueError otherwise."""
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected ADDRESS:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def serve(bind: str) -> tuple[SampleCollector, Callable[[], None]]:
    """Start serving on ``bind`` (a daemon thread); return the collector to feed samples to and
    a function that stops the server."""
    host, port = parse_bind(bind)
    collector = SampleCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    server, _ = start_http_server(port, addr=host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return collector, stop
