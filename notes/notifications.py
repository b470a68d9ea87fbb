"""Notifications: who hears about what, and reading them back.

Someone hears about (``Notification.Kind``):

* **friend_request** — someone added them as a friend (became their fan) while they had not
  added that person; **friend_accepted** — someone they had added added them back;
* **reply** — a reply to a note they wrote; **thread_reply** — a reply after theirs under
  someone else's note (the note's author hears ``reply`` instead);
* **star** — a star on their note; **forward** — a forward of their note (the notification
  names the forward, so it is told only if the forward reaches them: a public forward always,
  another one once it is delivered to them);
* **private_note** — a note sent to them alone (the "one friend" audience), with its delivery.

Never (enforced here, for every kind, by :func:`allowed` when written and again by
:func:`notifications_page` when read, since blocks, moderation and deletions come later):

1. to the one who did it;
2. between people on the two sides of a block (notes/visibility.py, rule 9) — neither the one
   who did it nor the author of the note it is about;
3. about a note the recipient may not see (rules 1-5, ``visibility.people_reached`` when
   written, ``visibility.note_reaches`` and ``is_shown`` when read): a note the recipient
   cannot open is never named, and a notification whose note became invisible is not shown.

Written only by the delivery path (notes/delivery.py): per-recipient rows on the recipient's
inbox shard (notes/partitioning.py), INSERT IGNORE on the unique (recipient, kind, actor,
subject) index, so a retried task, a repeated fan-out step or a double click writes each
notification once. Big audiences (the people who replied before, under a busy note) are
written by tasks in pages.

Read through the cache (notes/caching.py): ``notifications-unread:<id>`` is the top bar's
badge on every page (so pages stay whole in the page cache: a new notification changes the
value's version, and every page of its recipient is rendered anew); ``notifications:<id>`` is
the newest ``CACHED`` with the read mark. "Mark all read" moves the read mark
(``NotificationsRead``) to the newest notification the reader was shown: one row, whatever
the number read.

Not guaranteed: that the badge counts exactly what the page shows (it counts unread rows; a
notification hidden when read — a note hidden by a moderator, a suspended actor — still
counts until marked read); that a star's, a friend request's or a reply's notification,
written after its cause commits (with the inbox on clusters of its own), survives the process
dying in between — those a delivery brings are written again by the fan-out's first step, and a
long thread's later pages by tasks, so they do; that undoing the cause (an unstar, a friend
removed) takes the notification back — deleting a note or a reply does, and so does a block.
A friend request (or its acceptance) and a star are told once per two people (and note), however
often repeated; each forward is a note of its own, told on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models.functions import Coalesce

from accounts.models import User
from accounts.selectors import person_shown
from cache import Batch
from notes import caching, partitioning, visibility
from notes.models import Note, NoteCounts, Notification, NotificationsRead, Reply
from notes.selectors import PAGE_SIZE, Page, attach_related, blocks_read, blocks_result, card_counts, inbox_loader
from pownce import router

Kind = Notification.Kind
# Notifications kept in the cached ``notifications:<id>`` value: the first pages.
CACHED = 100
# The badge counts this many at most ("99+"): one bounded range, never a count of everything.
UNREAD_CAP = 100
NOTE_KINDS = {Kind.STAR, Kind.FORWARD, Kind.PRIVATE_NOTE}
REPLY_KINDS = {Kind.REPLY, Kind.THREAD_REPLY}


# --- Who hears about what ----------------------------------------------------------------------


def notice(kind: str, *, recipient_id: int, actor_id: int, note_id: int | None = None, reply_id: int | None = None):
    """One notification row (not yet written); its ``subject`` is what makes it unique."""
    subject = reply_id if kind in REPLY_KINDS else note_id if kind in NOTE_KINDS else 0
    return Notification(
        recipient_id=recipient_id, kind=kind, actor_id=actor_id, note_id=note_id, reply_id=reply_id, subject=subject
    )


def for_fanship(fan_id: int, idol_id: int, *, accepted: bool) -> list[Notification]:
    """``fan`` added ``idol``: a request, or — when ``idol`` had added ``fan`` — an acceptance."""
    return [notice(Kind.FRIEND_ACCEPTED if accepted else Kind.FRIEND_REQUEST, recipient_id=idol_id, actor_id=fan_id)]


def for_reply(reply: Reply, note: Note, recipient_ids: Iterable[int]) -> list[Notification]:
    """``reply`` under ``note``: a ``reply`` for the note's author, ``thread_reply`` for the rest."""
    return [
        notice(
            Kind.REPLY if pk == note.author_id else Kind.THREAD_REPLY,
            recipient_id=pk,
            actor_id=reply.author_id,
            note_id=note.pk,
            reply_id=reply.pk,
        )
        for pk in dict.fromkeys(recipient_ids)
    ]


