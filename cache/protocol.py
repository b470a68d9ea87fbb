"""The read-through / invalidation protocol every cached value follows.

The rules (the 2009 talk's protocol, with its holes closed):

1. **Fill only with ``add``**, never ``set``: ``add`` fails when the key exists, so a reader
   can never overwrite a newer value or a tombstone.
2. **Invalidate by writing a tombstone** (``None``) that lives ``TOMBSTONE_TTL`` seconds, not by
   deleting. A deleted key lets a reader that loaded the old row *before* the write ``add`` it
   back *after* the write::

       reader: cache miss on note 7
       reader: SELECT note 7                     -> old row
       writer: UPDATE note 7; COMMIT
       writer: delete "note 7"
       reader: add "note 7" = old row             -> succeeds: stale until it expires

   With a tombstone in place, the reader's ``add`` fails instead.
3. **Invalidate twice: at once and after commit** (``transaction.on_commit``). A tombstone
   written inside an open transaction may be consumed by a reader who then loads the *old*
   committed row from the primary and fills it; the second tombstone, written once the new row
   is visible, replaces that fill.
4. **A tombstoned key loads from the primary**: the replica may not have applied the write yet.
   ``TOMBSTONE_TTL`` must exceed the replica lag the router tolerates (its maximum lag plus its
   health-check interval), so once the tombstone is gone every replica in rotation has the write.
   If the primary cannot be reached (``OperationalError``), the key is read from the replicas
   instead and **not filled**: a page stays available while the primary is away, at the price
   of possibly showing the value from before the write for that one read.
5. **One refill per hot key at a time (a lease)**. The reader that sees a tombstone first wins a
   lease (``add`` of ``<key>:lease``, see :mod:`cache.keys`), looks at the key once more (the
   previous lease holder may have filled it and released its lease in between), loads from the
   primary and replaces the tombstone with ``cas`` — which fails if another invalidation
   happened meanwhile, since every ``set`` changes the cas id. Readers that lose the lease poll
   the key for up to ``LEASE_WAIT`` seconds, then load from the primary once themselves,
   without filling.

6. **Every invalidation also replaces the key's version** (``<key>:ver``, a random token, see
   :mod:`cache.keys`), after its tombstone, in the same two moments (at once and after commit).
   Nothing reads a version to decide what a value is; versions exist so that something built
   from cached values (a page, :mod:`cache.pages`) can tell it was built from the values as
   they are now. A reader that wants to know records the versions of the keys it reads
   (:func:`recording`), in a round trip *before* the values' own; a missing version is added
   as a fresh token (``add``: if it fails, a writer got there first and the recording is
   spoiled).

Guaranteed, for values read through this module: after a write commits and its after-commit
invalidation has run, no reader is served the old value by the cache — unless memcached evicts
the tombstone early (memory pressure), a reader spends longer than ``TOMBSTONE_TTL`` between
loading and filling, or a memcached server misses the tombstone while unreachable (see
:mod:`cache.cluster` for how a returning server is flushed). Not guaranteed: that two keys
invalidated together become visible together; that a tombstoned key is refilled by one reader
only when the lease holder dies (its lease expires after ``LEASE_TTL``).
"""

from __future__ import annotations

import contextlib
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import OperationalError, connections, transaction
from django.dispatch import receiver

from cache import keys as keyspace
from cache.stats import stats

TOMBSTONE = None

# load(keys, primary) -> {key: value} for the keys that exist; primary=True means "read the
# primary database", because the keys were recently invalidated.
Loader = Callable[[list[str], bool], dict[str, Any]]


@dataclass(frozen=True)
class Config:
    cache_alias: str = "default"
    primary_alias: str = "default"
    tombstone_ttl: int = keyspace.DEFAULT_TOMBSTONE_TTL
    ttl: int = keyspace.DEFAULT_TTL
    lease_ttl: int = 3
    lease_wait: float = 0.2
    poll_interval: float = 0.005
    list_cap: int = keyspace.DEFAULT_LIST_CAP
    version: int = keyspace.DEFAULT_VERSION


@lru_cache(maxsize=1)
def config() -> Config:
    """The ``POWNCE_CACHE`` setting (a dict of :class:`Config` fields in upper case)."""
    overrides = getattr(settings, "POWNCE_CACHE", {})
    return Config(**{name.lower(): value for name, value in overrides.items()})


@receiver(setting_changed)
def _forget_config(setting: str, **kwargs: Any) -> None:
    if setting == "POWNCE_CACHE":
        config.cache_clear()


def cluster():
    """This thread's cluster (memcached, or the in-process stand-in of the embedded default)."""
    return caches[config().cache_alias].cluster


def invalidate(keys: Iterable[str], *, using: str | None = None) -> None:
    """Tombstone ``keys`` now and, inside a transaction, again after it commits (rules 2, 3)."""
    keys = list(keys)
    if not keys:
        return
    _tombstone(keys)
    alias = using or config().primary_alias
    if connections[alias].in_atomic_block:
        transaction.on_commit(lambda: _tombstone(keys), using=alias)


