"""Suspending people (a moderator's action; the admin only calls these).

A suspended person cannot log in and a session they have stops resolving
(accounts/backends.py), their profile is gone (``selectors.user_by_username``), and the note
streams drop what they wrote when they load authors. All of that follows from one ``UPDATE``
through ``cache.objects.CachedQuerySet``, which tombstones each changed user object now and
after commit, so every app server sees the suspension on its next read.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models, transaction

from accounts.models import User
from cache.objects import CachedQuerySet


def set_flag(model: type[models.Model], field: str, ids: Iterable[int], value: bool) -> list[int]:
    """Set a boolean column on the rows among ``ids`` where it differs, invalidating their cached
    objects; returns the ids that changed."""
    with transaction.atomic():
        rows = model._base_manager.select_for_update().filter(pk__in=list(ids)).exclude(**{field: value})
        changing = list(rows.values_list("pk", flat=True))
        if changing:
            CachedQuerySet(model).filter(pk__in=changing).update(**{field: value})
    return changing


def users_suspend(user_ids: Iterable[int]) -> list[int]:
    """Suspend people; returns the ids of those who were not suspended yet."""
    return set_flag(User, "is_suspended", user_ids, True)


def users_unsuspend(user_ids: Iterable[int]) -> list[int]:
    return set_flag(User, "is_suspended", user_ids, False)
