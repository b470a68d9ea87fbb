"""Which cached lists a change to the people graph invalidates.

Each person has four cached ID lists (cache/idlists.py): ``friends:<id>``, ``fans:<id>``,
``fan_of:<id>`` and ``pending:<id>``. A fanship changes all four of both people involved (an
add can turn a fan into a friend), and a block removes fanships, which reach here one by one
through their own signals. ``blocks:<id>`` holds the people on either side of a block with
the person (both people's lists change with a ``Block`` row). ``sets:<id>`` lists a person's sets by name. ``User`` and
``FriendSet`` rows are in the object cache.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from cache import idlists, objects
from cache.batch import invalidate_values

PEOPLE_LISTS = ("friends", "fans", "fan_of", "pending")
# Computed values (cache/batch.py): a lowercased username → that user's id.
USERNAME_IDS = "username-id"
# A person's id → the people suggested to them, and "popular" → those suggested to everyone
# (accounts/suggestions.py; invalidated by the task that writes them).
SUGGESTIONS = "people-suggestions"


def people_list(kind: str, user_id: int) -> str:
    return f"{kind}:{user_id}"


def blocks_list(user_id: int) -> str:
    """The people on either side of a block with the user (notes/visibility.py, rule 9)."""
    return f"blocks:{user_id}"


def sets_list(owner_id: int) -> str:
    return f"sets:{owner_id}"


def _friend_set_changed(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    idlists.invalidate([sets_list(instance.owner_id)], using=using)


def _fanship_changed(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    names = [people_list(kind, uid) for uid in (instance.fan_id, instance.idol_id) for kind in PEOPLE_LISTS]
    idlists.invalidate(names, using=using)


def _block_changed(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    idlists.invalidate([blocks_list(instance.blocker_id), blocks_list(instance.blocked_id)], using=using)


def _user_saved(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # A new name may now belong to this user; the old name's entry is checked on use.
    invalidate_values(USERNAME_IDS, [instance.username.lower()], using=using)


def connect() -> None:
    from accounts.models import Block, Fanship, FriendSet, User

    objects.register(User)
    post_save.connect(_user_saved, sender=User, dispatch_uid="accounts.user.username")
    objects.register(FriendSet)
    post_save.connect(_friend_set_changed, sender=FriendSet, dispatch_uid="accounts.friendset.save")
    post_delete.connect(_friend_set_changed, sender=FriendSet, dispatch_uid="accounts.friendset.delete")
    post_save.connect(_fanship_changed, sender=Fanship, dispatch_uid="accounts.fanship.save")
    post_delete.connect(_fanship_changed, sender=Fanship, dispatch_uid="accounts.fanship.delete")
    post_save.connect(_block_changed, sender=Block, dispatch_uid="accounts.block.save")
    post_delete.connect(_block_changed, sender=Block, dispatch_uid="accounts.block.delete")