def for_star(user_id: int, note: Note) -> list[Notification]:
    return [notice(Kind.STAR, recipient_id=note.author_id, actor_id=user_id, note_id=note.pk)]


def for_delivery(note: Note, recipient_ids: Collection[int]) -> list[Notification]:
    """What delivering ``note`` to these inboxes tells: a note to one friend tells its recipient;
    a forward tells the author it credits once it reaches them — a public forward reaches
    everyone, so it tells them with the forwarder's own delivery (the request's first write,
    written again by the first plan step); any other forward with the credited author's."""
    rows = []
    if note.audience == Note.Audience.FRIEND:
        author = note.author_id
        rows += [notice(Kind.PRIVATE_NOTE, recipient_id=pk, actor_id=author, note_id=note.pk) for pk in recipient_ids]
    credited = note.forwarded_from_author_id
    if credited and (credited in recipient_ids or (note.is_public and note.author_id in recipient_ids)):
        rows.append(notice(Kind.FORWARD, recipient_id=credited, actor_id=note.author_id, note_id=note.pk))
    return rows


def thread_repliers(note: Note, reply: Reply, *, after: int, limit: int) -> list[int]:
    """People who replied under ``note`` before ``reply``, but its author and the replier,
    ascending by id after ``after``: one keyset page of a "reply after yours" audience."""
    earlier = (
        Reply.objects.filter(note_id=note.pk, pk__lt=reply.pk, author_id__gt=after)
        .exclude(author_id__in=[note.author_id, reply.author_id])
        .order_by("author_id")
        .values_list("author_id", flat=True)
        .distinct()
    )
    return list(earlier[:limit])


def allowed(rows: list[Notification], *, note: Note | None = None) -> list[Notification]:
    """The rows that may be written (rules 1-3 above). ``note``: the note they name, when whether
    each recipient may see it is still to be asked (not for a delivery, which is the answer)."""
    rows = [row for row in rows if row.recipient_id != row.actor_id]
    if not rows:
        return rows
    named = {note.author_id} if note is not None else set()
    pairs = visibility.blocked_pairs({pk for row in rows for pk in (row.recipient_id, row.actor_id)} | named)
    rows = [
        row
        for row in rows
        if not any(frozenset((row.recipient_id, other)) in pairs for other in {row.actor_id, *named})
    ]
    if note is not None and rows:
        reached = visibility.people_reached(note, {row.recipient_id for row in rows})
        rows = [row for row in rows if row.recipient_id in reached]
    return rows


# --- Reading -----------------------------------------------------------------------------------


def _rows(recipient_id: int, *, before: int | None, limit: int, using: str | None) -> list[tuple]:
    alias = partitioning.inbox_alias(recipient_id, using)
    rows = Notification.objects.using(alias).filter(recipient_id=recipient_id)
    if before:
        rows = rows.filter(pk__lt=before)
    fields = ("pk", "kind", "actor_id", "note_id", "reply_id", "created")
    return list(rows.order_by("-pk").values_list(*fields)[:limit])


def _read_mark(recipient_id: int, alias: str):
    return NotificationsRead.objects.using(alias).filter(recipient_id=recipient_id).values("upto")[:1]


def _load_recent(recipient_ids: list[int], using: str | None) -> dict[int, tuple[int, tuple]]:
    """Fills ``notifications:<id>``: (read mark, the newest ``CACHED`` rows)."""
    found = {}
    for pk in recipient_ids:
        mark = list(_read_mark(pk, partitioning.inbox_alias(pk, using)))
        found[pk] = (mark[0]["upto"] if mark else 0, tuple(_rows(pk, before=None, limit=CACHED, using=using)))
    return found


