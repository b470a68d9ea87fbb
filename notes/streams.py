"""The streams people read — home, public, a profile, a note with its replies — assembled from
the cached steps of :mod:`notes.selectors`: each step is ONE cache call (cache/batch.py).

A warm home stream is three calls and no SQL: the lists (inbox, replies, stars, the note
form's friends and sets; with home's side column, the viewer's counts, friend requests,
suggested people and upcoming events); the notes, replies and their counts (and the form's and
the side column's people and events); what they point at (authors, recipients, replied-to
notes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from accounts.models import User
from accounts.profiles import OwnSummary, OwnSummaryReads
from accounts.selectors import AudienceOptions, AudienceReads
from accounts.suggestions import NEWCOMER_ADDED, PersonSuggestion, SuggestionReads
from cache import Batch, idlists, pages
from notes import caching
from notes.models import Note, NoteCounts, Reply
from notes.selectors import (
    HOME_FILTERS,
    PAGE_SIZE,
    REPLIES_SHOWN,
    UPCOMING_KEPT,
    UPCOMING_SHOWN,
    CardCounts,
    Page,
    attach_related,
    blocks_read,
    blocks_result,
    card_counts,
    cut_page,
    home_note_ids,
    home_replies_loader,
    home_reply_ids,
    in_order,
    inbox_loader,
    profile_note_ids,
    public_note_ids,
    stars_loader,
    upcoming_events,
    upcoming_loader,
    visible_note,
)
from notes.visibility import blocks_hide, is_shown, reaching_ids, signed_in

# People suggested on the first page of a newcomer's home (accounts/suggestions.py).
HOME_SUGGESTIONS = 5
# A page of a stream whose notes are hidden (moderated, or by suspended people) reads further
# ids instead of showing fewer notes: at most this many reads of PAGE_SIZE + 1 ids.
FILL_ROUNDS = 3


def _note_page(first: Batch, note_ids_before, viewer, before: int | None) -> Page:
    """A stream of notes only: ``note_ids_before(cursor)`` gives up to ``PAGE_SIZE + 1`` ids
    older than ``cursor`` once ``first`` has run. Notes not shown (visibility rules 1-2) are
    skipped and further ids read in their place, up to ``FILL_ROUNDS`` times."""
    stars = first.list(caching.stars_of(viewer.pk), stars_loader(viewer)) if signed_in(viewer) else None
    blocks = blocks_read(first, viewer)
    first.run()
    shown: list[Note] = []
    found_counts: dict[int, NoteCounts] = {}
    cursor, more = before, False
    for _ in range(FILL_ROUNDS):
        ids = note_ids_before(cursor)
        second = Batch()
        notes = second.objects(Note, ids)
        counts = second.objects(NoteCounts, ids)
        second.run()
        loaded = in_order(notes.result, ids)
        attach_related(loaded, [])
        found_counts.update(counts.result)
        visible = [note for note in loaded if is_shown(note)]
        room = PAGE_SIZE - len(shown)
        shown += visible[:room]
        if len(visible) > room:  # a note is left over: there is a next page
            more = True
            break
        more = len(ids) > PAGE_SIZE  # every id was used; the list may go on
        if not more or len(shown) == PAGE_SIZE:
            cursor = ids[-1] if ids else cursor
            break
        cursor = ids[-1]
    return Page(
        items=shown,
        has_more=more,
        before=(shown[-1].pk if len(shown) == PAGE_SIZE else cursor) if more else None,
        counts=card_counts(
            found_counts,
            [note.pk for note in shown],
            set(stars.result) if stars else set(),
            blocks_result(blocks, viewer),
        ),
    )


def public_stream(viewer, *, before: int | None = None) -> Page:
    first = Batch()
    public = first.list(caching.PUBLIC, lambda using, limit: public_note_ids(limit=limit, using=using))

    def ids_before(cursor: int | None) -> list[int]:
        return cut_page(public.result, cursor, lambda: public_note_ids(before=cursor, limit=PAGE_SIZE + 1))

    return _note_page(first, ids_before, viewer, before)


def profile_stream(viewer, author: User, *, before: int | None = None) -> Page:
    """What ``viewer`` may see of ``author``'s notes, from cached lists: the author's own view
    is their ``sent`` list, a visitor's their ``public_by`` list, and another signed-in
    reader's the merge of ``public_by`` and the author's non-public notes delivered to the
    reader (``received_from``). Pages older than the lists hold come from the database."""
    first = Batch()

    def from_database(cursor: int | None):
        return lambda: profile_note_ids(viewer, author, before=cursor, limit=PAGE_SIZE + 1)

    if signed_in(viewer) and viewer.pk != author.pk:
        public = first.list(
            caching.public_by(author.pk), lambda using, limit: profile_note_ids(None, author, limit=limit, using=using)
        )
        received = first.list(
            caching.received_from(viewer.pk, author.pk),
            lambda using, limit: _received_ids(viewer, author, limit, using),
        )
        return _note_page(
            first,
            lambda cursor: _merged_page(public.result, received.result, cursor, from_database(cursor)),
            viewer,
            before,
        )
    if signed_in(viewer):
        cached = first.list(caching.sent(author.pk), lambda using, limit: _sent_ids(author, limit, using))
    else:
        cached = first.list(
            caching.public_by(author.pk), lambda using, limit: profile_note_ids(None, author, limit=limit, using=using)
        )
    return _note_page(first, lambda cursor: cut_page(cached.result, cursor, from_database(cursor)), viewer, before)


def _received_ids(viewer, author: User, limit: int, using: str | None) -> list[int]:
    # The author's non-public notes first, then which of them reach the viewer (their inbox
    # shard): never every note that reaches the viewer, then the author's among them.
    notes = Note.objects.using(using).by(author).exclude(audience=Note.Audience.PUBLIC).newest_first()
    return reaching_ids(notes, viewer, limit=limit, using=using)


def _merged_page(first: tuple, second: tuple, before: int | None, from_database) -> list[int]:
    """One page (and one more id) of the union of two cached lists, newest first. A full list
    may have been cut: the union is whole only down to the oldest id of every full list."""
    cap = idlists.cap()
    floor = max((ids[-1] for ids in (first, second) if len(ids) >= cap), default=None)
    merged = sorted(set(first) | set(second), reverse=True)
    if floor is not None:
        merged = [pk for pk in merged if pk >= floor]
    chunk = [pk for pk in merged if before is None or pk < before][: PAGE_SIZE + 1]
    return chunk if len(chunk) == PAGE_SIZE + 1 or floor is None else from_database()


def _sent_ids(author: User, limit: int, using: str | None) -> list[int]:
    return list(Note.objects.using(using).by(author).newest_first().values_list("pk", flat=True)[:limit])


def _next_cursor(shown: list[int], fetched: int, given: int | None) -> int | None:
    """Where one source of a merged page continues: after its last shown item; where it
    started if none of its items fit on this page; and below every id (1) once it is empty."""
    if shown:
        return shown[-1]
    return given if fetched else 1


def _newest(item: Note | Reply) -> tuple:
    return (item.created, isinstance(item, Note))


@dataclass
class HomePage:
    page: Page
    audience: AudienceOptions
    # Home's side column (``side=True``), else None / empty: the reader's photo, counts and
    # waiting friend requests; people to add, on the first page of the home of someone who has
    # added few people or has nothing in their inbox; the soonest events in the viewer's inbox
    # that have not started, authors attached.
    own: OwnSummary | None = None
    suggestions: list[PersonSuggestion] = field(default_factory=list)
    upcoming: list[Note] = field(default_factory=list)


def _upcoming_candidates(user: User, kept: tuple) -> list[int]:
    """The ids of the events in ``kept`` (the cached value) that have not started yet, a few
    more than are shown (some may turn out hidden). An event whose start passes changes the
    page by itself: a stored home is good until then (``cache.pages.changes_in``)."""
    now = time.time()
    ahead = [(start, pk) for start, pk in kept if start > now]
    if len(kept) >= UPCOMING_KEPT and len(ahead) < UPCOMING_SHOWN:
        # Most of a full value has started: later events may be missing from it. Read them
        # now (this render is not stored: it ran SQL) and have the value loaded again.
        ahead = upcoming_events(user)
        caching.upcoming_changed([user.pk])
    if ahead:
        pages.changes_in(ahead[0][0] - now)
    return [pk for _, pk in ahead[: UPCOMING_SHOWN * 2]]


def home_page(
    user: User,
    *,
    show: str = "all",
    before: int | None = None,
    before_reply: int | None = None,
    side: bool = False,
) -> HomePage:
    """The home stream and what the note form on it needs, in three cache calls when warm. "all"
    interleaves inbox notes and replies by time, each paged by its own id. ``side``: with home's
    side column too (read in the same calls): the viewer's summary, on the first page people to
    suggest to a newcomer (fewer than ``NEWCOMER_ADDED`` added, or an empty inbox), and their
    upcoming events. The API's timeline asks for the stream only."""
    if show not in HOME_FILTERS:
        show = "all"
    first = Batch()
    audience = AudienceReads(user, first)
    inbox = first.list(caching.inbox(user.pk), inbox_loader(user))
    replies_list = first.list(caching.home_replies(user.pk), home_replies_loader(user))
    stars = first.list(caching.stars_of(user.pk), stars_loader(user))
    blocks = blocks_read(first, user)
    own = OwnSummaryReads(user, first) if side else None
    first_page = show == "all" and before is None and before_reply is None
    suggested = SuggestionReads(user, first) if side and first_page else None
    kept = first.values(caching.UPCOMING_EVENTS, [user.pk], upcoming_loader(user)) if side else None
    first.run()
    event_ids = _upcoming_candidates(user, kept.result.get(user.pk, ())) if kept else []

    if show in ("all", "notes"):
        note_ids = cut_page(inbox.result, before, lambda: home_note_ids(user, before=before, limit=PAGE_SIZE + 1))
    elif show == "replies":
        note_ids = []
    else:
        note_ids = home_note_ids(user, show=show, before=before, limit=PAGE_SIZE + 1)
    if show in ("all", "replies"):
        reply_ids = cut_page(
            replies_list.result, before_reply, lambda: home_reply_ids(user, before=before_reply, limit=PAGE_SIZE + 1)
        )
    else:
        reply_ids = []

    second = Batch()
    audience.second(second)
    if own:
        own.second(second)
    if suggested is not None and (not inbox.result or suggested.added_count() < NEWCOMER_ADDED):
        suggested.second(second, limit=HOME_SUGGESTIONS)
    notes = second.objects(Note, note_ids)
    replies = second.objects(Reply, reply_ids)
    counts = second.objects(NoteCounts, note_ids)
    events = second.objects(Note, event_ids)
    second.run()
    loaded_notes = in_order(notes.result, note_ids)
    loaded_replies = in_order(replies.result, reply_ids)
    loaded_events = in_order(events.result, event_ids)
    attach_related(loaded_notes + loaded_events, loaded_replies, known_notes=notes.result)
    loaded_notes = [note for note in loaded_notes if is_shown(note)]
    loaded_replies = [reply for reply in loaded_replies if is_shown(reply)]

    merged = sorted(loaded_notes + loaded_replies, key=_newest, reverse=True)
    shown = merged[:PAGE_SIZE]
    shown_notes = [item.pk for item in shown if isinstance(item, Note)]
    shown_replies = [item.pk for item in shown if isinstance(item, Reply)]
    more = len(merged) > PAGE_SIZE
    page = Page(
        items=shown,
        has_more=more,
        before=_next_cursor(shown_notes, len(loaded_notes), before) if more and note_ids else None,
        before_reply=_next_cursor(shown_replies, len(loaded_replies), before_reply) if more and reply_ids else None,
        counts=card_counts(counts.result, shown_notes, set(stars.result), blocks_result(blocks, user)),
    )
    upcoming_shown = [note for note in loaded_events if is_shown(note)][:UPCOMING_SHOWN]
    return HomePage(
        page=page,
        audience=audience.result(),
        own=own.result() if own else None,
        suggestions=suggested.result() if suggested else [],
        upcoming=upcoming_shown,
    )


