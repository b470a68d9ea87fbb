"""`make bench`: measure Pownce through HAProxy on its own stack and print one table.

Run with the virtualenv's python from the repository root (the Makefile does)::

    .venv/bin/python deploy/bench.py          # everything, including the 1M-note step
    BENCH_QUICK=1 .venv/bin/python deploy/bench.py   # skip the 1M-note step

What it does, printing each step:

1. Starts the bench stack (``deploy/stack.sh --profile bench up``: ports of its own, data and logs
   under var/bench/, app servers with ``POWNCE_BENCH_VIEWS=1``), restarting the app servers so
   they run the code as it is now. A database left with more than ``BENCH_NOTES`` notes by an
   earlier full run is dropped and re-created first.
2. Seeds ``BENCH_USERS`` demo people and ``BENCH_NOTES`` notes (``manage.py seed_demo``; seeding
   writes straight to the database, so memcached is flushed after it), waits for the replica.
3. Logs a demo person in through HAProxy (CSRF and all) and keeps the session cookie.
4. For each page: warms it, reads its cost headers (``X-Pownce-SQL``, ``X-Pownce-Cache-Calls``,
   see demo/bench.py), then runs ``wrk`` (``BENCH_WRK``, default ``-t2 -c16 -d10s``) and keeps
   req/s and the 50%/99% latencies. ``home-304`` is the home page revisited by a browser that
   holds it (``If-None-Match`` with its ETag): answered 304, nothing rendered or sent.
   ``profile-other`` is the note's author's profile as the reader sees it (a signed-in
   non-author).
5. The memcached hit rate over step 4 (``stats`` of both servers), also per key prefix.
6. DB reads per invalidation of one hot key under 32 concurrent readers
   (``manage.py bench_hot_key``).
6b. Posting: a note by someone with no fans and by someone with 5,000 (``manage.py
   bench_audience``), through HAProxy: request p50, and the time until every inbox holds it
   (deploy/bench_posting.py).
6c. The mixed workload (deploy/bench_mixed.py): 2,000 signed-in people reading and writing
   through HAProxy for ``MIXED_SECONDS`` (60) with locust; ``MIXED_SECONDS=0`` skips it.
7. Unless ``BENCH_QUICK=1``: tops the notes up to ``BENCH_NOTES_LARGE`` (1,000,000), flushes
   memcached, and measures the home stream (cached and plain ORM) again.

The figures go to var/bench/latest.json and a timestamped copy. Missed targets are reported
(MISSED), not failed: the script fails only when something is broken (a page does not answer
200, wrk gets errors, a command fails).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import bench_inbox
import bench_mixed
import bench_posting
from benchlib import (
    ROOT,
    STACK,
    VAR,
    Broken,
    app_env,
    cookies,
    flush_memcached,
    log_in,
    manage,
    memcached_counts,
    mysql_root,
    profile,
    request,
    run,
    step,
    stored_notes,
    wait_for_replica,
)

USERS = int(os.environ.get("BENCH_USERS", "2000"))
NOTES = int(os.environ.get("BENCH_NOTES", "10000"))
NOTES_LARGE = int(os.environ.get("BENCH_NOTES_LARGE", "1000000"))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
WRK = os.environ.get("BENCH_WRK", "-t2 -c16 -d10s").split()
# Warming a page: this many requests, or as many as fit in WARM_SECONDS (at least 5), for the
# plain-ORM page at 1M notes takes seconds per request.
WARM_REQUESTS = 40
WARM_SECONDS = 15
# wrk's own default (2 s) would count the slowest pages' answers as errors.
WRK_TIMEOUT = "60s"
HOT_KEY_READERS = 32
HOT_KEY_ROUNDS = 10
POSTING_FANS = 5000

TARGETS = {
    "home_vs_hello_auth": 0.60,  # warm home req/s >= 60% of the authenticated hello's
    "public_vs_hello_auth": 0.60,  # the same for the public stream, a note page, a profile
    "note_vs_hello_auth": 0.60,
    "profile_vs_hello_auth": 0.60,
    "api_home_vs_hello_auth": 0.60,  # the API's home timeline (GET /api/v1/timelines/home)
    "home_vs_home_orm": 3.0,  # warm home req/s >= 3x the plain-ORM baseline's
    "p50_1m_over_10k": 1.2,  # home p50 at 1M notes <= 1.2x the one at 10k
    "hot_key_db_reads": 2.0,  # <= 2 DB reads per invalidation of a hot key
}


def warm(port: str, path: str, cookie: str, headers: dict) -> tuple[float, float]:
    """Request ``path`` until it is warm; return its cost headers (median of the last requests)."""
    sql, calls = [], []
    deadline = time.monotonic() + WARM_SECONDS
    expected = 304 if "If-None-Match" in headers else 200
    while len(sql) < WARM_REQUESTS and (len(sql) < 5 or time.monotonic() < deadline):
        response, _ = request(port, "GET", path, cookie=cookie, extra=headers)
        if response.status != expected:
            raise Broken(f"GET {path} answered {response.status}, not {expected}")
        if response.getheader("X-Pownce-SQL") is None:
            raise Broken(f"GET {path} has no X-Pownce-SQL header: are the bench views on?")
        sql.append(int(response.getheader("X-Pownce-SQL")))
        calls.append(int(response.getheader("X-Pownce-Cache-Calls")))
    tail = max(1, len(sql) // 2)
    return statistics.median(sql[-tail:]), statistics.median(calls[-tail:])


def to_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port: str, path: str, cookie: str, headers: dict) -> dict:
    command = ["wrk", *WRK, "--timeout", WRK_TIMEOUT, "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = run([*command, f"http://127.0.0.1:{port}{path}"], capture=True)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not (rps and total and "50" in latency and "99" in latency):
        raise Broken(f"cannot read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    )
    if errors > 0.01 * int(total.group(1)):
        raise Broken(f"{errors} of {total.group(1)} requests to {path} failed:\n{output}")
    return {
        "rps": round(float(rps.group(1)), 1),
        "p50_ms": round(to_ms(latency["50"]), 2),
        "p99_ms": round(to_ms(latency["99"]), 2),
        "errors": errors,
    }


def measure(port: str, name: str, path: str, cookie: str, headers: dict | None = None) -> dict:
    sql, calls = warm(port, path, cookie, headers or {})
    row = {"name": name, "path": path, **wrk(port, path, cookie, headers or {})}
    row["sql_per_request"] = sql
    row["memcached_calls_per_request"] = calls
    print(
        f"   {name:<14} {row['rps']:>8.1f} req/s  p50 {row['p50_ms']:>7.2f} ms  p99 {row['p99_ms']:>7.2f} ms"
        f"  sql {sql:g}  memcached {calls:g}",
        flush=True,
    )
    return row


# --- the run --------------------------------------------------------------------------------

PICK = """
import json
from django.db.models import Count
from accounts.models import User
from notes import partitioning
from notes.models import Note
from demo.management.commands.seed_demo import DEMO_EMAIL_DOMAIN
people = User.objects.using("default").filter(email__endswith="@" + DEMO_EMAIL_DOMAIN).order_by("pk")
# Someone ordinary (not one of the few popular people) whose inbox fills a page several times.
person = None
for user in people[10:400]:
    if len(partitioning.inbox_note_ids(user.pk, limit=60, using="default")) >= 60:
        person = user
        break
