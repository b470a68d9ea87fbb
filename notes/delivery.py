"""Delivery: putting a sent note into its recipients' inboxes, planned in the task worker.

Who receives a note is rule 6 of notes/visibility.py (``visibility.recipient_ids``), read one
keyset page at a time in ascending id order, never as a whole. Delivering is done in three
places:

1. **The request** (:func:`note_deliver`, inside the transaction that saves the note) does the
   same work whatever the audience: one read of at most ``FANOUT_INLINE_MAX`` recipient ids
   (the first page of the audience), ONE insert of their deliveries and the author's per inbox
   shard they land on (notes/partitioning.py; after the note's commit when the inbox has
   clusters of its own), and ONE plan task that continues after the last id written — and
   whose first step writes the inline page again, so a crash after the note's commit loses
   nothing. So a small audience — and the author —
   sees the note at once, and posting to 50,000 fans costs the request exactly what posting to
   0 costs (``tests/notes/test_delivery.py`` counts the queries). The task rows are written in
   the note's transaction: they are queued if and only if the note is committed.
2. **A plan step** (:func:`note_fanout_plan`, in the worker) reads up to ``PLAN_PAGES`` pages of
   ``FANOUT_BATCH_SIZE`` ids after its cursor, and queues one batch per page — the keyset
   range ``(after, upto]`` the page spans — plus, if the audience goes on, the next plan step
   from the last id read; all of that in one transaction. This is Takahē's stator: the worker
   walks the audience in bounded steps, and no process ever holds the whole audience.
3. **A batch** (:func:`note_deliver_batch`, in the worker) reads the recipients in its range
   again and writes their deliveries in one transaction.

Idempotency: a delivery is written with INSERT IGNORE on the unique (recipient, note) index,
so any step may run any number of times. A batch always means the same range; it reads the
range when it runs, so a block made after the plan still applies.

Ordering: none between batches, nor with the inline page. Inboxes are ordered by note id, so
a note lands in its place whenever its batch runs. Each write invalidates the inboxes it
touched, now and after commit (bulk inserts send no signals).

If the worker dies mid-plan: a plan step's queued batches and its successor are committed
together or not at all, so a step that died before its commit is queued again
(``pownce.task_queue.requeue_abandoned``) and queues its ranges once; a step that died after
its commit but before the worker marked it done runs again and queues the same ranges again —
harmless duplicates, since batches are idempotent. A batch that dies wrote nothing of its one
transaction, and its rerun writes it all. A note deleted before its steps run makes them do
nothing.

**Notifications** (notes/notifications.py says who hears about what) take the same path: rows
on the recipient's inbox shard, INSERT IGNORE on their unique index, after the cause's commit
when the inbox has clusters of its own. A delivery writes the notifications it brings (a note
to one friend, a forward reaching its credited author) in the same per-shard transaction as
the deliveries, so every step above that writes a delivery writes them too, and a rerun writes
nothing twice. A reply tells the note's author and, in the request, the first
``FANOUT_INLINE_MAX`` people who replied before; a longer thread is told by
:func:`reply_notify_thread` tasks, one keyset page of ``FANOUT_BATCH_SIZE`` repliers each.
Friend requests and acceptances follow ``Fanship`` rows (:func:`connect`); a block takes back
what the two were told about each other.

Not guaranteed: when the last inbox gets the note (that depends on the queue's length and the
number of workers); that someone who becomes a fan while the plan runs gets it (they do if
their id is still ahead of the plan's cursor, and else by the backfill below, if it is among
the author's newest); that people who stop being fans before their batch runs do not.

**The backfill** (rule 10 of notes/visibility.py). Every fanship made or ended between two
people queues :func:`inbox_backfill` for the pair, in the fanship's own transaction (the
``Fanship`` signals, so the pages, the API, the admin and a block all queue it). The task brings
each one's inbox in line with the other's newest notes as things stand *when it runs*: it
delivers, marked ``backfilled_from`` the author, those rule 10 admits — through the same
INSERT IGNORE as the fan-out, on the reader's inbox shard, so a note that was delivered when it
was sent keeps its unmarked delivery — and deletes the marked ones rule 10 no longer admits.
It reads the state anew, so running it twice, or late, or after a later change's run, leaves
the inbox as the state says. Two runs for one pair never interleave with each other or with a
change to the pair's fanships: each holds the lock those changes take
(``accounts.counts.people_lock``) while it reads and writes, so the last run sees the last
change. The reader's inbox list and the author's ``received_from`` list are invalidated after
the inbox writes commit, and again after the task's own transaction does.

Taking back never touches a delivery made when its note was sent (rule 4): a one-friend note
sent to you, or a public note that reached you while you were already a fan, stays after the
friendship ends. Only what adding someone brought leaves with it — including a public note
that came that way: it stays on the author's profile and the public stream, but not in your
home. Not guaranteed: that a note the author sends while the backfill runs is marked (it is
delivered by its own fan-out, unmarked, or by the backfill, marked — either way it arrives).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django_tasks import task

from accounts.counts import people_lock
from accounts.models import Block, Fanship
from notes import caching, notifications, partitioning, visibility
from notes.models import Note, Notification, Reply
from pownce.router import PRIMARY

# Batches one plan step queues: a plan step reads at most PLAN_PAGES × FANOUT_BATCH_SIZE ids.
PLAN_PAGES = 10


def deliveries_write(note: Note, recipient_ids: list[int]) -> None:
    """Put ``note`` in these inboxes, each on its recipient's inbox shard (one insert per
    shard, notes/partitioning.py), with the notifications the delivery brings in the same
    per-shard transactions. Idempotent: an inbox that already holds it is left alone (INSERT
    IGNORE on the unique (recipient, note) index), and so is a notification already written.
    Invalidates the inboxes and the notified people's notifications."""
    told = notifications.allowed(notifications.for_delivery(note, set(recipient_ids)))
    partitioning.deliveries_write(note.pk, recipient_ids, also=told)
    caching.inboxes_changed(
        recipient_ids, author_id=note.author_id, public=note.is_public, event=note.kind == Note.Kind.EVENT
    )
    if told:
        caching.notifications_changed(row.recipient_id for row in told)


