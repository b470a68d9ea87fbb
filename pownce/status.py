"""The figures of the staff status page, sampled from the running stack.

:func:`take_sample` reads, once, everything the talk's "Measure" slide asks for — raw and
cumulative, as the sources give them:

* this machine: load average, CPU time (``/proc/stat``), disk traffic (``/proc/diskstats``);
* each database alias: ``SHOW GLOBAL STATUS`` (Questions, Threads_connected) and, for replicas,
  their replication state and lag (the router's health check, asked afresh);
* each memcached server: its ``stats`` (commands, hits, misses, evictions, bytes);
* Redis: ``INFO`` (commands processed, memory, clients);
* the task queue: its rows per status (pownce/task_queue.py);
* HAProxy: its stats CSV (``POWNCE_HAPROXY_STATS_URL`` + ``;csv``), one row per app server.

A source that cannot be reached gives ``{"error": …}`` instead of figures; sampling never
raises. Samples are kept for an hour (:func:`store`, :func:`history`) in Redis (in the local
stand-in under ``make run``); ``manage.py sample_status --every 15`` keeps taking them (deploy/
stack.sh starts it with the app servers) and the page adds one when it is loaded. Rates (QPS,
CPU %, bytes/s) are differences between two samples: see :mod:`pownce.admin_status`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connections

from pownce.router import PRIMARY, ReplicaState, health

logger = logging.getLogger("pownce.status")

SAMPLES_KEY = "pownce:status:samples"
WINDOW_SECONDS = 3600
# At most this many samples are kept: one every 5 s for the hour.
MAX_SAMPLES = WINDOW_SECONDS // 5
HAPROXY_BACKEND = "app_servers"
SOURCE_TIMEOUT = 1.0


def _guarded(read: Callable[[], Any], name: str = "") -> Any:
    try:
        return read()
    except Exception as exc:  # a status page reports a broken source, it does not break
        logger.info("status source %s failed: %s", name or read.__name__, exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


# --- this machine --------------------------------------------------------------------------
def read_host() -> dict[str, Any]:
    load = Path("/proc/loadavg").read_text().split()[:3]
    cpu_line = Path("/proc/stat").read_text().splitlines()[0].split()
    return {
        "name": os.uname().nodename,
        "load": [float(value) for value in load],
        "cpus": os.cpu_count() or 1,
        # user nice system idle iowait irq softirq steal, in clock ticks since boot
        "cpu": [int(value) for value in cpu_line[1:9]],
        "disk": read_disks(),
    }


def _physical_disks() -> set[str]:
    names = {path.name for path in Path("/sys/block").iterdir()} if Path("/sys/block").exists() else set()
    return {name for name in names if not name.startswith(("loop", "ram", "zram", "dm-", "md", "sr"))}


def read_disks() -> dict[str, int]:
    """Bytes read and written and milliseconds spent doing I/O, summed over whole disks."""
    disks = _physical_disks()
    read_bytes = write_bytes = io_ms = 0
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if len(fields) < 13 or fields[2] not in disks:
            continue
        read_bytes += int(fields[5]) * 512
        write_bytes += int(fields[9]) * 512
        io_ms += int(fields[12])
    return {"read_bytes": read_bytes, "write_bytes": write_bytes, "io_ms": io_ms}


# --- databases ------------------------------------------------------------------------------
def replica_state(alias: str, *, refresh: bool = False) -> ReplicaState:
    return health.state(alias, refresh=refresh)


def read_database(alias: str) -> dict[str, Any]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Threads_connected', 'Uptime')")
        values = {name: int(value) for name, value in cursor.fetchall()}
    figures: dict[str, Any] = {
        "questions": values.get("Questions", 0),
        "threads": values.get("Threads_connected", 0),
        "uptime": values.get("Uptime", 0),
    }
    if alias in settings.REPLICA_ALIASES or alias in settings.INBOX_REPLICA_ALIASES:
        state = replica_state(alias, refresh=True)
        figures.update(lag=state.lag, healthy=state.healthy, reason=state.reason)
    return figures


def read_databases() -> dict[str, Any]:
    if connections[PRIMARY].vendor != "mysql":
        return {"error": f"{connections[PRIMARY].vendor}: no server status to read"}
    return {alias: _guarded(lambda alias=alias: read_database(alias), alias) for alias in connections}


# --- memcached, Redis -------------------------------------------------------------------------
MEMCACHED_COMMANDS = (
    "cmd_get",
    "cmd_set",
    "cmd_touch",
    "cmd_flush",
    "delete_hits",
    "delete_misses",
    "incr_hits",
    "incr_misses",
    "decr_hits",
    "decr_misses",
    "cas_hits",
    "cas_misses",
    "cas_badval",
)


def read_memcached_node(address: str) -> dict[str, Any]:
    from pymemcache.client.base import Client

    host, _, port = address.rpartition(":")
    client = Client((host, int(port)), connect_timeout=SOURCE_TIMEOUT, timeout=SOURCE_TIMEOUT)
    try:
        raw = {key.decode(): value for key, value in client.stats().items()}
    finally:
        client.close()
    return {
        "commands": sum(int(raw.get(name, 0)) for name in MEMCACHED_COMMANDS),
        "get_hits": int(raw["get_hits"]),
        "get_misses": int(raw["get_misses"]),
        "evictions": int(raw["evictions"]),
        "bytes": int(raw["bytes"]),
        "limit_bytes": int(raw["limit_maxbytes"]),
        "items": int(raw["curr_items"]),
        "connections": int(raw["curr_connections"]),
    }


def read_memcached() -> dict[str, Any]:
    return {
        address: _guarded(lambda address=address: read_memcached_node(address), f"memcached {address}")
        for address in settings.MEMCACHED_SERVERS
    }


def read_redis() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"error": "no Redis configured (POWNCE_REDIS_URL)"}
    from django_redis import get_redis_connection

    info = get_redis_connection("redis").info()
    return {
        "commands": int(info["total_commands_processed"]),
        "ops_now": int(info["instantaneous_ops_per_sec"]),
        "memory": int(info["used_memory"]),
        "clients": int(info["connected_clients"]),
        "keyspace_hits": int(info.get("keyspace_hits", 0)),
        "keyspace_misses": int(info.get("keyspace_misses", 0)),
    }


# --- the task queue ---------------------------------------------------------------------------
def task_counts() -> dict[str, int] | None:
    """Task rows per status (``READY`` is the queue length; pownce/task_queue.py), or None when
    there is no database queue (the immediate backend of ``make run``) or it cannot be read."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return None
    from pownce import task_queue

    try:
        return task_queue.queue_figures()
    except Exception as exc:
        logger.info("task queue unreadable: %s", exc)
        return None


