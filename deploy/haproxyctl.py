"""Talk to HAProxy's admin socket: what deploy/stack.sh needs for readiness and rolling restarts.

    haproxyctl.py SOCKET states                      name, status and current sessions per app server
    haproxyctl.py SOCKET wait-up [NAME ...] [--timeout S]    until each is UP (all app servers by default)
    haproxyctl.py SOCKET drain NAME [--timeout S]    take NAME out of rotation, wait until it has no sessions
    haproxyctl.py SOCKET ready NAME                  put NAME back in rotation
    haproxyctl.py SOCKET wait-healthy URL [--timeout S]   until URL answers 200 (a server, before `ready`)

Standard library only. Exits 1 with a message when a wait runs out.
"""

from __future__ import annotations

import argparse
import csv
import io
import socket
import sys
import time
import urllib.error
import urllib.request

BACKEND = "app_servers"


def command(path: str, line: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(path)
        sock.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def states(path: str) -> dict[str, dict[str, str]]:
    """``{"app1": {"status": "UP", "scur": "0", …}, …}`` for the servers of the app backend."""
    rows = csv.DictReader(io.StringIO(command(path, "show stat").removeprefix("# ")))
    return {
        row["svname"]: row for row in rows if row["pxname"] == BACKEND and row["svname"] not in ("FRONTEND", "BACKEND")
    }


def answers_200(url: str) -> bool:
    try:
        # The Host HAProxy's own check sends (an allowed host on every server).
        request = urllib.request.Request(url, headers={"Host": "127.0.0.1"})
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"haproxy: timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("action", choices=["states", "wait-up", "drain", "ready", "wait-healthy"])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    if args.action == "states":
        for name, row in states(args.socket).items():
            print(f"{name} {row['status']} sessions={row['scur']}")
    elif args.action == "wait-up":
        names = args.names or list(states(args.socket))

        def all_up() -> bool:
            current = states(args.socket)
            return all(current.get(name, {}).get("status") == "UP" for name in names)

        wait(all_up, args.timeout, f"{' '.join(names)} to be UP in HAProxy")
    elif args.action == "drain":
        (name,) = args.names
        # drain: no new request goes to it, requests already there finish. Only then maint: going
        # into maint stops a server the way a failed check does, and `on-marked-down
        # shutdown-sessions` would cut the requests still running there (a POST answered 502).
        command(args.socket, f"set server {BACKEND}/{name} state drain")
        wait(lambda: states(args.socket)[name]["scur"] == "0", args.timeout, f"{name} to finish its requests")
        command(args.socket, f"set server {BACKEND}/{name} state maint")
    elif args.action == "ready":
        (name,) = args.names
        # HAProxy 2.6 counts a server that leaves maint as UP at once, and a single failed check
        # then marks it DOWN (cutting its sessions): call this only once wait-healthy passed.
        command(args.socket, f"set server {BACKEND}/{name} state ready")
    elif args.action == "wait-healthy":
        (url,) = args.names
        wait(lambda: answers_200(url), args.timeout, f"{url} to answer 200")


if __name__ == "__main__":
    main()
