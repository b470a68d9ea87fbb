"""Talking to a set of memcached servers: key placement, failure handling, recovery, counters.

Placement never moves a key. Each key has one home server, chosen by rendezvous hashing
(murmur3) over the *configured* servers. pymemcache's HashClient instead re-hashes the keys of
a dead server onto the live ones and back again when it returns; a key could then be filled on
server B while A is away, and when A returns, A still holds the value it had before — which
missed every invalidation sent to B meanwhile. Here a dead server's keys are simply misses
(served from the database) until it is back.

A server that comes back is **flushed before use**, because while it was unreachable it missed
invalidations (tombstones) — a restarted memcached is empty anyway, but one that was only cut
off still holds old values. The flush also wipes tombstones written since its return, so the
flushing process then stores a *recovery marker* on that server for the tombstone lifetime:
every reader fetches the marker with its batch, and while it is present, misses from that
server are treated as tombstoned (loaded from the primary, filled only with ``add``).

Failure handling:

* Only **connection failures** (refused, reset, timed out, closed:
  :data:`cache.client.CONNECTION_ERRORS`) mark a server down and turn into misses / failed
  stores; a server that hangs costs at most the client's ``timeout`` and is then treated like
  one that refused. Every other error raises, as memcached clients normally do: a server error
  as pymemcache raises it, a key memcached would refuse as ``InvalidCacheKey``
  (:func:`cache.keys.validate`) before anything is sent.
* Reads skip a down server until its retry time (``retry_after`` seconds); then one request
  tries it again.
* **Invalidations are always attempted**, even on a server believed down: a server that is back
  must not miss a tombstone just because this process has not noticed yet. Success on a server
  believed down runs the recovery (flush + marker) first.

Not guaranteed: a server cut off (not restarted) by a network partition may serve values that
missed invalidations to readers in processes that never saw it fail, until some process that
did sees it back and flushes it (at most ``retry_after`` seconds after it is reachable again).

The server list can change while processes run (:meth:`MemcachedCluster.set_servers`, driven
by a node-list file in :mod:`cache.backends`). Rendezvous hashing moves only the keys the new
server now wins (about 1/N of them for the N-th server); every other key keeps its home. A
server that joins the list — new, or back after being removed — is treated as one that missed
invalidations: it is recovered (flushed, recovery marker stored) before its first use, exactly
like a server that comes back after failing. Not guaranteed: while the processes of a
cluster do not yet agree on the list (at most the file's re-read interval), an invalidation
sent by a process with the old list lands on a key's old home only.

Each thread has its own connections (Django creates cache backends per thread), so nothing here
is shared between threads except what is passed in.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import mmh3

from cache import keys as keyspace
from cache.client import CONNECTION_ERRORS, ServerClient
from cache.stats import stats

logger = logging.getLogger("pownce.cache")

RECOVERY_MARKER = keyspace.RECOVERY_MARKER
# Keys whose server a cluster remembers (see MemcachedCluster.node_for).
PLACEMENTS_KEPT = 100_000


@dataclass
class Fetched:
    """What one multi-get found.

    ``found``: ``{key: (value, cas)}`` for the keys present (a ``None`` value is a tombstone).
    ``recovering``: keys whose server was flushed within the marker lifetime — treat their
    misses as tombstoned. ``unreachable``: keys whose server is down — load them from the
    primary and do not try to fill.
    """

    found: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    recovering: set[str] = field(default_factory=set)
    unreachable: set[str] = field(default_factory=set)


@dataclass(eq=False)  # identity: a node is a dictionary key when keys are grouped by server
class Node:
    address: str
    client: ServerClient
    seed: int
    down_since: float | None = None
    retry_at: float = 0.0
    stats: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class MemcachedCluster:
    """A fixed set of memcached servers with stable placement (see the module docstring)."""

    def __init__(
        self,
        servers: Iterable[str],
        *,
        connect_timeout: float = 0.2,
        timeout: float = 0.5,
        retry_after: float = 1.0,
        marker_ttl: int = keyspace.DEFAULT_TOMBSTONE_TTL,
        min_compress_len: int = 400,
        socket_module: ModuleType = socket,
    ) -> None:
        """``socket_module`` replaces the standard library's (pymemcache's own option), so tests
        can make a server's socket fail without a memcached to stop."""
        self.retry_after = retry_after
        self.marker_ttl = marker_ttl
        self._client_options = dict(
            connect_timeout=connect_timeout,
            timeout=timeout,
            min_compress_len=min_compress_len,
            socket_module=socket_module,
        )
        self.nodes: list[Node] = []
        self._placement: dict[str, Node] = {}
        for address in servers:
            client = ServerClient(address, **self._client_options)
            self.nodes.append(Node(address, client, mmh3.hash(address, signed=False)))
        if not self.nodes:
            raise ValueError("a memcached cluster needs at least one server")

    def set_servers(self, servers: Iterable[str]) -> None:
        """Use ``servers`` from now on. Servers kept keep their connection and state; a server
        that joins is recovered (flushed, marker stored) before its first use; a server that
        leaves is closed."""
        current = {node.address: node for node in self.nodes}
        nodes = []
        for address in dict.fromkeys(servers):
            node = current.pop(address, None)
            if node is None:
                client = ServerClient(address, **self._client_options)
                node = Node(address, client, mmh3.hash(address, signed=False))
                # Joined: may hold values that missed invalidations. retry_at 0: the next use
                # recovers it (see _usable_for_reads and _store_many).
                node.down_since, node.retry_at = time.monotonic(), 0.0
                logger.warning("memcached %s joins the cluster (recovered before first use)", address)
            nodes.append(node)
        if not nodes:
            raise ValueError("a memcached cluster needs at least one server")
        for node in current.values():
            logger.warning("memcached %s leaves the cluster", node.address)
            node.client.close()
        self.nodes = nodes
        # Placements were worked out over the old list (a joining server owns ~1/N of them now):
        # a new map, replaced after the list (see node_for).
        self._placement = {}

    # --- placement ----------------------------------------------------------------------
    def node_for(self, key: str) -> Node:
        """The server that owns ``key`` (raises ``InvalidCacheKey`` for a key memcached refuses)."""
        # The map first, then the list: set_servers replaces the list before the map, so a
        # placement worked out over an old list only ever lands in an old (discarded) map.
        placement = self._placement
        node = placement.get(key)
        if node is not None:
            return node
        keyspace.validate(key)
        nodes = self.nodes
        if len(nodes) == 1:
            return nodes[0]
        # Rendezvous hashing: the server with the highest hash of (key, server) owns the key.
        node = max(nodes, key=lambda node: mmh3.hash(key, node.seed, signed=False))
        # Placement changes only with the server list (a key keeps its server, up or down;
        # set_servers starts over), so it is remembered: a page checks the versions of a hundred
        # keys per request. Bounded by starting over.
        if len(placement) >= PLACEMENTS_KEPT:
            placement.clear()
        placement[key] = node
        return node

    def _group(self, keys: Iterable[str]) -> dict[Node, list[str]]:
        groups: dict[Node, list[str]] = defaultdict(list)
        for key in keys:
            groups[self.node_for(key)].append(key)
        return groups

    # --- failure and recovery -----------------------------------------------------------
    def _usable_for_reads(self, node: Node) -> bool:
        if node.down_since is None:
            return True
        if time.monotonic() < node.retry_at:
            return False
        return self._recover(node)

    def _mark_down(self, node: Node, error: BaseException) -> None:
        if node.down_since is None:
            node.down_since = time.monotonic()
            logger.warning("memcached %s is down: %s", node.address, error)
        node.retry_at = time.monotonic() + self.retry_after
        node.client.close()
        stats.incr("node_failures")

    def _recover(self, node: Node) -> bool:
        """Bring a server believed down back: flush it, mark it recovered. False if still down."""
        try:
            node.client.flush_all()
            node.client.set_many({RECOVERY_MARKER: 1}, self.marker_ttl)
        except CONNECTION_ERRORS as error:
            self._mark_down(node, error)
            return False
        logger.warning("memcached %s is back: flushed, misses read the primary for %ss", node.address, self.marker_ttl)
        node.down_since = None
        stats.incr("node_recoveries")
        return True

    def _run(self, node: Node, operation: str, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        """Run one client call; (False, None) if the server could not be reached."""
        stats.incr_many({"round_trips": 1, f"round_trips/{node.address}": 1})
        node.stats[operation] += 1
        try:
            return True, getattr(node.client, operation)(*args, **kwargs)
        except CONNECTION_ERRORS as error:
            self._mark_down(node, error)
            return False, None

    # --- operations (each public method is one "call" however many servers it touches) -
    def gets_many(self, keys: list[str]) -> Fetched:
        """Fetch ``keys`` with their cas ids in one call (one round trip per server touched)."""
        stats.incr("calls")
        fetched = Fetched()
        for node, node_keys in self._group(keys).items():
            if not self._usable_for_reads(node):
                fetched.unreachable.update(node_keys)
                continue
            ok, result = self._run(node, "gets_many", [*node_keys, RECOVERY_MARKER])
            if not ok:
                fetched.unreachable.update(node_keys)
                continue
            if result.pop(RECOVERY_MARKER, None) is not None:
                fetched.recovering.update(node_keys)
            fetched.found.update(result)
        return fetched

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """Plain multi-get: ``{key: value}`` for the keys found; down servers give misses."""
        stats.incr("calls")
        found: dict[str, Any] = {}
        for node, node_keys in self._group(keys).items():
            if self._usable_for_reads(node):
                ok, result = self._run(node, "get_many", node_keys)
                if ok:
                    found.update(result)
        return found

    def _store_many(self, operation: str, values: dict[str, Any], expire: int, *, always: bool) -> set[str]:
        stats.incr("calls")
        stored: set[str] = set()
        for node, node_keys in self._group(values).items():
            if node.down_since is not None:
                # Invalidations try a server believed down at once; fills wait for its retry time.
                usable = self._recover(node) if always else self._usable_for_reads(node)
                if not usable:
                    continue
            batch = {key: values[key] for key in node_keys}
            ok, result = self._run(node, operation, batch, expire)
            if ok:
                stored.update(result)
        return stored

    def add_many(self, values: dict[str, Any], expire: int) -> set[str]:
        """``add`` each key (stored only if absent); return the keys stored."""
        return self._store_many("add_many", values, expire, always=False)

    def set_many(self, values: dict[str, Any], expire: int) -> set[str]:
        """``set`` each key, trying servers believed down too (invalidations must arrive)."""
        return self._store_many("set_many", values, expire, always=True)

    def cas(self, key: str, value: Any, cas_id: Any, expire: int) -> bool:
        """Store ``value`` only if ``key`` is unchanged since it was read with ``cas_id``."""
        stats.incr("calls")
        node = self.node_for(key)
        if node.down_since is not None:
            return False
        ok, result = self._run(node, "cas", key, value, cas_id, expire)
        return bool(ok and result)

    def delete(self, key: str) -> bool:
        """Delete ``key`` in one request; True if it existed (False too if its server is down)."""
        stats.incr("calls")
        node = self.node_for(key)
        if node.down_since is not None:
            return False
        ok, result = self._run(node, "delete", key)
        return bool(ok and result)

    def delete_many(self, keys: list[str]) -> None:
        stats.incr("calls")
        for node, node_keys in self._group(keys).items():
            if node.down_since is None:
                self._run(node, "delete_many", node_keys)

    def incr(self, key: str, delta: int) -> int | None:
        stats.incr("calls")
        node = self.node_for(key)
        if not self._usable_for_reads(node):
            return None
        ok, result = self._run(node, "incr", key, delta)
        return result if ok else None

    def touch(self, key: str, expire: int) -> bool:
        stats.incr("calls")
        node = self.node_for(key)
        if not self._usable_for_reads(node):
            return False
        ok, result = self._run(node, "touch", key, expire)
        return bool(ok and result)

    def flush_all(self) -> None:
        stats.incr("calls")
        for node in self.nodes:
            self._run(node, "flush_all")

    def close(self) -> None:
        for node in self.nodes:
            node.client.close()