def unread_from_database(recipient_id: int, *, using: str | None = None) -> int:
    """Unread notifications of ``recipient_id``, at most ``UNREAD_CAP``: one query on their
    shard (the read mark is a subquery there: same database, no join across)."""
    alias = partitioning.inbox_alias(recipient_id, using)
    mark = Coalesce(
        models.Subquery(_read_mark(recipient_id, alias)), models.Value(0), output_field=models.BigIntegerField()
    )
    return Notification.objects.using(alias).filter(recipient_id=recipient_id, pk__gt=mark)[:UNREAD_CAP].count()


def _load_unread(recipient_ids: list[int], using: str | None) -> dict[int, int]:
    """Fills ``notifications-unread:<id>``."""
    return {pk: unread_from_database(pk, using=using) for pk in recipient_ids}


def unread_count(user_id: int) -> int:
    """How many of ``user_id``'s notifications are unread (at most ``UNREAD_CAP``), from the
    cache: one call (two while a page is being recorded) and no SQL when warm."""
    batch = Batch()
    unread = batch.values(caching.UNREAD_NOTIFICATIONS, [user_id], _load_unread)
    batch.run()
    return unread.result.get(user_id, 0)


def _page_rows(viewer, cached: tuple, before: int | None) -> list[tuple]:
    """``PAGE_SIZE + 1`` rows older than ``before``, from the cached ones while they reach."""
    older = [row for row in cached if before is None or row[0] < before]
    if len(older) > PAGE_SIZE or len(cached) < CACHED:
        return older[: PAGE_SIZE + 1]
    return _rows(viewer.pk, before=before, limit=PAGE_SIZE + 1, using=None)


@dataclass
class NotificationsPage(Page):
    """A page of notifications; ``newest`` is the id of its newest row, shown or not (what "mark
    all read" marks up to), None for an empty page."""

    newest: int | None = None


def notifications_page(viewer: User, *, before: int | None = None) -> NotificationsPage:
    """One page of ``viewer``'s notifications, newest first: the rows as ``Notification``
    objects with ``actor``, ``note`` and ``reply`` attached and ``unread`` set, only those that
    may be shown now (rules 1-3 above). Cached rows and objects, three cache calls when warm;
    ``before`` pages older ones (keyset, from the database past the cached rows). ``counts``
    holds the named notes' counts (for the API's statuses)."""
    first = Batch()
    recent = first.values(caching.NOTIFICATIONS, [viewer.pk], _load_recent)
    inbox = first.list(caching.inbox(viewer.pk), inbox_loader(viewer))
    blocks_handle = blocks_read(first, viewer)
    first.run()
    read_upto, cached = recent.result.get(viewer.pk, (0, ()))
    rows = _page_rows(viewer, cached, before)
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    notes_ids = [row[3] for row in rows if row[3]]
    second = Batch()
    actors = second.objects(User, [row[2] for row in rows])
    notes = second.objects(Note, notes_ids)
    replies = second.objects(Reply, [row[4] for row in rows if row[4]])
    counts = second.objects(NoteCounts, notes_ids)
    second.run()
    attach_related(list(notes.result.values()), list(replies.result.values()), known_notes=notes.result)
    blocks = blocks_result(blocks_handle, viewer)
    shown = []
    for pk, kind, actor_id, note_id, reply_id, created in rows:
        item = Notification(pk=pk, recipient_id=viewer.pk, kind=kind, actor_id=actor_id, created=created)
        item.note_id, item.reply_id = note_id, reply_id
        cache = item._state.fields_cache
        cache["actor"] = actors.result.get(actor_id)
        cache["note"] = notes.result.get(note_id) if note_id else None
        cache["reply"] = replies.result.get(reply_id) if reply_id else None
        item.unread = pk > read_upto
        if _shown(viewer, item, blocks, lambda: inbox.result):
            shown.append(item)
    return NotificationsPage(
        items=shown,
        has_more=more,
        before=rows[-1][0] if more else None,
        counts=card_counts(counts.result, notes_ids, set(), blocks),
        newest=rows[0][0] if rows else None,
    )


