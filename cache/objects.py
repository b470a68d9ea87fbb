"""The object cache: model instances by primary key, read through :mod:`cache.protocol`.

Keys are ``o:<version>:<app_label.model>:<schema>:<pk>`` (:func:`cache.keys.object_key`).
``schema`` is a digest of the model's concrete fields (name, type, column), so a migration that changes them makes old
pickles unreachable instead of unpicklable; ``version`` (``POWNCE_CACHE["VERSION"]``) is a
manual switch for everything else.

A model must be :func:`register`-ed: then every ``save()`` and ``delete()`` invalidates its key
(``post_save`` / ``post_delete``, and again after commit). Writes that send no signals —
``QuerySet.update()``, ``bulk_update``, raw SQL — must call :func:`invalidate` with the ids they
touched; :class:`CachedQuerySet` does it for ``update()``.

Cached instances are stored without related objects or prefetches (each is cached under its
own key), so an author's change never hides inside a cached note.

:func:`get_local` keeps a per-process copy of an instance read on every request (the signed-in
user) and checks only its **version** (rule 6 of :mod:`cache.protocol`): one get of a small
value instead of the row's pickle, and no unpickling. The copy is used only while the version
memcached holds is the one read *before* the copy was loaded, so it is exactly as fresh as a
read through the cache: a write tombstones the row and then replaces its version, so the next
request sees a different version and reads the row again. A version that is missing (evicted,
or flushed with a server that was away) or unreadable never matches.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

from cache import keys, protocol

M = TypeVar("M", bound=models.Model)


@cache
def schema_digest(model: type[models.Model]) -> str:
    shape = sorted((f.attname, f.get_internal_type(), f.column or "") for f in model._meta.concrete_fields)
    return hashlib.sha1(repr(shape).encode()).hexdigest()[:8]


def key_for(model: type[models.Model], pk: Any) -> str:
    return keys.object_key(model._meta.label_lower, schema_digest(model), pk, version=protocol.config().version)


def get_many(model: type[M], ids: Iterable[Any]) -> dict[Any, M]:
    """Instances of ``model`` by primary key: ``{pk: instance}`` for those that exist.

    One multi-get when all are cached; the misses are loaded with ONE ``pk__in`` query (from the
    primary when any of them was recently invalidated) and filled with ``add``.
    """
    return get_many_models({model: ids})[model]


def get(model: type[M], pk: Any) -> M | None:
    return get_many(model, [pk]).get(pk)


# Instances a process keeps for get_local, least recently used first out.
LOCAL_COPIES = 5000
_copies: OrderedDict[str, tuple[str, models.Model]] = OrderedDict()
_copies_lock = threading.Lock()


def get_local(model: type[M], pk: Any) -> M | None:
    """``get(model, pk)``, from this process's copy while the row's version is unchanged (see
    the module's docstring): one memcached call when the copy is current."""
    key = key_for(model, pk)
    with _copies_lock:
        held = _copies.get(key)
    if held is not None and protocol.versions([key]).get(key) == held[0]:
        with _copies_lock:
            if key in _copies:
                _copies.move_to_end(key)
        record = protocol.current_recording()
        if record is not None:  # what is being built from it depends on it like on any read
            record.versions.setdefault(keys.version_key(key), held[0])
        return _bare(held[1])
    with protocol.recording() as record:
        instance = get(model, pk)
    token = record.versions.get(keys.version_key(key))
    if instance is not None and token is not None and record.spoiled is None:
        with _copies_lock:
            _copies[key] = (token, _bare(instance))
            _copies.move_to_end(key)
            while len(_copies) > LOCAL_COPIES:
                _copies.popitem(last=False)
    return instance


def get_many_models(requests: dict[type[models.Model], Iterable[Any]]) -> dict[type[models.Model], dict]:
    """Several models' instances in ONE cache call: ``{Model: {pk: instance}}``."""
    from cache.batch import Batch

    batch = Batch()
    handles = {model: batch.objects(model, ids) for model, ids in requests.items()}
    batch.run()
    return {model: handle.result for model, handle in handles.items()}


def loader(model: type[M]):
    """``load(pks, using) -> {pk: instance}``: the misses of ``model`` in ONE ``pk__in`` query."""

    def load(pks: list[Any], using: str | None) -> dict[Any, M]:
        return {instance.pk: _bare(instance) for instance in model._base_manager.using(using).filter(pk__in=pks)}

    return load


def ordered(model: type[M], ids: Iterable[Any]) -> list[M]:
    """Instances in the order of ``ids``, skipping those that no longer exist."""
    ids = list(ids)
    found = get_many(model, ids)
    return [found[pk] for pk in ids if pk in found]


def invalidate(model: type[models.Model], ids: Iterable[Any], *, using: str | None = None) -> None:
    """Tombstone the cached instances of ``model`` with these primary keys (now and after commit)."""
    protocol.invalidate([key_for(model, pk) for pk in ids], using=using)


def _bare(instance: M) -> M:
    """A copy without cached relations or prefetches: only the row itself is cached."""
    bare = copy.copy(instance)
    bare._state = copy.copy(instance._state)
    bare._state.fields_cache = {}
    bare.__dict__.pop("_prefetched_objects_cache", None)
    return bare


def _on_change(sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any) -> None:
    # A row just inserted has a new primary key: nothing can be cached under it yet (absent rows
    # are never cached), so there is nothing to invalidate.
    if kwargs.get("created"):
        return
    invalidate(sender, [instance.pk], using=using)


def register(model: type[models.Model]) -> None:
    """Invalidate ``model``'s cached instances on every save and delete."""
    uid = f"cache.objects:{model._meta.label_lower}"
    post_save.connect(_on_change, sender=model, dispatch_uid=f"{uid}:save", weak=False)
    post_delete.connect(_on_change, sender=model, dispatch_uid=f"{uid}:delete", weak=False)


class CachedQuerySet(models.QuerySet):
    """A QuerySet whose ``update()`` invalidates the rows it changes (it sends no signals)."""

    def update(self, **kwargs: Any) -> int:
        self._for_write = True
        alias = self.db
        with transaction.atomic(using=alias):
            # Lock the matching rows and update exactly those, so every changed row is invalidated.
            pks = list(self.select_for_update().values_list("pk", flat=True))
            exact = self.model._base_manager.using(alias).filter(pk__in=pks)
            count = models.QuerySet.update(exact, **kwargs)
            invalidate(self.model, pks, using=alias)
        return count

    update.alters_data = True
