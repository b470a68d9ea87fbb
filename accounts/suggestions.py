"""People suggested to a person: where they come from, how the worker finds them, how pages read them.

Three kinds, in this order on a page:

1. **Friends of friends**: people who are friends with the person's friends, ranked by how many
   mutual friends they have (``weight``); only the person's newest ``FRIENDS_LOOKED_AT``
   friends are looked at.
2. **Same notes**: people who starred or replied to the notes the person starred or replied to
   (their newest ``NOTES_LOOKED_AT`` of each, hidden notes left out), ranked by how many of
   those notes (a note both starred and replied to by someone counts for each).
3. **Popular**: the people most people added (fans and friends), the same list for everyone.

Finding them takes joins over the graph and the stars, so it is done in the task worker only
(:func:`suggestions_refresh`, run by ``accounts.tasks.people_suggestions_refresh``) and its
answer is kept: a person's list (1 and 2, at most ``KEPT``) as ``Suggestion`` rows of theirs,
the popular list (at most ``KEPT``) as rows for nobody in particular; each is cached as one
value, ``people-suggestions:<id>`` and ``people-suggestions:popular`` (accounts/caching.py),
invalidated by the task that writes it. A page reads both values with its other lists in ONE
cache call (:class:`SuggestionReads`) — a miss is one query over the (for_user, rank) index —
and the people in its next call, from the object cache. No request joins anything.

When the worker finds them again: a person's list, whenever a fanship of theirs is made or
ended (``accounts.services``, in the change's transaction) and when they star or reply, at most
once per ``ACTIVITY_REFRESH_SECONDS`` (:func:`refresh_soon`, from notes.services); the popular
list at most once per ``POPULAR_REFRESH_SECONDS``, by whichever person's refresh comes first
after that; everybody's with ``manage.py suggestions_refresh`` (after seeding, or from cron).

Who is never suggested: the person themselves, the people they added (friends and fan-of),
anybody on either side of a block with them, suspended and deactivated people. The worker
leaves them out when it computes; since a list may be older than the graph, a page leaves them
out again with the viewer's own cached lists (friends, fan-of, blocks) and the people's cached
rows, so someone just added or blocked is gone from the suggestions at once.

Not guaranteed: freshness beyond that. A friend's new friend appears once the person's own
list is refreshed; a popular person's rank is as old as the popular list; a cut list (a
viewer with more than the list cap of friends) may let someone they added through until
their next refresh, which leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.caching import SUGGESTIONS, blocks_list, people_list
from accounts.counts import people_lock
from accounts.models import Block, Fanship, Suggestion, User, UserCounts
from accounts.selectors import blocks_from, blocks_loader, people_loader, person_shown
from cache import Batch
from cache.batch import invalidate_values
from pownce import ratelimit
from pownce.router import PRIMARY

KEPT = 30
FRIENDS_LOOKED_AT = 500
NOTES_LOOKED_AT = 200
POPULAR = "popular"
POPULAR_REFRESH_SECONDS = 15 * 60
ACTIVITY_REFRESH_SECONDS = 10 * 60
# Home shows suggestions to someone who has added fewer people than this, or has an empty home.
NEWCOMER_ADDED = 10


# --- Finding them (the task worker) -------------------------------------------------------------


def suggestions_refresh(user_id: int) -> int:
    """Find the people to suggest to ``user_id`` and keep them (replacing the old list), and
    the popular list too if it is due; returns how many were kept for the person. Idempotent."""
    if ratelimit.hit("suggestions-popular", POPULAR, limit=1, window=POPULAR_REFRESH_SECONDS):
        popular_refresh()
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return 0
    found: dict[int, tuple[str, int]] = {}
    if person_shown(user) and user.is_active:
        for reason, people in (
            (Suggestion.Reason.FRIENDS, friends_of_friends(user_id)),
            (Suggestion.Reason.SAME_NOTES, same_notes(user_id)),
        ):
            for person, weight in people:
                found.setdefault(person, (reason, weight))
    kept = [(person, reason, weight) for person, (reason, weight) in found.items()][:KEPT]
    _keep(user_id, kept)
    return len(kept)


def popular_refresh() -> int:
    """Find and keep the popular people: the most added (fans and friends), shown ones only."""
    rows = (
        UserCounts.objects.filter(user__is_suspended=False, user__is_active=True)
        .annotate(added=F("fans") + F("friends"))
        .filter(added__gt=0)
        .order_by("-added", "-user_id")
        .values_list("user_id", "added")[:KEPT]
    )
    people = [(person, Suggestion.Reason.POPULAR, added) for person, added in rows]
    _keep(None, people)
    return len(people)


def _candidates(user_id: int, person: str = "") -> Q:
    """Rows whose person (the user at ``person``, e.g. ``"idol"``; the row itself if "") may be
    suggested to ``user_id``: not them, not someone they added, not across a block, shown and
    active."""
    column, fields = (person, f"{person}__") if person else ("pk", "")
    return (
        ~Q(**{column: user_id})
        & ~Q(Exists(Fanship.objects.filter(fan_id=user_id, idol=OuterRef(column))))
        & ~Q(Exists(Block.objects.filter(blocker_id=user_id, blocked=OuterRef(column))))
        & ~Q(Exists(Block.objects.filter(blocker=OuterRef(column), blocked_id=user_id)))
        & Q(**{f"{fields}is_suspended": False, f"{fields}is_active": True})
    )


def friends_of_friends(user_id: int) -> list[tuple[int, int]]:
    """(person, mutual friends) for the friends of ``user_id``'s friends, most mutual first."""
    mutual = Exists(Fanship.objects.filter(fan=OuterRef("idol"), idol_id=user_id))
    friends = list(
        Fanship.objects.filter(fan_id=user_id)
        .filter(mutual)
        .order_by("-idol_id")
        .values_list("idol_id", flat=True)[:FRIENDS_LOOKED_AT]
    )
    if not friends:
        return []
    back = Exists(Fanship.objects.filter(fan=OuterRef("idol"), idol=OuterRef("fan")))
    rows = (
        Fanship.objects.filter(fan_id__in=friends)
        .filter(back)
        .filter(_candidates(user_id, "idol"))
        .values("idol_id")
        .annotate(mutual=Count("fan_id"))
        .order_by("-mutual", "-idol_id")
        .values_list("idol_id", "mutual")[:KEPT]
    )
    return list(rows)


