"""Boolean columns that moderators flip for many rows at once (a note hidden, a person
suspended), with the object cache kept right.

Shared by ``accounts.moderation`` and ``notes.moderation``; it knows neither app. The change is
one ``UPDATE`` through ``cache.objects.CachedQuerySet``, which tombstones each changed row now
and after commit (a bulk update sends no signals), so every app server sees it on its next read.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models, transaction

from cache.objects import CachedQuerySet


def set_flag(model: type[models.Model], field: str, ids: Iterable[int], value: bool) -> list[int]:
    """Set a boolean column on the rows among ``ids`` where it differs, invalidating their cached
    objects; returns the ids that changed.

    The rows are locked first, so two moderators flipping the same rows at once each get back
    only the ids that they changed (an audit line is not written twice)."""
    with transaction.atomic():
        rows = model._base_manager.select_for_update().filter(pk__in=list(ids)).exclude(**{field: value})
        changing = list(rows.values_list("pk", flat=True))
        if changing:
            CachedQuerySet(model).filter(pk__in=changing).update(**{field: value})
    return changing
