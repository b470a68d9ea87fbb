"""Reads of notes: the single note a viewer asked for, and the steps every stream is built from.

Every stream is built in steps, each ONE cache call (cache/batch.py) whatever it holds:

1. ID lists, newest first (notes/caching.py names them): one keyset page is cut from the cached
   list (``before`` an id, never OFFSET); pages older than the cached list holds come from the
   database by the ``*_note_ids(...)`` / ``*_reply_ids(...)`` queries below, which are also
   what fills the lists;
2. the objects for those ids — notes, replies — and their ``NoteCounts`` rows;
3. what the objects point at: authors, recipients, the notes replies answer.

So a warm home stream costs three cache calls and no SQL (the logged-in user is a fourth).

Who may see what is decided by notes/visibility.py, and only there: the lists hold what its
audience rules (3-5) admit (``Note.objects.reaching``), and every read applies its moderation
rules (1-2, ``visibility.is_shown``) when it loads the objects. ``visible_note`` — the note
page, file, thumbnail and ``.ics`` downloads, and every write that starts from a note the
viewer was shown — asks ``visibility.note_reaches`` with the viewer's cached inbox, so a note
the inbox holds costs no query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.caching import blocks_list
from accounts.models import FriendSet, User
from accounts.selectors import blocks_from, blocks_loader
from cache import Batch, idlists, objects
from notes import caching, partitioning, visibility
from notes.models import Note, NoteCounts, Reply, ReplyDelivery, Star

PAGE_SIZE = 20
# Upcoming events: how many home shows, and how many the cached value keeps (more than shown,
# so events that start drop out of it and later ones take their place without a reload).
UPCOMING_SHOWN = 5
UPCOMING_KEPT = 50
# The most replies shown under one note; a longer thread shows its newest ones.
REPLIES_SHOWN = 200

# The home stream's filters, in the order the page offers them.
HOME_FILTERS = {
    "all": "All",
    "notes": "Notes",
    "replies": "Replies",
    "private": "Private",
    "sent": "Sent",
    Note.Kind.MESSAGE: "Messages",
    Note.Kind.LINK: "Links",
    Note.Kind.FILE: "Files",
    Note.Kind.EVENT: "Events",
}


def home_filter_shows_own(note: Note, show: str) -> bool:
    """Whether ``note``, which the reader sent, is in their home stream under the filter
    ``show`` (``home_note_ids``: the inbox holds every note a person sends; an unknown filter
    is "all")."""
    if show == "private":
        return note.audience == Note.Audience.FRIEND
    if show in Note.Kind.values:
        return note.kind == show
    return show != "replies"


@dataclass
class Page:
    """One page of a stream: notes and/or replies newest first, and where the next page starts."""

    items: list
    has_more: bool = False
    before: int | None = None
    before_reply: int | None = None
    counts: dict[int, CardCounts] = field(default_factory=dict)

    @property
    def entries(self) -> list[tuple[Note | Reply, CardCounts | None]]:
        """Each item with its counts (notes) or None (replies), for the templates."""
        return [(item, self.counts.get(item.pk) if isinstance(item, Note) else None) for item in self.items]


@dataclass
class CardCounts:
    """What a note's card shows besides the note: its counts, and whether the reader starred it."""

    replies: int = 0
    stars: int = 0
    starred: bool = False
    # The people on either side of a block with the reader (visibility rule 9): the star button.
    blocks: frozenset[int] = frozenset()


# --- One note ----------------------------------------------------------------------------------


class NoteNotShown(Http404):
    """The note asked for is not one the viewer may see — or does not exist: the same answer."""


def visible_note(viewer, note_id: int) -> Note:
    """The note ``note_id`` if ``viewer`` may see it (notes/visibility.py, rules 1-5), with what
    it points at attached; :class:`NoteNotShown` (a 404) otherwise, whether or not it exists."""
    if not isinstance(note_id, int) or not 0 < note_id < 2**63:
        raise NoteNotShown("No such note")
    note = objects.get(Note, note_id)
    if note is None or not visibility.note_reaches(viewer, note, inbox=lambda: _inbox(viewer)):
        raise NoteNotShown("No such note")
    attach_related([note], [])
    if not visibility.is_shown(note):
        raise NoteNotShown("No such note")
    return note


