"""`make profile PAGE=/`: where one app server's time goes on a page, as a flame graph.

Run with the virtualenv's python from the repository root (the Makefile does)::

    PAGE=/ .venv/bin/python deploy/profile.py
    PAGE=/public/ PROFILE_SECONDS=30 .venv/bin/python deploy/profile.py

On the bench stack (deploy/profiles/bench.env; started, its app servers restarted on the
current code, and seeded like `make bench` if it has fewer than ``BENCH_NOTES`` notes): logs an
ordinary demo person in through HAProxy, warms the page, then loads it with ``wrk``
(``PROFILE_WRK``, ``-t2 -c8`` by default) through HAProxy with that person's session cookie
while ``py-spy record`` samples one gunicorn worker of the first app server for
``PROFILE_SECONDS`` (20) at ``PROFILE_RATE`` (100) samples a second. Only samples of the worker
at work count (py-spy leaves idle stacks out), so the graph shows where a request's time goes,
not how busy the worker was.

The flame graph goes to var/bench/profile-NAME-TIMESTAMP.svg and var/bench/profile-NAME.svg
(NAME from the page: ``home`` for ``/``). py-spy reads the worker's memory with ptrace: run as
root, or with CAP_SYS_PTRACE.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import bench
from benchlib import ROOT, VAR, Broken, log_in, manage, profile, request, run, step

PAGE = os.environ.get("PAGE", "/") or "/"
SECONDS = int(os.environ.get("PROFILE_SECONDS", "20"))
RATE = int(os.environ.get("PROFILE_RATE", "100"))
WRK = os.environ.get("PROFILE_WRK", "-t2 -c8").split()
PY_SPY = str(ROOT / ".venv" / "bin" / "py-spy")
WARM_REQUESTS = 20


def page_name(page: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", page).strip("-")
    return name or "home"


def worker_pid(server: str) -> int:
    """One gunicorn worker of ``server`` (app1 …): a child of its master (var/bench/run/)."""
    master = (VAR / "run" / f"{server}.pid").read_text().strip()
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if not children:
        raise Broken(f"the gunicorn of {server} (pid {master}) has no workers")
    return int(children[0])


def main() -> Path:
    if not PAGE.startswith("/"):
        raise Broken(f"PAGE must be a path on the site, such as / or /public/, not {PAGE!r}")
    ports = profile()
    env = bench.stack_seeded()
    picked = json.loads(manage(env, "shell", "-c", bench.PICK, capture=True).strip().splitlines()[-1])
    step(f"log in as {picked['username']} through HAProxy; warm {PAGE}")
    cookie = log_in(ports["haproxy"], picked["username"])
    for _ in range(WARM_REQUESTS):
        response, _ = request(ports["haproxy"], "GET", PAGE, cookie=cookie)
        if response.status != 200:
            raise Broken(f"GET {PAGE} answered {response.status}")

    pid = worker_pid("app1")
    name = page_name(PAGE)
    stamped = VAR / f"profile-{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.svg"
    step(f"py-spy on worker {pid} of app1 for {SECONDS} s while wrk {' '.join(WRK)} loads {PAGE}")
    url = f"http://127.0.0.1:{ports['haproxy']}{PAGE}"
    load = subprocess.Popen(
        ["wrk", *WRK, f"-d{SECONDS + 4}s", "--timeout", "30s", "-H", f"Cookie: {cookie}", url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)  # let wrk's connections open first: the graph is of requests, not of waiting
        run(
            [
                PY_SPY,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(SECONDS),
                "--rate",
                str(RATE),
                "--nolineno",
                "--output",
                str(stamped),
            ]
        )
    finally:
        output, _ = load.communicate(timeout=SECONDS + 60)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    print(f"   wrk: {rps.group(1) if rps else '?'} req/s through HAProxy during the profile", flush=True)
    # The graph's title is py-spy's command line: name paths from the repository, not this machine.
    stamped.write_text(stamped.read_text().replace(f"{ROOT}/", ""))
    latest = VAR / f"profile-{name}.svg"
    shutil.copyfile(stamped, latest)
    return latest


if __name__ == "__main__":
    try:
        saved = main()
    except Broken as exc:
        print(f"\nprofile failed: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"\nflame graph: {saved.relative_to(ROOT)} ({saved.stat().st_size // 1024} KiB); open it in a browser")