def note_deliver(note: Note) -> list[int]:
    """The request's part of sending a saved note (step 1 above); returns the ids of the
    inboxes it wrote to now, the author's first. Call it inside the note's transaction: the
    plan task is queued in it, so it exists if and only if the note does."""
    first_page = visibility.recipient_ids(note, limit=settings.FANOUT_INLINE_MAX)
    written = [note.author_id, *first_page]
    note_fanout_plan.enqueue(note.pk, first_page[-1] if first_page else 0, True)
    if settings.INBOX_PARTITIONED:
        # Cross-cluster writes in order: the note commits on the main cluster, then its inline
        # deliveries go to the inbox shards. A crash between the two loses nothing: the plan
        # queued above, in the note's own transaction, writes the inline page again first
        # (INSERT IGNORE makes the repeat harmless).
        transaction.on_commit(lambda: deliveries_write(note, written))
    else:
        deliveries_write(note, written)  # one database: in the note's own transaction
    # The author's sent list and the public lists.
    caching.note_delivered(author_id=note.author_id, public=note.is_public, recipient_ids=[])
    return written


def plan_ranges(note: Note, after: int, *, pages: int, size: int) -> tuple[list[tuple[int, int]], int | None]:
    """The keyset ranges ``(after, upto]`` of up to ``pages`` pages of ``size`` recipients after
    ``after``, and where the next plan step starts (None once the audience is exhausted)."""
    ranges: list[tuple[int, int]] = []
    for _ in range(pages):
        ids = visibility.recipient_ids(note, after=after, limit=size)
        if not ids:
            return ranges, None
        ranges.append((after, ids[-1]))
        after = ids[-1]
        if len(ids) < size:
            return ranges, None
    return ranges, after


@task()
def note_fanout_plan(note_id: int, after: int, repeat_inline: bool = False) -> int:
    """One plan step of note ``note_id``'s fan-out after recipient id ``after`` (step 2 above);
    returns how many batches it queued. The first step (``repeat_inline``) first writes the
    request's inline page again — the author and the recipients up to ``after``."""
    note = Note.objects.filter(pk=note_id).first()
    if note is None:
        return 0
    if repeat_inline:
        inline = visibility.recipient_ids(note, upto=after) if after else []
        deliveries_write(note, [note.author_id, *inline])
    ranges, resume = plan_ranges(note, after, pages=PLAN_PAGES, size=settings.FANOUT_BATCH_SIZE)
    with transaction.atomic():
        for start, upto in ranges:
            note_deliver_batch.enqueue(note_id, start, upto)
        if resume is not None:
            note_fanout_plan.enqueue(note_id, resume)
    return len(ranges)


@task()
def note_deliver_batch(note_id: int, after: int, upto: int) -> int:
    """Deliver note ``note_id`` to its recipients with ids in ``(after, upto]`` (step 3 above);
    returns how many inboxes the batch covers (0 when the note was deleted before it ran)."""
    note = Note.objects.filter(pk=note_id).first()
    if note is None:
        return 0
    recipients = visibility.recipient_ids(note, after=after, upto=upto)
    deliveries_write(note, recipients)
    return len(recipients)


# --- The backfill (rule 10) ---------------------------------------------------------------------


