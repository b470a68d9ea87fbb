"""Driving the many-host cluster (deploy/cluster.sh) from the tests: whether this machine can run
it, its hosts and addresses, people made in its own database, HAProxy's view, the databases'
counters, and the figures each fault scenario reports (var/<profile>/cluster.json)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections import Counter

import MySQLdb

from tests.stack import PROFILE_NAME, ROOT

SCRIPT = ROOT / "deploy" / "cluster.sh"
INVENTORY = ROOT / "deploy" / "cluster" / "hosts.env"
SHARED = ROOT / "var" / "cluster"
PROGRAMS = ["ip", "tc", "mariadbd", "memcached", "redis-server", "haproxy", "nginx"]


def read_env(path) -> dict[str, str]:
    """``NAME=value`` lines of a shell file (values unquoted; multi-line values joined)."""
    out = subprocess.run(["bash", "-c", f'set -a; . "{path}"; env -0'], capture_output=True, check=True)
    return dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)


SETTINGS = read_env(INVENTORY)
# The cluster's data outlives a test run: what a run writes carries this run's mark.
RUN = uuid.uuid4().hex[:6]


def hosts(spec: str) -> dict[str, tuple[str, list[str]]]:
    """``{"app1": ("10.77.0.21", ["app", "memcached"]), …}`` from a HOSTS-style value."""
    out = {}
    for line in spec.split():
        name, _, rest = line.partition("=")
        address, _, roles = rest.partition(":")
        out[name] = (address, roles.split(","))
    return out


HOSTS = hosts(SETTINGS["HOSTS"])
SPARES = hosts(SETTINGS["SPARE_HOSTS"])


def live_hosts() -> dict[str, tuple[str, list[str]]]:
    """The hosts of the running cluster: the inventory's and those added since it came up."""
    path = SHARED / "hosts.live"
    return hosts(path.read_text()) if path.exists() else dict(HOSTS)


def spare(role: str) -> str | None:
    """A spare host with ``role`` not yet in the running cluster."""
    return next((name for name in with_role(role, SPARES) if name not in live_hosts()), None)


def with_role(role: str, table: dict | None = None) -> list[str]:
    return [name for name, (_, roles) in (table or HOSTS).items() if role in roles]


def address(name: str) -> str:
    return {**HOSTS, **SPARES}[name][0]


LB = f"http://{address(with_role('haproxy')[0])}:{SETTINGS['HAPROXY_PORT']}"
STATS = f"http://{address(with_role('haproxy')[0])}:{SETTINGS['HAPROXY_STATS_PORT']}"


def cannot_run() -> str | None:
    """Why this machine cannot run the cluster, or None. Checked for real: root, the programs,
    and a network namespace created and removed."""
    if os.geteuid() != 0:
        return "the cluster needs root: network namespaces, veth pairs and a bridge (ip netns)"
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if missing:
        return f"the cluster needs {', '.join(missing)} (deploy/install-packages.sh)"
    probe = f"{SETTINGS['NETNS_PREFIX']}probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"this machine does not allow network namespaces: ip netns add: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


