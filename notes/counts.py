"""Reply and star counts per note, and notes per person, kept by signals (see pownce/counters.py
for how ``F()`` updates, missing rows and reconciling work).

A note gets its ``NoteCounts`` row when it is saved the first time; a reply or star changes it
by one. Bulk inserts (``seed_demo``) send no signals: they end with :func:`reconcile_all`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.db.models.signals import post_delete, post_save

from accounts.counts import reconcile_people, user_counts_from_source
from cache import objects
from pownce.counters import Drift, bump, reconcile

NOTE_FIELDS = ("replies", "stars")


def note_counts_from_source(note_ids: list[int], using: str | None) -> dict[int, dict[str, int]]:
    """Replies and stars of these notes, counted from the replies and stars tables."""
    from notes.models import Note, Reply, Star

    ids = list(Note.objects.using(using).filter(pk__in=note_ids).values_list("pk", flat=True))
    counts = {pk: dict.fromkeys(NOTE_FIELDS, 0) for pk in ids}
    for model, name in ((Reply, "replies"), (Star, "stars")):
        rows = model.objects.using(using).filter(note__in=ids).values("note").annotate(n=Count("pk")).order_by()
        for row in rows:
            counts[row["note"]][name] = row["n"]
    return counts


def _public(note: Any) -> int:
    """1 for a public note (a note's audience never changes once it is sent)."""
    return int(note.audience == "public")


def _note_saved(sender: Any, instance: Any, created: bool, using: str, raw: bool = False, **kwargs: Any) -> None:
    from accounts.models import UserCounts
    from notes.models import NoteCounts

    if not created or raw:
        return
    NoteCounts.objects.using(using).create(note=instance)
    bump(UserCounts, instance.author_id, user_counts_from_source, using=using, notes=1, public_notes=_public(instance))


def _note_deleted(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    from accounts.models import UserCounts

    bump(UserCounts, instance.author_id, None, using=using, notes=-1, public_notes=-_public(instance))


def _counted(name: str):
    """Handlers that count rows of a model pointing at a note (replies, stars) by ``name``."""
    from notes.models import NoteCounts

    def saved(sender: Any, instance: Any, created: bool, using: str, raw: bool = False, **kwargs: Any) -> None:
        if created and not raw:
            bump(NoteCounts, instance.note_id, note_counts_from_source, using=using, **{name: 1})

    def deleted(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
        bump(NoteCounts, instance.note_id, None, using=using, **{name: -1})

    return saved, deleted


def connect() -> None:
    from notes.models import Note, NoteCounts, Reply, Star

    objects.register(NoteCounts)
    post_save.connect(_note_saved, sender=Note, dispatch_uid="notes.counts.note.saved")
    post_delete.connect(_note_deleted, sender=Note, dispatch_uid="notes.counts.note.deleted")
    for model, name in ((Reply, "replies"), (Star, "stars")):
        saved, deleted = _counted(name)
        post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"notes.counts.{name}.saved")
        post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"notes.counts.{name}.deleted")


def reconcile_all(*, using: str, fix: bool = True) -> list[Drift]:
    """Recompute every person's and every note's counts from the source tables."""
    from notes.models import Note, NoteCounts

    return [
        reconcile_people(using=using, fix=fix),
        reconcile(NoteCounts, Note, note_counts_from_source, NOTE_FIELDS, using=using, fix=fix),
    ]
