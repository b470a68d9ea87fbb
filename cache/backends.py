"""A Django cache backend over :mod:`cache.cluster`, so ``django.core.cache`` and the object /
ID-list caches share one set of connections per thread.

``LOCATION``: a list, or a string separated by ``,`` or ``;`` (as Django's memcached backends
accept), of ``host:port`` memcached servers; empty means the in-process stand-in
(:class:`cache.local.LocalCluster`), for the embedded default.
``OPTIONS``: ``connect_timeout``, ``timeout``, ``retry_after``, ``marker_ttl``,
``min_compress_len`` (see :class:`cache.cluster.MemcachedCluster`).

Django's cache contract holds, as in Django's own memcached backends, on memcached and on the
stand-in alike: keys are ``<KEY_PREFIX>:<version>:<key>`` (``make_key``); a key that memcached
would refuse after prefix and version — a space or a control character, or more than 250
bytes of UTF-8 — raises ``InvalidCacheKey`` (:func:`cache.keys.validate`); any other character
works, non-ASCII included. Each method is one cluster call; ``delete`` is one request.

Compared with Django's ``PyMemcacheCache``: an unreachable server makes reads miss and writes
do nothing (Django's backend raises, then blocks on connect), while every other error still
raises as documented; and connections stay open between requests instead of being closed at
the end of each one (``close()`` does nothing).
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured

from cache import keys
from cache.cluster import MemcachedCluster
from cache.local import LocalCluster

# memcached reads an expiry above 30 days as an absolute Unix time.
_RELATIVE_LIMIT = 30 * 24 * 3600


class ClusterCache(BaseCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(params)
        if self.key_prefix in keys.RESERVED_PREFIXES:
            raise ImproperlyConfigured(f"KEY_PREFIX {self.key_prefix!r} is the cache layer's own (cache/keys.py)")
        servers = re.split("[;,]", server) if isinstance(server, str) else list(server)
        self._servers = [item.strip() for item in servers if item.strip()]
        self._options = params.get("OPTIONS", {})
        self._cluster: MemcachedCluster | LocalCluster | None = None

    @property
    def cluster(self) -> MemcachedCluster | LocalCluster:
        if self._cluster is None:
            if self._servers:
                self._cluster = MemcachedCluster(self._servers, **self._options)
            else:
                self._cluster = LocalCluster(self._options.get("name", "default"))
        return self._cluster

    def validate_key(self, key: str) -> None:
        keys.validate(key)

    def get_backend_timeout(self, timeout: float | None = DEFAULT_TIMEOUT) -> int:
        if timeout == DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return 0  # memcached: never expire
        if int(timeout) <= 0:
            return -1  # Django: expire at once
        timeout = int(timeout)
        return timeout if timeout <= _RELATIVE_LIMIT else int(time.time()) + timeout

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return key in self.cluster.add_many({key: value}, self.get_backend_timeout(timeout))

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self.cluster.get_many([key]).get(key, default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        key = self.make_and_validate_key(key, version=version)
        self.cluster.set_many({key: value}, self.get_backend_timeout(timeout))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return self.cluster.touch(key, self.get_backend_timeout(timeout))

    def delete(self, key, version=None) -> bool:
        return self.cluster.delete(self.make_and_validate_key(key, version=version))

    def get_many(self, keys, version=None) -> dict:
        by_key = {self.make_and_validate_key(key, version=version): key for key in keys}
        found = self.cluster.get_many(list(by_key))
        return {by_key[key]: value for key, value in found.items()}

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        by_key = {self.make_and_validate_key(key, version=version): key for key in data}
        stored = self.cluster.set_many({key: data[original] for key, original in by_key.items()},
                                       self.get_backend_timeout(timeout))
        return [original for key, original in by_key.items() if key not in stored]

    def delete_many(self, keys, version=None) -> None:
        self.cluster.delete_many([self.make_and_validate_key(key, version=version) for key in keys])

    def has_key(self, key, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return key in self.cluster.get_many([key])

    def incr(self, key, delta=1, version=None) -> int:
        key = self.make_and_validate_key(key, version=version)
        value = self.cluster.incr(key, delta)
        if value is None:
            raise ValueError(f"Key '{key}' not found")
        return value

    def clear(self) -> None:
        self.cluster.flush_all()

    def close(self, **kwargs: Any) -> None:
        """Keep the connections: reconnecting on every request costs more than the request."""