def same_notes(user_id: int) -> list[tuple[int, int]]:
    """(person, notes in common) for the people who starred or replied to the notes
    ``user_id`` starred or replied to, most in common first. The notes app's stars and replies
    are reached through their reverse names on ``User`` (``stars``, ``replies``): accounts
    does not import notes."""
    me = User.objects.filter(pk=user_id)
    starred = me.filter(stars__note__is_hidden=False).order_by("-stars__id").values_list("stars__note_id", flat=True)
    replied = (
        me.filter(replies__note__is_hidden=False).order_by("-replies__id").values_list("replies__note_id", flat=True)
    )
    notes = set(starred[:NOTES_LOOKED_AT]) | set(replied[:NOTES_LOOKED_AT])
    if not notes:
        return []
    in_common: dict[int, int] = {}
    for relation in ("stars", "replies"):
        rows = (
            User.objects.filter(**{f"{relation}__note_id__in": notes})
            .filter(_candidates(user_id))
            .values("pk")
            .annotate(shared=Count(f"{relation}__note_id", distinct=True))
            .values_list("pk", "shared")
        )
        for person, shared in rows:
            in_common[person] = in_common.get(person, 0) + shared
    return sorted(in_common.items(), key=lambda item: (-item[1], -item[0]))[:KEPT]


def _keep(for_user: int | None, people: list[tuple[int, str, int]]) -> None:
    """Replace the kept list of ``for_user`` (None: the popular list) and invalidate its value.

    A person's list is replaced under the lock their fanship changes take (their counts row), so
    two refreshes of one list do not interleave. The old rows are found by the (for_user, rank)
    index without locking and deleted by primary key: a ``DELETE … WHERE for_user_id = ?``
    may scan the table (the optimizer's choice while it is small) and wait on the rows other
    people's refreshes are writing — two such refreshes, each inside a request's transaction,
    deadlocked. (Two popular refreshes at once — they are spaced by ``POPULAR_REFRESH_SECONDS``
    — may both insert; a read takes each person once, and the next refresh replaces both.)"""
    now = timezone.now()
    with transaction.atomic():
        if for_user is not None:
            people_lock([for_user], using=PRIMARY)
        old = list(Suggestion.objects.filter(for_user_id=for_user).values_list("pk", flat=True))
        Suggestion.objects.filter(pk__in=old).delete()
        Suggestion.objects.bulk_create(
            [
                Suggestion(
                    for_user_id=for_user, person_id=person, reason=reason, weight=weight, rank=rank, computed=now
                )
                for rank, (person, reason, weight) in enumerate(people)
            ]
        )
        invalidate_values(SUGGESTIONS, [POPULAR if for_user is None else for_user])