def _shown(viewer: User, item: Notification, blocks: frozenset[int], inbox: Callable) -> bool:
    """Rules 1-3 above, when read: the actor is shown and not blocked, and what it names may be
    seen by ``viewer`` now (notes/visibility.py)."""
    actor = item._state.fields_cache["actor"]
    if not person_shown(actor) or actor.pk in blocks:
        return False
    if item.note_id:
        note = item._state.fields_cache["note"]
        if note is None or not visibility.is_shown(note) or visibility.blocks_hide(note, blocks):
            return False
        if not visibility.note_reaches(viewer, note, inbox=inbox):
            return False
    if item.reply_id:
        reply = item._state.fields_cache["reply"]
        return reply is not None and visibility.is_shown(reply)
    return True


# --- Marking read, clearing, taking back -------------------------------------------------------


def mark_read(user: User, *, upto: int | None = None) -> int:
    """Mark ``user``'s notifications read up to ``upto`` (the newest they were shown; all when
    None): the read mark moves to the newest notification at or below it, never back. Returns
    the mark's new position (0 with nothing to mark)."""
    rows = Notification.objects.using(partitioning.inbox_alias(user.pk, router.PRIMARY)).filter(recipient_id=user.pk)
    if upto is not None:
        rows = rows.filter(pk__lte=upto)
    newest = rows.aggregate(newest=models.Max("pk"))["newest"] or 0
    if not newest:
        return 0
    for alias in partitioning.write_aliases(user.pk):
        marks = NotificationsRead.objects.using(alias)
        with transaction.atomic(using=alias):
            marks.bulk_create([NotificationsRead(recipient_id=user.pk, upto=newest)], ignore_conflicts=True)
            marks.filter(recipient_id=user.pk, upto__lt=newest).update(upto=newest)
    router.mark_wrote()
    caching.notifications_changed([user.pk])
    return newest


def _delete(filters: dict, *, aliases: Iterable[str]) -> set[int]:
    """Delete the notifications matching ``filters`` on these primaries; returns whose they were."""
    recipients: set[int] = set()
    for alias in aliases:
        rows = Notification.objects.using(alias).filter(**filters)
        recipients.update(rows.values_list("recipient_id", flat=True))
        rows.delete()
    router.mark_wrote()
    return recipients


def _all_primaries() -> list[str]:
    return [partitioning.primary_of(physical) for physical in partitioning.physical_shards()]


def clear(user: User, *, notification_id: int | None = None) -> None:
    """Delete ``user``'s notifications (one of them, with ``notification_id``)."""
    filters = {"recipient_id": user.pk} | ({"pk": notification_id} if notification_id is not None else {})
    _delete(filters, aliases=partitioning.write_aliases(user.pk))
    caching.notifications_changed([user.pk])


def note_deleted(note_id: int, *, reply_id: int | None = None) -> None:
    """Take back every notification naming a deleted note (or only its reply ``reply_id``),
    on every shard, once the deletion commits."""
    filters = {"note_id": note_id} | ({"reply_id": reply_id} if reply_id is not None else {})

    def delete() -> None:
        caching.notifications_changed(_delete(filters, aliases=_all_primaries()))

    partitioning.after_main_commit(delete)


def block_made(a_id: int, b_id: int) -> None:
    """Take back what ``a`` and ``b`` were told about each other once their block commits."""

    def delete() -> None:
        gone = _delete({"recipient_id": a_id, "actor_id": b_id}, aliases=partitioning.write_aliases(a_id))
        gone |= _delete({"recipient_id": b_id, "actor_id": a_id}, aliases=partitioning.write_aliases(b_id))
        caching.notifications_changed(gone)

    partitioning.after_main_commit(delete)


class Badge:
    """The top bar's unread count for a signed-in person, read (from the cache) only if a
    template asks for it; ``count`` gives it instead (a page that reads no cache)."""

    def __init__(self, user_id: int, *, count: int | None = None) -> None:
        self.user_id = user_id
        self._count = count

    @property
    def count(self) -> int:
        if self._count is None:
            self._count = unread_count(self.user_id)
        return self._count

    @property
    def label(self) -> str:
        """ "" for none, the number, or "99+"."""
        count = self.count
        return "" if not count else f"{UNREAD_CAP - 1}+" if count >= UNREAD_CAP else str(count)
