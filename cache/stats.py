"""Counters of what the cache layer did, per process.

``calls`` counts logical memcached operations (a multi-get is one call whatever servers it
touches); ``round_trips`` counts requests to individual servers. Tests read them to assert the
exact cost of a page; the metrics endpoint exports them.

A few counters are also kept per label, named ``<counter>/<label>``: ``round_trips/<server
address>``, and ``hits/<kind>``, ``misses/<kind>``, ``tombstone_hits/<kind>`` where ``kind``
says what the key caches (:func:`cache.keys.kind_of`: ``object:notes.note``,
``list:inbox``, ``value:note-counts``). The unlabelled counter is always the total.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager


class Stats:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def incr(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def incr_many(self, amounts: dict[str, int]) -> None:
        with self._lock:
            for name, amount in amounts.items():
                if amount:
                    self._counts[name] += amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    @contextmanager
    def measure(self):
        """``with stats.measure() as delta:`` — afterwards ``delta`` holds what happened inside."""
        before = self.snapshot()
        delta: dict[str, int] = {}
        yield delta
        after = self.snapshot()
        for name, count in after.items():
            if count != before.get(name, 0):
                delta[name] = count - before.get(name, 0)


stats = Stats()