def own_note(user, note_id: int) -> Note:
    """``user``'s own note ``note_id`` (what they may delete, hidden or not); Http404 otherwise."""
    note = Note.objects.filter(pk=note_id, author_id=user.pk).first() if 0 < note_id < 2**63 else None
    if note is None:
        raise Http404("No such note")
    return note


def own_reply(user, reply_id: int) -> Reply:
    """``user``'s own reply ``reply_id`` (what they may delete); Http404 otherwise."""
    reply = Reply.objects.filter(pk=reply_id, author_id=user.pk).first() if 0 < reply_id < 2**63 else None
    if reply is None:
        raise Http404("No such reply")
    return reply


def _inbox(viewer) -> tuple[int, ...]:
    return idlists.get(caching.inbox(viewer.pk), inbox_loader(viewer))


# --- Step 1: id lists, newest first -----------------------------------------------------------


def public_note_ids(*, before: int | None = None, limit: int = PAGE_SIZE, using: str | None = None) -> list[int]:
    notes = Note.objects.using(using).before(before).newest_first()
    return visibility.reaching_ids(notes, None, limit=limit, using=using)


def profile_note_ids(
    viewer, author: User, *, before: int | None = None, limit: int = PAGE_SIZE, using: str | None = None
) -> list[int]:
    notes = Note.objects.using(using).by(author).before(before).newest_first()
    return visibility.reaching_ids(notes, viewer, limit=limit, using=using)


def home_note_ids(
    user: User, *, show: str = "all", before: int | None = None, limit: int = PAGE_SIZE, using: str | None = None
) -> list[int]:
    """Notes in ``user``'s inbox (sent to them or by them), narrowed by a home filter.

    The inbox is on its own shard (notes/partitioning.py), never joined with notes: each step
    reads a page of note ids from the one shard that holds the whole inbox, then keeps those
    the main cluster shows under the filter (rule 9, kind, private). A delivered note reaches
    its recipient (rule 4), so no further audience check is needed."""
    if show == "sent":
        notes = Note.objects.using(using).by(user).before(before).newest_first()
        return list(notes.values_list("pk", flat=True)[:limit])
    notes = Note.objects.using(using).filter(visibility.not_blocked_with(user))
    if show == "private":
        notes = notes.private()
    elif show in Note.Kind.values:
        notes = notes.of_kind(show)
    found: list[int] = []
    step = max(limit, PAGE_SIZE)
    while len(found) < limit:
        page = partitioning.inbox_note_ids(user.pk, before=before, limit=step, using=using)
        kept = set(notes.filter(pk__in=page).values_list("pk", flat=True)) if page else set()
        found += [pk for pk in page if pk in kept]
        if len(page) < step:
            break
        before, step = page[-1], min(step * 4, 2000)
    return found[:limit]


def upcoming_events(user: User, *, limit: int = UPCOMING_KEPT, using: str | None = None) -> list[tuple[float, int]]:
    """The events in ``user``'s inbox (sent to them or by them) that have not started yet,
    soonest first, as ``(start as a UNIX time, note id)`` pairs, at most ``limit``.

    The inbox is on its own shard and never joined: each step reads the next future events of
    the main cluster in start order (keyset on ``(event_start, id)`` over the (kind, start)
    index), then keeps those the user's inbox shard holds — so the cost grows with the events
    ahead that were not sent to them, not with the size of their inbox. Rule 9 (blocks) as the
    home stream applies it; rules 1-2 are applied by the reader, on the loaded notes."""
    events = (
        Note.objects.using(using)
        .of_kind(Note.Kind.EVENT)
        .filter(event_start__gt=timezone.now())
        .filter(visibility.not_blocked_with(user))
        .order_by("event_start", "pk")
    )
    found: list[tuple[float, int]] = []
    after, step = None, max(limit, PAGE_SIZE)
    while len(found) < limit:
        page = events
        if after is not None:
            page = page.filter(Q(event_start__gt=after[0]) | Q(event_start=after[0], pk__gt=after[1]))
        rows = list(page.values_list("event_start", "pk")[:step])
        held = partitioning.delivered_among(user.pk, [pk for _, pk in rows], using=using)
        found += [(start.timestamp(), pk) for start, pk in rows if pk in held]
        if len(rows) < step:
            break
        after, step = rows[-1], min(step * 4, 2000)
    return found[:limit]


def upcoming_loader(user: User):
    """Fills the ``upcoming-events`` value of ``user`` (notes/caching.py)."""
    return lambda ids, using: {user.pk: tuple(upcoming_events(user, using=using))}