@dataclass
class NotePage:
    note: Note
    replies: list[Reply]
    counts: CardCounts
    # The people on either side of a block with the reader (visibility rule 9).
    blocks: frozenset[int] = frozenset()


def note_with_replies(viewer, note_id: int) -> NotePage:
    note = visible_note(viewer, note_id)
    first = Batch()
    reply_list = first.list(caching.replies_of(note.pk), lambda using, limit: _reply_ids_newest(note, limit, using))
    counts = first.objects(NoteCounts, [note.pk])
    stars = first.list(caching.stars_of(viewer.pk), stars_loader(viewer)) if signed_in(viewer) else None
    blocks_read_ = blocks_read(first, viewer)
    first.run()
    blocks = blocks_result(blocks_read_, viewer)
    ids = list(reversed(reply_list.result[:REPLIES_SHOWN]))
    second = Batch()
    replies = second.objects(Reply, ids)
    second.run()
    loaded = in_order(replies.result, ids)
    attach_related([], loaded, known_notes={note.pk: note})
    return NotePage(
        note=note,
        replies=[reply for reply in loaded if is_shown(reply) and not blocks_hide(reply, blocks)],
        counts=card_counts(counts.result, [note.pk], set(stars.result) if stars else set(), blocks)[note.pk],
        blocks=blocks,
    )


def _reply_ids_newest(note: Note, limit: int, using: str | None) -> list[int]:
    return list(Reply.objects.using(using).filter(note=note).newest_first().values_list("pk", flat=True)[:limit])
