"""The status sampler's Prometheus endpoint (pownce/status_metrics.py): memcached's own hit and
miss counters, database and Redis figures from a real sample of the running services."""

from __future__ import annotations

import io
import socket

import pytest
from django.core.management import CommandError, call_command
from pymemcache.client.base import Client

from pownce import status, status_metrics
from tests.pownce.metrics_helpers import get, label_values, parse, total

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memcached_stats(address: str) -> dict[str, int]:
    host, _, port = address.rpartition(":")
    client = Client((host, int(port)))
    try:
        raw = client.stats()
    finally:
        client.close()
    return {name: int(raw[name.encode()]) for name in ("get_hits", "get_misses")}


@pytest.fixture
def endpoint():
    bind = f"127.0.0.1:{free_port()}"
    collector, stop = status_metrics.serve(bind)
    yield collector, f"http://{bind}/metrics"
    stop()


def test_nothing_is_served_before_the_first_sample(endpoint):
    _, url = endpoint
    code, body, _ = get(url)
    assert code == 200
    assert "pownce_" not in body


def test_memcached_counters_are_the_servers_own(endpoint, settings):
    collector, url = endpoint
    nodes = list(settings.MEMCACHED_SERVERS)
    host, _, port = nodes[0].rpartition(":")
    client = Client((host, int(port)))
    client.set("status-metrics-probe", b"1")
    for _ in range(5):
        client.get("status-metrics-probe")
        client.get("status-metrics-absent")
    client.close()
    before = {node: memcached_stats(node) for node in nodes}
    collector.update(status.take_sample())
    after = {node: memcached_stats(node) for node in nodes}
    samples = parse(get(url)[1])

    assert label_values(samples, "pownce_memcached_up", "node") == set(nodes)
    for node in nodes:
        assert total(samples, "pownce_memcached_up", node=node) == 1
        for name in ("get_hits", "get_misses"):
            value = total(samples, f"pownce_memcached_{name}_total", node=node)
            assert before[node][name] <= value <= after[node][name], (node, name)
    assert total(samples, "pownce_memcached_get_hits_total", node=nodes[0]) >= 5
    assert total(samples, "pownce_memcached_get_misses_total", node=nodes[0]) >= 5
    # Databases and Redis from the same sample.
    assert label_values(samples, "pownce_db_up", "alias") == set(settings.DATABASES)
    assert total(samples, "pownce_db_questions_total", alias="default") > 0
    # Every replica reports its lag (the main cluster's and each inbox shard's); nothing else
    # but a database of the settings does.
    replicas = set(settings.REPLICA_ALIASES) | {alias for _, shard in settings.INBOX_CLUSTERS for alias in shard}
    assert replicas <= label_values(samples, "pownce_db_replica_lag_seconds", "alias") <= set(settings.DATABASES)
    assert total(samples, "pownce_redis_up") == 1
    assert total(samples, "pownce_status_sample_timestamp_seconds") > 0


def test_an_unreachable_memcached_node_is_down_without_figures(endpoint, settings):
    collector, url = endpoint
    away = f"127.0.0.1:{free_port()}"
    settings.MEMCACHED_SERVERS = [*settings.MEMCACHED_SERVERS, away]
    collector.update(status.take_sample())
    samples = parse(get(url)[1])
    assert total(samples, "pownce_memcached_up", node=away) == 0
    assert away not in label_values(samples, "pownce_memcached_get_hits_total", "node")
    assert total(samples, "pownce_memcached_up") == len(settings.MEMCACHED_SERVERS) - 1


@pytest.mark.parametrize("bind", ["9150", "localhost", "127.0.0.1:99999", ":9150"])
def test_a_bad_metrics_address_is_refused_clearly(bind):
    with pytest.raises(CommandError, match="expected ADDRESS:PORT"):
        call_command("sample_status", "--metrics", bind, stdout=io.StringIO())
