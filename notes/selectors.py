"""Reads of notes: who may see a note, and the streams.

Every stream is built in two steps, and the cache layer will sit in front of exactly these:

1. ``*_note_ids(...)`` / ``*_reply_ids(...)`` — a list of ids, newest first, one keyset page
   (``before`` an id, never OFFSET);
2. ``notes_by_id(ids)`` / ``replies_by_id(ids)`` — those objects (with their authors), in the
   order of the ids.

Visibility is decided by ``Note.objects.visible_to(viewer)`` alone; ``visible_note`` is the
single-note form of it, used by the note page, file and ``.ics`` downloads and every write that
starts from a note the viewer was shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count
from django.http import Http404

from accounts.models import User
from notes.models import Note, Reply, ReplyDelivery, Star

PAGE_SIZE = 20
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


@dataclass
class Page:
    """One page of a stream: notes and/or replies newest first, and where the next page starts."""

    items: list
    has_more: bool = False
    before: int | None = None
    before_reply: int | None = None
    counts: dict[int, NoteCounts] = field(default_factory=dict)

    @property
    def entries(self) -> list[tuple[Note | Reply, NoteCounts | None]]:
        """Each item with its counts (notes) or None (replies), for the templates."""
        return [(item, self.counts.get(item.pk) if isinstance(item, Note) else None) for item in self.items]


@dataclass
class NoteCounts:
    replies: int = 0
    stars: int = 0
    starred: bool = False


# --- Visibility -------------------------------------------------------------------------------


def visible_note(viewer, note_id: int) -> Note:
    """The note ``note_id`` if ``viewer`` may see it; Http404 otherwise, whether or not it exists."""
    note = Note.objects.visible_to(viewer).filter(pk=note_id).select_related("author").first()
    if note is None:
        raise Http404("No such note")
    return note


# --- Step 1: id lists, newest first -----------------------------------------------------------


def public_note_ids(*, before: int | None = None, limit: int = PAGE_SIZE) -> list[int]:
    notes = Note.objects.visible_to(None).before(before).newest_first()
    return list(notes.values_list("pk", flat=True)[:limit])


def profile_note_ids(viewer, author: User, *, before: int | None = None, limit: int = PAGE_SIZE) -> list[int]:
    notes = Note.objects.visible_to(viewer).by(author).before(before).newest_first()
    return list(notes.values_list("pk", flat=True)[:limit])


def home_note_ids(user: User, *, show: str = "all", before: int | None = None, limit: int = PAGE_SIZE) -> list[int]:
    """Notes in ``user``'s inbox (sent to them or by them), narrowed by a home filter."""
    notes = Note.objects.visible_to(user)
    if show == "sent":
        notes = notes.by(user)
    else:
        notes = notes.delivered_to(user)
    if show == "private":
        notes = notes.private()
    elif show in Note.Kind.values:
        notes = notes.of_kind(show)
    return list(notes.before(before).newest_first().values_list("pk", flat=True)[:limit])


def home_reply_ids(user: User, *, before: int | None = None, limit: int = PAGE_SIZE) -> list[int]:
    """Replies on notes ``user`` wrote or replied to, that they may still see."""
    replies = Reply.objects.filter(
        pk__in=ReplyDelivery.objects.filter(recipient=user).values("reply")
    ).on_notes_visible_to(user)
    return list(replies.before(before).newest_first().values_list("pk", flat=True)[:limit])


def note_reply_ids(note: Note, *, limit: int = REPLIES_SHOWN) -> list[int]:
    """The newest ``limit`` replies of a note the caller already knows is visible, oldest first."""
    ids = list(Reply.objects.filter(note=note).newest_first().values_list("pk", flat=True)[:limit])
    ids.reverse()
    return ids


# --- Step 2: objects by id --------------------------------------------------------------------


def notes_by_id(ids: list[int]) -> list[Note]:
    found = Note.objects.filter(pk__in=ids).select_related("author", "forwarded_from__author").in_bulk()
    return [found[pk] for pk in ids if pk in found]


