"""`make bench`'s mixed workload: 2,000 signed-in people, 90 % reads and 10 % writes, through
HAProxy for ``MIXED_SECONDS`` (60) with locust (deploy/locustfile.py, headless, CSV output under
var/bench/mixed/).

deploy/bench.py calls :func:`measure` after its single-page steps; ``make bench-mixed`` runs
this file alone (``python deploy/bench_mixed.py``): it starts the bench stack, seeds it if it
has fewer than ``BENCH_NOTES`` notes, measures, and replaces the ``mixed`` figures of
var/bench/latest.json, leaving the other figures as they were.

What it reports (rows named ``mixed…`` in latest.json's ``rows``, the rest under ``mixed``):

* req/s over the run, and per kind of request its share, p50 and p99 (locust's CSV);
* SQL per request on the primary and on replicas, per kind (the ``X-Pownce-SQL-Primary`` and
  ``-Replica`` cost headers, demo/bench.py) and over all requests (``/metrics`` of every app
  server: ``pownce_sql_queries_total`` per alias over ``pownce_http_requests_total``);
* the cache hit rate by key type (``pownce_cache_lookups_total`` by kind: hit, miss, tombstone);
* memcached evictions during the run and in all (``stats``);
* the replica's lag when the load stops (``Seconds_Behind_Master``) and how long it then takes
  to apply everything the primary has (``MASTER_GTID_WAIT``);
* ``mixed_stale_reads``: reads that did not show a note or reply the load had been told was
  written — by its author at once, or by someone else after the staleness bound the router
  admits (``REPLICA_MAX_LAG`` + ``REPLICA_HEALTH_TTL``). It must be 0; ``MIXED_FAULT=phantom``
  makes the load announce writes that never happened, and then it is not.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchlib import ROOT, VAR, Broken, manage, memcached, mysql_root, run, step

SECONDS = int(os.environ.get("MIXED_SECONDS", "60"))
BROWSERS = int(os.environ.get("MIXED_USERS", "16"))
PEOPLE = int(os.environ.get("BENCH_USERS", "2000"))
LOCUST = str(ROOT / ".venv" / "bin" / "locust")
OUT = VAR / "mixed"
# More failed requests than this share (stale reads aside) means the run measured nothing useful.
MAX_ERROR_SHARE = 0.01
KINDS = ["home", "note", "profile", "public", "post", "reply", "star", "befriend", "note:own", "note:check"]


def bench_ports() -> dict[str, list[str]]:
    script = '. deploy/profiles/bench.env; printf "%s\\n" "$APP_PORTS" "$MEMCACHED_PORTS" "$HAPROXY_PORT"'
    apps, memcached_ports, haproxy = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, text=True, capture_output=True, check=True
    ).stdout.splitlines()
    offset = int(os.environ.get("GUNICORN_PORT_OFFSET", "1000"))  # deploy/stack.sh
    return {
        "gunicorn": [str(int(port) + offset) for port in apps.split()],
        "memcached": memcached_ports.split(),
        "haproxy": [haproxy],
    }


# --- what the servers counted ------------------------------------------------------------------


def scrape(gunicorn_ports: list[str]) -> dict[tuple, float]:
    """The app servers' /metrics counters, summed over servers: {(name, labels…): value}.
    Asked of each gunicorn directly: /metrics answers local callers only, not through a proxy."""
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {"pownce_cache_lookups_total", "pownce_sql_queries_total", "pownce_http_requests_total"}
    totals: dict[tuple, float] = {}
    for port in gunicorn_ports:
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        conn.request("GET", "/metrics", headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        if response.status != 200:
            raise Broken(f"/metrics on {port} answered {response.status}")
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in wanted:
                    key = (sample.name, *sorted(sample.labels.items()))
                    totals[key] = totals.get(key, 0) + sample.value
    return totals


def memcached_stats(ports: list[str]) -> dict[str, int]:
    names = {"evictions", "get_hits", "get_misses", "curr_items", "limit_maxbytes", "bytes"}
    found = dict.fromkeys(names, 0)
    for port in ports:
        for line in memcached(port, "stats").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in names:
                found[parts[1]] += int(parts[2])
    return found


def replica_lag() -> dict:
    """Seconds_Behind_Master now, then how long the replica takes to apply all the primary has."""
    status = subprocess.run(
        [
            "mariadb",
            "--no-defaults",
            "--user=root",
            f"--socket={VAR / 'run' / 'replica.sock'}",
            "-e",
            "SHOW SLAVE STATUS\\G",
        ],
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    behind = next(
        (line.split(":", 1)[1].strip() for line in status.splitlines() if "Seconds_Behind_Master" in line), "NULL"
    )
    position = mysql_root("primary", "SELECT @@gtid_binlog_pos")
    started = time.monotonic()
    reached = mysql_root("replica", f"SELECT MASTER_GTID_WAIT('{position}', 60)") == "0"
    return {
        "seconds_behind_master": None if behind == "NULL" else int(behind),
        "caught_up_ms": round((time.monotonic() - started) * 1000, 1) if reached else None,
    }


# --- the figures -------------------------------------------------------------------------------


def hit_rates(before: dict, after: dict) -> dict[str, dict]:
    """Per key type: lookups during the run and the share that were hits (tombstones: misses
    that found a recent invalidation)."""
    by_kind: dict[str, dict[str, float]] = {}
    for key, value in after.items():
        if key[0] != "pownce_cache_lookups_total":
            continue
        labels = dict(key[1:])
        delta = value - before.get(key, 0)
        if delta:
            by_kind.setdefault(labels["kind"], {})[labels["result"]] = delta
    rates = {}
    for kind, counts in sorted(by_kind.items(), key=lambda item: -sum(item[1].values())):
        total = sum(counts.values())
        rates[kind] = {
            "lookups": int(total),
            "hit_rate": round(counts.get("hit", 0) / total, 4),
            "tombstones": int(counts.get("tombstone", 0)),
        }
    return rates


def sql_by_alias(before: dict, after: dict) -> dict:
    def delta(name: str, **labels) -> float:
        total = 0.0
        for key, value in after.items():
            if key[0] == name and all(dict(key[1:]).get(k) == v for k, v in labels.items()):
                total += value - before.get(key, 0)
        return total

    requests = sum(
        after[key] - before.get(key, 0)
        for key in after
        if key[0] == "pownce_http_requests_total" and dict(key[1:]).get("view") not in ("healthz", "readyz", "metrics")
    )
    primary = delta("pownce_sql_queries_total", alias="default")
    replica = delta("pownce_sql_queries_total") - primary
    return {
        "requests": int(requests),
        "primary_per_request": round(primary / requests, 2) if requests else None,
        "replica_per_request": round(replica / requests, 2) if requests else None,
    }


def read_locust(prefix: Path, costs: dict) -> tuple[list[dict], dict]:
    rows, total = [], None
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for line in csv.DictReader(handle):
            name = line["Name"]
            count = int(line["Request Count"])
            row = {
                "name": "mixed" if name == "Aggregated" else f"mixed-{name}",
                "path": name,
                "requests": count,
                "failures": int(line["Failure Count"]),
                "rps": round(float(line["Requests/s"]), 1),
                "p50_ms": float(line["50%"] or 0),
                "p99_ms": float(line["99%"] or 0),
                "errors": int(line["Failure Count"]),
            }
            if name == "Aggregated":
                total = row
                continue
            responses, primary, replica, calls = costs.get(name, [0, 0, 0, 0])
            row["sql_primary_per_request"] = round(primary / responses, 2) if responses else None
            row["sql_replica_per_request"] = round(replica / responses, 2) if responses else None
            row["sql_per_request"] = round((primary + replica) / responses, 2) if responses else 0
            row["memcached_calls_per_request"] = round(calls / responses, 2) if responses else 0
            rows.append(row)
    if total is None or total["requests"] == 0:
        raise Broken(f"locust made no requests; see {prefix}_stats.csv")
    for row in rows:
        row["share"] = round(row["requests"] / total["requests"], 4)
    rows.sort(key=lambda row: KINDS.index(row["path"]) if row["path"] in KINDS else len(KINDS))
    responses = sum(c[0] for c in costs.values()) or 1
    total["sql_primary_per_request"] = round(sum(c[1] for c in costs.values()) / responses, 2)
    total["sql_replica_per_request"] = round(sum(c[2] for c in costs.values()) / responses, 2)
    total["sql_per_request"] = round(total["sql_primary_per_request"] + total["sql_replica_per_request"], 2)
    total["memcached_calls_per_request"] = round(sum(c[3] for c in costs.values()) / responses, 2)
    total["share"] = 1.0
    return [total, *rows], total


def staleness_bound(env: dict) -> float:
    code = "from django.conf import settings; print(settings.REPLICA_MAX_LAG + settings.REPLICA_HEALTH_TTL)"
    return float(manage(env, "shell", "-c", code, capture=True).strip().splitlines()[-1])


def measure(env: dict, fault: str = "") -> dict:
    """Run the mixed workload against the running bench stack; return its figures. ``fault``
    (``phantom``, only from ``make bench-mixed``) makes the load announce writes it never made."""
    ports = bench_ports()
    OUT.mkdir(parents=True, exist_ok=True)
    step(f"mixed workload: {PEOPLE} signed-in people, {BROWSERS} browsers, {SECONDS} s through HAProxy (locust)")
    plan = OUT / "plan.json"
    manage(env, "bench_people", "--users", str(PEOPLE), "--out", str(plan))
    bound = staleness_bound(env)
    result_file = OUT / "checks.json"
    result_file.unlink(missing_ok=True)
    locust_env = {
        **os.environ,
        "MIXED_PLAN": str(plan),
        "MIXED_OUT": str(result_file),
        "MIXED_STALE_BOUND": str(bound),
        "MIXED_FAULT": fault,
    }
    before_metrics, before_mc = scrape(ports["gunicorn"]), memcached_stats(ports["memcached"])
    command = [
        LOCUST,
        "-f",
        str(ROOT / "deploy" / "locustfile.py"),
        "--headless",
        "--users",
        str(BROWSERS),
        "--spawn-rate",
        str(BROWSERS),
        "--run-time",
        f"{SECONDS}s",
        "--host",
        f"http://127.0.0.1:{ports['haproxy'][0]}",
        "--csv",
        str(OUT / "locust"),
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    run(command, env=locust_env)
    lag = replica_lag()
    after_metrics, after_mc = scrape(ports["gunicorn"]), memcached_stats(ports["memcached"])
    checks = json.loads(result_file.read_text())
    rows, total = read_locust(OUT / "locust", checks["sql"])
    stale = checks["stale"]
    failures = total["failures"] - stale["stale"]
    if failures > MAX_ERROR_SHARE * total["requests"]:
        raise Broken(f"{failures} of {total['requests']} mixed requests failed; see {OUT}/locust_failures.csv")
    return {
        "rows": rows,
        "mixed_stale_reads": stale["stale"],
        "mixed": {
            "seconds": SECONDS,
            "browsers": BROWSERS,
            "people": PEOPLE,
            "fault": fault,
            "rps": total["rps"],
            "stale_checks": stale,
            "cache_hit_rate_by_kind": hit_rates(before_metrics, after_metrics),
            "sql_by_alias": sql_by_alias(before_metrics, after_metrics),
            "memcached_evictions": after_mc["evictions"] - before_mc["evictions"],
            "memcached_evictions_total": after_mc["evictions"],
            "memcached_items": after_mc["curr_items"],
            "memcached_bytes": after_mc["bytes"],
            "memcached_limit_bytes": after_mc["limit_maxbytes"],
            "replica_lag_at_end": lag,
        },
    }


def report(result: dict) -> None:
    mixed = result.get("mixed")
    if not mixed:
        return
    rows = [row for row in result["rows"] if row["name"].startswith("mixed")]
    print(f"\nmixed workload: {mixed['people']} people, {mixed['browsers']} browsers, {mixed['seconds']} s")
    header = f"{'request':<18} {'share':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'sql prim':>8} {'sql repl':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['name']:<18} {row['share']:>6.1%} {row['rps']:>7.1f} {row['p50_ms']:>8g} {row['p99_ms']:>8g}"
            f" {row['sql_primary_per_request']:>8g} {row['sql_replica_per_request']:>8g}"
        )
    print("cache hit rate by key type:")
    for kind, rate in mixed["cache_hit_rate_by_kind"].items():
        print(f"   {kind:<28} {rate['hit_rate']:>7.1%} of {rate['lookups']} lookups ({rate['tombstones']} tombstones)")
    sql = mixed["sql_by_alias"]
    print(
        f"SQL per request (/metrics)  primary {sql['primary_per_request']}, replica {sql['replica_per_request']}"
        f" over {sql['requests']} requests"
    )
    evictions, in_all = mixed["memcached_evictions"], mixed["memcached_evictions_total"]
    print(f"memcached evictions       {evictions} during the run ({in_all} in all)")
    lag = mixed["replica_lag_at_end"]
    print(f"replica lag at the end    {lag['seconds_behind_master']} s behind; caught up in {lag['caught_up_ms']} ms")
    checks = mixed["stale_checks"]
    print(
        f"stale reads               {result['mixed_stale_reads']}  ({checks['own_checks']} own reads right after"
        f" the write, {checks['shared_checks']} reads by others >= {checks['bound_s']} s after it;"
        f" {checks['errors']} errors)"
    )
    for example in checks["examples"][:3]:
        print(f"   stale: {example}")


def merge(result: dict) -> Path:
    """Replace the mixed figures of var/bench/latest.json (or start it) and save it. A run with
    a fault is no measurement: it goes to var/bench/mixed-fault.json instead."""
    if result["mixed"]["fault"]:
        saved = VAR / "mixed-fault.json"
        saved.write_text(json.dumps(result, indent=2) + "\n")
        return saved
    latest = VAR / "latest.json"
    saved = json.loads(latest.read_text()) if latest.exists() else {"rows": []}
    saved["rows"] = [row for row in saved.get("rows", []) if not row["name"].startswith("mixed")] + result["rows"]
    saved["mixed_stale_reads"] = result["mixed_stale_reads"]
    saved["mixed"] = result["mixed"]
    latest.write_text(json.dumps(saved, indent=2) + "\n")
    return latest


def main() -> dict:
    import bench

    env = bench.stack_seeded()
    return measure(env, fault=os.environ.get("MIXED_FAULT", ""))


if __name__ == "__main__":
    try:
        outcome = main()
    except Broken as exc:
        print(f"\nbench failed: {exc}", file=sys.stderr)
        sys.exit(1)
    report(outcome)
    print(f"\nsaved {merge(outcome).relative_to(ROOT)}")
