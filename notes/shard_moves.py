"""Moving one logical inbox shard to another physical shard, online (``manage.py
inbox_move_shard L --to N``).

The steps, each waiting out the map's TTL (``INBOX_MAP_TTL``) plus the replica lag the router
tolerates (processes read the map from replicas) and a margin after it changes the map, so
that no process still acts on the map of the step before:

1. **Double-write.** The map row of ``L`` gets ``moving_to = N``: from now on every delivery to
   a recipient of ``L`` is written to the old shard *and* to ``N`` (notes/partitioning.py,
   ``write_shards``), and so is every deletion. Readers still read the old shard.
2. **Copy.** Every row of ``L`` on the old shard is copied to ``N`` in keyset pages of
   ``COPY_BATCH`` by id, with INSERT IGNORE on each table's unique index: rows that the
   double-write already put there are left alone. Every per-recipient table of the inbox shards
   moves (``partitioning.INBOX_MODELS``: deliveries, notifications, read marks); a read mark
   the target already holds is moved forward to the source's if that is further on (marks only
   move forward), and the marks, numbered by person rather than by time, are copied whole.
3. **Catch up.** A second pass copies what arrived on the old shard during the first (a writer
   that had not yet seen step 1 when the copy started); after it, ``N`` holds every delivery of
   ``L`` the old shard holds.
4. **Switch.** ``physical = N, moving_to = old``: readers move to ``N``, which is complete,
   while writes still go to both — so a reader on either side of the switch (processes see it
   up to one TTL apart) finds a whole inbox. This is the write pause of a classic move, made
   unnecessary: instead of holding writes while the map changes, both copies take them.
5. **Verify.** The rows of ``L`` — (recipient, note) pairs, notifications, read marks; each
   table's unique index makes rows and pairs one — are counted on both shards: the target must
   hold as many (both take every write), else the move stops here, still double-writing, and
   says so.
6. **Finish.** ``moving_to = NULL``: writes go to ``N`` only. After one more TTL, the old
   shard's rows of ``L`` are deleted in pages.

Guaranteed: no delivery written while the move runs is lost, and no reader sees an inbox
missing a delivery that was there before (readers read the old shard until it is no longer
needed). Not guaranteed: a move interrupted between steps is not resumed by itself — run the
command again: every step is idempotent (a move whose map row says ``physical = N`` already
skips to step 5). The cached inbox lists are untouched: their contents do not change.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import models, transaction
from django.db.models import F

from notes import partitioning
from notes.models import Delivery, InboxShard, NotificationsRead
from pownce import router

COPY_BATCH = 2000
# Beyond the map's TTL: a write that read the map just before it changed may still be running.
MAP_MARGIN = 0.5


class MoveError(RuntimeError):
    pass


def rows_of(logical: int, physical: int, model: type[models.Model] = Delivery):
    alias = partitioning.primary_of(physical)
    modulo = settings.INBOX_LOGICAL_SHARDS
    return model.objects.using(alias).alias(shard=F("recipient_id") % modulo).filter(shard=logical)


def copy_rows(
    logical: int, source: int, target: int, *, after: int = 0, model: type[models.Model] = Delivery
) -> tuple[int, int]:
    """Copy the rows of ``model`` of ``logical`` with ids above ``after`` from ``source`` to
    ``target``; returns (rows read, highest id read). A read mark the target holds already is
    moved forward to the source's when that is further on."""
    read, target_alias = 0, partitioning.primary_of(target)
    while True:
        page = list(rows_of(logical, source, model).filter(pk__gt=after).order_by("pk")[:COPY_BATCH])
        if not page:
            return read, after
        with transaction.atomic(using=target_alias):
            copies = [partitioning.copy_of(row) for row in page]
            model.objects.using(target_alias).bulk_create(copies, ignore_conflicts=True)
            if model is NotificationsRead:
                for mark in page:
                    marks = NotificationsRead.objects.using(target_alias).filter(pk=mark.pk, upto__lt=mark.upto)
                    marks.update(upto=mark.upto)
        read += len(page)
        after = page[-1].pk