def _tombstone(keys: list[str]) -> None:
    stats.incr("invalidations", len(keys))
    conf = config()
    store = cluster()
    store.set_many(dict.fromkeys(keys, TOMBSTONE), conf.tombstone_ttl)
    # After the tombstones (rule 6): a reader that sees the new version reads the values after
    # they were tombstoned, so it cannot be handed the value from before the write.
    store.set_many({keyspace.version_key(key): new_version() for key in keys}, conf.ttl)


def new_version() -> str:
    """A version token: random, so a token never comes back once replaced (not even after a
    server restarts empty), and two processes never make the same one."""
    return secrets.token_hex(8)


# --- Recording what a reader read (rule 6) --------------------------------------------------


@dataclass
class Recording:
    """The versions of every key read through this module while it was active, each read
    before its value, and why the reads do not describe the values as they are, if they do
    not (``spoiled``). ``loading`` is above 0 while a loader runs, so that database reads made
    by loaders (which fill keys that are recorded) can be told from any other. ``fresh_until``:
    the wall-clock time at which what was built changes by itself (:func:`cache.pages.changes_in`)."""

    versions: dict[str, str] = field(default_factory=dict)
    spoiled: str | None = None
    loading: int = 0
    fresh_until: float = math.inf

    def spoil(self, reason: str) -> None:
        if self.spoiled is None:
            self.spoiled = reason


_local = threading.local()


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Record, in this thread, the versions of every key :func:`read_through` reads."""
    outer = getattr(_local, "recording", None)
    current = _local.recording = Recording()
    try:
        yield current
    finally:
        _local.recording = outer
        if outer is not None:
            outer.versions.update(current.versions)
            outer.fresh_until = min(outer.fresh_until, current.fresh_until)
            if current.spoiled:
                outer.spoil(current.spoiled)


def current_recording() -> Recording | None:
    return getattr(_local, "recording", None)


@dataclass
class ReadAhead:
    """Keys fetched, as they are, with the next :func:`read_through` call of this thread:
    ``fetched`` says whether that call happened, ``found`` holds the values present."""

    keys: list[str]
    fetched: bool = False
    found: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def read_ahead(keys: Iterable[str]) -> Iterator[ReadAhead]:
    """Ride along with the next read of this thread (one call instead of two): the plain values
    of ``keys`` — no tombstones, leases, fills or recorded versions; that is the caller's
    business. If nothing is read through while the block runs, ``fetched`` stays False."""
    ahead = _local.ahead = ReadAhead(list(keys))
    try:
        yield ahead
    finally:
        _local.ahead = None


def _gets_many(store, keys: list[str]):
    """``store.gets_many(keys)``, with the keys of a pending :func:`read_ahead` in the same call."""
    ahead = getattr(_local, "ahead", None)
    if ahead is None or ahead.fetched:
        return store.gets_many(keys)
    fetched = store.gets_many([*keys, *ahead.keys])
    ahead.fetched = True
    ahead.found = {key: fetched.found[key][0] for key in ahead.keys if key in fetched.found}
    return fetched


def versions(keys: list[str]) -> dict[str, str]:
    """The current versions of ``keys`` (``{key: token}`` for those that have one), in one call
    (with a pending :func:`read_ahead`). A server that cannot be reached gives no version."""
    names = {keyspace.version_key(key): key for key in keys}
    fetched = _gets_many(cluster(), list(names))
    return {names[name]: value for name, (value, _) in fetched.found.items() if name in names and value is not None}


def _record_versions(store, keys: list[str], record: Recording, conf: Config) -> None:
    """Read the versions of ``keys`` (one round trip, before the keys themselves), adding a
    fresh token where a version is missing (evicted, never written, or flushed with its server)."""
    wanted = [keyspace.version_key(key) for key in keys]
    wanted = [key for key in wanted if key not in record.versions]
    if not wanted:
        return
    fetched = store.gets_many(wanted)
    if fetched.unreachable:
        record.spoil("a version could not be read")
    absent = {}
    for key in wanted:
        if key in fetched.found and fetched.found[key][0] is not None:
            record.versions[key] = fetched.found[key][0]
        elif key not in fetched.unreachable:
            absent[key] = new_version()
    if absent:
        added = store.add_many(absent, conf.ttl)
        if len(added) < len(absent):
            record.spoil("a version changed while it was read")
        record.versions.update({key: absent[key] for key in added})


def read_through(keys: list[str], load: Loader, *, ttl: int | None = None) -> dict[str, Any]:
    """Return ``{key: value}`` for ``keys`` from the cache, loading and filling what is missing.

    One multi-get when everything is cached. Plain misses and tombstoned keys whose lease this
    reader wins are loaded with ONE call to ``load`` (from the primary if any was tombstoned).
    Keys that ``load`` does not return do not exist and are absent from the result.
    """
    conf = config()
    ttl = conf.ttl if ttl is None else ttl
    store = cluster()
    record = current_recording()
    if record is not None:
        _record_versions(store, keys, record, conf)
    fetched = _gets_many(store, keys)
    result: dict[str, Any] = {}
    missing: list[str] = []
    tombstoned: dict[str, Any] = {}
    for key in keys:
        if key in fetched.found:
            value, cas_id = fetched.found[key]
            if value is TOMBSTONE:
                tombstoned[key] = cas_id
            else:
                result[key] = value
        elif key in fetched.unreachable:
            continue
        elif key in fetched.recovering:
            tombstoned[key] = None
        else:
            missing.append(key)
    _count_lookups(result, missing, tombstoned)

    won, lost = _take_leases(store, tombstoned, conf)
    won = _recheck_won(store, won, tombstoned, result)
    unreachable = [key for key in keys if key in fetched.unreachable]
    to_load = missing + won + unreachable
    if to_load:
        loaded, fresh = _load(load, to_load, bool(won or unreachable))
        result.update(loaded)
        _fill(store, loaded, missing, won if fresh else [], tombstoned, ttl)
    if lost:
        result.update(_wait_for_lease_holders(store, lost, load, conf))
    return result


def _load(load: Loader, keys: list[str], primary: bool) -> tuple[dict[str, Any], bool]:
    """``load(keys, primary)``; and when the primary cannot be reached, the replicas' answer.

    Availability over freshness, for one read: while the primary is away, a recently written
    key is read from a replica, which may not have the write yet (by at most its lag). Such a
    value is returned but never filled (the second result is False), so it is not kept past
    this request; the tombstone stays until the primary answers again or it expires."""
    record = current_recording()
    if record is not None:
        record.loading += 1
    try:
        if not primary:
            return load(keys, False), True
        try:
            return load(keys, True), True
        except OperationalError:
            stats.incr("primary_fallbacks")
            if record is not None:
                record.spoil("the primary could not be reached")
            return load(keys, False), False
    finally:
        if record is not None:
            record.loading -= 1


def _count_lookups(hits: Iterable[str], misses: Iterable[str], tombstoned: Iterable[str]) -> None:
    counts: dict[str, int] = {}
    for name, keys in (("hits", hits), ("misses", misses), ("tombstone_hits", tombstoned)):
        total = 0
        for key in keys:
            labelled = f"{name}/{keyspace.kind_of(key)}"
            counts[labelled] = counts.get(labelled, 0) + 1
            total += 1
        counts[name] = total
    stats.incr_many(counts)


def _take_leases(store, tombstoned: dict[str, Any], conf: Config) -> tuple[list[str], list[str]]:
    if not tombstoned:
        return [], []
    token = uuid.uuid4().hex
    leases = {keyspace.lease_key(key): token for key in tombstoned}
    granted = store.add_many(leases, conf.lease_ttl)
    won = [key for key in tombstoned if keyspace.lease_key(key) in granted]
    lost = [key for key in tombstoned if keyspace.lease_key(key) not in granted]
    stats.incr("leases_won", len(won))
    stats.incr("leases_lost", len(lost))
    return won, lost


def _recheck_won(store, won: list[str], tombstoned: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Look again at keys whose lease this reader just won: the previous lease holder may have
    filled a key and released its lease between our first read and our lease. Those are taken
    as they are (and the lease given back); the rest are still tombstoned, with fresh cas ids."""
    if not won:
        return won
    fetched = store.gets_many(won)
    filled = []
    for key in won:
        value, cas_id = fetched.found.get(key, (TOMBSTONE, None))
        if value is TOMBSTONE:
            if key in fetched.found:
                tombstoned[key] = cas_id
        else:
            result[key] = value
            filled.append(key)
    if filled:
        store.delete_many([keyspace.lease_key(key) for key in filled])
    return [key for key in won if key not in filled]