def refresh_soon(user_id: int) -> None:
    """Queue a refresh of ``user_id``'s suggestions after something they did (a star, a reply),
    unless one was queued for that in the last ``ACTIVITY_REFRESH_SECONDS``."""
    from accounts import tasks  # the task module imports this one

    if ratelimit.hit("suggestions-activity", str(user_id), limit=1, window=ACTIVITY_REFRESH_SECONDS):
        tasks.people_suggestions_refresh.enqueue(user_id)


def refresh_people(user_ids: Iterable[int]) -> None:
    """Queue a refresh of these people's suggestions (their fanships changed)."""
    from accounts import tasks

    for user_id in sorted(set(user_ids)):
        tasks.people_suggestions_refresh.enqueue(user_id)


# --- Reading them (pages) ------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonSuggestion:
    """Someone to suggest to the viewer, why (a ``Suggestion.Reason``) and how strongly, and
    whether they added the viewer already (adding them back makes the two friends)."""

    person: User
    reason: str
    weight: int
    added_you: bool = False

    @property
    def why(self) -> str:
        count = self.weight
        if self.reason == Suggestion.Reason.FRIENDS:
            return f"{count} mutual friend{'s' if count != 1 else ''}"
        if self.reason == Suggestion.Reason.SAME_NOTES:
            return f"Starred or replied to {count} of the notes you did"
        return f"Popular: added by {count} {'people' if count != 1 else 'person'}"


def _kept_loader(ids: list, using: str | None) -> dict:
    """The kept lists of these people (ids) and/or of everyone (``POPULAR``): ONE query over
    the (for_user, rank) index. Every id gets a value, an empty one too, so it is cached."""
    people = [ident for ident in ids if ident != POPULAR]
    wanted = Q(for_user_id__in=people) if people else Q(pk__in=[])
    if POPULAR in ids:
        wanted |= Q(for_user__isnull=True)
    found: dict = {ident: [] for ident in ids}
    rows = Suggestion.objects.using(using).filter(wanted).order_by("for_user_id", "rank")
    for for_user, person, reason, weight in rows.values_list("for_user_id", "person_id", "reason", "weight"):
        found[POPULAR if for_user is None else for_user].append((person, reason, weight))
    return {ident: tuple(value) for ident, value in found.items()}


class SuggestionReads:
    """The reads behind :func:`suggestions_for`, in steps a page adds to its own cache batches
    (cache/batch.py): the kept lists and the viewer's people lists with the page's first call,
    the people with its second."""

    def __init__(self, viewer: User, first: Batch) -> None:
        self.viewer = viewer
        self._kept = first.values(SUGGESTIONS, [viewer.pk, POPULAR], _kept_loader)
        self._lists = {
            kind: first.list(people_list(kind, viewer.pk), people_loader(kind, viewer))
            for kind in ("friends", "fans", "fan_of")
        }
        self._blocks = first.list(blocks_list(viewer.pk), blocks_loader(viewer))
        self._people = None

    def added_count(self) -> int:
        """How many people the viewer added (friends and fan-of; at most the list cap each)."""
        return len(self._lists["friends"].result) + len(self._lists["fan_of"].result)

    def second(self, batch: Batch, *, limit: int) -> None:
        """Ask for the people of up to ``limit`` suggestions (and a few more, for any the
        objects show to be suspended)."""
        left_out = {self.viewer.pk} | blocks_from(self._blocks.result, self.viewer)
        left_out |= set(self._lists["friends"].result) | set(self._lists["fan_of"].result)
        kept = self._kept.result
        chosen: dict[int, tuple[str, int]] = {}
        for person, reason, weight in (*kept.get(self.viewer.pk, ()), *kept.get(POPULAR, ())):
            if person not in left_out:
                chosen.setdefault(person, (reason, weight))
        self._chosen = list(chosen.items())[: limit + limit // 2 + 1]
        self._limit = limit
        self._people = batch.objects(User, [person for person, _ in self._chosen])

    def result(self) -> list[PersonSuggestion]:
        if self._people is None:
            return []
        fans = set(self._lists["fans"].result)
        found = self._people.result
        shown = [
            PersonSuggestion(found[pk], reason, weight, added_you=pk in fans)
            for pk, (reason, weight) in self._chosen
            if pk in found and person_shown(found[pk]) and found[pk].is_active
        ]
        return shown[: self._limit]


def suggestions_for(viewer: User, *, limit: int = KEPT) -> list[PersonSuggestion]:
    """Up to ``limit`` people to suggest to ``viewer``, their own first, then popular ones: two
    cache calls and no SQL when warm."""
    first, second = Batch(), Batch()
    reads = SuggestionReads(viewer, first)
    first.run()
    reads.second(second, limit=limit)
    second.run()
    return reads.result()
