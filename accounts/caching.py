"""Which cached lists a change to the people graph invalidates.

Each person has four cached ID lists (cache/idlists.py): ``friends:<id>``, ``fans:<id>``,
``fan_of:<id>`` and ``pending:<id>``. A fanship changes all four of both people involved (an
add can turn a fan into a friend), and a block removes fanships, which reach here one by one
through their own signals. The ``User`` rows themselves are in the object cache.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from cache import idlists, objects

PEOPLE_LISTS = ("friends", "fans", "fan_of", "pending")


def people_list(kind: str, user_id: int) -> str:
    return f"{kind}:{user_id}"


def _fanship_changed(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    names = [people_list(kind, uid) for uid in (instance.fan_id, instance.idol_id) for kind in PEOPLE_LISTS]
    idlists.invalidate(names, using=using)


def connect() -> None:
    from accounts.models import Fanship, User

    objects.register(User)
    post_save.connect(_fanship_changed, sender=Fanship, dispatch_uid="accounts.fanship.save")
    post_delete.connect(_fanship_changed, sender=Fanship, dispatch_uid="accounts.fanship.delete")
