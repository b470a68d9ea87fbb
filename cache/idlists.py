"""The ID-list cache: named lists of ids, newest first, capped, read through :mod:`cache.protocol`.

A list (a user's inbox, the public stream, a note's replies, someone's fans …) is cached whole
under ``l:<version>:<name>`` (:func:`cache.keys.list_key`) as a tuple of at most ``LIST_CAP``
ids. Pages within the cap come from the cached list; older pages are the caller's business
(keyset queries on the database, ``?before=<id>``), which is why :func:`page` says when the
list ran out.

The list is never edited in place: a write that changes a list's membership calls
:func:`invalidate` with the list's name, and the next reader reloads it with one query. That
keeps the protocol's guarantees (add-only fills, tombstones, after-commit invalidation, leases)
without read-modify-write races on the list itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cache import keys, protocol

# load(using, limit) -> ids newest first, at most ``limit``; ``using`` is None (let the router
# choose) or the primary's alias.
ListLoader = Callable[[str | None, int], list[Any]]


def key_for(name: str) -> str:
    return keys.list_key(name, version=protocol.config().version)


def get(name: str, load: ListLoader) -> tuple[Any, ...]:
    """The cached list ``name`` (at most ``LIST_CAP`` ids, newest first), loading it if needed."""
    return get_many({name: load})[name]


def get_many(lists: dict[str, ListLoader]) -> dict[str, tuple[Any, ...]]:
    """Several lists in ONE cache call."""
    from cache.batch import Batch

    batch = Batch()
    handles = {name: batch.list(name, load) for name, load in lists.items()}
    batch.run()
    return {name: handle.result for name, handle in handles.items()}


def page(ids: tuple[Any, ...], *, before: Any | None, size: int) -> tuple[list[Any], bool]:
    """One page of a cached list: ``(ids, complete)``.

    ``complete`` is False when the page needs ids older than the cached list holds — the list
    was full (``LIST_CAP`` long) and ran out — so the caller must page on the database instead.
    """
    start = 0
    if before is not None:
        start = next((index for index, value in enumerate(ids) if value < before), len(ids))
    chunk = list(ids[start : start + size])
    truncated = len(ids) >= cap()
    complete = len(chunk) == size or not truncated
    return chunk, complete


def invalidate(names: Iterable[str], *, using: str | None = None) -> None:
    """Tombstone the named lists (now, and again after the current transaction commits)."""
    protocol.invalidate([key_for(name) for name in names], using=using)


def cap() -> int:
    """How many ids a cached list holds at most; a list this long may have been cut."""
    return protocol.config().list_cap