def replies_by_id(ids: list[int]) -> list[Reply]:
    found = Reply.objects.filter(pk__in=ids).select_related("author", "note__author").in_bulk()
    return [found[pk] for pk in ids if pk in found]


def note_counts(note_ids: Iterable[int], viewer) -> dict[int, NoteCounts]:
    """Reply and star counts, kept out of the note objects because they change all the time."""
    note_ids = list(note_ids)
    counts = {pk: NoteCounts() for pk in note_ids}
    if not note_ids:
        return counts
    for row in Reply.objects.filter(note__in=note_ids).values("note").annotate(n=Count("pk")).order_by():
        counts[row["note"]].replies = row["n"]
    for row in Star.objects.filter(note__in=note_ids).values("note").annotate(n=Count("pk")).order_by():
        counts[row["note"]].stars = row["n"]
    if viewer is not None and viewer.is_authenticated:
        for pk in Star.objects.filter(note__in=note_ids, user=viewer).values_list("note", flat=True):
            counts[pk].starred = True
    return counts


# --- Streams ----------------------------------------------------------------------------------


def _note_page(ids: list[int], viewer) -> Page:
    shown = ids[:PAGE_SIZE]
    more = len(ids) > PAGE_SIZE
    return Page(
        items=notes_by_id(shown),
        has_more=more,
        before=shown[-1] if more else None,
        counts=note_counts(shown, viewer),
    )


def public_stream(viewer, *, before: int | None = None) -> Page:
    return _note_page(public_note_ids(before=before, limit=PAGE_SIZE + 1), viewer)


def profile_stream(viewer, author: User, *, before: int | None = None) -> Page:
    return _note_page(profile_note_ids(viewer, author, before=before, limit=PAGE_SIZE + 1), viewer)


def _next_cursor(shown: list[int], fetched: int, given: int | None) -> int | None:
    """Where one source of a merged page continues: after its last shown item; where it
    started if none of its items fit on this page; and below every id (1) once it is empty."""
    if shown:
        return shown[-1]
    return given if fetched else 1


def home_stream(user: User, *, show: str = "all", before: int | None = None, before_reply: int | None = None) -> Page:
    """The home stream. "all" interleaves inbox notes and replies by time, each paged by its own id."""
    if show not in HOME_FILTERS:
        show = "all"
    if show == "replies":
        ids = home_reply_ids(user, before=before_reply, limit=PAGE_SIZE + 1)
        more = len(ids) > PAGE_SIZE
        return Page(
            items=replies_by_id(ids[:PAGE_SIZE]), has_more=more, before_reply=ids[PAGE_SIZE - 1] if more else None
        )
    note_ids = home_note_ids(user, show="all" if show == "notes" else show, before=before, limit=PAGE_SIZE + 1)
    if show != "all":
        return _note_page(note_ids, user)

    reply_ids = home_reply_ids(user, before=before_reply, limit=PAGE_SIZE + 1)
    notes, replies = notes_by_id(note_ids), replies_by_id(reply_ids)
    merged = sorted(notes + replies, key=lambda item: (item.created, isinstance(item, Note)), reverse=True)
    shown = merged[:PAGE_SIZE]
    shown_notes = [item.pk for item in shown if isinstance(item, Note)]
    shown_replies = [item.pk for item in shown if isinstance(item, Reply)]
    more = len(merged) > PAGE_SIZE
    return Page(
        items=shown,
        has_more=more,
        before=_next_cursor(shown_notes, len(notes), before) if more else None,
        before_reply=_next_cursor(shown_replies, len(replies), before_reply) if more else None,
        counts=note_counts(shown_notes, user),
    )


@dataclass
class NotePage:
    note: Note
    replies: list[Reply]
    counts: NoteCounts


def note_with_replies(viewer, note_id: int) -> NotePage:
    note = visible_note(viewer, note_id)
    note = notes_by_id([note.pk])[0]
    return NotePage(
        note=note,
        replies=replies_by_id(note_reply_ids(note)),
        counts=note_counts([note.pk], viewer)[note.pk],
    )
