"""The staff status page in the admin: real figures from the running stack, charts of the hour."""

from __future__ import annotations

import io
import re
import time

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import User
from pownce import status
from tests.pownce.metrics_helpers import figures, get, session_cookie, wait_for_app_servers_up
from tests.stack import HAPROXY

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


@pytest.fixture
def staff():
    return User.objects.create_user(username="operator", password="correct-horse-9", is_staff=True)


def number(value: str) -> float:
    return float(value)  # raises on "" (no figure) or text


def test_status_page_through_haproxy_shows_the_running_stack(web_stack, staff):
    wait_for_app_servers_up()
    # A fresh sample to measure from: an older one may predate a server restarted by another
    # test, and a counter that went backwards gives no rate.
    call_command("sample_status", stdout=io.StringIO())
    time.sleep(1.1)  # the page compares with stored samples at least a second old
    for _ in range(4):  # some memcached traffic to measure
        assert get(HAPROXY + "/public/")[0] == 200
    code, page, _ = get(HAPROXY + "/admin/status/", cookie=session_cookie(staff))
    assert code == 200, page[:500]
    found = figures(page)

    for address in settings.MEMCACHED_SERVERS:
        assert address in page
        assert 0 <= number(found[f"memcached.{address}.hit_rate_total"]) <= 100
        assert number(found[f"memcached.{address}.mb_used"]) >= 0
        assert number(found[f"memcached.{address}.evictions"]) >= 0
    for alias in settings.DATABASES:
        assert number(found[f"db.{alias}.qps"]) > 0  # the page's own queries at least
    for alias in settings.REPLICA_ALIASES:
        assert number(found[f"db.{alias}.lag"]) >= 0
    assert found["haproxy.app1.status"] == "UP" and found["haproxy.app2.status"] == "UP"
    assert number(found["haproxy.app1.sessions"]) >= 0 and number(found["haproxy.app2.resp_ms"]) >= 0
    assert number(found["host.this machine.load1"]) >= 0
    assert 0 <= number(found["host.this machine.cpu_busy"]) <= 100
    assert number(found["redis.redis.clients"]) >= 1
    assert number(found["tasks.queue.queued"]) >= 0

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
