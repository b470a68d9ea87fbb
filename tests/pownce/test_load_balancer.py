"""HAProxy in front of two gunicorn app servers, started by deploy/stack.sh (test profile)."""

import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections import Counter

import pytest

from tests.stack import HAPROXY, run_dir

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]

def fetch(path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(HAPROXY + path, timeout=10) as response:
            return response.status, response.headers.get("X-Pownce-Server", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("X-Pownce-Server", "")
    except OSError as error:
        return 0, repr(error)


def kill_app_server(name: str) -> None:
    """kill -9 the gunicorn master and its workers: the whole app server dies at once."""
    master = int((run_dir() / f"{name}.pid").read_text())
    workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    for pid in [master, *map(int, workers)]:
        os.kill(pid, signal.SIGKILL)


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