def no_latency() -> str | None:
    """Why latency cannot be added to a host here, or None: tc's netem, or where the kernel has
    none, deploy/cluster/delay.py (which needs ethtool to turn offloads off)."""
    probe = f"{SETTINGS['NETNS_PREFIX']}probe"
    subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    try:
        added = subprocess.run(
            ["ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    if added.returncode != 0 and shutil.which("ethtool") is None:
        return f"no netem qdisc in this kernel ({added.stderr.strip()}) and no ethtool for deploy/cluster/delay.py"
    return None


def cluster(*args: str, timeout: float = 300) -> str:
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"cluster.sh {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def is_up() -> bool:
    return subprocess.run(["ip", "link", "show", SETTINGS["BRIDGE"]], capture_output=True).returncode == 0


def app_env() -> dict[str, str]:
    """The environment the cluster's app servers run with (app1's profile)."""
    profile = SHARED / "profiles" / f"cluster-{with_role('app')[0]}.env"
    out = subprocess.run(
        ["bash", str(ROOT / "deploy" / "stack.sh"), "--profile", str(profile), "env"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


PEOPLE = """
import json, os
import django
django.setup()
from django.conf import settings
from django.test import Client
from accounts.models import Fanship, User
prefix, count = os.environ["PEOPLE_PREFIX"], int(os.environ["PEOPLE_COUNT"])
users = [User.objects.create_user(f"{prefix}{i}", password="correct-horse-9") for i in range(count)]
for user in users[1:]:
    Fanship.objects.get_or_create(fan=users[0], idol=user)
out = []
for user in users:
    client = Client()
    client.force_login(user)
    out.append({"username": user.username,
                "cookies": {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}})
print(json.dumps(out))
"""


def people(count: int) -> list[dict]:
    """``count`` people in the cluster's own database, each signed in (a session cookie); the
    first is a fan of every other. Names are new on every run (the cluster's data persists)."""
    prefix = "c" + RUN + uuid.uuid4().hex[:4]
    env = {
        **os.environ,
        **app_env(),
        "DJANGO_SETTINGS_MODULE": "pownce.settings",
        "PEOPLE_PREFIX": prefix,
        "PEOPLE_COUNT": str(count),
        "POWNCE_TASKS_BACKEND": "",
    }
    env.pop("POWNCE_TEST_PROFILE", None)
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", PEOPLE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def sql(host: str, query: str, port_key: str = "PRIMARY_PORT") -> list[tuple]:
    """A query as the app's account, over the network, to ``host`` (a database host)."""
    conn = MySQLdb.connect(
        host=address(host),
        port=int(SETTINGS[port_key]),
        user=SETTINGS["DB_USER"],
        password=SETTINGS["DB_PASSWORD"],
        database=SETTINGS["DB_NAME"],
        connect_timeout=5,
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute(query)
            return list(cursor.fetchall())
    finally:
        conn.close()


def selects(host: str) -> int:
    """How many SELECTs a replica host has run."""
    ((_, value),) = sql(host, "SHOW GLOBAL STATUS LIKE 'Com_select'", "REPLICA_PORT")
    return int(value)


def notes_by_body(prefix: str) -> Counter:
    rows = sql(with_role("primary")[0], f"SELECT body FROM notes_note WHERE body LIKE '{prefix} %%'")
    return Counter(body for (body,) in rows)


def assert_every_acknowledged_post_once(writer) -> None:
    """Every post the client saw succeed is in the primary exactly once; none twice."""
    saved = notes_by_body(writer.prefix)
    assert [body for body, count in saved.items() if count > 1] == []
    assert [body for body in writer.acknowledged if body not in saved] == []


def haproxy_states() -> dict[str, dict[str, str]]:
    """HAProxy's own view of each app server (its stats page, CSV)."""
    with urllib.request.urlopen(f"{STATS}/;csv", timeout=5) as response:
        text = response.read().decode()
    rows = csv.DictReader(io.StringIO(text.removeprefix("# ")))
    return {
        row["svname"]: row
        for row in rows
        if row["pxname"] == "app_servers" and row["svname"] not in ("FRONTEND", "BACKEND")
    }


def all_up(names: list[str] | None = None) -> bool:
    states = haproxy_states()
    return all(states.get(name, {}).get("status") == "UP" for name in (names or list(states)))


def down_components() -> list[str]:
    """The lines of ``cluster.sh status`` that say a component of a host is DOWN."""
    return [line.strip() for line in cluster("status").splitlines() if "DOWN" in line]


def report(scenario: str, **figures) -> None:
    """Keep the scenario's figures in var/<profile>/cluster.json (quoted in the README)."""
    path = ROOT / "var" / PROFILE_NAME / "cluster.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[scenario] = {**figures, "at": time.strftime("%Y-%m-%d %H:%M:%S")}
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    print(scenario, figures)
