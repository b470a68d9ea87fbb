"""Reads of notes: who may see a note, and the streams.

Every stream is built in steps, each ONE cache call (cache/batch.py) whatever it holds:

1. ID lists, newest first (notes/caching.py names them): one keyset page is cut from the cached
   list (``before`` an id, never OFFSET); pages older than the cached list holds come from the
   database by the ``*_note_ids(...)`` / ``*_reply_ids(...)`` queries below, which are also
   what fills the lists;
2. the objects for those ids — notes, replies — and their ``NoteCounts`` rows;
3. what the objects point at: authors, recipients, the notes replies answer.

Moderation reaches every reader at once through the objects, not the lists: hiding a note
invalidates that note's object and suspending someone invalidates their user object, and every
read drops hidden notes and what suspended people wrote when it loads those objects
(:func:`is_shown`). The cached lists keep the ids, so unhiding and unsuspending cost nothing more.

So a warm home stream costs three cache calls and no SQL (the logged-in user is a fourth).

Visibility is decided by ``Note.objects.visible_to(viewer)`` (and :func:`is_shown`): the cached lists are filled
with it, and ``visible_note`` (note page, file and ``.ics`` downloads, every write that starts
from a note the viewer was shown) answers from the cache only when the cached lists say the
note is public, the viewer's own, or in the viewer's inbox, and asks that query otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.http import Http404

from accounts.models import FriendSet, User
from cache import Batch, idlists, objects
from notes import caching
from notes.models import Note, NoteCounts, Reply, ReplyDelivery, Star

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


# --- Visibility -------------------------------------------------------------------------------


def visible_note(viewer, note_id: int) -> Note:
    """The note ``note_id`` if ``viewer`` may see it; Http404 otherwise, whether or not it exists.

    The note comes from the object cache. A public note, or the viewer's own, needs nothing
    more; a note found in the viewer's cached inbox was put there by ``visible_to`` (and the
    inbox is invalidated by deliveries and blocks); anything else asks ``visible_to`` itself.
    """
    if not isinstance(note_id, int) or not 0 < note_id < 2**63:
        raise Http404("No such note")
    note = objects.get(Note, note_id)
    if note is not None and not note.is_hidden and not _visible_from_cache(viewer, note):
        note = Note.objects.visible_to(viewer).filter(pk=note_id).first()
    if note is None or note.is_hidden:
        raise Http404("No such note")
    attach_related([note], [])
    if not is_shown(note):
        raise Http404("No such note")
    return note


def is_shown(item: Note | Reply) -> bool:
    """Whether a loaded note or reply (with what it points at attached) may be shown at all: its
    author exists and is not suspended, and a note is not hidden by a moderator, nor a forward
    of a hidden note or of a suspended person's. A reply also goes with the note it answers,
    when that note is known."""
    author = item.author
    if author is None or author.is_suspended:
        return False
    if isinstance(item, Note):
        if item.is_hidden:
            return False
        # A forward carries a copy of its original: hiding the original, or suspending its author,
        # takes the copies away too. (An original that no longer exists leaves its forwards.)
        original = item._state.fields_cache.get("forwarded_from")
        credited = item._state.fields_cache.get("forwarded_from_author")
        return not (original is not None and original.is_hidden) and not (credited and credited.is_suspended)
    note = item._state.fields_cache.get("note")
    note_author = item._state.fields_cache.get("note_author")
    if note_author is not None and note_author.is_suspended:
        return False
    return note is None or not note.is_hidden


def _visible_from_cache(viewer, note: Note) -> bool:
    if note.is_public:
        return True
    if viewer is None or not viewer.is_authenticated:
        return False
    if note.author_id == viewer.pk:
        return True
    return note.pk in idlists.get(caching.inbox(viewer.pk), inbox_loader(viewer))


# --- Step 1: id lists, newest first -----------------------------------------------------------


def public_note_ids(*, before: int | None = None, limit: int = PAGE_SIZE, using: str | None = None) -> list[int]:
    notes = Note.objects.using(using).visible_to(None).before(before).newest_first()
    return list(notes.values_list("pk", flat=True)[:limit])


def profile_note_ids(
    viewer, author: User, *, before: int | None = None, limit: int = PAGE_SIZE, using: str | None = None
) -> list[int]:
    notes = Note.objects.using(using).visible_to(viewer).by(author).before(before).newest_first()
    return list(notes.values_list("pk", flat=True)[:limit])


def home_note_ids(
    user: User, *, show: str = "all", before: int | None = None, limit: int = PAGE_SIZE, using: str | None = None
) -> list[int]:
    """Notes in ``user``'s inbox (sent to them or by them), narrowed by a home filter."""
    notes = Note.objects.using(using).visible_to(user)
    if show == "sent":
        notes = notes.by(user)
    else:
        notes = notes.delivered_to(user)
    if show == "private":
        notes = notes.private()
    elif show in Note.Kind.values:
        notes = notes.of_kind(show)
    return list(notes.before(before).newest_first().values_list("pk", flat=True)[:limit])