def _fill(store, loaded: dict[str, Any], missing: list[str], won: list[str], tombstoned: dict, ttl: int) -> None:
    fills = {key: loaded[key] for key in missing if key in loaded}
    if fills:
        stats.incr("fills", len(store.add_many(fills, ttl)))
    for key in won:
        cas_id = tombstoned[key]
        if key in loaded:
            # Replace the tombstone only if nobody invalidated it since we read it (rule 5); a
            # recovering server's key has no tombstone to replace, so it is added.
            if cas_id is None:
                stats.incr("fills", len(store.add_many({key: loaded[key]}, ttl)))
            elif store.cas(key, loaded[key], cas_id, ttl):
                stats.incr("fills")
    if won:
        store.delete_many([keyspace.lease_key(key) for key in won])


def _wait_for_lease_holders(store, keys: list[str], load: Loader, conf: Config) -> dict[str, Any]:
    """Poll the keys another reader is refilling; load what is still missing from the primary."""
    result: dict[str, Any] = {}
    pending = list(keys)
    deadline = time.monotonic() + conf.lease_wait
    while pending and time.monotonic() < deadline:
        time.sleep(conf.poll_interval)
        fetched = store.gets_many(pending)
        for key, (value, _) in fetched.found.items():
            if value is not TOMBSTONE:
                result[key] = value
        pending = [key for key in pending if key not in result]
        if fetched.unreachable:
            break
    if pending:
        stats.incr("lease_timeouts", len(pending))
        result.update(_load(load, pending, True)[0])
    return result
