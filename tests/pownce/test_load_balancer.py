"""HAProxy in front of the app servers (nginx + gunicorn each), started by deploy/stack.sh (test profile)."""

import urllib.error
import urllib.request
from collections import Counter

import pytest

from tests.pownce.availability import kill_app_server
from tests.stack import HAPROXY

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


def fetch(path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(HAPROXY + path, timeout=10) as response:
            return response.status, response.headers.get("X-Pownce-Server", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("X-Pownce-Server", "")
    except OSError as error:
        return 0, repr(error)


def test_requests_are_spread_over_both_app_servers(web_stack):
    servers = Counter(fetch("/")[1] for _ in range(20))
    assert set(servers) == {"app1", "app2"}
    assert min(servers.values()) >= 5


def test_killing_an_app_server_mid_loop_loses_no_request(web_stack):
    results = []
    for i in range(200):
        if i == 50:
            kill_app_server("app1")
        results.append(fetch("/"))
    failures = [result for result in results if result[0] != 200]
    assert failures == []
    assert {server for _, server in results[:50]} == {"app1", "app2"}
    # The site keeps working on the survivor alone.
    assert {server for _, server in results[-50:]} == {"app2"}
    status, server = fetch("/readyz")
    assert (status, server) == (200, "app2")
