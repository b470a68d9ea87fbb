"""Denormalized counts: how they are kept right under concurrent writes.

Generic over the model: ``accounts.counts`` (a person's notes, friends, fans, fan-of) and
``notes.counts`` (a note's replies and stars) say what to count; this module says how. It lives
in ``pownce/`` so both apps share it without one importing the other's plumbing, and it knows
neither of them.

Counts live in small rows of their own (``accounts.UserCounts``, ``notes.NoteCounts``), in the
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

:func:`reconcile` recomputes every count from the source tables (``manage.py reconcile_counts``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F

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
