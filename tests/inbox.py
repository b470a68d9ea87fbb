"""Looking into the partitioned inbox from tests: deliveries and notifications live on the
inbox shards (notes/partitioning.py), so a test reads every physical shard's primary, never a
join."""

from __future__ import annotations

from collections import Counter

from django.test import TestCase

from accounts.models import User
from notes import partitioning
from notes.models import Delivery, Notification


def delivery_rows(**filters) -> list[Delivery]:
    """Every delivery matching ``filters`` (e.g. ``note_id=…``), from every physical shard, each
    with ``shard`` set to the physical shard it was read from."""
    rows = []
    for physical in partitioning.physical_shards():
        for row in Delivery.objects.using(partitioning.primary_of(physical)).filter(**filters):
            row.shard = physical
            rows.append(row)
    return rows


def deliveries(note) -> dict[int, int]:
    """``{recipient id: how many deliveries of note}``, over every shard."""
    return dict(Counter(row.recipient_id for row in delivery_rows(note_id=note.pk)))


def recipient_names(note) -> set[str]:
    ids = {row.recipient_id for row in delivery_rows(note_id=note.pk)}
    return set(User.objects.filter(pk__in=ids).values_list("username", flat=True))


def delivered(recipient, note) -> bool:
    return bool(delivery_rows(recipient_id=recipient.pk, note_id=note.pk))


def notification_rows(**filters) -> list[Notification]:
    """Every notification matching ``filters``, from every physical shard, each with ``shard``."""
    rows = []
    for physical in partitioning.physical_shards():
        for row in Notification.objects.using(partitioning.primary_of(physical)).filter(**filters):
            row.shard = physical
            rows.append(row)
    return rows


def told(person) -> list[tuple[str, str]]:
    """What ``person`` was told, as sorted (kind, actor's username) pairs (one per row)."""
    rows = notification_rows(recipient_id=person.pk)
    names = dict(User.objects.filter(pk__in={row.actor_id for row in rows}).values_list("pk", "username"))
    return sorted((row.kind, names.get(row.actor_id, "?")) for row in rows)


def after_commit():
    """Run the on-commit callbacks registered inside the block when it ends, as a real commit
    would (a test's own transaction never commits): with inbox clusters, a note's inline
    deliveries are written after the note's commit."""
    return TestCase.captureOnCommitCallbacks(execute=True)
