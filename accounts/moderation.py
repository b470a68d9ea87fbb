"""Suspending people (a moderator's action; the admin only calls these).

A suspended person cannot log in and a session they have stops resolving
(accounts/backends.py), their profile is gone (``selectors.user_by_username``), and the note
streams drop what they wrote when they load authors. All of that follows from one ``UPDATE``
through ``pownce.flags.set_flag``, which tombstones each changed user object now and
after commit, so every app server sees the suspension on its next read.

Who may suspend whom (:func:`may_suspend`): a moderator suspends ordinary people only; staff
are suspended only by a superuser; a superuser by nobody (take their superuser status away
first, which only another superuser can); nobody suspends themselves. Otherwise one moderator
could lock every administrator out. The admin's actions go through :func:`users_suspend_by`.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from accounts.search import people_index
from pownce.flags import set_flag


def may_suspend(actor: User, person: User) -> bool:
    """Whether ``actor`` (who holds the suspend permission) may suspend or deactivate ``person``."""
    if person.pk == actor.pk or person.is_superuser:
        return False
    return actor.is_superuser if person.is_staff else True


def users_suspend_by(actor: User, people: Iterable[User]) -> tuple[list[int], list[User]]:
    """Suspend those of ``people`` that ``actor`` may suspend; returns the ids newly suspended
    and the people refused."""
    people = list(people)
    refused = [person for person in people if not may_suspend(actor, person)]
    allowed = [person.pk for person in people if may_suspend(actor, person)]
    return users_suspend(allowed), refused


def users_suspend(user_ids: Iterable[int]) -> list[int]:
    """Suspend people; returns the ids of those who were not suspended yet. They can no longer
    be found by a search (their search terms go, accounts/search.py)."""
    return _reindexed(set_flag(User, "is_suspended", user_ids, True))


def users_unsuspend(user_ids: Iterable[int]) -> list[int]:
    return _reindexed(set_flag(User, "is_suspended", user_ids, False))


def _reindexed(changed: list[int]) -> list[int]:
    # The flag is set by an UPDATE, which sends no signal: the search terms follow explicitly.
    people_index(changed)
    return changed