person = person or people[10]
public = Note.objects.using("default").public().order_by("-pk")[:2000]
note = (Note.objects.using("default").filter(pk__in=list(public.values_list("pk", flat=True)))
        .annotate(n=Count("replies")).order_by("-n", "-pk").first())
print(json.dumps({"username": person.username, "note": note.pk, "author": note.author.username,
                  "notes": Note.objects.using("default").count()}))
"""


# A read-only API token for the reader, as a client that went through the OAuth flow holds.
API_TOKEN = """
import secrets, sys
from datetime import timedelta
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from accounts.models import User
reader = User.objects.using("default").get(username=sys.argv[-1])
app, _ = Application.objects.get_or_create(name="bench", defaults={
    "client_type": Application.CLIENT_CONFIDENTIAL, "redirect_uris": "http://127.0.0.1/bench",
    "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE})
raw = secrets.token_urlsafe(32)
AccessToken.objects.create(user=reader, application=app, token=raw, scope="read",
                           expires=timezone.now() + timedelta(days=1))
print(raw)
"""


def api_token(env: dict, username: str) -> str:
    script = API_TOKEN.replace("sys.argv[-1]", json.dumps(username))
    return manage(env, "shell", "-c", script, capture=True).strip().splitlines()[-1]


def seed(env: dict, notes: int, memcached_ports: list[str]) -> None:
    started = time.monotonic()
    manage(env, "seed_demo", "--users", str(USERS), "--notes", str(notes))
    print(f"   seeded in {time.monotonic() - started:.0f} s; waiting for the replica", flush=True)
    wait_for_replica()
    print(f"   replica caught up {time.monotonic() - started:.0f} s after seeding began", flush=True)
    # seed_demo writes with bulk inserts, which invalidate nothing: start from an empty cache.
    flush_memcached(memcached_ports)


def stack_seeded() -> dict:
    """For a step run on its own (the mixed load, a profile): the bench stack up, its app servers
    restarted on the current code, and seeded when it holds fewer than NOTES notes. Returns the
    app environment."""
    step("bench stack (deploy/stack.sh --profile bench)")
    run([*STACK, "down", "web", "worker"])  # app servers and the task worker run the code as it is now
    run([*STACK, "up"])
    env = app_env()
    if stored_notes() < NOTES:
        step(f"seed: {USERS} people, {NOTES} notes")
        seed(env, NOTES, profile()["memcached"].split())
    return env


def main() -> dict:
    ports = profile()
    memcached_ports = ports["memcached"].split()
    haproxy = ports["haproxy"]

    step("bench stack (deploy/stack.sh --profile bench)")
    run([*STACK, "up", "data"])
    env = app_env()
    # The seeded deliveries sit where that run's INBOX_SHARDS put them: another layout starts over.
    layout = VAR / "inbox-shards"
    same_layout = layout.exists() and layout.read_text().strip() == str(bench_inbox.inbox_shards())
    if stored_notes() > NOTES or not same_layout:
        print("   notes left by an earlier run (or another inbox layout): dropping the bench database", flush=True)
        run([*STACK, "down", "web", "worker"])  # nothing writes to the database being dropped
        mysql_root("primary", "DROP DATABASE IF EXISTS pownce")
        bench_inbox.drop_databases()
        run([*STACK, "up", "data"])
    VAR.mkdir(parents=True, exist_ok=True)
    layout.write_text(f"{bench_inbox.inbox_shards()}\n")
    run([*STACK, "down", "web", "worker"])  # app servers and the task worker run the code as it is now
    run([*STACK, "up"])

    step(f"seed: {USERS} people, {NOTES} notes")
    seed(env, NOTES, memcached_ports)
    picked = json.loads(manage(env, "shell", "-c", PICK, capture=True).strip().splitlines()[-1])
    username, note_id = picked["username"], picked["note"]
    print(f"   reading as {username}; note page /notes/{note_id}/", flush=True)

    step("log in through HAProxy")
    cookie = log_in(haproxy, username)

    # A browser that has been on the site holds the CSRF cookie besides the session (the pages'
    # forms carry a token of it); holding the home page, it sends the page's ETag back.
    response, _ = request(haproxy, "GET", "/", cookie=cookie)
    browser = f"{cookie}; csrftoken={cookies(response).get('csrftoken', '')}"
    response, _ = request(haproxy, "GET", "/", cookie=browser)
    etag = response.getheader("ETag")
    if not etag:
        raise Broken("GET / carries no ETag")
    pages = [
        ("hello", "/bench/hello", "", None),
        ("hello-auth", "/bench/hello-auth", browser, None),
        ("home", "/", browser, None),
        ("home-304", "/", browser, {"If-None-Match": etag}),
        ("home-orm", "/bench/home-orm", browser, None),
        ("public", "/public/", browser, None),
        ("note", f"/notes/{note_id}/", browser, None),
        ("profile", f"/{username}/", browser, None),
        ("profile-other", f"/{picked['author']}/", browser, None),
        # The same stream through the client API, by bearer token (no session, no cookie), asking
        # for gzip as client libraries do (requests, and so Mastodon.py, by default).
        (
            "api-home",
            "/api/v1/timelines/home",
            "",
            {"Authorization": f"Bearer {api_token(env, username)}", "Accept-Encoding": "gzip, deflate"},
        ),
    ]
    step(f"wrk {' '.join(WRK)} through HAProxy, {picked['notes']} notes")
    before = memcached_counts(memcached_ports)
    rows = [measure(haproxy, name, path, page_cookie, headers) for name, path, page_cookie, headers in pages]
    after = memcached_counts(memcached_ports)
    hits = after["get_hits"] - before["get_hits"]
    misses = after["get_misses"] - before["get_misses"]
    by_prefix = {}
    for name in after:
        if name.endswith(":get"):
            prefix = name[: -len(":get")]
            gets = after[name] - before.get(name, 0)
            if gets:
                by_prefix[prefix] = round((after[f"{prefix}:hit"] - before.get(f"{prefix}:hit", 0)) / gets, 4)

    step(f"hot key: {HOT_KEY_READERS} readers, {HOT_KEY_ROUNDS} invalidations")
    hot = json.loads(
        manage(
            env,
            "bench_hot_key",
            "--readers",
            str(HOT_KEY_READERS),
            "--rounds",
            str(HOT_KEY_ROUNDS),
            "--note",
            str(note_id),
            capture=True,
        )
        .strip()
        .splitlines()[-1]
    )
    print(f"   DB reads per invalidation: {hot['db_reads']} -> {hot['db_reads_per_invalidation']}", flush=True)

    posting = bench_posting.measure(env, haproxy, POSTING_FANS)
    inbox_rows = bench_inbox.measure(env, haproxy, POSTING_FANS)
    mixed = bench_mixed.measure(env) if bench_mixed.SECONDS > 0 else {"rows": []}

    large_rows = []
    if not QUICK:
        step(f"top up to {NOTES_LARGE} notes")
        seed(env, NOTES_LARGE, memcached_ports)
        step(f"wrk {' '.join(WRK)} through HAProxy, {stored_notes()} notes")
        for name, path in (("home", "/"), ("home-orm", "/bench/home-orm")):
            large_rows.append(measure(haproxy, f"{name}@1m", path, browser))

    by_name = {row["name"]: row for row in rows}
    home, hello_auth, home_orm = by_name["home"], by_name["hello-auth"], by_name["home-orm"]
    home_1m = next((row for row in large_rows if row["name"] == "home@1m"), None)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "wrk": " ".join(WRK),
        "users": USERS,
        "notes": picked["notes"],
        "reader": username,
        "rows": rows,
        "rows_1m": large_rows,
        "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
        "hit_rate_by_prefix": by_prefix,
        "memcached_gets": {"hits": hits, "misses": misses},
        "home_p50_ms_10k": home["p50_ms"],
        "home_p50_ms_1m": home_1m["p50_ms"] if home_1m else None,
        "hot_key_db_reads_per_invalidation": hot["db_reads_per_invalidation"],
        "hot_key": hot,
        "posting": posting,
        "inbox": inbox_rows,
        "post_p50_ms_0_fans": posting[0]["request_p50_ms"],
        f"post_p50_ms_{POSTING_FANS}_fans": posting[1]["request_p50_ms"],
        f"delivered_p50_ms_{POSTING_FANS}_fans": posting[1]["delivered_p50_ms"],
    }
    result["rows"] += mixed.pop("rows")
    result.update(mixed)  # mixed_stale_reads and the mixed step's other figures
    ratios = {
        "home_vs_hello_auth": home["rps"] / hello_auth["rps"],
        "public_vs_hello_auth": by_name["public"]["rps"] / hello_auth["rps"],
        "note_vs_hello_auth": by_name["note"]["rps"] / hello_auth["rps"],
        "profile_vs_hello_auth": by_name["profile"]["rps"] / hello_auth["rps"],
        "api_home_vs_hello_auth": by_name["api-home"]["rps"] / hello_auth["rps"],
        "home_vs_home_orm": home["rps"] / home_orm["rps"],
        "p50_1m_over_10k": home_1m["p50_ms"] / home["p50_ms"] if home_1m else None,
        "hot_key_db_reads": hot["db_reads_per_invalidation"],
    }
    at_most = {"p50_1m_over_10k", "hot_key_db_reads"}
    result["targets"] = {
        name: {
            "target": (f"<= {TARGETS[name]}" if name in at_most else f">= {TARGETS[name]}"),
            "value": round(value, 3) if value is not None else None,
            "met": None if value is None else (value <= TARGETS[name] if name in at_most else value >= TARGETS[name]),
        }
        for name, value in ratios.items()
    }
    return result


def report(result: dict) -> None:
    step("results")
    header = f"{'page':<14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'sql/req':>8} {'memcached/req':>14}"
    print(header)
    print("-" * len(header))
    for row in [row for row in result["rows"] if not row["name"].startswith("mixed")] + result["rows_1m"]:
        print(
            f"{row['name']:<14} {row['rps']:>9.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
            f" {row['sql_per_request']:>8g} {row['memcached_calls_per_request']:>14g}"
        )
    print()
    print(f"memcached hit rate        {result['hit_rate']}  (by key prefix: {result['hit_rate_by_prefix']})")
    print(f"home p50 at 10k notes     {result['home_p50_ms_10k']} ms")
    large = result["home_p50_ms_1m"]
    print(f"home p50 at 1M notes      {'skipped (BENCH_QUICK)' if large is None else f'{large} ms'}")
    print(f"hot key DB reads/inval.   {result['hot_key_db_reads_per_invalidation']}")
    for row in result["posting"] + result.get("inbox", []):
        print(
            f"{row['name']:<25} request p50 {row['request_p50_ms']} ms,"
            f" in every inbox (p50) {row['delivered_p50_ms']} ms"
        )
    bench_mixed.report(result)
    print()
    for name, target in result["targets"].items():
        state = "skipped" if target["met"] is None else ("met" if target["met"] else "MISSED")
        print(f"target {name:<22} {target['target']:<7} value {target['value']}  {state}")


def save(result: dict) -> Path:
    VAR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    stamped = VAR / f"bench-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    stamped.write_text(text)
    (VAR / "latest.json").write_text(text)
    return stamped


if __name__ == "__main__":
    try:
        outcome = main()
    except Broken as exc:
        print(f"\nbench failed: {exc}", file=sys.stderr)
        sys.exit(1)
    report(outcome)
    print(f"\nsaved {save(outcome).relative_to(ROOT)} and var/bench/latest.json")
