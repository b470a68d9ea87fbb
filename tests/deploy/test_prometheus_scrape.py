"""A real Prometheus, started by deploy/prometheus.sh on 127.0.0.1, scrapes the test profile's
running stack: both app servers' /metrics (through their nginx), HAProxy's built-in exporter and
the status sampler's endpoint, with deploy/prometheus/alerts.yml loaded. Killing an app server
makes its target DOWN and PownceAppServerDown pending."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from tests.pownce.availability import kill_app_server
from tests.pownce.metrics_helpers import get, wait_for_app_servers_up
from tests.stack import APP_PORTS, HAPROXY, PROFILE, ROOT, wait_until

pytestmark = [
    pytest.mark.stack,
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.skipif(
        shutil.which("prometheus") is None, reason="Prometheus is not installed (deploy/install-packages.sh prometheus)"
    ),
]

PROMETHEUS = f"127.0.0.1:{PROFILE.get('PROMETHEUS_PORT', '9190')}"
SAMPLER = f"127.0.0.1:{PROFILE.get('SAMPLER_METRICS_PORT', '9191')}"
HAPROXY_EXPORTER = f"127.0.0.1:{PROFILE['HAPROXY_STATS_PORT']}"
APPS = [f"127.0.0.1:{port}" for port in APP_PORTS]


def api(path: str, **params: str) -> dict:
    url = f"http://{PROMETHEUS}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]


def query(expr: str) -> dict[str, float]:
    """``{instance: value}`` of an instant query."""
    return {row["metric"].get("instance", ""): float(row["value"][1]) for row in api("query", query=expr)["result"]}


def target_health() -> dict[tuple[str, str], str]:
    return {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in api("targets")["activeTargets"]}


def prometheus(action: str, tmp_dir: Path) -> str:
    args = [
        "--dir",
        str(tmp_dir),
        "--listen",
        PROMETHEUS,
        "--scrape-interval",
        "1s",
        "--haproxy",
        HAPROXY_EXPORTER,
        "--sampler",
        SAMPLER,
    ]
    for app in APPS:
        args += ["--app", app]
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "prometheus.sh"), action, *args], capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def sampler():
    """``manage.py sample_status --metrics`` on the test database, every second."""
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    name = connections["default"].settings_dict["NAME"]
    for variable in ("POWNCE_DB_PRIMARY", "POWNCE_DB_REPLICAS"):
        env[variable] = ",".join(url.rsplit("/", 1)[0] + "/" + name for url in env[variable].split(","))
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sample_status", "--every", "1", "--metrics", SAMPLER],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture
def running_prometheus(tmp_path):
    prometheus("up", tmp_path)
    yield tmp_path
    prometheus("down", tmp_path)


def test_prometheus_scrapes_app_servers_haproxy_and_the_sampler(web_stack, sampler, running_prometheus):
    wait_for_app_servers_up()
    for _ in range(10):
        assert get(HAPROXY + "/public/")[0] == 200
    expected = {("pownce-app", app) for app in APPS} | {("haproxy", HAPROXY_EXPORTER), ("pownce-sampler", SAMPLER)}
    # Prometheus picks new targets up within ~5 s and scrapes each every second.
    wait_until(
        lambda: expected <= {key for key, health in target_health().items() if health == "up"},
        timeout=60,
        interval=0.5,
        message=f"every target up in {PROMETHEUS} (now {target_health()})",
    )

    # Real figures from each source, as stored by Prometheus.
    wait_until(
        lambda: set(query('sum by (instance) (pownce_http_requests_total{view="public"})')) == set(APPS),
        timeout=30,
        interval=0.5,
        message="both app servers' request counters",
    )
    assert query("pownce_replica_max_lag_seconds") == dict.fromkeys(APPS, settings.REPLICA_MAX_LAG)
    wait_until(
        lambda: query('haproxy_frontend_http_requests_total{proxy="pownce"}').get(HAPROXY_EXPORTER, 0) >= 10,
        timeout=30,
        interval=0.5,
        message="HAProxy's count of the requests sent through it",
    )
    assert set(query('haproxy_server_status{proxy="app_servers", state="UP"} == 1')) == {HAPROXY_EXPORTER}

    def nodes(expr: str) -> set[str]:
        return {row["metric"]["node"] for row in api("query", query=expr)["result"]}

    wait_until(
        lambda: nodes("pownce_memcached_get_hits_total") == set(settings.MEMCACHED_SERVERS),
        timeout=30,
        interval=0.5,
        message="the sampler's memcached counters",
    )
    assert nodes("pownce_memcached_up == 1") == set(settings.MEMCACHED_SERVERS)
    # The alert rules are loaded and the recording rules evaluate on the real series.
    rules = {rule["name"] for group in api("rules")["groups"] for rule in group["rules"]}
    assert {
        "PownceAppServerDown",
        "PownceReplicaLagging",
        "PownceMemcachedHitRateLow",
        "PownceTaskQueueGrowing",
        "PownceHighErrorRate",
    } <= rules
    wait_until(
        lambda: query("pownce:task_queue_length:max") != {},
        timeout=30,
        interval=0.5,
        message="the queue length's recording rule",
    )

    # An app server dies: its target goes down and the alert is pending (it fires after 1m).
    kill_app_server("app1")
    wait_until(
        lambda: target_health()[("pownce-app", APPS[0])] == "down",
        timeout=30,
        interval=0.5,
        message="app1's target down",
    )
    assert query('up{job="pownce-app"}') == {APPS[0]: 0.0, APPS[1]: 1.0}

    def pending() -> set[str]:
        return {
            alert["labels"]["instance"]
            for alert in api("alerts")["alerts"]
            if alert["labels"]["alertname"] == "PownceAppServerDown" and alert["state"] == "pending"
        }

    wait_until(lambda: pending() == {APPS[0]}, timeout=30, interval=0.5, message="PownceAppServerDown pending")
