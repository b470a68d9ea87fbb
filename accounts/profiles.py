"""How a viewer stands toward a person, what a profile's header shows, and what home's side
column shows of its own reader — read from the cached people lists (accounts/caching.py) and
counts, so a profile page asks no query unless a block is involved, and home none at all.

Guaranteed: the same answer as the fanship and block rows, once the write that changed them
has committed and invalidated its lists (cache/protocol.py). The cached lists do not say who
blocked whom, and a full list may have been cut: those cases are read from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import Q

from accounts.caching import blocks_list, people_list
from accounts.models import Block, Fanship, User, UserCounts
from accounts.selectors import (
    PeopleCounts,
    blocks_loader,
    people_counts,
    people_counts_from,
    people_loader,
    shown_people,
)
from cache import idlists
from cache.batch import Batch


@dataclass(frozen=True)
class Relationship:
    """How ``viewer`` stands toward another person, for the buttons on that person's profile."""

    is_self: bool = False
    is_anonymous: bool = False
    you_are_fan: bool = False  # viewer added them
    they_are_fan: bool = False  # they added viewer
    request_ignored: bool = False  # viewer ignored their request
    you_blocked: bool = False
    blocked_you: bool = False

    @property
    def friends(self) -> bool:
        return self.you_are_fan and self.they_are_fan

    @property
    def state(self) -> str:
        """One word for the templates: self, anonymous, blocked, blocked_by, friends, fan,
        requested (they await an answer), fan_back (they are a fan, request ignored) or none."""
        if self.is_self:
            return "self"
        if self.is_anonymous:
            return "anonymous"
        if self.you_blocked:
            return "blocked"
        if self.blocked_you:
            return "blocked_by"
        if self.friends:
            return "friends"
        if self.you_are_fan:
            return "fan"
        if self.they_are_fan:
            return "fan_back" if self.request_ignored else "requested"
        return "none"


def relationship(viewer: User, other: User) -> Relationship:
    """From the viewer's cached people and blocks lists (one cache call); from the database
    when a block is involved (the list does not say who blocked whom) or a full list may have
    been cut before ``other``."""
    return relationships(viewer, [other])[other.pk]


def relationships(viewer: User, people: list[User]) -> dict[int, Relationship]:
    """:func:`relationship` of ``viewer`` to each of ``people`` (by id), for a page of people:
    still one cache call for all of them, and the database only for those a block involves or
    a cut list may have missed."""
    if not viewer.is_authenticated:
        return {other.pk: Relationship(is_anonymous=True) for other in people}
    found: dict[int, Relationship] = {other.pk: Relationship(is_self=True) for other in people if other.pk == viewer.pk}
    others = [other for other in people if other.pk != viewer.pk]
    if not others:
        return found
    kinds = ("friends", "fans", "fan_of", "pending")
    names = {people_list(kind, viewer.pk): people_loader(kind, viewer) for kind in kinds}
    names[blocks_list(viewer.pk)] = blocks_loader(viewer)
    cached = idlists.get_many(names)
    lists = {kind: frozenset(cached[people_list(kind, viewer.pk)]) for kind in kinds}
    blocks = frozenset(cached[blocks_list(viewer.pk)])
    full = [frozenset(ids) for ids in cached.values() if len(ids) >= idlists.cap()]
    for other in others:
        if other.pk in blocks or any(other.pk not in ids for ids in full):
            found[other.pk] = _relationship_from_database(viewer, other)
            continue
        friends = other.pk in lists["friends"]
        fan = other.pk in lists["fans"]
        found[other.pk] = Relationship(
            you_are_fan=friends or other.pk in lists["fan_of"],
            they_are_fan=friends or fan,
            request_ignored=fan and other.pk not in lists["pending"],
        )
    return found


def _relationship_from_database(viewer: User, other: User) -> Relationship:
    fanships = dict(
        Fanship.objects.filter(Q(fan=viewer, idol=other) | Q(fan=other, idol=viewer)).values_list("fan_id", "ignored")
    )
    blockers = set(
        Block.objects.filter(Q(blocker=viewer, blocked=other) | Q(blocker=other, blocked=viewer)).values_list(
            "blocker_id", flat=True
        )
    )
    return Relationship(
        you_are_fan=viewer.pk in fanships,
        they_are_fan=other.pk in fanships,
        request_ignored=fanships.get(other.pk, False),
        you_blocked=viewer.pk in blockers,
        blocked_you=other.pk in blockers,
    )


@dataclass(frozen=True)
class ProfileSummary:
    """What the profile header shows: ``profile_user``, ``relationship`` and ``counts``."""

    profile_user: User
    relationship: Relationship
    counts: PeopleCounts


def profile_summary(viewer: User, profile_user: User) -> ProfileSummary:
    """Everything ``accounts/_profile_header.html`` needs about ``profile_user`` as seen by ``viewer``.

    The notes count is every note for the person themselves and the public ones for anyone
    else: a count of all would tell a visitor how many notes they are not allowed to see."""
    own = viewer.pk == profile_user.pk
    counts = people_counts(profile_user, pending=own)
    if not own:
        counts = replace(counts, notes=counts.public_notes)
    return ProfileSummary(profile_user=profile_user, relationship=relationship(viewer, profile_user), counts=counts)


# Home's side column shows this many waiting friend requests, and links to the rest.
SIDE_REQUESTS_SHOWN = 3


@dataclass(frozen=True)
class OwnSummary:
    """What home's side column shows its reader about themselves: their ``counts`` (with open
    friend requests) and the first few people waiting for an answer (``requests``, newest
    first, suspended people left out)."""

    person: User
    counts: PeopleCounts
    requests: list[User]

    @property
    def more_requests(self) -> int:
        """Waiting requests not shown in ``requests`` (the requests page lists them all)."""
        return max(self.counts.pending - len(self.requests), 0)


class OwnSummaryReads:
    """The reads behind :class:`OwnSummary`, in two steps so home adds them to its own cache
    batches (cache/batch.py) and pays no call of its own: the counts row and the ``pending``
    list in the first, the people shown in the second. Nothing here asks the database unless
    the counts row is missing or the pending list is full (the page is then not cached)."""

    def __init__(self, user: User, first: Batch) -> None:
        self.user = user
        self._counts = first.objects(UserCounts, [user.pk])
        self._pending = first.list(people_list("pending", user.pk), people_loader("pending", user))

    def second(self, batch: Batch) -> None:
        self._shown_ids = list(self._pending.result[:SIDE_REQUESTS_SHOWN])
        self._people = batch.objects(User, self._shown_ids)

    def result(self) -> OwnSummary:
        counts = people_counts_from(self.user, self._counts.result.get(self.user.pk), self._pending.result)
        people = [self._people.result[pk] for pk in self._shown_ids if pk in self._people.result]
        return OwnSummary(person=self.user, counts=counts, requests=shown_people(people))