def home_reply_ids(
    user: User, *, before: int | None = None, limit: int = PAGE_SIZE, using: str | None = None
) -> list[int]:
    """Replies on notes ``user`` wrote or replied to, that they may still see."""
    replies = (
        Reply.objects.using(using)
        .filter(pk__in=ReplyDelivery.objects.filter(recipient=user).values("reply"))
        .filter(visibility.not_blocked_with(user))
        .before(before)
        .newest_first()
    )
    return visibility.reaching_ids(replies, user, note="note__", limit=limit, using=using)


# --- Step 2 and 3: objects by id, and what they point at --------------------------------------


def in_order(found: dict, ids: list[int]) -> list:
    return [found[pk] for pk in ids if pk in found]


def attach_related(notes: list[Note], replies: list[Reply], *, known_notes: dict | None = None) -> None:
    """Step 3: put authors, recipients, credited authors, forwarded originals and replied-to
    notes on the cached objects (cached rows carry no related objects), in ONE cache call."""
    user_ids: set[int] = set()
    for note in notes:
        user_ids.update(pk for pk in (note.author_id, note.recipient_id, note.forwarded_from_author_id) if pk)
    for reply in replies:
        user_ids.update(pk for pk in (reply.author_id, reply.note_author_id) if pk)
    known_notes = known_notes or {}
    missing_notes = {reply.note_id for reply in replies if reply.note_id not in known_notes}
    missing_notes |= {note.forwarded_from_id for note in notes if note.forwarded_from_id} - set(known_notes)
    set_ids = {note.friend_set_id for note in notes if note.friend_set_id}
    batch = Batch()
    users = batch.objects(User, user_ids)
    more_notes = batch.objects(Note, missing_notes)
    sets = batch.objects(FriendSet, set_ids)
    batch.run()
    for note in notes:
        cache = note._state.fields_cache
        cache["author"] = users.result.get(note.author_id)
        cache["recipient"] = users.result.get(note.recipient_id)
        cache["forwarded_from_author"] = users.result.get(note.forwarded_from_author_id)
        cache["friend_set"] = sets.result.get(note.friend_set_id)
    all_notes = {**known_notes, **more_notes.result}
    for note in notes:
        if note.forwarded_from_id:
            note._state.fields_cache["forwarded_from"] = all_notes.get(note.forwarded_from_id)
    for reply in replies:
        cache = reply._state.fields_cache
        cache["author"] = users.result.get(reply.author_id)
        cache["note_author"] = users.result.get(reply.note_author_id)
        if reply.note_id in all_notes:
            cache["note"] = all_notes[reply.note_id]


def card_counts(
    found: dict[int, NoteCounts], note_ids: list[int], starred: set[int], blocks: frozenset[int] = frozenset()
) -> dict[int, CardCounts]:
    """Cards' counts from the ``NoteCounts`` rows (a note without one yet shows zeros)."""
    empty = NoteCounts()
    return {
        pk: CardCounts(
            replies=found.get(pk, empty).replies, stars=found.get(pk, empty).stars, starred=pk in starred, blocks=blocks
        )
        for pk in note_ids
    }


# --- Lists: what fills the cached ID lists ----------------------------------------------------


def inbox_loader(user: User):
    return lambda using, limit: home_note_ids(user, limit=limit, using=using)


def home_replies_loader(user: User):
    return lambda using, limit: home_reply_ids(user, limit=limit, using=using)


def blocks_read(batch: Batch, viewer):
    """Add the viewer's ``blocks:<id>`` list to ``batch`` (None for a signed-out reader)."""
    if not visibility.signed_in(viewer):
        return None
    return batch.list(blocks_list(viewer.pk), blocks_loader(viewer))


def blocks_result(read, viewer) -> frozenset[int]:
    return blocks_from(read.result, viewer) if read is not None else frozenset()


def stars_loader(user: User):
    return lambda using, limit: list(
        Star.objects.using(using).filter(user=user).order_by("-note_id").values_list("note_id", flat=True)[:limit]
    )


def cut_page(cached: tuple, before: int | None, from_database) -> list[int]:
    """One page (and one more id, to tell whether there is a next page) of a cached list, or
    from the database when the page lies beyond what the list holds."""
    ids, complete = idlists.page(cached, before=before, size=PAGE_SIZE + 1)
    return ids if complete else from_database()
