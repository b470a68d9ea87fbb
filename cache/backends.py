"""A Django cache backend over :mod:`cache.cluster`, so ``django.core.cache`` and the object /
ID-list caches share one set of connections per thread.

``LOCATION``: a list, or a string separated by ``,`` or ``;`` (as Django's memcached backends
accept), of ``host:port`` memcached servers; empty means the in-process stand-in
(:class:`cache.local.LocalCluster`), for the embedded default.
``LOCATION`` may instead be ``@PATH``: a node-list file (one ``host:port`` a line, ``#``
comments), re-read when it changes — looked at no more than once per ``RELOAD_SECONDS`` per
thread — so servers can join or leave a running cluster without restarting app servers
(:meth:`cache.cluster.MemcachedCluster.set_servers` says what a joining server goes through).
A file that is missing, empty or unreadable keeps the list in use (and at start, fails loudly).
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

import os
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
# How often a thread looks whether the node-list file changed (one stat()).
RELOAD_SECONDS = 1.0


def read_node_list(path: str) -> list[str]:
    """The ``host:port`` lines of a node-list file (blank lines and ``#`` comments skipped)."""
    with open(path, encoding="utf-8") as handle:
        lines = (line.split("#", 1)[0].strip() for line in handle)
        return [line for line in lines if line]


class NodeListFile:
    """A node-list file and when it was last read; ``changed()`` gives the new list, or None."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp = self._stat()
        self.servers = read_node_list(path)
        if not self.servers:
            raise ImproperlyConfigured(f"memcached node-list file {path} lists no server")
        self._looked_at = time.monotonic()

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def changed(self) -> list[str] | None:
        now = time.monotonic()
        if now - self._looked_at < RELOAD_SECONDS:
            return None
        self._looked_at = now
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return None
        try:
            servers = read_node_list(self.path)
        except OSError:
            return None
        self._stamp = stamp
        if not servers or servers == self.servers:
            return None
        self.servers = servers
        return servers


class ClusterCache(BaseCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(params)
        if self.key_prefix in keys.RESERVED_PREFIXES:
            raise ImproperlyConfigured(f"KEY_PREFIX {self.key_prefix!r} is the cache layer's own (cache/keys.py)")
        servers = re.split("[;,]", server) if isinstance(server, str) else list(server)
        self._servers = [item.strip() for item in servers if item.strip()]
        self._node_file: NodeListFile | None = None
        if len(self._servers) == 1 and self._servers[0].startswith("@"):
            self._node_file = NodeListFile(self._servers[0][1:])
            self._servers = self._node_file.servers
        self._options = params.get("OPTIONS", {})
        self._cluster: MemcachedCluster | LocalCluster | None = None

    @property
    def cluster(self) -> MemcachedCluster | LocalCluster:
        if self._node_file is not None and self._cluster is not None:
            servers = self._node_file.changed()
            if servers is not None:
                self._cluster.set_servers(servers)
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
        stored = self.cluster.set_many(
            {key: data[original] for key, original in by_key.items()}, self.get_backend_timeout(timeout)
        )
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
