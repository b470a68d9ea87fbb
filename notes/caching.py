"""What notes keep in the cache, and which writes invalidate what.

Objects (cache/objects.py): ``Note`` and ``Reply`` rows, invalidated by their own save/delete.

ID lists (cache/idlists.py), newest first:

* ``inbox:<user>`` — notes delivered to the user that they may see (the home stream);
* ``home_replies:<user>`` — replies announced to the user;
* ``sent:<user>`` — every note the user wrote; ``public_by:<user>`` — their public ones;
* ``public`` — every public note;
* ``replies:<note>`` — a note's replies;
* ``stars:<user>`` — notes the user starred (the "starred" mark on each card);
* ``received_from:<reader>:<author>`` — the author's non-public notes delivered to the reader
  that they may see (with ``public_by:<author>``, what a signed-in reader sees of a profile).

Computed values (cache/batch.py): ``upcoming-events`` of a user — the events in their inbox
that had not started when it was loaded, soonest first, as ``(start, note id)`` pairs
(``notes.selectors.upcoming_events``). An event delivered to the user, or deleted, and a block
invalidate it; time passing does not — a reader skips the events whose start has passed.

Computed values kept by notes/notifications.py, per person:

* ``notifications:<user>`` — their newest notifications and their read mark;
* ``notifications-unread:<user>`` — how many are unread (the top bar's badge, on every page).

Reply and star counts are ``NoteCounts`` objects (notes/counts.py), kept apart from the note so
a star does not invalidate the note everyone reads; their signals invalidate them.

Pages (cache/pages.py): home, the public stream, a profile and a note page are kept whole per
viewer, each with its **version vector** — the versions of every key its render read through
the cache, so nothing here lists them by hand and nothing can be left out:

* home: ``inbox``, ``home_replies``, ``stars``, ``blocks`` and ``upcoming-events`` of the
  viewer (and each upcoming event with its author), the note form's
  ``friends`` and ``sets`` lists and those people and sets; each note, its ``NoteCounts``, its
  author, recipient, credited author and set; each reply, its author, its note's author and the
  note it answers; on the first page, the suggestions' kept lists (the viewer's and the popular
  one), the viewer's ``fans`` and ``fan_of`` lists and the people suggested
  (accounts/suggestions.py);
* public stream and profile: ``public`` / ``public_by`` / ``sent`` or, for a signed-in reader
  of someone else's profile, ``public_by`` + ``received_from``; the viewer's ``stars`` and
  ``blocks``; each note with its counts and people as above; a profile adds the person's
  ``UserCounts``, their username's id, and the viewer's people lists (the buttons);
* note page: the note, the viewer's ``inbox`` when it decided whether the viewer may see the
  note, ``replies:<note>`` and each reply with its people, the counts, stars and blocks.

Every page a signed-in viewer reads shows their unread count in the top bar, so its vector
holds ``notifications-unread:<viewer>``: a new notification, or marking them read, renders
every page of theirs anew. The notifications page holds ``notifications`` too, and the people,
notes and replies it names (with the viewer's ``inbox`` and ``blocks``, as a note page does).

The viewer's own row is part of the page's identity rather than its vector. Any write that
invalidates one of those keys (the functions below, the models' signals) changes its version,
and the page is rendered anew on its next request.

Writes that send no signals (bulk inserts of deliveries, ``update()``) call these functions
explicitly from notes/services.py and notes/delivery.py; a block changes what either person's
lists may show (rule 5 of notes/visibility.py), so it invalidates both people's lists through
the Block model's signals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_delete, post_save

from cache import idlists, objects, protocol
from cache.batch import invalidate_values, value_key


def inbox(user_id: int) -> str:
    return f"inbox:{user_id}"


def home_replies(user_id: int) -> str:
    return f"home_replies:{user_id}"


def sent(user_id: int) -> str:
    return f"sent:{user_id}"


def public_by(user_id: int) -> str:
    return f"public_by:{user_id}"


def replies_of(note_id: int) -> str:
    return f"replies:{note_id}"


def stars_of(user_id: int) -> str:
    return f"stars:{user_id}"


PUBLIC = "public"
# Computed values: a user's id → the events in their inbox that have not started yet.
UPCOMING_EVENTS = "upcoming-events"
NOTIFICATIONS = "notifications"
UNREAD_NOTIFICATIONS = "notifications-unread"


def received_from(reader_id: int, author_id: int) -> str:
    return f"received_from:{reader_id}:{author_id}"


def note_delivered(
    *, author_id: int, public: bool, recipient_ids: Iterable[int], event: bool = False, using: str | None = None
) -> None:
    """A note reached these inboxes (or left them, when deleted); ``event``: it is an event."""
    recipient_ids = list(recipient_ids)
    names = [inbox(pk) for pk in recipient_ids] + [sent(author_id)]
    if public:
        names += [PUBLIC, public_by(author_id)]
    else:
        names += [received_from(pk, author_id) for pk in recipient_ids]
    idlists.invalidate(names, using=using)
    if event:
        upcoming_changed(recipient_ids, using=using)


def inboxes_changed(
    recipient_ids: Iterable[int], *, author_id: int, public: bool, event: bool = False, using: str | None = None
) -> None:
    """A note reached these inboxes, and only these lists changed (one batch of a fan-out);
    ``event``: it is an event, so their upcoming events changed too."""
    recipient_ids = list(recipient_ids)
    names = [inbox(pk) for pk in recipient_ids]
    if not public:
        names += [received_from(pk, author_id) for pk in recipient_ids]
    idlists.invalidate(names, using=using)
    if event:
        upcoming_changed(recipient_ids, using=using)


def upcoming_changed(user_ids: Iterable[int], *, using: str | None = None) -> None:
    """An event reached or left these people's inboxes (or may have: a block)."""
    invalidate_values(UPCOMING_EVENTS, list(user_ids), using=using)


def reply_changed(*, note_id: int, recipient_ids: Iterable[int], using: str | None = None) -> None:
    idlists.invalidate([replies_of(note_id), *(home_replies(pk) for pk in recipient_ids)], using=using)


def star_changed(*, note_id: int, user_id: int, using: str | None = None) -> None:
    idlists.invalidate([stars_of(user_id)], using=using)


def notifications_changed(recipient_ids: Iterable[int], *, using: str | None = None) -> None:
    """These people's notifications or read marks changed (written, read, deleted)."""
    kinds = (NOTIFICATIONS, UNREAD_NOTIFICATIONS)
    protocol.invalidate([value_key(kind, pk) for pk in sorted(set(recipient_ids)) for kind in kinds], using=using)


def note_rows_changed(note_ids: Iterable[Any], *, using: str | None = None) -> None:
    """Note rows changed by ``update()`` (no signals)."""
    from notes.models import Note

    objects.invalidate(Note, note_ids, using=using)


def _block_changed(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    people = (instance.blocker_id, instance.blocked_id)
    names = [name(pk) for pk in people for name in (inbox, home_replies)]
    names += [received_from(reader, author) for reader, author in (people, people[::-1])]
    idlists.invalidate(names, using=using)
    upcoming_changed(people, using=using)


def connect() -> None:
    from accounts.models import Block
    from notes.models import Note, Reply

    objects.register(Note)
    objects.register(Reply)
    post_save.connect(_block_changed, sender=Block, dispatch_uid="notes.block.save")
    post_delete.connect(_block_changed, sender=Block, dispatch_uid="notes.block.delete")
