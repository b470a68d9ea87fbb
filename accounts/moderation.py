"""Suspending people (a moderator's action; the admin only calls these).

A suspended person cannot log in and a session they have stops resolving
(accounts/backends.py), their profile is gone (``selectors.user_by_username``), and the note
streams drop what they wrote when they load authors. All of that follows from one ``UPDATE``
through ``pownce.flags.set_flag``, which tombstones each changed user object now and
after commit, so every app server sees the suspension on its next read.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from pownce.flags import set_flag


def users_suspend(user_ids: Iterable[int]) -> list[int]:
    """Suspend people; returns the ids of those who were not suspended yet."""
    return set_flag(User, "is_suspended", user_ids, True)


def users_unsuspend(user_ids: Iterable[int]) -> list[int]:
    return set_flag(User, "is_suspended", user_ids, False)
