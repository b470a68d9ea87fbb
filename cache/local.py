"""An in-process stand-in for a memcached cluster, for the embedded default (one process).

Same operations and semantics as :class:`cache.cluster.MemcachedCluster` — add, set, cas,
multi-get with cas ids, delete, expiry, and the same key rules (a key memcached would refuse
raises ``InvalidCacheKey``, :func:`cache.keys.validate`) — over a dictionary shared by the
threads of one process.
Values are pickled, so readers get copies, as from memcached. There is no other process, so
nothing here is coherent across processes: use memcached as soon as there are two.
"""

from __future__ import annotations

import itertools
import pickle
import threading
import time
from collections.abc import Iterable
from typing import Any

from cache.cluster import Fetched
from cache.keys import validate
from cache.stats import stats

_stores: dict[str, dict[str, tuple[bytes, float, int]]] = {}
_locks: dict[str, threading.Lock] = {}
_cas_ids = itertools.count(1)


def _validate_all(keys: Iterable[str]) -> None:
    """As the memcached cluster does, refuse the whole request before storing anything."""
    for key in keys:
        validate(key)


class LocalCluster:
    def __init__(self, name: str = "default") -> None:
        self._data = _stores.setdefault(name, {})
        self._lock = _locks.setdefault(name, threading.Lock())

    def _live(self, key: str) -> tuple[bytes, float, int] | None:
        entry = self._data.get(validate(key))
        if entry is not None and entry[1] and entry[1] < time.monotonic():
            del self._data[key]
            return None
        return entry

    @staticmethod
    def _expiry(expire: int) -> float:
        return time.monotonic() + expire if expire else 0.0

    def _put(self, key: str, value: Any, expire: int) -> None:
        self._data[key] = (pickle.dumps(value, pickle.HIGHEST_PROTOCOL), self._expiry(expire), next(_cas_ids))

    def gets_many(self, keys: list[str]) -> Fetched:
        stats.incr("calls")
        fetched = Fetched()
        with self._lock:
            for key in keys:
                entry = self._live(key)
                if entry is not None:
                    fetched.found[key] = (pickle.loads(entry[0]), entry[2])
        return fetched

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return {key: value for key, (value, _) in self.gets_many(keys).found.items()}

    def add_many(self, values: dict[str, Any], expire: int) -> set[str]:
        stats.incr("calls")
        _validate_all(values)
        stored = set()
        with self._lock:
            for key, value in values.items():
                if self._live(key) is None:
                    self._put(key, value, expire)
                    stored.add(key)
        return stored

    def set_many(self, values: dict[str, Any], expire: int) -> set[str]:
        stats.incr("calls")
        _validate_all(values)
        with self._lock:
            for key, value in values.items():
                self._put(key, value, expire)
        return set(values)

    def cas(self, key: str, value: Any, cas_id: Any, expire: int) -> bool:
        stats.incr("calls")
        with self._lock:
            entry = self._live(key)
            if entry is None or entry[2] != cas_id:
                return False
            self._put(key, value, expire)
            return True

    def delete(self, key: str) -> bool:
        stats.incr("calls")
        with self._lock:
            existed = self._live(key) is not None
            self._data.pop(key, None)
            return existed

    def delete_many(self, keys: list[str]) -> None:
        stats.incr("calls")
        _validate_all(keys)
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def incr(self, key: str, delta: int) -> int | None:
        stats.incr("calls")
        with self._lock:
            entry = self._live(key)
            if entry is None:
                return None
            value = pickle.loads(entry[0]) + delta
            self._data[key] = (pickle.dumps(value), entry[1], next(_cas_ids))
            return value

    def touch(self, key: str, expire: int) -> bool:
        stats.incr("calls")
        with self._lock:
            entry = self._live(key)
            if entry is None:
                return False
            self._data[key] = (entry[0], self._expiry(expire), entry[2])
            return True

    def flush_all(self) -> None:
        stats.incr("calls")
        with self._lock:
            self._data.clear()

    def close(self) -> None:
        """Nothing to close: the data lives as long as the process."""
