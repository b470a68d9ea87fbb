"""Where inboxes live: the inbox (``Delivery``) partitioned by recipient, away from the notes.

Writes scale by partitioning, as the talk says:

1. **Vertically**: deliveries — the biggest, fastest-growing table, about ten rows per note —
   live on inbox clusters of their own (a primary and replicas each, ``POWNCE_DB_INBOX_*``),
   not on the main cluster that holds notes and people. Unset, the main cluster is the one
   inbox cluster and nothing else changes. A person's notifications and their read mark
   (``Notification``, ``NotificationsRead``: notes/notifications.py) are per recipient too and
   live beside their inbox, routed by the same rules: everything said here of deliveries
   holds for them (:data:`INBOX_MODELS`).
2. **Horizontally**: a recipient's inbox is on logical shard ``recipient_id % LOGICAL`` (256 by
   default, fixed for the life of the data); the ``InboxShard`` table in the main database maps
   each logical shard to a physical cluster. A person's whole inbox is on one physical shard:
   home is one query on one database. Fan-out groups recipients by shard and writes each
   shard's batch there (:func:`deliveries_write`).

Rules that follow, enforced here so no caller has to remember them:

* **No joins across clusters.** Any question that mixes deliveries with notes or people is two
  queries: note ids from the inbox shard (:func:`inbox_note_ids`, :func:`delivered_among`),
  then notes from the main cluster by id. Deliveries carry no foreign key constraints.
* **Cross-cluster writes are ordered and idempotent.** A note commits on the main cluster first;
  its deliveries are written after that by the delivery path (notes/delivery.py), whose tasks
  are queued in the note's own transaction on the main primary, so a crash between the two
  loses nothing: the queued task runs (again) and INSERT IGNORE makes a rerun harmless.
  Deleting a note commits first too; its deliveries are deleted afterwards, and a delivery
  whose note is gone is never shown (every read resolves ids against the main cluster).
* **Reads within a shard follow the router's rules** (pownce/router.py, ``read_alias``): a healthy
  replica of that shard, its primary for pinned requests, inside its transactions, or when no
  replica is healthy. ``using="default"`` (what the cache layer asks for after a tombstone)
  means "the primary" and picks the shard's primary.

The map is cached per process for ``INBOX_MAP_TTL`` seconds (read from a replica like any row). While ``manage.py
inbox_move_shard`` moves a logical shard, its map row names the target in ``moving_to``:
writers write to both physical shards, readers keep reading the old one, until the switch.
The move command waits out the map TTL at every step, so no process acts on a map older than
the step it is in. Guaranteed: every delivery written after the mover saw the double-write
state reaches both places; the copy covers everything before it. Not guaranteed: the order of
deliveries across shards (inboxes are ordered by note id, so order of writing does not matter).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import DatabaseError, models, transaction

from notes.models import Delivery, InboxShard, Notification, NotificationsRead
from pownce import ids, router

# The tables kept per recipient on the inbox shards, each row carrying ``recipient_id``.
INBOX_MODELS: tuple[type[models.Model], ...] = (Delivery, Notification, NotificationsRead)

INSERT_BATCH = 1000
logger = logging.getLogger("pownce.partitioning")


# --- The map -----------------------------------------------------------------------------------


class ShardMap:
    """This process's copy of the logical -> physical map, reloaded once older than the TTL.

    Read like any other row (a healthy replica, or the primary for pinned requests), so a
    frozen main primary does not stop inbox reads; if reloading fails, the copy in hand is kept
    (the map changes only during a move, and a move waits for the replicas, see
    notes/shard_moves.py) and the next call tries again. A process that never loaded it fails
    like any read of the main cluster."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[int, int | None]] | None = None
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def rows(self) -> dict[int, tuple[int, int | None]]:
        with self._lock:
            if time.monotonic() - self._loaded_at >= settings.INBOX_MAP_TTL:
                try:
                    rows = InboxShard.objects.values_list("logical", "physical", "moving_to")
                    self._rows = {logical: (physical, moving_to) for logical, physical, moving_to in rows}
                except DatabaseError:
                    if self._rows is None:
                        raise
                    logger.warning("inbox shard map not reloaded; keeping the copy in hand", exc_info=True)
                self._loaded_at = time.monotonic()
            assert self._rows is not None
            return self._rows

    def forget(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")


shard_map = ShardMap()


def logical_shard(recipient_id: int) -> int:
    return recipient_id % settings.INBOX_LOGICAL_SHARDS


def default_physical(logical: int) -> int:
    """Where a logical shard lives while the map has no row for it: round-robin, as the
    migration that fills the map places them."""
    return logical % len(settings.INBOX_CLUSTERS) + 1


def physical_shard(recipient_id: int) -> int:
    """The physical shard (1-based) whose inbox ``recipient_id`` is read from."""
    if not settings.INBOX_PARTITIONED:
        return 1  # one cluster: whatever the map says (it may be left from a partitioned past)
    logical = logical_shard(recipient_id)
    physical, _ = shard_map.rows().get(logical, (None, None))
    return physical or default_physical(logical)


def write_shards(recipient_id: int) -> list[int]:
    """Where a delivery to ``recipient_id`` is written: its shard, and during a move of its
    logical shard the target too."""
    if not settings.INBOX_PARTITIONED:
        return [1]
    logical = logical_shard(recipient_id)
    physical, moving_to = shard_map.rows().get(logical, (None, None))
    physical = physical or default_physical(logical)
    return [physical] if moving_to in (None, physical) else [physical, moving_to]


def primary_of(physical: int) -> str:
    return settings.INBOX_CLUSTERS[physical - 1][0]


def read_alias_of(physical: int, using: str | None = None) -> str:
    primary, replicas = settings.INBOX_CLUSTERS[physical - 1]
    if using is not None:  # an explicit alias asks for the primary (the cache layer after a tombstone)
        return primary
    return router.read_alias(primary, replicas)


def inbox_alias(recipient_id: int, using: str | None = None) -> str:
    """The database alias to read ``recipient_id``'s inbox from."""
    return read_alias_of(physical_shard(recipient_id), using)


def write_aliases(recipient_id: int) -> list[str]:
    """The primaries a write to ``recipient_id``'s inbox shard goes to (two during a move)."""
    return [primary_of(physical) for physical in write_shards(recipient_id)]


def physical_shards() -> range:
    return range(1, len(settings.INBOX_CLUSTERS) + 1)


# --- Reads ---------------------------------------------------------------------------------------


def inbox_note_ids(recipient_id: int, *, before: int | None = None, limit: int, using: str | None = None) -> list[int]:
    """Ids of the notes in ``recipient_id``'s inbox, newest first: ONE query on one shard, over
    the unique (recipient, note) index."""
    rows = Delivery.objects.using(inbox_alias(recipient_id, using)).filter(recipient_id=recipient_id)
    if before:
        rows = rows.filter(note_id__lt=before)
    return list(rows.order_by("-note_id").values_list("note_id", flat=True)[:limit])


def delivered_among(recipient_id: int, note_ids: Iterable[int], *, using: str | None = None) -> set[int]:
    """Which of ``note_ids`` are in ``recipient_id``'s inbox: one query on one shard (none for
    no ids)."""
    note_ids = list(note_ids)
    if not note_ids:
        return set()
    rows = Delivery.objects.using(inbox_alias(recipient_id, using)).filter(
        recipient_id=recipient_id, note_id__in=note_ids
    )
    return set(rows.values_list("note_id", flat=True))


def delivered_to(note_id: int, recipient_ids: Iterable[int], *, using: str | None = None) -> set[int]:
    """Which of ``recipient_ids`` have ``note_id`` in their inbox: one query per physical shard
    they are read from (none for no ids)."""
    groups: dict[int, list[int]] = defaultdict(list)
    for pk in recipient_ids:
        groups[physical_shard(pk)].append(pk)
    found: set[int] = set()
    for physical, group in sorted(groups.items()):
        rows = Delivery.objects.using(read_alias_of(physical, using)).filter(note_id=note_id, recipient_id__in=group)
        found.update(rows.values_list("recipient_id", flat=True))
    return found


def note_recipient_ids(note_id: int) -> list[int]:
    """Everyone whose inbox holds ``note_id``: one query per physical shard, on its primary."""
    found: set[int] = set()
    for physical in physical_shards():
        rows = Delivery.objects.using(primary_of(physical)).filter(note_id=note_id)
        found.update(rows.values_list("recipient_id", flat=True))
    return sorted(found)


# --- Writes --------------------------------------------------------------------------------------


def after_main_commit(write: Callable[[], None]) -> None:
    """Run ``write`` (of inbox shard rows) once the main cluster's transaction commits — the
    order cross-cluster writes keep — or at once, inside that transaction, when the inbox is on
    the main cluster."""
    if settings.INBOX_PARTITIONED:
        transaction.on_commit(write)
    else:
        write()


def rows_write(rows: Iterable[models.Model]) -> dict[int, int]:
    """Insert per-recipient rows (of :data:`INBOX_MODELS`) each on its recipient's shard: one
    transaction per physical shard, each with one multi-row INSERT IGNORE per model (per
    ``INSERT_BATCH`` rows) on the model's unique index, so writing twice is harmless. A row
    written to two shards during a move keeps its one id on both. Returns {physical shard: rows
    offered}."""
    groups: dict[int, list[models.Model]] = defaultdict(list)
    for row in rows:
        for physical in write_shards(row.recipient_id):
            groups[physical].append(row)
    written: dict[int, int] = {}
    for physical, group in sorted(groups.items()):
        alias = primary_of(physical)
        by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
        for row in group:
            by_model[type(row)].append(copy_of(row))
        with transaction.atomic(using=alias):
            for model, copies in by_model.items():
                model.objects.using(alias).bulk_create(copies, batch_size=INSERT_BATCH, ignore_conflicts=True)
        written[physical] = len(group)
    router.mark_wrote()
    return written


def copy_of(row: models.Model) -> models.Model:
    """A fresh instance with ``row``'s columns: one per shard it is inserted on."""
    return type(row)(**{field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields})


def deliveries_write(
    note_id: int, recipient_ids: Iterable[int], *, also: Iterable[models.Model] = ()
) -> dict[int, int]:
    """Put note ``note_id`` in these inboxes (:func:`rows_write`, on the unique (recipient,
    note) index), with ``also`` — the notifications the delivery brings — in the same
    per-shard transactions. Called after the note committed (or inside its transaction when
    the inbox is on the main cluster, where the two are one database)."""
    recipient_ids = list(recipient_ids)
    numbered = zip(ids.new_ids(len(recipient_ids)), recipient_ids, strict=True)
    deliveries = [Delivery(pk=pk, recipient_id=recipient, note_id=note_id) for pk, recipient in numbered]
    return rows_write([*deliveries, *also])


def backfill_write(recipient_id: int, note_ids: Iterable[int], *, author_id: int) -> dict[int, int]:
    """Put these notes of ``author_id`` in ``recipient_id``'s inbox, marked as backfilled from
    that author (rule 10 of notes/visibility.py): the same INSERT IGNORE as
    :func:`deliveries_write`, so a note the inbox holds already keeps its delivery — and its
    mark, NULL for one delivered when it was sent."""
    note_ids = list(note_ids)
    numbered = zip(ids.new_ids(len(note_ids)), note_ids, strict=True)
    return rows_write(
        [Delivery(pk=pk, recipient_id=recipient_id, note_id=note, backfilled_from=author_id) for pk, note in numbered]
    )


def backfilled_note_ids(recipient_id: int, author_id: int) -> set[int]:
    """The notes in ``recipient_id``'s inbox that came with adding ``author_id``: one query on
    the primary of the shard the inbox is read from, over the (recipient, backfilled_from)
    index."""
    alias = primary_of(physical_shard(recipient_id))
    rows = Delivery.objects.using(alias).filter(recipient_id=recipient_id, backfilled_from=author_id)
    return set(rows.values_list("note_id", flat=True))


def backfilled_remove(recipient_id: int, note_ids: Iterable[int], *, author_id: int) -> None:
    """Take these notes out of ``recipient_id``'s inbox where they came with adding
    ``author_id`` (a delivery made when the note was sent is left alone), on every shard the
    inbox is written to."""
    note_ids = list(note_ids)
    if not note_ids:
        return
    for physical in write_shards(recipient_id):
        rows = Delivery.objects.using(primary_of(physical)).filter(
            recipient_id=recipient_id, note_id__in=note_ids, backfilled_from=author_id
        )
        rows.delete()
    router.mark_wrote()


def note_deliveries_delete(note_id: int) -> None:
    """Delete every delivery of ``note_id``, on every physical shard (after the note is gone)."""
    for physical in physical_shards():
        Delivery.objects.using(primary_of(physical)).filter(note_id=note_id).delete()
