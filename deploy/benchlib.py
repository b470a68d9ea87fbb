"""Helpers shared by the benchmark scripts (deploy/bench.py, deploy/bench_posting.py): running
commands, the bench stack's MariaDB and memcached, and plain HTTP through HAProxy."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACK = ["bash", str(ROOT / "deploy" / "stack.sh"), "--profile", "bench"]
VAR = ROOT / "var" / "bench"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DEMO_PASSWORD = "pownce-demo"  # demo/management/commands/seed_demo.py


class Broken(Exception):
    """Something does not work (as opposed to a target being missed)."""


def step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def run(command: list[str], *, env: dict | None = None, capture: bool = False) -> str:
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=capture)
    if result.returncode != 0:
        if capture:
            sys.stderr.write(result.stdout + result.stderr)
        raise Broken(f"{' '.join(command[:4])}… exited with {result.returncode}")
    return result.stdout if capture else ""


def profile() -> dict[str, str]:
    """The bench profile's variables (deploy/profiles/bench.env)."""
    script = '. deploy/profiles/bench.env; printf "%s\\n" "$HAPROXY_PORT" "$MEMCACHED_PORTS" "$PRIMARY_PORT"'
    haproxy, memcached, primary = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, text=True, capture_output=True, check=True
    ).stdout.splitlines()
    return {"haproxy": haproxy, "memcached": memcached, "primary": primary}


def app_env() -> dict[str, str]:
    env = dict(os.environ)
    for line in run([*STACK, "env"], capture=True).splitlines():
        name, _, value = line.partition("=")
        env[name] = value
    return env


def manage(env: dict, *args: str, capture: bool = False) -> str:
    return run([PYTHON, "manage.py", *args], env=env, capture=capture)


def mysql_root(instance: str, sql: str) -> str:
    command = [
        "mariadb",
        "--no-defaults",
        "--user=root",
        f"--socket={VAR / 'run' / f'{instance}.sock'}",
        "-N",
        "-e",
        sql,
    ]
    return subprocess.run(command, text=True, capture_output=True, check=True).stdout.strip()


def stored_notes() -> int:
    try:
        return int(mysql_root("primary", "SELECT COUNT(*) FROM pownce.notes_note"))
    except subprocess.CalledProcessError:  # no database or no table yet
        return 0


def wait_for_replica() -> None:
    position = mysql_root("primary", "SELECT @@gtid_binlog_pos")
    if position and mysql_root("replica", f"SELECT MASTER_GTID_WAIT('{position}', 600)") != "0":
        raise Broken(f"the replica did not reach {position}")


# --- memcached ------------------------------------------------------------------------------


def memcached(port: str, command: str) -> str:
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as conn:
        conn.sendall(command.encode() + b"\r\n")
        data = b""
        while not data.endswith((b"END\r\n", b"OK\r\n")):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode()


def memcached_counts(ports: list[str]) -> dict[str, int]:
    """get_hits / get_misses summed over the servers, and per key prefix ("stats detail")."""
    counts: dict[str, int] = {"get_hits": 0, "get_misses": 0}
    for port in ports:
        for line in memcached(port, "stats").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in counts:
                counts[parts[1]] += int(parts[2])
        for line in memcached(port, "stats detail dump").splitlines():
            # PREFIX o get 10 hit 9 set 1 del 0
            match = re.match(r"PREFIX (\S+) get (\d+) hit (\d+)", line)
            if match:
                prefix, gets, hits = match.group(1), int(match.group(2)), int(match.group(3))
                counts[f"{prefix}:get"] = counts.get(f"{prefix}:get", 0) + gets
                counts[f"{prefix}:hit"] = counts.get(f"{prefix}:hit", 0) + hits
    return counts


def flush_memcached(ports: list[str]) -> None:
    for port in ports:
        memcached(port, "flush_all")
        memcached(port, "stats detail on")


# --- HTTP -----------------------------------------------------------------------------------


def request(
    port: str, method: str, path: str, *, cookie: str = "", body: dict | None = None, extra: dict | None = None
):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    headers = {"Host": "127.0.0.1", **(extra or {})}
    if cookie:
        headers["Cookie"] = cookie
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    text = response.read().decode(errors="replace")
    conn.close()
    return response, text


def cookies(response) -> dict[str, str]:
    found = {}
    for header in response.msg.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def log_in(port: str, username: str) -> str:
    """Log ``username`` in through HAProxy; return the session cookie ("sessionid=…")."""
    response, page = request(port, "GET", "/login/")
    csrf_cookie = cookies(response).get("csrftoken")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if response.status != 200 or not csrf_cookie or not match:
        raise Broken(f"GET /login/ answered {response.status} without a CSRF token")
    response, _ = request(
        port,
        "POST",
        "/login/",
        cookie=f"csrftoken={csrf_cookie}",
        body={"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": match.group(1)},
    )
    session = cookies(response).get("sessionid")
    if response.status != 302 or not session:
        raise Broken(f"logging in as {username} answered {response.status} without a session")
    return f"sessionid={session}"
