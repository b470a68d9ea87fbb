"""Several reads — objects, ID lists, computed values — answered by ONE cache call.

A page needs objects of several models, a few lists and some computed values, but only after
the previous step told it which ids. A :class:`Batch` collects one step's reads and fetches
them all in one multi-get (one round trip per server), so a page costs one call per step, not
one per kind of thing::

    batch = Batch()
    notes = batch.objects(Note, ids)
    counts = batch.values("note-counts", ids, load_counts)
    batch.run()
    notes.result  # {pk: Note}

Misses are loaded per source with one loader call each (one query per model, list or value
kind), from the primary when any of the source's keys was tombstoned; see cache/protocol.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cache import keys, protocol

# load(ids, using) -> {id: value} for the ids that exist; using is None (the router chooses)
# or the primary's alias.
ValuesLoader = Callable[[list[Any], str | None], dict[Any, Any]]


def value_key(kind: str, ident: Any) -> str:
    return keys.value_key(kind, ident, version=protocol.config().version)


def invalidate_values(kind: str, ids: Iterable[Any], *, using: str | None = None) -> None:
    """Tombstone computed values (now, and again after the current transaction commits)."""
    protocol.invalidate([value_key(kind, ident) for ident in ids], using=using)


class Handle:
    """What one source of a batch returns, once the batch has run."""

    def __init__(self, keys: dict[str, Any], load: ValuesLoader, empty: Callable[[], Any], shape: Callable) -> None:
        self.keys = keys
        self.load = load
        self._empty = empty
        self._shape = shape
        self._result: Any = None

    @property
    def result(self) -> Any:
        if self._result is None:
            raise RuntimeError("run the batch first")
        return self._result

    def _resolve(self, found: dict[str, Any]) -> None:
        self._result = self._shape({ident: found[key] for key, ident in self.keys.items() if key in found})


class Batch:
    def __init__(self) -> None:
        self._handles: list[Handle] = []

    def values(self, kind: str, ids: Iterable[Any], load: ValuesLoader) -> Handle:
        """Computed values keyed by id (:func:`cache.keys.value_key`); result ``{id: value}``."""
        keys = {value_key(kind, ident): ident for ident in dict.fromkeys(ids)}
        return self._add(Handle(keys, load, dict, dict))

    def objects(self, model, ids: Iterable[Any]) -> Handle:
        """Model instances by primary key (cache/objects.py); result ``{pk: instance}``."""
        from cache import objects

        keys = {objects.key_for(model, pk): pk for pk in dict.fromkeys(ids)}
        return self._add(Handle(keys, objects.loader(model), dict, dict))

    def list(self, name: str, load: Callable[[str | None, int], list[Any]]) -> Handle:
        """One ID list (cache/idlists.py); result a tuple of ids, newest first."""
        from cache import idlists

        key = idlists.key_for(name)
        cap = protocol.config().list_cap

        def load_list(names: list[Any], using: str | None) -> dict[Any, Any]:
            return {name: tuple(load(using, cap))}

        return self._add(Handle({key: name}, load_list, tuple, lambda found: found.get(name, ())))

    def _add(self, handle: Handle) -> Handle:
        self._handles.append(handle)
        return handle

    def run(self) -> None:
        """Fetch every source's keys in one cache call, loading and filling what is missing."""
        owner: dict[str, Handle] = {}
        for handle in self._handles:
            for key in handle.keys:
                owner[key] = handle
        primary = protocol.config().primary_alias

        def load(keys: list[str], from_primary: bool) -> dict[str, Any]:
            loaded: dict[str, Any] = {}
            by_handle: dict[int, list[str]] = {}
            for key in keys:
                by_handle.setdefault(id(owner[key]), []).append(key)
            for handle in self._handles:
                wanted = by_handle.get(id(handle))
                if not wanted:
                    continue
                values = handle.load([handle.keys[key] for key in wanted], primary if from_primary else None)
                reverse = {handle.keys[key]: key for key in wanted}
                loaded.update({reverse[ident]: value for ident, value in values.items() if ident in reverse})
            return loaded

        found = protocol.read_through(list(owner), load) if owner else {}
        for handle in self._handles:
            handle._resolve(found)
