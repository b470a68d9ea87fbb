"""A person's counts (notes, friends, fans, fan-of), kept by the fanship and user signals.

How a counts row changes under concurrent writes, how a missing row is created and how counts
are reconciled is generic and told in ``pownce/counters.py``; this module says what a person's
counts are and when they change.

Friends, fans and fan-of depend on two rows (a fanship and its reverse), so a change to the
fanships between two people first locks both people's count rows, in id order (``pre_save`` /
``pre_delete``), then looks at the reverse fanship: two people adding each other at the same
time are serialized, and the second sees the first's fanship (reads are READ COMMITTED).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from cache import objects
from pownce.counters import Drift, bump, ensure_rows, reconcile

PEOPLE_FIELDS = ("notes", "public_notes", "friends", "fans", "fan_of")


def user_counts_from_source(user_ids: list[int], using: str | None) -> dict[int, dict[str, int]]:
    """Notes (all, and public ones), friends, fans and fan-of of these people, counted from notes
    and fanships."""
    from accounts.models import Fanship, User

    ids = list(User.objects.using(using).filter(pk__in=user_ids).values_list("pk", flat=True))
    counts = {pk: dict.fromkeys(PEOPLE_FIELDS, 0) for pk in ids}
    # "notes" is the reverse name of Note.author: counted without importing the notes app.
    written = User.objects.using(using).filter(pk__in=ids)
    written = written.annotate(n=Count("notes"), public=Count("notes", filter=Q(notes__audience="public")))
    for row in written.values("pk", "n", "public"):
        counts[row["pk"]].update(notes=row["n"], public_notes=row["public"])
    mutual = Exists(Fanship.objects.filter(fan=OuterRef("idol"), idol=OuterRef("fan")))
    outgoing = (
        Fanship.objects.using(using)
        .filter(fan__in=ids)
        .values("fan")
        .annotate(total=Count("pk"), mutual=Count("pk", filter=Q(mutual)))
        .order_by()
    )
    for row in outgoing:
        counts[row["fan"]].update(friends=row["mutual"], fan_of=row["total"] - row["mutual"])
    incoming = Fanship.objects.using(using).filter(idol__in=ids).values("idol").annotate(total=Count("pk")).order_by()
    for row in incoming:
        counts[row["idol"]]["fans"] = row["total"] - counts[row["idol"]]["friends"]
    return counts


def _lock_people(user_ids: Iterable[int], using: str, *, create: bool) -> None:
    from accounts.models import UserCounts

    ids = sorted(set(user_ids))
    if create:
        ensure_rows(UserCounts, ids, user_counts_from_source, using=using)
    list(UserCounts.objects.using(using).select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def people_lock(user_ids: Iterable[int], *, using: str) -> None:
    """Take the lock every change to these people's fanships takes first (their counts rows, in
    id order), for the rest of the caller's transaction: what the caller then reads of the
    fanships between them is not half-way through a change, and the next change waits for the
    caller to commit. (Someone written by a bulk insert, without a counts row yet, is not
    locked.)"""
    _lock_people(user_ids, using, create=False)


def _reverse_exists(fanship: Any, using: str) -> bool:
    reverse = type(fanship).objects.using(using).select_for_update()
    return reverse.filter(fan_id=fanship.idol_id, idol_id=fanship.fan_id).exists()


def _fanship_adding(sender: Any, instance: Any, using: str, raw: bool = False, **kwargs: Any) -> None:
    if instance._state.adding and not raw:
        _lock_people((instance.fan_id, instance.idol_id), using, create=True)


def _fanship_removing(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    _lock_people((instance.fan_id, instance.idol_id), using, create=False)


def _fanship_added(sender: Any, instance: Any, created: bool, using: str, raw: bool = False, **kwargs: Any) -> None:
    from accounts.models import UserCounts

    if not created or raw:
        return
    fan, idol = instance.fan_id, instance.idol_id
    if _reverse_exists(instance, using):  # the idol was already the fan's fan: now friends
        bump(UserCounts, fan, user_counts_from_source, using=using, fans=-1, friends=1)
        bump(UserCounts, idol, user_counts_from_source, using=using, fan_of=-1, friends=1)
    else:
        bump(UserCounts, fan, user_counts_from_source, using=using, fan_of=1)
        bump(UserCounts, idol, user_counts_from_source, using=using, fans=1)


def _fanship_removed(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    from accounts.models import UserCounts

    fan, idol = instance.fan_id, instance.idol_id
    if _reverse_exists(instance, using):  # they were friends: the idol stays the fan's fan
        bump(UserCounts, fan, None, using=using, friends=-1, fans=1)
        bump(UserCounts, idol, None, using=using, friends=-1, fan_of=1)
    else:
        bump(UserCounts, fan, None, using=using, fan_of=-1)
        bump(UserCounts, idol, None, using=using, fans=-1)


def _user_created(sender: Any, instance: Any, created: bool, using: str, raw: bool = False, **kwargs: Any) -> None:
    from accounts.models import UserCounts

    if created and not raw:
        UserCounts.objects.using(using).create(user=instance)


def connect() -> None:
    from accounts.models import Fanship, User, UserCounts

    objects.register(UserCounts)
    post_save.connect(_user_created, sender=User, dispatch_uid="accounts.counts.user")
    pre_save.connect(_fanship_adding, sender=Fanship, dispatch_uid="accounts.counts.fanship.adding")
    post_save.connect(_fanship_added, sender=Fanship, dispatch_uid="accounts.counts.fanship.added")
    pre_delete.connect(_fanship_removing, sender=Fanship, dispatch_uid="accounts.counts.fanship.removing")
    post_delete.connect(_fanship_removed, sender=Fanship, dispatch_uid="accounts.counts.fanship.removed")


def reconcile_people(*, using: str, fix: bool = True) -> Drift:
    from accounts.models import User, UserCounts

    return reconcile(UserCounts, User, user_counts_from_source, PEOPLE_FIELDS, using=using, fix=fix)
