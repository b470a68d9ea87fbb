"""``manage.py bench_hot_key [--readers 32] [--rounds 10] [--note ID]``: how many database reads
one invalidation of a hot key costs when many requests want it at once (`make bench`).

One note is read through the object cache by ``--readers`` threads. Each round the note's key is
invalidated (a tombstone, as every write does), then all readers ask for it at the same moment
(a barrier) and every query on the notes table that any of them runs is counted. Without leases
every reader that sees the tombstone would load the row; with them one reader refills the key
and the others wait for it. Prints one JSON object: the reads of each round and their mean.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from contextlib import ExitStack

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from cache import objects
from cache.stats import stats
from notes.models import Note


class Command(BaseCommand):
    help = "Count database reads per invalidation of one hot key under concurrent readers."

    def add_arguments(self, parser):
        parser.add_argument("--readers", type=int, default=32)
        parser.add_argument("--rounds", type=int, default=10)
        parser.add_argument("--note", type=int, help="the hot note (default: the newest public note)")

    def handle(self, *args, readers: int, rounds: int, note: int | None, **options):
        note_id = note or Note.objects.public().order_by("-pk").values_list("pk", flat=True).first()
        if note_id is None or objects.get(Note, note_id) is None:
            raise CommandError("no such note: seed some first (manage.py seed_demo)")
        table = Note._meta.db_table
        reads = [0] * readers
        missing = [0] * readers
        errors: list[BaseException] = []
        ready = threading.Barrier(readers + 1)
        start = threading.Barrier(readers + 1)
        done = threading.Barrier(readers + 1)

        def reader(index: int) -> None:
            def count(execute, sql, params, many, context):
                if table in sql:
                    reads[index] += 1
                return execute(sql, params, many, context)

            try:
                # Open this thread's memcached and database connections before the first round.
                objects.get(Note, note_id)
                for alias in connections:
                    connections[alias].ensure_connection()
                with ExitStack() as wrappers:
                    for alias in connections:
                        wrappers.enter_context(connections[alias].execute_wrapper(count))
                    ready.wait()
                    for _ in range(rounds):
                        start.wait()
                        if objects.get(Note, note_id) is None:
                            missing[index] += 1
                        done.wait()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                for barrier in (ready, start, done):
                    barrier.abort()
            finally:
                connections.close_all()

        threads = [threading.Thread(target=reader, args=(index,), daemon=True) for index in range(readers)]
        for thread in threads:
            thread.start()
        per_round = []
        leases = stats.snapshot()
        try:
            ready.wait()
            for _ in range(rounds):
                before = sum(reads)
                objects.invalidate(Note, [note_id])
                started = time.monotonic()
                start.wait()
                done.wait()
                per_round.append({"db_reads": sum(reads) - before, "ms": round((time.monotonic() - started) * 1000, 1)})
        except threading.BrokenBarrierError:
            raise CommandError(f"a reader failed: {errors[0] if errors else 'unknown'}") from None
        for thread in threads:
            thread.join()
        after = stats.snapshot()
        if sum(missing):
            raise CommandError(f"{sum(missing)} reads of note {note_id} found nothing")
        self.stdout.write(
            json.dumps(
                {
                    "note": note_id,
                    "readers": readers,
                    "rounds": rounds,
                    "db_reads": [r["db_reads"] for r in per_round],
                    "round_ms": [r["ms"] for r in per_round],
                    "db_reads_per_invalidation": statistics.mean(r["db_reads"] for r in per_round),
                    "leases_won": after.get("leases_won", 0) - leases.get("leases_won", 0),
                    "lease_timeouts": after.get("lease_timeouts", 0) - leases.get("lease_timeouts", 0),
                }
            )
        )