def copy_all(logical: int, source: int, target: int, cursors: dict | None = None) -> tuple[int, dict]:
    """Copy every per-recipient table of ``logical`` (``partitioning.INBOX_MODELS``) past
    ``cursors`` (each table's highest id copied before); returns (rows read, the new cursors).
    Read marks are numbered by person, not by time: they are copied whole each time."""
    cursors = dict(cursors or {})
    read = 0
    for model in partitioning.INBOX_MODELS:
        after = 0 if model is NotificationsRead else cursors.get(model, 0)
        copied, cursors[model] = copy_rows(logical, source, target, after=after, model=model)
        read += copied
    return read, cursors


def pair_count(logical: int, physical: int) -> int:
    return rows_of(logical, physical).values("recipient_id", "note_id").distinct().count()


def row_counts(logical: int, physical: int) -> tuple[int, ...]:
    """What step 5 compares: the (recipient, note) pairs, then each other table's rows."""
    others = [rows_of(logical, physical, model).count() for model in partitioning.INBOX_MODELS if model is not Delivery]
    return (pair_count(logical, physical), *others)


def set_map(logical: int, **fields) -> None:
    InboxShard.objects.using(router.PRIMARY).filter(logical=logical).update(**fields)
    partitioning.shard_map.forget()


def move(logical: int, target: int, *, say: Callable[[str], None] = print, sleep=time.sleep) -> None:
    """Move logical shard ``logical`` to physical shard ``target`` (the steps above)."""
    if not 0 <= logical < settings.INBOX_LOGICAL_SHARDS:
        raise MoveError(f"logical shard {logical} is not in 0-{settings.INBOX_LOGICAL_SHARDS - 1}")
    if target not in partitioning.physical_shards():
        raise MoveError(f"physical shard {target} is not one of {list(partitioning.physical_shards())}")
    row, _ = InboxShard.objects.using(router.PRIMARY).get_or_create(
        logical=logical, defaults={"physical": partitioning.default_physical(logical)}
    )
    # Processes read the map from a replica: a change reaches them within the replica lag the
    # router tolerates (plus its health look's age) and their own copy's TTL.
    settle = settings.INBOX_MAP_TTL + settings.REPLICA_MAX_LAG + settings.REPLICA_HEALTH_TTL + MAP_MARGIN

    if row.physical == target and row.moving_to is None:
        say(f"logical shard {logical} is on physical shard {target} already")
        return
    if row.physical != target:
        source = row.physical
        set_map(logical, moving_to=target)
        say(f"1. double-writing logical shard {logical} to shards {source} and {target}")
        sleep(settle)
        copied, cursors = copy_all(logical, source, target)
        say(f"2. copied {copied} rows from shard {source} to shard {target}")
        caught_up, _ = copy_all(logical, source, target, cursors)
        say(f"3. caught up {caught_up} rows")
        set_map(logical, physical=target, moving_to=source)
        say(f"4. readers switched to shard {target} (writes still go to both)")
        sleep(settle)
    else:
        source = row.moving_to
        say(f"resuming: readers are on shard {target}, writes still go to shard {source} too")

    old, new = row_counts(logical, source), row_counts(logical, target)
    if new != old:
        # A write between the two counts is on both shards: count again once before giving up.
        old, new = row_counts(logical, source), row_counts(logical, target)
    if any(there < here for there, here in zip(new, old, strict=True)):
        raise MoveError(
            f"shard {target} holds {new} (deliveries, notifications, read marks) of logical shard {logical},"
            f" shard {source} {old}"
        )
    say(f"5. verified: {new[0]} deliveries, {sum(new[1:])} other rows on shard {target} ({old[0]} on shard {source})")
    set_map(logical, moving_to=None)
    sleep(settle)
    removed = 0
    for model in partitioning.INBOX_MODELS:
        while True:
            page = list(rows_of(logical, source, model).values_list("pk", flat=True)[:COPY_BATCH])
            if not page:
                break
            model.objects.using(partitioning.primary_of(source)).filter(pk__in=page).delete()
            removed += len(page)
    say(f"6. removed {removed} rows of logical shard {logical} from shard {source}; done")