@task()
def inbox_backfill(person_a: int, person_b: int) -> int:
    """Bring each of the two people's inboxes in line with the other's newest notes (rule 10 of
    notes/visibility.py, see above); returns how many deliveries it added or took back."""
    changed = 0
    with transaction.atomic(using=PRIMARY):
        people_lock([person_a, person_b], using=PRIMARY)
        for reader, author in ((person_a, person_b), (person_b, person_a)):
            changed += _backfill(reader, author)
    return changed


def _backfill(reader_id: int, author_id: int) -> int:
    wanted = visibility.backfill_note_ids(author_id, reader_id)
    brought = partitioning.backfilled_note_ids(reader_id, author_id)
    kept = set(visibility.backfill_note_ids(author_id, reader_id, limit=None, among=brought)) if brought else set()
    gone = brought - kept
    held = partitioning.delivered_among(reader_id, wanted, using=PRIMARY)
    new = [pk for pk in wanted if pk not in held]
    if new:
        partitioning.backfill_write(reader_id, new, author_id=author_id)
    partitioning.backfilled_remove(reader_id, gone, author_id=author_id)
    if new or gone:
        # event=True: some of them may be events, and one invalidation costs less than finding out.
        caching.inboxes_changed([reader_id], author_id=author_id, public=False, event=True)
    return len(new) + len(gone)


def _fanship_changed(sender: Any, instance: Any, created: bool = True, raw: bool = False, **kwargs: Any) -> None:
    # A new fanship or a removed one (post_delete has no "created"); an ignored request changes
    # nobody's audience.
    if created and not raw:
        inbox_backfill.enqueue(*sorted((instance.fan_id, instance.idol_id)))


# --- Notifications -------------------------------------------------------------------------------


def notifications_send(rows: list[Notification], *, note: Note | None = None) -> None:
    """Write the notifications of ``rows`` that may be written (``notifications.allowed``;
    ``note`` is the note they name, if its audience is still to be asked), each on its
    recipient's shard, after the main cluster's commit (``partitioning.after_main_commit``).
    Idempotent: a notification already written is left alone."""
    rows = notifications.allowed(rows, note=note)
    if not rows:
        return

    def write() -> None:
        partitioning.rows_write(rows)
        caching.notifications_changed(row.recipient_id for row in rows)

    partitioning.after_main_commit(write)


def reply_notify(reply: Reply, note: Note) -> None:
    """The request's part of telling people about a new reply: the note's author and the
    first ``FANOUT_INLINE_MAX`` earlier repliers now, and a task for the rest of a long thread."""
    limit = settings.FANOUT_INLINE_MAX
    earlier = notifications.thread_repliers(note, reply, after=0, limit=limit)
    notifications_send(notifications.for_reply(reply, note, [note.author_id, *earlier]), note=note)
    if len(earlier) == limit:
        reply_notify_thread.enqueue(reply.pk, earlier[-1])


@task()
def reply_notify_thread(reply_id: int, after: int) -> int:
    """Tell the people who replied before ``reply_id`` under its note, with ids above ``after``,
    one page of ``FANOUT_BATCH_SIZE``, and queue the next page; returns how many were told (0
    when the reply is gone). Running it again writes nothing twice."""
    reply = Reply.objects.filter(pk=reply_id).select_related("note").first()
    if reply is None:
        return 0
    size = settings.FANOUT_BATCH_SIZE
    earlier = notifications.thread_repliers(reply.note, reply, after=after, limit=size)
    # Written before the next page is queued: a step that dies in between runs again (its task
    # is not done) and writes its page again, harmlessly.
    notifications_send(notifications.for_reply(reply, reply.note, earlier), note=reply.note)
    if len(earlier) == size:
        reply_notify_thread.enqueue(reply_id, earlier[-1])
    return len(earlier)


def _fanship_saved(sender: Any, instance: Fanship, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """A new fanship is a friend request, or the acceptance of one (the other way existed)."""
    if not created or raw:
        return
    accepted = Fanship.objects.filter(fan_id=instance.idol_id, idol_id=instance.fan_id).exists()
    notifications_send(notifications.for_fanship(instance.fan_id, instance.idol_id, accepted=accepted))


def _block_saved(sender: Any, instance: Block, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        notifications.block_made(instance.blocker_id, instance.blocked_id)


def connect() -> None:
    post_save.connect(_fanship_changed, sender=Fanship, dispatch_uid="notes.delivery.backfill.save")
    post_delete.connect(_fanship_changed, sender=Fanship, dispatch_uid="notes.delivery.backfill.delete")
    post_save.connect(_fanship_saved, sender=Fanship, dispatch_uid="notes.notifications.fanship")
    post_save.connect(_block_saved, sender=Block, dispatch_uid="notes.notifications.block")