def read_tasks() -> dict[str, Any]:
    counts = task_counts()
    if counts is None:
        return {"error": "no database task queue"}
    return {"queued": counts.get("READY", 0), "running": counts.get("RUNNING", 0), "failed": counts.get("FAILED", 0)}


# --- HAProxy ---------------------------------------------------------------------------------
HAPROXY_FIELDS = ("status", "check_status", "scur", "stot", "rate", "hrsp_5xx", "rtime", "lastchg")


def read_haproxy() -> dict[str, Any]:
    """HAProxy's view of each app server: ``{"app1": {"status": "UP", "stot": …}, …}``."""
    url = settings.HAPROXY_STATS_URL
    if not url:
        return {"error": "POWNCE_HAPROXY_STATS_URL is not set"}
    with urllib.request.urlopen(url.rstrip("/") + "/;csv", timeout=SOURCE_TIMEOUT) as response:
        text = response.read().decode()
    servers: dict[str, Any] = {}
    for row in csv.DictReader(io.StringIO(text.removeprefix("# "))):
        if row.get("pxname") != HAPROXY_BACKEND:
            continue
        figures = {name: row.get(name, "") for name in HAPROXY_FIELDS}
        for name in ("scur", "stot", "rate", "hrsp_5xx", "rtime", "lastchg"):
            figures[name] = int(figures[name]) if figures[name].isdigit() else None
        servers["all (backend)" if row["svname"] == "BACKEND" else row["svname"]] = figures
    return servers


# --- samples -----------------------------------------------------------------------------------
def take_sample() -> dict[str, Any]:
    return {
        "t": time.time(),
        "host": _guarded(read_host),
        "db": _guarded(read_databases),
        "memcached": _guarded(read_memcached),
        "redis": _guarded(read_redis),
        "tasks": _guarded(read_tasks),
        "haproxy": _guarded(read_haproxy),
    }


def _redis_client():
    if not settings.REDIS_URL:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("redis")


def store(sample: dict[str, Any]) -> None:
    """Keep ``sample`` with the last hour's (a Redis list, trimmed to MAX_SAMPLES)."""
    client = _redis_client()
    if client is not None:
        pipe = client.pipeline()
        pipe.rpush(SAMPLES_KEY, json.dumps(sample))
        pipe.ltrim(SAMPLES_KEY, -MAX_SAMPLES, -1)
        pipe.expire(SAMPLES_KEY, WINDOW_SECONDS)
        pipe.execute()
        return
    local = caches["redis"]
    samples = local.get(SAMPLES_KEY, [])[-MAX_SAMPLES + 1 :]
    local.set(SAMPLES_KEY, [*samples, sample], WINDOW_SECONDS)


def history(now: float | None = None) -> list[dict[str, Any]]:
    """The samples of the last hour, oldest first."""
    now = time.time() if now is None else now
    client = _redis_client()
    try:
        if client is not None:
            samples = [json.loads(raw) for raw in client.lrange(SAMPLES_KEY, 0, -1)]
        else:
            samples = caches["redis"].get(SAMPLES_KEY, [])
    except Exception as exc:
        logger.info("status history unreadable: %s", exc)
        return []
    return sorted((s for s in samples if now - WINDOW_SECONDS <= s["t"] <= now + 1), key=lambda s: s["t"])


def clear() -> None:
    """Forget every stored sample."""
    client = _redis_client()
    if client is not None:
        client.delete(SAMPLES_KEY)
    else:
        caches["redis"].delete(SAMPLES_KEY)
