"""The staff status page in the admin: real figures from the running stack, charts of the hour."""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass

import MySQLdb.cursors
import pytest
from django.conf import settings
from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from pymemcache.client.base import Client

from accounts.models import User
from pownce import status
from tests.pownce.metrics_helpers import figures, get, parse, session_cookie, total, wait_for_app_servers_up
from tests.stack import APP_PORTS, HAPROXY, HAPROXY_STATS, root_connection

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


@pytest.fixture
def staff():
    return User.objects.create_user(username="operator", password="correct-horse-9", is_staff=True)


def number(value: str) -> float:
    return float(value)  # raises on "" (no figure) or text


@dataclass
class Truth:
    """What the sources say when read directly, not through pownce.status: each figure on the
    page must lie between a reading taken just before the page and one taken just after."""

    memcached: dict[str, dict[str, int]]
    lag: int
    haproxy: dict[str, dict[str, str]]
    load1: float
    queued: int


def read_truth() -> Truth:
    memcached = {}
    for address in settings.MEMCACHED_SERVERS:
        host, _, port = address.rpartition(":")
        client = Client((host, int(port)))
        try:
            raw = client.stats()
            memcached[address] = {name: int(raw[name.encode()]) for name in ("bytes", "evictions")}
        finally:
            client.close()
    conn = root_connection("replica")
    try:
        with conn.cursor(MySQLdb.cursors.DictCursor) as cursor:
            cursor.execute("SHOW SLAVE STATUS")
            lag = cursor.fetchone()["Seconds_Behind_Master"]
    finally:
        conn.close()
    stats = get(HAPROXY_STATS + "/;csv")[1].removeprefix("# ")
    haproxy = {row["svname"]: row for row in csv.DictReader(io.StringIO(stats)) if row["pxname"] == "app_servers"}
    queued = DBTaskResult.objects.using("default").filter(status=TaskResultStatus.READY).count()
    return Truth(memcached, lag, haproxy, os.getloadavg()[0], queued)


def between(value: str, first: float, second: float, slack: float = 0.0) -> bool:
    return min(first, second) - slack <= number(value) <= max(first, second) + slack


def test_status_page_through_haproxy_shows_the_running_stack(web_stack, staff):
    wait_for_app_servers_up()
    # A fresh sample to measure from, stamped two seconds ago: the page compares with the newest
    # stored sample at least a second old, and an older one may predate a server restarted by
    # another test (a counter that went backwards gives no rate).
    sample = status.take_sample()
    status.store({**sample, "t": sample["t"] - 2})
    for _ in range(4):  # some memcached traffic to measure
        assert get(HAPROXY + "/public/")[0] == 200
    before = read_truth()
    code, page, headers = get(HAPROXY + "/admin/status/", cookie=session_cookie(staff))
    after = read_truth()
    assert code == 200, page[:500]
    found = figures(page)

    for address in settings.MEMCACHED_SERVERS:
        assert address in page
        was, now = before.memcached[address], after.memcached[address]
        assert 0 <= number(found[f"memcached.{address}.hit_rate_total"]) <= 100
        # Bytes move both ways (the page's own fills; expired items reclaimed in the background).
        assert between(found[f"memcached.{address}.mb_used"], was["bytes"] / 2**20, now["bytes"] / 2**20, 1 / 16)
        assert between(found[f"memcached.{address}.evictions"], was["evictions"], now["evictions"])
    for alias in settings.DATABASES:
        assert number(found[f"db.{alias}.qps"]) > 0  # the page's own queries at least
    for alias in settings.REPLICA_ALIASES:
        assert between(found[f"db.{alias}.lag"], before.lag, after.lag)
    assert found["haproxy.app1.status"] == "UP" and found["haproxy.app2.status"] == "UP"
    # The page's own request is one of the sessions HAProxy has open while the page is made.
    assert number(found["haproxy.app1.sessions"]) + number(found["haproxy.app2.sessions"]) >= 1
    for server in ("app1", "app2"):
        rtime = int(before.haproxy[server]["rtime"]), int(after.haproxy[server]["rtime"])
        assert between(found[f"haproxy.{server}.resp_ms"], *rtime)
    # The kernel updates the load average every five seconds: the page's reading is one of ours.
    assert between(found["host.this machine.load1"], before.load1, after.load1, 0.01)
    assert 0 <= number(found["host.this machine.cpu_busy"]) <= 100
    assert number(found["redis.redis.clients"]) >= 1
    assert between(found["tasks.queue.queued"], before.queued, after.queued)

    # Latency per view: the histogram of the app server that made the page, all its workers.
    server = headers["X-Pownce-Server"]
    scraped = parse(get(f"http://127.0.0.1:{APP_PORTS[int(server.removeprefix('app')) - 1]}/metrics")[1])
    served = total(scraped, "pownce_http_request_duration_seconds_count", view="public")
    assert number(found["latency.public.count"]) == served >= 1
    assert 0 < number(found["latency.public.p50"]) <= number(found["latency.public.p99"])
    assert f"Request latency per view ({server}, since it started)" in page

    index = get(HAPROXY + "/admin/", cookie=session_cookie(staff))[1]
    assert 'href="/admin/status/"' in index


def test_status_page_is_for_staff_only(client, staff):
    assert client.get("/admin/status/").status_code == 302  # to the admin's log-in page
    client.force_login(User.objects.create_user(username="member", password="correct-horse-9"))
    assert client.get("/admin/status/").status_code == 302
    client.force_login(staff)
    assert client.get("/admin/status/").status_code == 200


def test_status_page_charts_the_samples_of_the_last_hour(client, staff):
    status.clear()
    for _ in range(3):
        call_command("sample_status", stdout=io.StringIO())
    samples = status.history()
    assert len(samples) == 3 and all("memcached" in sample for sample in samples)
    client.force_login(staff)
    page = client.get("/admin/status/").content.decode()
    # One chart per charted figure and row, each a line through the samples.
    assert page.count("<polyline") >= len(settings.MEMCACHED_SERVERS) * 2 + len(settings.DATABASES)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from another site
