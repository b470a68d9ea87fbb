"""/metrics: requests per view, SQL per alias, cache lookups per kind, memcached round trips per
server, the task queue — summed over every gunicorn worker of an app server, shown only to
local scrapers and staff."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from prometheus_client.mmap_dict import MmapedDict

from accounts.models import User
from tests.pownce.metrics_helpers import (
    get,
    label_values,
    moved,
    parse,
    session_cookie,
    total,
    wait_for_app_servers_up,
)
from tests.stack import APP_PORTS, HAPROXY, run_dir

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]

APP_SERVERS = {f"app{i}": f"http://127.0.0.1:{port}" for i, port in enumerate(APP_PORTS, start=1)}
PUBLIC = {"view": "public", "method": "GET", "status": "2xx"}


def scrape(base: str) -> dict:
    status, body, _ = get(base + "/metrics")
    assert status == 200, body[:300]
    return parse(body)


def requests_per_worker(server: str) -> Counter:
    """What each worker process of ``server`` wrote to its own metrics file for the public view."""
    per_pid: Counter = Counter()
    for path in (run_dir().parent / "metrics" / server).glob("counter_*.db"):
        pid = path.stem.rsplit("_", 1)[1]
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            _, name, labels, _ = json.loads(key)
            if name == "pownce_http_requests_total" and labels == PUBLIC:
                per_pid[pid] += value
    return per_pid


def test_request_counters_are_summed_over_every_worker_of_each_app_server(web_stack):
    wait_for_app_servers_up()
    before = {name: scrape(base) for name, base in APP_SERVERS.items()}
    # Concurrent requests: each sync worker serves one at a time, so both workers of a server work.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: get(HAPROXY + "/public/"), range(48)))
    assert {status for status, _, _ in results} == {200}
    served = Counter(headers["X-Pownce-Server"] for _, _, headers in results)
    assert set(served) == {"app1", "app2"}

    kinds = set()
    for name, base in APP_SERVERS.items():
        after = scrape(base)
        kinds |= label_values(after, "pownce_cache_lookups_total", "kind")
        assert moved(before[name], after, "pownce_http_requests_total", **PUBLIC) == served[name], name
        assert total(after, "pownce_http_request_duration_seconds_count", view="public") >= served[name]
        workers = requests_per_worker(name)
        assert len([pid for pid, count in workers.items() if count]) >= 2, (name, workers)
        assert sum(workers.values()) == total(after, "pownce_http_requests_total", **PUBLIC)
        # The public stream reads the database (cold cache) and the cache, through both servers.
        assert moved(before[name], after, "pownce_sql_queries_total") > 0
        assert label_values(after, "pownce_sql_queries_total", "alias") <= set(settings.DATABASES)
        assert label_values(after, "pownce_memcached_round_trips_total", "node") <= set(settings.MEMCACHED_SERVERS)
        assert total(after, "pownce_memcached_round_trips_total") > 0
        assert ("pownce_task_queue_length", frozenset()) in after
        assert ("pownce_task_failures", frozenset()) in after
        replicas = {*settings.REPLICA_ALIASES, *settings.INBOX_REPLICA_ALIASES}
        assert label_values(after, "pownce_replica_lag_seconds", "alias") == replicas
    # The cold public stream reads its ID list on the server that renders the page first; the
    # other may serve that whole page from the page cache (cache/pages.py) and read no list.
    assert "list:public" in kinds


def test_metrics_through_haproxy_are_staff_only(web_stack):
    wait_for_app_servers_up()
    status, body, _ = get(HAPROXY + "/metrics")
    assert status == 404 and "pownce_http_requests_total" not in body
    member = User.objects.create_user(username="member", password="correct-horse-9")
    assert get(HAPROXY + "/metrics", cookie=session_cookie(member))[0] == 404
    staff = User.objects.create_user(username="operator", password="correct-horse-9", is_staff=True)
    status, body, _ = get(HAPROXY + "/metrics", cookie=session_cookie(staff))
    assert status == 200 and "pownce_http_requests_total" in body


def test_metrics_in_one_process_without_a_multiprocess_directory(client):
    """The embedded default (`make run`): one process, its own registry."""
    before = parse(client.get("/metrics").content.decode())
    for _ in range(3):
        assert client.get("/public/").status_code == 200
    assert client.get("/no-such/page/").status_code == 404
    after = parse(client.get("/metrics").content.decode())
    assert moved(before, after, "pownce_http_requests_total", **PUBLIC) == 3
    assert moved(before, after, "pownce_http_requests_total", view="unmatched", status="4xx") == 1
    assert moved(before, after, "pownce_cache_lookups_total", kind="list:public") > 0
    assert moved(before, after, "pownce_cache_events_total", event="calls") > 0
    assert moved(before, after, "pownce_sql_queries_total") > 0


def test_metrics_hidden_from_requests_that_came_through_the_proxy_or_from_elsewhere(client):
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    staff = User.objects.create_user(username="operator", password="correct-horse-9", is_staff=True)
    client.force_login(staff)
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
