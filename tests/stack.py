"""Helpers for tests that drive the real services `make test` started (deploy/stack.sh, test
profile): root access to the MariaDB instances, waiting for replication, starting and stopping
components."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import MySQLdb
from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parent.parent
# The profile `make test` started (deploy/profiles/NAME.env; `make test TEST_PROFILE=NAME`
# runs the suite on another profile's ports, e.g. two suites side by side).
PROFILE_NAME = os.environ.get("POWNCE_TEST_PROFILE", "test")


def read_profile(name: str) -> dict[str, str]:
    """The variables of ``deploy/profiles/NAME.env`` (simple ``NAME=value`` lines, shell quoting)."""
    values: dict[str, str] = {}
    for line in (ROOT / "deploy" / "profiles" / f"{name}.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, raw = line.partition("=")
            values[key] = " ".join(shlex.split(raw))
    return values


PROFILE = read_profile(PROFILE_NAME)
APP_PORTS = [int(port) for port in PROFILE["APP_PORTS"].split()]
MEMCACHED_PORTS = [int(port) for port in PROFILE["MEMCACHED_PORTS"].split()]
# HAProxy of the test profile, started by the web_stack fixture, and its stats page.
HAPROXY = f"http://127.0.0.1:{PROFILE['HAPROXY_PORT']}"
HAPROXY_STATS = f"http://127.0.0.1:{PROFILE['HAPROXY_STATS_PORT']}"


def run_dir() -> Path:
    return Path(settings.VAR_DIR) / "run"


def root_connection(instance: str) -> MySQLdb.Connection:
    """A root connection to ``primary`` or ``replica`` over its socket (the app user cannot
    change replication)."""
    conn = MySQLdb.connect(unix_socket=str(run_dir() / f"{instance}.sock"), user="root")
    conn.autocommit(True)
    return conn


def root_execute(instance: str, *statements: str) -> list[tuple]:
    conn = root_connection(instance)
    try:
        with conn.cursor() as cursor:
            rows: list[tuple] = []
            for statement in statements:
                cursor.execute(statement)
                rows = list(cursor.fetchall() or [])
            return rows
    finally:
        conn.close()


def wait_for_replica(timeout: float = 15) -> None:
    """Block until the replica has applied everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT @@gtid_binlog_pos")
        (position,) = cursor.fetchone()
    if not position:
        return
    (result,) = root_execute("replica", f"SELECT MASTER_GTID_WAIT('{position}', {timeout})")[0]
    assert result == 0, f"replica did not reach {position} within {timeout}s"


def set_replica_delay(seconds: int) -> None:
    root_execute("replica", "STOP SLAVE", f"CHANGE MASTER TO MASTER_DELAY={seconds}", "START SLAVE")


def stack(action: str, *components: str) -> str:
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "stack.sh"), "--profile", PROFILE_NAME, action, *components],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stack {action} {components} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def wait_until(predicate, timeout: float = 10, interval: float = 0.1, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
