"""Reads for the API, built on the site's own selectors and streams: the same cached lists, the
same visibility rules (notes/visibility.py), nothing re-derived.

Timelines page as Mastodon's clients ask — ``max_id`` (older than), ``since_id`` (newer than,
the newest first), ``min_id`` (newer than, the oldest first) and ``limit`` — on top of the
site's keyset pages (``before=<id>``): ``max_id`` is ``before``; ``since_id`` cuts the newest
page; ``min_id`` walks back from the newest page until it passes ``min_id`` (at most
``MIN_ID_PAGES`` pages: a client catching up after a long gap gets the newest of the gap, and
asks again). ``limit`` is Mastodon's: 20 by default, at most 40 (``TIMELINE_LIMIT``,
``TIMELINE_LIMIT_MAX``). A stream page holds ``PAGE_SIZE`` (20) notes, so a longer answer joins
consecutive pages, each read through the same cached lists: a warm answer of 40 is two pages'
cache calls, and no SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import Http404

from accounts.models import User
from accounts.selectors import fan_ids, fan_of_ids, friend_ids, person_shown, users_by_ids
from accounts.selectors import people_search as account_people_search
from cache import objects
from notes.models import Note, Reply
from notes.selectors import PAGE_SIZE, CardCounts, Page
from notes.streams import NotePage, note_with_replies
from pownce.api.models import MediaUpload

MIN_ID_PAGES = 10
SEARCH_MAX = 40
TIMELINE_LIMIT = 20
TIMELINE_LIMIT_MAX = 40
# The most pages one answer joins (min_id aside): enough for TIMELINE_LIMIT_MAX notes, and one
# to spare for a page a stream left short (hidden notes it did not replace).
JOINED_PAGES = -(-TIMELINE_LIMIT_MAX // PAGE_SIZE) + 1


@dataclass(frozen=True)
class Paging:
    """A client's paging parameters; ``limit`` already within 1 … TIMELINE_LIMIT_MAX."""

    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = TIMELINE_LIMIT


@dataclass
class Slice:
    """One answer of a timeline: notes newest first, their counts, and where to go on."""

    items: list[Note]
    counts: dict[int, CardCounts] = field(default_factory=dict)
    older: int | None = None  # max_id of the next (older) page, None at the end
    newer: int | None = None  # min_id of the previous (newer) page


def timeline(fetch: Callable[[int | None], Page], paging: Paging) -> Slice:
    """A timeline answer from ``fetch(before) -> Page`` (one of notes.streams' streams): up to
    ``paging.limit`` notes, from as many consecutive pages as that takes."""
    limit = paging.limit
    counts: dict[int, CardCounts] = {}
    if paging.min_id is not None:
        collected: list[Note] = []
        before = paging.max_id
        for _ in range(MIN_ID_PAGES):
            page = fetch(before)
            counts.update(page.counts)
            newer = [note for note in page.items if note.pk > paging.min_id]
            collected.extend(newer)
            if len(newer) < len(page.items) or not page.has_more:
                break
            before = page.before
        items = collected[-limit:]
        return Slice(items, counts, older=items[-1].pk if items else None, newer=items[0].pk if items else None)
    collected = []
    before = paging.max_id
    for _ in range(JOINED_PAGES):
        page = fetch(before)
        counts.update(page.counts)
        fresh = page.items
        if paging.since_id is not None:
            fresh = [note for note in fresh if note.pk > paging.since_id]
        collected.extend(fresh)
        # Past since_id, or at the stream's end: nothing older belongs to this answer.
        reached_end = len(fresh) < len(page.items) or not page.has_more
        if reached_end or len(collected) >= limit:
            break
        before = page.before
    more = len(collected) > limit or (page.has_more and paging.since_id is None)
    items = collected[:limit]
    older = (items[-1].pk if items else page.before) if more else None
    return Slice(items, counts, older=older, newer=items[0].pk if items else None)


def note_thread(viewer, note_id: int) -> NotePage:
    """The note with its replies, if ``viewer`` may see it (Http404 otherwise)."""
    return note_with_replies(viewer, note_id)


def reply_in_thread(viewer, reply_id: int) -> tuple[Reply, NotePage]:
    """A reply and its note's thread, if ``viewer`` may see the note and the reply (rules 1-2
    and 9 of notes/visibility.py, as under the note on its page); Http404 otherwise."""
    reply = objects.get(Reply, reply_id) if 0 < reply_id < 2**63 else None
    if reply is None:
        raise Http404("No such reply")
    thread = note_with_replies(viewer, reply.note_id)
    for shown in thread.replies:
        if shown.pk == reply.pk:
            return shown, thread
    raise Http404("No such reply")


def person(person_id: int) -> User:
    """Someone who may be shown anywhere (rule 2: not suspended), by id; Http404 otherwise."""
    found = objects.get(User, person_id) if 0 < person_id < 2**63 else None
    if not person_shown(found) or not found.is_active:
        raise Http404("No such person")
    return found


def _merged(sources: list[Callable[[int | None, int], list[int]]], before: int | None, limit: int) -> list[int]:
    ids: set[int] = set()
    for source in sources:
        ids.update(source(before, limit))
    return sorted(ids, reverse=True)[:limit]


def followers(user: User, *, before: int | None, limit: int) -> list[int]:
    """Ids of ``user``'s fans and friends (everyone who added them), highest first."""
    return _merged(
        [lambda b, n: friend_ids(user, before=b, limit=n), lambda b, n: fan_ids(user, before=b, limit=n)], before, limit
    )


def following(user: User, *, before: int | None, limit: int) -> list[int]:
    """Ids of the people ``user`` added (friends and fan-of), highest first."""
    return _merged(
        [lambda b, n: friend_ids(user, before=b, limit=n), lambda b, n: fan_of_ids(user, before=b, limit=n)],
        before,
        limit,
    )


def people(ids: list[int]) -> list[User]:
    return [found for found in users_by_ids(ids) if person_shown(found) and found.is_active]


def people_search(viewer, query: str, *, limit: int) -> list[User]:
    """People found by ``query`` as the site's search finds them (``accounts.selectors.people_search``:
    a prefix of a username or of a name's words, one indexed lookup, nobody suspended or on
    either side of a block with ``viewer``), best first. A Mastodon ``acct`` (``@bob@host``)
    is searched by its username."""
    query = query.strip().lstrip("@").split("@", 1)[0]
    return account_people_search(viewer, query, limit=max(1, min(limit, SEARCH_MAX))).people


def waiting_media(owner: User, media_id: int) -> MediaUpload | None:
    """One of ``owner``'s uploads (nobody else's exist for them)."""
    return MediaUpload.objects.filter(pk=media_id, owner=owner).first()
