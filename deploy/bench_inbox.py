"""The partitioned inbox's rows of `make bench` (notes/partitioning.py): a note to 5,000 fans
whose inboxes are all on one physical shard, and one to 5,000 fans spread over two, through
HAProxy like a browser; for each, the request's p50 and the p50 of the time until every inbox
holds the note (counted on every inbox primary). Needs a bench profile with INBOX_SHARDS >= 2;
without it there are no rows."""

from __future__ import annotations

import json
import subprocess

import bench_posting
from benchlib import ROOT, manage, mysql_root, step


def inbox_shards() -> int:
    script = '. deploy/profiles/bench.env; echo "${INBOX_SHARDS:-0}"'
    return int(subprocess.run(["bash", "-c", script], cwd=ROOT, text=True, capture_output=True, check=True).stdout)


def inbox_instances() -> list[str]:
    """The MariaDB instances that hold deliveries: the inbox primaries, or the main primary."""
    shards = inbox_shards()
    return [f"inbox{i}" for i in range(1, shards + 1)] if shards else ["primary"]


def delivered(note_id: int) -> int:
    """How many inboxes hold note ``note_id``, over every inbox primary."""
    query = f"SELECT COUNT(*) FROM pownce.notes_delivery WHERE note_id = {note_id}"
    return sum(int(mysql_root(instance, query)) for instance in inbox_instances())


def drop_databases() -> None:
    """Drop the inbox primaries' bench database too, when bench.py starts over."""
    for instance in inbox_instances():
        if instance != "primary":
            mysql_root(instance, "DROP DATABASE IF EXISTS pownce")


def measure(env: dict, port: str, fans: int) -> list[dict]:
    if inbox_shards() < 2:
        return []
    rows = []
    for shards in (1, 2):
        step(f"inbox: a note to {fans} fans whose inboxes are on {shards} physical shard(s)")
        made = manage(env, "bench_audience", "--fans", str(fans), "--inbox-shards", str(shards), capture=True)
        people = json.loads(made.strip().splitlines()[-1])
        row = bench_posting.post_notes(port, people["loud"], people["fans"])
        row["name"] = f"post-{fans}-fans-{shards}-shard{'s' if shards > 1 else ''}"
        row["inbox_shards"] = shards
        print(f"   {row['name']}: request p50 {row['request_p50_ms']} ms, in every inbox {row['delivered_p50_ms']} ms")
        rows.append(row)
    return rows
