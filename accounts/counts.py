"""Denormalized counts: how they are kept right under concurrent writes.

Counts live in small rows of their own (``UserCounts`` here, ``notes.NoteCounts``), in the
object cache, and change only by ``F()`` expressions (``UPDATE … SET n = n + 1``), never by
reading a number and writing it back: two concurrent stars both land.

A missing row (a note or person written by a bulk insert, which sends no signals) is created
from the source tables when a change first reaches it; that count already includes the change
being made, so nothing is added on top. Two writers racing to create it::

    writer 1: UPDATE … 0 rows; counts the source rows (not writer 2's uncommitted star)
    writer 2: UPDATE … 0 rows
    writer 1: INSERT the row                     -> wins
    writer 2: INSERT the row                     -> duplicate key: UPDATE n = n + 1 instead

Writer 2's star was uncommitted when writer 1 counted, so it is counted exactly once.

Friends, fans and fan-of depend on two rows (a fanship and its reverse), so a change to the
fanships between two people first locks both people's count rows, in id order (``pre_save`` /
``pre_delete``), then looks at the reverse fanship: two people adding each other at the same
time are serialized, and the second sees the first's fanship (reads are READ COMMITTED).

``reconcile`` recomputes every count from the source tables (``manage.py reconcile_counts``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from cache import objects

# compute(ids, using) -> {pk: {field: value}}: the true counts of these rows, from the source tables.
Compute = Callable[[list[Any], str | None], dict[Any, dict[str, int]]]


def bump(model: type[models.Model], pk: Any, compute: Compute | None, *, using: str | None, **deltas: int) -> None:
    """Add ``deltas`` to the counts row ``pk`` of ``model`` with ``F()`` and invalidate it.

    A missing row is created from ``compute`` (which already counts this change) when
    ``compute`` is given; decrements pass None: a row that is gone stays gone.
    """
    changes = {name: F(name) + delta for name, delta in deltas.items() if delta}
    if not changes:
        return
    rows = model._base_manager.using(using)
    if not rows.filter(pk=pk).update(**changes) and compute is not None:
        values = compute([pk], using).get(pk)
        if values is None:  # the note or person itself is gone
            return
        try:
            with transaction.atomic(using=using):
                rows.create(pk=pk, **values)
        except IntegrityError:
            rows.filter(pk=pk).update(**changes)
    objects.invalidate(model, [pk], using=using)


def ensure_rows(model: type[models.Model], ids: Iterable[Any], compute: Compute, *, using: str | None) -> None:
    """Create the missing counts rows among ``ids`` from the source tables."""
    ids = list(ids)
    have = set(model._base_manager.using(using).filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in have]
    for pk, values in compute(missing, using).items() if missing else ():
        try:
            with transaction.atomic(using=using):
                model._base_manager.using(using).create(pk=pk, **values)
        except IntegrityError:
            pass  # created meanwhile by someone else


# --- People ------------------------------------------------------------------------------------

PEOPLE_FIELDS = ("notes", "friends", "fans", "fan_of")


def user_counts_from_source(user_ids: list[int], using: str | None) -> dict[int, dict[str, int]]:
    """Notes, friends, fans and fan-of of these people, counted from notes and fanships."""
    from accounts.models import Fanship, User

    ids = list(User.objects.using(using).filter(pk__in=user_ids).values_list("pk", flat=True))
    counts = {pk: dict.fromkeys(PEOPLE_FIELDS, 0) for pk in ids}
    # "notes" is the reverse name of Note.author: counted without importing the notes app.
    for row in User.objects.using(using).filter(pk__in=ids).annotate(n=Count("notes")).values("pk", "n"):
        counts[row["pk"]]["notes"] = row["n"]
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


# --- Reconciling -------------------------------------------------------------------------------


@dataclass
class Drift:
    """How far one counts table was from the truth: rows off (and missing), per field the rows
    off and the sum of the absolute differences."""

    table: str
    checked: int = 0
    rows_off: int = 0
    missing: int = 0
    fields: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.fields.values())

    def describe(self) -> str:
        parts = [f"{name}: {rows} row(s), off by {amount} in all" for name, (rows, amount) in self.fields.items()]
        detail = "; ".join(parts) or "no drift"
        return f"{self.table}: {self.checked} checked, {self.rows_off} off, {self.missing} missing — {detail}"


def reconcile(
    model: type[models.Model],
    source: type[models.Model],
    compute: Compute,
    fields: tuple[str, ...],
    *,
    using: str,
    fix: bool = True,
    chunk: int = 2000,
) -> Drift:
    """Compare ``model``'s counts rows with ``compute`` for every row of ``source`` (the notes or
    the people), chunk by chunk of ids; with ``fix``, write the true values and invalidate them.

    Each chunk runs in a transaction that first locks its counts rows, so a concurrent ``F()``
    update either finished before the recount (and is counted) or waits and applies on top of it.
    """
    drift = Drift(table=model._meta.label)
    last = 0
    while True:
        ids = list(
            source._base_manager.using(using).filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return drift
        last = ids[-1]
        with transaction.atomic(using=using):
            rows = model._base_manager.using(using).select_for_update().filter(pk__in=ids).order_by("pk")
            stored = {row.pk: row for row in rows}
            truth = compute(ids, using)
            fixed, created = [], []
            for pk, values in truth.items():
                drift.checked += 1
                row = stored.get(pk)
                if row is None:
                    drift.missing += 1
                    created.append(model(pk=pk, **values))
                    continue
                off = [name for name in fields if getattr(row, name) != values[name]]
                if off:
                    drift.rows_off += 1
                    for name in off:
                        rows_off, amount = drift.fields.get(name, [0, 0])
                        drift.fields[name] = [rows_off + 1, amount + abs(getattr(row, name) - values[name])]
                        setattr(row, name, values[name])
                    fixed.append(row)
            if fix and (fixed or created):
                model._base_manager.using(using).bulk_update(fixed, list(fields))
                model._base_manager.using(using).bulk_create(created, ignore_conflicts=True)
                objects.invalidate(model, [row.pk for row in fixed], using=using)


def reconcile_people(*, using: str, fix: bool = True) -> Drift:
    from accounts.models import User, UserCounts

    return reconcile(UserCounts, User, user_counts_from_source, PEOPLE_FIELDS, using=using, fix=fix)
