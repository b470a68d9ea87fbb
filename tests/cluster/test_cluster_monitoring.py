"""Monitoring across hosts: the Prometheus that deploy/cluster.sh starts on the load balancer's
host scrapes every app host's /metrics (through that host's nginx), every app host's status
sampler and HAProxy's exporter, each by its host's address."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.cluster import cluster as lib
from tests.stack import wait_until

pytestmark = [pytest.mark.cluster]


def targets() -> dict[tuple[str, str], str]:
    lb = lib.address(lib.with_role("haproxy")[0])
    url = f"http://{lb}:{lib.SETTINGS['PROMETHEUS_PORT']}/api/v1/targets"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    return {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in body["data"]["activeTargets"]}


def test_prometheus_on_the_load_balancer_scrapes_every_host(running_cluster):
    apps = [lib.address(name) for name in lib.with_role("app")]
    lb = lib.address(lib.with_role("haproxy")[0])
    wanted = {f"{addr}:{lib.SETTINGS['APP_PORT']}" for addr in apps}
    wanted |= {f"{addr}:{lib.SETTINGS['SAMPLER_METRICS_PORT']}" for addr in apps}
    wanted.add(f"{lb}:{lib.SETTINGS['HAPROXY_STATS_PORT']}")

    def every_target_up() -> bool:
        healthy = {instance for (_, instance), health in targets().items() if health == "up"}
        return wanted <= healthy

    # Prometheus scrapes every 15 s: the first round after start decides.
    wait_until(every_target_up, timeout=90, message=f"Prometheus on lb1 to scrape {sorted(wanted)}")
    # Nothing it scrapes is on loopback: every target is a host's own address.
    assert not [instance for _, instance in targets() if instance.startswith("127.")]
