"""Moving one logical inbox shard to another physical shard, online (``manage.py
inbox_move_shard L --to N``).

The steps, each waiting out the map's TTL (``INBOX_MAP_TTL``) plus the replica lag the router
tolerates (processes read the map from replicas) and a margin after it changes the map, so
that no process still acts on the map of the step before:

1. **Double-write.** The map row of ``L`` gets ``moving_to = N``: from now on every delivery to
   a recipient of ``L`` is written to the old shard *and* to ``N`` (notes/partitioning.py,
   ``write_shards``), and so is every deletion. Readers still read the old shard.
2. **Copy.** Every row of ``L`` on the old shard is copied to ``N`` in keyset pages of
   ``COPY_BATCH`` by id, with INSERT IGNORE on the unique (recipient, note) index: rows that the
   double-write already put there are left alone.
3. **Catch up.** A second pass copies what arrived on the old shard during the first (a writer
   that had not yet seen step 1 when the copy started); after it, ``N`` holds every delivery of
   ``L`` the old shard holds.
4. **Switch.** ``physical = N, moving_to = old``: readers move to ``N``, which is complete,
   while writes still go to both — so a reader on either side of the switch (processes see it
   up to one TTL apart) finds a whole inbox. This is the write pause of a classic move, made
   unnecessary: instead of holding writes while the map changes, both copies take them.
5. **Verify.** The (recipient, note) pairs of ``L`` are counted on both shards: they must be
   equal (both take every write), else the move stops here, still double-writing, and says so.
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
from django.db import transaction
from django.db.models import F

from notes import partitioning
from notes.models import Delivery, InboxShard
from pownce import router

COPY_BATCH = 2000
# Beyond the map's TTL: a write that read the map just before it changed may still be running.
MAP_MARGIN = 0.5


class MoveError(RuntimeError):
    pass


def rows_of(logical: int, physical: int):
    alias = partitioning.primary_of(physical)
    modulo = settings.INBOX_LOGICAL_SHARDS
    return Delivery.objects.using(alias).alias(shard=F("recipient_id") % modulo).filter(shard=logical)


def copy_rows(logical: int, source: int, target: int, *, after: int = 0) -> tuple[int, int]:
    """Copy the rows of ``logical`` with ids above ``after`` from ``source`` to ``target``;
    returns (rows read, highest id read)."""
    read, target_alias = 0, partitioning.primary_of(target)
    while True:
        page = list(rows_of(logical, source).filter(pk__gt=after).order_by("pk")[:COPY_BATCH])
        if not page:
            return read, after
        with transaction.atomic(using=target_alias):
            Delivery.objects.using(target_alias).bulk_create(
                [_copy_of(row) for row in page],
                ignore_conflicts=True,
            )
        read += len(page)
        after = page[-1].pk


def _copy_of(row: Delivery) -> Delivery:
    fields = ("recipient_id", "note_id", "backfilled_from")
    return Delivery(pk=row.pk, **{name: getattr(row, name) for name in fields})


def pair_count(logical: int, physical: int) -> int:
    return rows_of(logical, physical).values("recipient_id", "note_id").distinct().count()


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
        copied, last = copy_rows(logical, source, target)
        say(f"2. copied {copied} rows from shard {source} to shard {target}")
        caught_up, _ = copy_rows(logical, source, target, after=last)
        say(f"3. caught up {caught_up} rows")
        set_map(logical, physical=target, moving_to=source)
        say(f"4. readers switched to shard {target} (writes still go to both)")
        sleep(settle)
    else:
        source = row.moving_to
        say(f"resuming: readers are on shard {target}, writes still go to shard {source} too")

    old, new = pair_count(logical, source), pair_count(logical, target)
    if new != old:
        # A write between the two counts is on both shards: count again once before giving up.
        old, new = pair_count(logical, source), pair_count(logical, target)
    if new < old:
        raise MoveError(f"shard {target} holds {new} deliveries of logical shard {logical}, shard {source} {old}")
    say(f"5. verified: {new} deliveries on shard {target} ({old} on shard {source})")
    set_map(logical, moving_to=None)
    sleep(settle)
    removed = 0
    while True:
        page = list(rows_of(logical, source).values_list("pk", flat=True)[:COPY_BATCH])
        if not page:
            break
        Delivery.objects.using(partitioning.primary_of(source)).filter(pk__in=page).delete()
        removed += len(page)
    say(f"6. removed {removed} rows of logical shard {logical} from shard {source}; done")