def home_reply_ids(
    user: User, *, before: int | None = None, limit: int = PAGE_SIZE, using: str | None = None
) -> list[int]:
    """Replies on notes ``user`` wrote or replied to, that they may still see."""
    replies = (
        Reply.objects.using(using)
        .filter(pk__in=ReplyDelivery.objects.filter(recipient=user).values("reply"))
        .on_notes_visible_to(user)
    )
    return list(replies.before(before).newest_first().values_list("pk", flat=True)[:limit])


def note_reply_ids(note: Note, *, limit: int = REPLIES_SHOWN) -> list[int]:
    """The newest ``limit`` replies of a note the caller already knows is visible, oldest first."""
    ids = list(Reply.objects.filter(note=note).newest_first().values_list("pk", flat=True)[:limit])
    ids.reverse()
    return ids


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


def notes_by_id(ids: list[int]) -> list[Note]:
    """Notes for ``ids`` in that order, with what they point at; missing ids are skipped."""
    notes = objects.ordered(Note, ids)
    attach_related(notes, [])
    return [note for note in notes if is_shown(note)]


def replies_by_id(ids: list[int]) -> list[Reply]:
    replies = objects.ordered(Reply, ids)
    attach_related([], replies)
    return [reply for reply in replies if is_shown(reply)]


def card_counts(found: dict[int, NoteCounts], note_ids: list[int], starred: set[int]) -> dict[int, CardCounts]:
    """Cards' counts from the ``NoteCounts`` rows (a note without one yet shows zeros)."""
    empty = NoteCounts()
    return {
        pk: CardCounts(replies=found.get(pk, empty).replies, stars=found.get(pk, empty).stars, starred=pk in starred)
        for pk in note_ids
    }


def note_counts(note_ids: Iterable[int], viewer) -> dict[int, CardCounts]:
    """Reply and star counts, kept out of the note objects because they change all the time."""
    note_ids = list(note_ids)
    batch = Batch()
    counts = batch.objects(NoteCounts, note_ids)
    stars = batch.list(caching.stars_of(viewer.pk), stars_loader(viewer)) if signed_in(viewer) else None
    batch.run()
    return card_counts(counts.result, note_ids, set(stars.result) if stars else set())


# --- Lists: what fills the cached ID lists ----------------------------------------------------


def signed_in(viewer) -> bool:
    return viewer is not None and viewer.is_authenticated


def inbox_loader(user: User):
    return lambda using, limit: home_note_ids(user, limit=limit, using=using)


def home_replies_loader(user: User):
    return lambda using, limit: home_reply_ids(user, limit=limit, using=using)


def stars_loader(user: User):
    return lambda using, limit: list(
        Star.objects.using(using).filter(user=user).order_by("-note_id").values_list("note_id", flat=True)[:limit]
    )


def cut_page(cached: tuple, before: int | None, from_database) -> list[int]:
    """One page (and one more id, to tell whether there is a next page) of a cached list, or
    from the database when the page lies beyond what the list holds."""
    ids, complete = idlists.page(cached, before=before, size=PAGE_SIZE + 1)
    return ids if complete else from_database()
